/* Registration: POST /register (UIA with m.login.dummy or
 * m.login.registration_token), GET /register/available, and the
 * registration-token validity check. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "homeserver/api.h"
#include "homeserver/auth.h"
#include "homeserver/password.h"
#include "homeserver/ratelimit.h"
#include "homeserver/uia.h"
#include "homeserver/userid.h"

#define REG_ACTION "register"

/* Answers and returns -1 when localpart cannot be registered. */
static int check_username(struct api_req *r, const char *localpart, char **user_id)
{
	struct store_user u;
	enum store_rc rc;

	*user_id = NULL;
	if (!hs_localpart_valid_new(localpart)) {
		api_error(r, 400, "M_INVALID_USERNAME",
			  "User ID can only contain characters a-z, 0-9, or '=_-./+'");
		return -1;
	}
	*user_id = hs_user_id_make(localpart, r->hs->cfg->server_name);
	if (!*user_id) {
		api_error(r, 400, "M_INVALID_USERNAME", "User ID is too long");
		return -1;
	}
	memset(&u, 0, sizeof(u));
	rc = store_user_get_ci(r->hs->store, *user_id, &u);
	store_user_clear(&u);
	if (rc == STORE_OK || rc == STORE_CONFLICT) {
		api_error(r, 400, "M_USER_IN_USE", "User ID already taken.");
	} else if (rc == STORE_ERROR) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
	} else {
		return 0;
	}
	free(*user_id);
	*user_id = NULL;
	return -1;
}

static const char *required_stage(const struct hs_config *c)
{
	return c->registration_requires_token ? "m.login.registration_token" : "m.login.dummy";
}

static void answer_401(struct api_req *r, const char *session, unsigned completed,
		       const char *errcode, const char *error)
{
	json_t *body = json_pack("{s:[{s:[s]}],s:{},s:s,s:[]}", "flows", "stages",
				 required_stage(r->hs->cfg), "params", "session", session,
				 "completed");
	if (body && completed)
		json_array_append_new(json_object_get(body, "completed"),
				      json_string(required_stage(r->hs->cfg)));
	if (body && errcode) {
		json_object_set_new(body, "errcode", json_string(errcode));
		json_object_set_new(body, "error", json_string(error));
	}
	api_reply(r, 401, body);
}

/* Runs the UIA step; 0 when the session's stage is complete. */
static int register_uia(struct api_req *r, char session[UIA_SESSION_LEN + 1])
{
	struct hs *hs = r->hs;
	json_t *auth;
	const char *sid = NULL, *type = NULL, *token = NULL;
	unsigned completed = 0, want = hs->cfg->registration_requires_token ? UIA_REGTOKEN : UIA_DUMMY;
	int64_t now = http_now_ms();
	enum store_rc rc;

	if (api_opt_object(r, r->body, "auth", &auth) < 0)
		return -1;
	if (auth && (api_opt_string(r, auth, "session", &sid) < 0 ||
		     api_opt_string(r, auth, "type", &type) < 0))
		return -1;
	if (sid) {
		if (strlen(sid) > UIA_SESSION_LEN ||
		    uia_session_get(hs->uia, sid, REG_ACTION, "", now, &completed) < 0) {
			api_error(r, 400, "M_UNKNOWN", "Unknown UIA session");
			return -1;
		}
		memcpy(session, sid, strlen(sid) + 1);
	} else if (uia_session_new(hs->uia, REG_ACTION, "", now, session) < 0) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		return -1;
	}
	if (completed & want)
		return 0;
	if (!type) {
		answer_401(r, session, completed, NULL, NULL);
		return -1;
	}
	if (strcmp(type, "m.login.dummy") == 0 && want == UIA_DUMMY) {
		uia_session_complete(hs->uia, session, UIA_DUMMY, NULL);
		return 0;
	}
	if (strcmp(type, "m.login.registration_token") == 0 && want == UIA_REGTOKEN) {
		if (api_req_string(r, auth, "token", &token) < 0)
			return -1;
		rc = store_regtoken_use_pending(hs->store, token, now);
		if (rc == STORE_OK) {
			uia_session_complete(hs->uia, session, UIA_REGTOKEN, token);
			return 0;
		}
		if (rc == STORE_ERROR) {
			api_error(r, 500, "M_UNKNOWN", "Internal server error");
			return -1;
		}
		answer_401(r, session, completed, "M_FORBIDDEN", "Invalid registration token");
		return -1;
	}
	answer_401(r, session, completed, "M_UNRECOGNIZED", "Unsupported authentication type");
	return -1;
}

