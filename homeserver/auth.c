#include "homeserver/auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/log.h"
#include "homeserver/password.h"
#include "homeserver/ratelimit.h"
#include "homeserver/userid.h"

void requester_clear(struct requester *w)
{
	free(w->user_id);
	free(w->device_id);
	memset(w, 0, sizeof(*w));
}

/* The request's token: "Authorization: Bearer X", else the deprecated
 * access_token query parameter.  malloc'd, or NULL. */
static char *request_token(struct http_request *rq)
{
	const char *h = http_header(rq, "Authorization");
	if (!rq->conn)
		return rq->test_token ? strdup(rq->test_token) : NULL;
	if (h) {
		if (strncasecmp(h, "Bearer ", 7) != 0)
			return NULL;
		h += 7;
		while (*h == ' ')
			h++;
		return *h ? strdup(h) : NULL;
	}
	return http_query(rq, "access_token");
}

int auth_requester(struct api_req *r)
{
	struct store_access a;
	char *token = request_token(r->http);
	enum store_rc rc;

	memset(&a, 0, sizeof(a));
	if (!token) {
		api_reply(r, 401, json_pack("{s:s,s:s}", "errcode", "M_MISSING_TOKEN",
					    "error", "Missing access token"));
		return -1;
	}
	if (scop_sha256_hex(token, strlen(token), r->who.token_hash) < 0) {
		explicit_bzero(token, strlen(token));
		free(token);
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		return -1;
	}
	explicit_bzero(token, strlen(token));
	free(token);
	rc = store_access_token_lookup(r->hs->store, r->who.token_hash, &a);
	if (rc == STORE_ERROR) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		return -1;
	}
	if (rc != STORE_OK || a.deactivated ||
	    (a.valid_until_ms && a.valid_until_ms <= http_now_ms())) {
		/* An expired refreshable token is a soft logout: the client
		 * refreshes instead of dropping its keys. */
		int soft = rc == STORE_OK && !a.deactivated;
		api_reply(r, 401, json_pack("{s:s,s:s,s:b}", "errcode", "M_UNKNOWN_TOKEN",
					    "error", soft ? "Access token has expired" :
							    "Unrecognised access token",
					    "soft_logout", soft));
		store_access_clear(&a);
		return -1;
	}
	r->who.user_id = a.user_id;
	r->who.device_id = a.device_id;
	r->who.is_admin = a.is_admin;
	a.user_id = NULL;
	a.device_id = NULL;
	store_access_clear(&a);
	/* Keep the device list's last_seen fields roughly current. */
	if (r->who.device_id &&
	    ratelimit_check(r->hs->rl.touch, r->who.token_hash, http_monotonic_ms(), 1) == 0)
		store_device_touch(r->hs->store, r->who.user_id, r->who.device_id, http_now_ms(),
				   r->http->remote_ip);
	return 0;
}

int auth_make_token(const char *prefix, const char *user_id, char *out, size_t outlen,
		    char hash[65])
{
	char local[HS_USER_ID_MAX + 1];
	const char *server;
	char rnd[33];
	char *b64;
	int n;

	if (!hs_user_id_split(user_id, local, sizeof(local), &server))
		snprintf(local, sizeof(local), "%s", "x");
	if (scop_random_token(rnd, 32) < 0)
		return -1;
	b64 = base64_encode_alloc(local, strlen(local), BASE64_URLSAFE);
	if (!b64)
		return -1;
	n = snprintf(out, outlen, "%s_%s_%s", prefix, b64, rnd);
	free(b64);
	explicit_bzero(rnd, sizeof(rnd));
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return scop_sha256_hex(out, (size_t)n, hash);
}

