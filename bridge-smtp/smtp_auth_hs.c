/* Checks SMTP submission passwords by logging in to the Matrix homeserver
 * (m.login.password), then logging the new device out again.  See
 * smtp_auth.h.  Each check uses its own curl easy handle, so checks may
 * run on several threads at once. */
#include "bridge-smtp/smtp_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/log.h"

#define RESPONSE_MAX (64 * 1024)

struct smtp_auth_hs {
	char *base_url;
	long timeout_ms;
};

struct smtp_auth_hs *smtp_auth_hs_new(const char *base_url, long timeout_ms)
{
	struct smtp_auth_hs *hs = calloc(1, sizeof(*hs));
	if (!hs)
		return NULL;
	hs->base_url = strdup(base_url);
	if (!hs->base_url) {
		free(hs);
		return NULL;
	}
	size_t n = strlen(hs->base_url);
	while (n > 0 && hs->base_url[n - 1] == '/')
		hs->base_url[--n] = '\0';
	hs->timeout_ms = timeout_ms;
	return hs;
}

void smtp_auth_hs_free(struct smtp_auth_hs *hs)
{
	if (!hs)
		return;
	free(hs->base_url);
	free(hs);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	if (buf_append(b, p, size * n) < 0)
		return 0; /* too big: curl aborts the transfer */
	return size * n;
}

/* POSTs body to path; returns the HTTP status (0 on transport failure)
 * and the response body in resp. */
static long post(const struct smtp_auth_hs *hs, const char *path, const char *body, const char *bearer,
		 struct buf *resp)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct buf url = BUF_INIT, auth = BUF_INIT;
	long status = 0;
	if (!curl || buf_printf(&url, "%s%s", hs->base_url, path) < 0)
		goto out;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (bearer) {
		if (buf_printf(&auth, "Authorization: Bearer %s", bearer) < 0)
			goto out;
		hdrs = curl_slist_append(hdrs, auth.data);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, hs->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
out:
	curl_slist_free_all(hdrs);
	if (auth.data)
		memset(auth.data, 0, auth.len);
	buf_free(&auth);
	buf_free(&url);
	if (curl)
		curl_easy_cleanup(curl);
	return status;
}

static enum smtp_auth_result hs_check(void *ctx, const char *user, const char *password, char *identity,
				      size_t identity_len)
{
	const struct smtp_auth_hs *hs = ctx;
	enum smtp_auth_result res = SMTP_AUTH_TEMPFAIL;
	/* Mail clients often send the address as the user name; the
	 * homeserver knows the localpart. */
	char local[512];
	snprintf(local, sizeof(local), "%s", user);
	if (local[0] != '@') {
		char *at = strchr(local, '@');
		if (at)
			*at = '\0';
	}
	json_t *req = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "type", "m.login.password", "identifier",
				"type", "m.id.user", "user", local, "password", password,
				"initial_device_display_name", "scop-mailbridge SMTP AUTH check");
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req); /* jansson keeps no copy we could wipe; the dump is wiped below */
	if (!body)
		return SMTP_AUTH_TEMPFAIL;
	struct buf resp;
	buf_init(&resp, RESPONSE_MAX);
	long status = post(hs, "/_matrix/client/v3/login", body, NULL, &resp);
	memset(body, 0, strlen(body));
	free(body);
	if (status == 200) {
		json_error_t jerr;
		json_t *j = resp.data ? json_loadb(resp.data, resp.len, 0, &jerr) : NULL;
		const char *token = json_string_value(json_object_get(j, "access_token"));
		const char *uid = json_string_value(json_object_get(j, "user_id"));
		if (token && uid) {
			res = SMTP_AUTH_OK;
			snprintf(identity, identity_len, "%s", uid);
			/* The login made a device; remove it again. */
			struct buf r2;
			buf_init(&r2, RESPONSE_MAX);
			long st = post(hs, "/_matrix/client/v3/logout", "{}", token, &r2);
			if (st != 200)
				log_warn("homeserver logout after SMTP AUTH check answered %ld", st);
			buf_free(&r2);
		} else {
			log_warn("homeserver login answer without access_token/user_id");
		}
		json_decref(j);
		memset(resp.data, 0, resp.len); /* held an access token */
	} else if (status == 403 || status == 400 || status == 401) {
		res = SMTP_AUTH_BAD;
	} else {
		log_warn("homeserver login for SMTP AUTH answered %ld", status);
	}
	buf_free(&resp);
	return res;
}

void smtp_auth_hs_checker(struct smtp_auth_hs *hs, struct smtp_auth_checker *out)
{
	out->check = hs_check;
	out->ctx = hs;
}
