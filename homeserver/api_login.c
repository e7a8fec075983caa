/* Sessions: login (flows and m.login.password), whoami, logout,
 * logout/all, refresh. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/log.h"
#include "homeserver/api.h"
#include "homeserver/auth.h"
#include "homeserver/password.h"
#include "homeserver/ratelimit.h"
#include "homeserver/userid.h"

static void login_flows(struct api_req *r)
{
	api_reply(r, 200, json_pack("{s:[{s:s}]}", "flows", "type", "m.login.password"));
}

/* A client-chosen device id: printable ASCII, bounded. */
static int device_id_valid(const char *d)
{
	size_t n = strlen(d);
	if (n == 0 || n > 200)
		return 0;
	for (; *d; d++)
		if ((unsigned char)*d < 0x21 || (unsigned char)*d > 0x7e)
			return 0;
	return 1;
}

static void login(struct api_req *r)
{
	struct hs *hs = r->hs;
	const char *type, *password, *device_id, *display_name;
	char *user = NULL, *canonical = NULL;
	char key[HS_USER_ID_MAX + 1];
	int refresh;
	int64_t now = http_monotonic_ms(), wait, retry = 0;
	struct auth_session s;
	enum store_rc rc;
	json_t *reply;

	if (api_req_string(r, r->body, "type", &type) < 0)
		return;
	if (strcmp(type, "m.login.password") != 0) {
		api_error(r, 400, "M_UNKNOWN", "Unknown login type %.64s", type);
		return;
	}
	if (auth_identifier_user(r, r->body, &user) < 0 ||
	    api_req_string(r, r->body, "password", &password) < 0 ||
	    api_opt_string(r, r->body, "device_id", &device_id) < 0 ||
	    api_opt_string(r, r->body, "initial_device_display_name", &display_name) < 0 ||
	    api_opt_bool(r, r->body, "refresh_token", 0, &refresh) < 0)
		goto out;
	if (device_id && !device_id_valid(device_id)) {
		api_error(r, 400, "M_INVALID_PARAM", "Invalid device_id");
		goto out;
	}
	auth_user_key(user, key);
	if ((wait = ratelimit_check(hs->rl.login_ip, r->http->remote_ip, now, 1)) ||
	    (wait = ratelimit_check(hs->rl.login_user, key, now, 1))) {
		api_ratelimited(r, wait);
		goto out;
	}
	switch (auth_check_password(hs, user, password, r->http->remote_ip, &retry, &canonical)) {
	case AUTH_PW_OK:
		break;
	case AUTH_PW_LIMITED:
		api_ratelimited(r, retry);
		goto out;
	case AUTH_PW_WRONG:
		api_error(r, 403, "M_FORBIDDEN", "Invalid username or password");
		goto out;
	case AUTH_PW_DEACTIVATED:
		api_error(r, 403, "M_USER_DEACTIVATED", "This account has been deactivated");
		goto out;
	default:
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		goto out;
	}
	if (auth_session_prepare(hs, &s, canonical, device_id, display_name,
				 r->http->remote_ip, refresh) < 0) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		goto out;
	}
	rc = store_login(hs->store, canonical, &s.login);
	if (rc == STORE_OK) {
		reply = json_object();
		auth_session_reply(hs, &s, canonical, reply);
		api_reply(r, 200, reply);
	} else if (rc == STORE_NOT_FOUND) {
		api_error(r, 403, "M_USER_DEACTIVATED", "This account has been deactivated");
	} else {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
	}
	auth_session_wipe(&s);
out:
	free(user);
	free(canonical);
}

static void whoami(struct api_req *r)
{
	json_t *j = json_pack("{s:s,s:b}", "user_id", r->who.user_id, "is_guest", 0);
	if (j && r->who.device_id)
		json_object_set_new(j, "device_id", json_string(r->who.device_id));
	api_reply(r, 200, j);
}

static void logout(struct api_req *r)
{
	enum store_rc rc;
	if (r->who.device_id)
		rc = store_device_delete(r->hs->store, r->who.user_id, r->who.device_id);
	else
		rc = store_access_token_delete(r->hs->store, r->who.token_hash);
	if (rc == STORE_ERROR)
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
	else
		api_reply(r, 200, json_object());
}

static void logout_all(struct api_req *r)
{
	if (store_device_delete_all(r->hs->store, r->who.user_id, NULL) == STORE_ERROR)
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
	else
		api_reply(r, 200, json_object());
}

static void refresh(struct api_req *r)
{
	struct hs *hs = r->hs;
	const char *old;
	char old_hash[65];
	struct auth_session s;
	char *user = NULL, *device = NULL;
	int64_t now = http_now_ms();
	enum store_rc rc;
	json_t *reply;

	if (api_req_string(r, r->body, "refresh_token", &old) < 0)
		return;
	if (scop_sha256_hex(old, strlen(old), old_hash) < 0 ||
	    auth_session_prepare(hs, &s, "@x:x", "x", NULL, NULL, 1) < 0) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		return;
	}
	rc = store_refresh_rotate(hs->store, old_hash, now, s.access_hash,
				  s.login.access_valid_until_ms, s.refresh_hash, 0, &user, &device);
	if (rc == STORE_OK) {
		reply = json_pack("{s:s,s:s,s:I}", "access_token", s.access, "refresh_token",
				  s.refresh, "expires_in_ms", (json_int_t)s.expires_in_ms);
		api_reply(r, 200, reply);
	} else if (rc == STORE_NOT_FOUND) {
		api_reply(r, 401, json_pack("{s:s,s:s,s:b}", "errcode", "M_UNKNOWN_TOKEN", "error",
					    "Invalid refresh token", "soft_logout", 0));
	} else {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
	}
	auth_session_wipe(&s);
	free(user);
	free(device);
}

const struct api_route api_login_routes[] = {
	{ "GET", "/login", login_flows, API_CLIENT_R0 | API_CLIENT_V3 },
	{ "POST", "/login", login, API_CLIENT_R0 | API_CLIENT_V3 | API_JSON },
	{ "GET", "/account/whoami", whoami, API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH },
	{ "POST", "/logout", logout, API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH },
	{ "POST", "/logout/all", logout_all, API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH },
	{ "POST", "/refresh", refresh, API_CLIENT_V3 | API_CLIENT_V1 | API_JSON },
};
const size_t api_login_nroutes = sizeof(api_login_routes) / sizeof(api_login_routes[0]);