int auth_make_device_id(char out[11])
{
	unsigned char rnd[10];
	if (scop_random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	for (int i = 0; i < 10; i++)
		out[i] = (char)('A' + rnd[i] % 26);
	out[10] = '\0';
	return 0;
}

void auth_user_key(const char *user_id, char out[HS_USER_ID_MAX + 1])
{
	size_t i;
	for (i = 0; i < HS_USER_ID_MAX && user_id[i]; i++)
		out[i] = (char)tolower((unsigned char)user_id[i]);
	out[i] = '\0';
}

enum auth_pw auth_check_password(struct hs *hs, const char *user_id, const char *password,
				 const char *ip, int64_t *retry_ms, char **canonical)
{
	struct store_user u;
	int64_t now = http_monotonic_ms();
	int64_t w1, w2;
	enum store_rc rc;
	int ok;
	char key[HS_USER_ID_MAX + 1];

	*canonical = NULL;
	*retry_ms = 0;
	memset(&u, 0, sizeof(u));
	/* Refuse before hashing, so guessing costs the guesser, not us. */
	w1 = ratelimit_check(hs->rl.failed_ip, ip, now, 0);
	auth_user_key(user_id, key);
	w2 = ratelimit_check(hs->rl.failed_user, key, now, 0);
	if (w1 || w2) {
		*retry_ms = w1 > w2 ? w1 : w2;
		return AUTH_PW_LIMITED;
	}
	rc = store_user_get_ci(hs->store, user_id, &u);
	if (rc == STORE_ERROR)
		return AUTH_PW_ERROR;
	if (rc == STORE_OK && u.deactivated) {
		store_user_clear(&u);
		return AUTH_PW_DEACTIVATED;
	}
	/* Unknown users cost one hash too, so timing does not tell who exists. */
	ok = password_verify(password, rc == STORE_OK && u.password_hash ? u.password_hash :
								  hs->dummy_hash);
	if (rc != STORE_OK || !u.password_hash || !ok) {
		ratelimit_charge(hs->rl.failed_ip, ip, now);
		ratelimit_charge(hs->rl.failed_user, key, now);
		store_user_clear(&u);
		return AUTH_PW_WRONG;
	}
	*canonical = u.user_id;
	u.user_id = NULL;
	store_user_clear(&u);
	return *canonical ? AUTH_PW_OK : AUTH_PW_ERROR;
}

int auth_session_prepare(struct hs *hs, struct auth_session *s, const char *user_id,
			 const char *device_id, const char *display_name, const char *ip,
			 int refreshable)
{
	int64_t now = http_now_ms();

	memset(s, 0, sizeof(*s));
	if (device_id) {
		if (snprintf(s->device_id, sizeof(s->device_id), "%s", device_id) >=
		    (int)sizeof(s->device_id))
			return -1;
	} else if (auth_make_device_id(s->device_id) < 0) {
		return -1;
	}
	if (auth_make_token("syt", user_id, s->access, sizeof(s->access), s->access_hash) < 0)
		return -1;
	s->refreshable = refreshable;
	s->login.device_id = s->device_id;
	s->login.device_display_name = display_name;
	s->login.ip = ip;
	s->login.now_ms = now;
	s->login.access_token_hash = s->access_hash;
	if (refreshable) {
		if (auth_make_token("syr", user_id, s->refresh, sizeof(s->refresh),
				    s->refresh_hash) < 0)
			return -1;
		s->expires_in_ms = hs->cfg->access_token_lifetime_ms;
		s->login.access_valid_until_ms = now + s->expires_in_ms;
		s->login.refresh_token_hash = s->refresh_hash;
	}
	return 0;
}

void auth_session_reply(struct hs *hs, const struct auth_session *s, const char *user_id,
			json_t *reply)
{
	json_object_set_new(reply, "user_id", json_string(user_id));
	json_object_set_new(reply, "access_token", json_string(s->access));
	json_object_set_new(reply, "device_id", json_string(s->device_id));
	json_object_set_new(reply, "home_server", json_string(hs->cfg->server_name));
	if (s->refreshable) {
		json_object_set_new(reply, "refresh_token", json_string(s->refresh));
		json_object_set_new(reply, "expires_in_ms", json_integer(s->expires_in_ms));
	}
}

void auth_session_wipe(struct auth_session *s)
{
	explicit_bzero(s, sizeof(*s));
}

int auth_identifier_user(struct api_req *r, json_t *obj, char **user_id)
{
	json_t *ident;
	const char *type = NULL, *user = NULL;
	char local[HS_USER_ID_MAX + 1];
	const char *server;

	*user_id = NULL;
	if (api_opt_object(r, obj, "identifier", &ident) < 0)
		return -1;
	if (ident) {
		if (api_req_string(r, ident, "type", &type) < 0)
			return -1;
		if (strcmp(type, "m.id.user") != 0) {
			api_error(r, 400, "M_UNKNOWN", "Unknown login identifier type");
			return -1;
		}
		if (api_req_string(r, ident, "user", &user) < 0)
			return -1;
	} else if (api_req_string(r, obj, "user", &user) < 0) {
		return -1;
	}
	if (user[0] == '@') {
		if (!hs_user_id_split(user, local, sizeof(local), &server)) {
			api_error(r, 400, "M_INVALID_USERNAME", "Invalid user id");
			return -1;
		}
		*user_id = strdup(user);
	} else {
		if (!hs_localpart_valid_any(user)) {
			api_error(r, 400, "M_INVALID_USERNAME", "Invalid user id");
			return -1;
		}
		*user_id = hs_user_id_make(user, r->hs->cfg->server_name);
		if (!*user_id) {
			api_error(r, 400, "M_INVALID_USERNAME", "User id too long");
			return -1;
		}
	}
	if (!*user_id) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		return -1;
	}
	return 0;
}