static void do_register(struct api_req *r)
{
	struct hs *hs = r->hs;
	char *kind = http_query(r->http, "kind");
	const char *username, *password, *device_id, *display_name;
	char localbuf[24];
	char session[UIA_SESSION_LEN + 1];
	char *user_id = NULL, *hash = NULL, *regtoken = NULL;
	int inhibit, refresh;
	int64_t wait;
	struct auth_session s;
	enum store_rc rc;
	json_t *reply;

	memset(&s, 0, sizeof(s));
	if (kind && strcmp(kind, "user") != 0) {
		if (strcmp(kind, "guest") == 0)
			api_error(r, 403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is disabled");
		else
			api_error(r, 400, "M_INVALID_PARAM", "Invalid kind");
		goto out;
	}
	if (!hs->cfg->enable_registration) {
		api_error(r, 403, "M_FORBIDDEN", "Registration has been disabled");
		goto out;
	}
	if (api_opt_string(r, r->body, "username", &username) < 0 ||
	    api_opt_string(r, r->body, "password", &password) < 0 ||
	    api_opt_string(r, r->body, "device_id", &device_id) < 0 ||
	    api_opt_string(r, r->body, "initial_device_display_name", &display_name) < 0 ||
	    api_opt_bool(r, r->body, "inhibit_login", 0, &inhibit) < 0 ||
	    api_opt_bool(r, r->body, "refresh_token", 0, &refresh) < 0)
		goto out;
	if (password && strlen(password) > PASSWORD_MAX_LEN) {
		api_error(r, 400, "M_BAD_JSON", "Password too long");
		goto out;
	}
	if (!username) {
		/* The spec lets the server choose; a random lower-case name. */
		if (auth_make_device_id(localbuf) < 0)
			goto fail;
		for (char *p = localbuf; *p; p++)
			*p = (char)(*p - 'A' + 'a');
		username = localbuf;
	}
	if (check_username(r, username, &user_id) < 0)
		goto out;
	if (register_uia(r, session) < 0)
		goto out;
	if (!password) {
		/* Checked after UIA, as Synapse does, so a client learns the
		 * flows first. */
		api_error(r, 400, "M_MISSING_PARAM", "Missing parameter: password");
		goto out;
	}
	if ((wait = ratelimit_check(hs->rl.register_ip, r->http->remote_ip,
				    http_monotonic_ms(), 1))) {
		api_ratelimited(r, wait);
		goto out;
	}
	hash = password_hash(password, &hs->pw);
	if (!hash)
		goto fail;
	if (!inhibit && auth_session_prepare(hs, &s, user_id, device_id, display_name,
					     r->http->remote_ip, refresh) < 0)
		goto fail;
	rc = store_user_create(hs->store, user_id, hash, 0, http_now_ms(),
			       inhibit ? NULL : &s.login);
	if (rc == STORE_CONFLICT) {
		api_error(r, 400, "M_USER_IN_USE", "User ID already taken.");
		goto out;
	}
	if (rc != STORE_OK)
		goto fail;
	uia_session_finish(hs->uia, session, &regtoken);
	if (regtoken)
		store_regtoken_use_complete(hs->store, regtoken);
	log_info("registered %s", user_id);
	reply = json_object();
	if (inhibit) {
		json_object_set_new(reply, "user_id", json_string(user_id));
		json_object_set_new(reply, "home_server", json_string(hs->cfg->server_name));
	} else {
		auth_session_reply(hs, &s, user_id, reply);
	}
	api_reply(r, 200, reply);
	goto out;
fail:
	api_error(r, 500, "M_UNKNOWN", "Internal server error");
out:
	auth_session_wipe(&s);
	free(kind);
	free(user_id);
	free(hash);
	free(regtoken);
}

static void available(struct api_req *r)
{
	char *username = http_query(r->http, "username");
	char *user_id = NULL;

	if (!r->hs->cfg->enable_registration) {
		api_error(r, 403, "M_FORBIDDEN", "Registration has been disabled");
	} else if (!username) {
		api_error(r, 400, "M_MISSING_PARAM", "Missing parameter: username");
	} else if (check_username(r, username, &user_id) == 0) {
		api_reply(r, 200, json_pack("{s:b}", "available", 1));
	}
	free(username);
	free(user_id);
}

static void token_validity(struct api_req *r)
{
	char *token = http_query(r->http, "token");
	int valid = 0;

	if (!token) {
		api_error(r, 400, "M_MISSING_PARAM", "Missing parameter: token");
		return;
	}
	if (store_regtoken_validity(r->hs->store, token, http_now_ms(), &valid) == STORE_ERROR)
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
	else
		api_reply(r, 200, json_pack("{s:b}", "valid", valid));
	free(token);
}

const struct api_route api_register_routes[] = {
	{ "POST", "/register", do_register, API_CLIENT_R0 | API_CLIENT_V3 | API_JSON },
	{ "GET", "/register/available", available, API_CLIENT_R0 | API_CLIENT_V3 },
	{ "GET", "/register/m.login.registration_token/validity", token_validity,
	  API_CLIENT_V1 },
};
const size_t api_register_nroutes = sizeof(api_register_routes) / sizeof(api_register_routes[0]);
