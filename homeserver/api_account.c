/* Account: password change and deactivation (both behind UIA), and the
 * third-party identifier endpoints, which scopd does not support (empty
 * lists, refusals). */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "homeserver/api.h"
#include "homeserver/auth.h"
#include "homeserver/password.h"
#include "homeserver/uia.h"

static void change_password(struct api_req *r)
{
	const char *pw;
	int logout_devices;
	char *hash;
	enum store_rc rc;

	if (api_opt_string(r, r->body, "new_password", &pw) < 0 ||
	    api_opt_bool(r, r->body, "logout_devices", 1, &logout_devices) < 0)
		return;
	if (uia_require_password(r, "password") < 0)
		return;
	if (!pw) {
		api_error(r, 400, "M_MISSING_PARAM", "Missing parameter: new_password");
		return;
	}
	if (strlen(pw) > PASSWORD_MAX_LEN) {
		api_error(r, 400, "M_BAD_JSON", "Password too long");
		return;
	}
	hash = password_hash(pw, &r->hs->pw);
	if (!hash) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		return;
	}
	rc = store_user_set_password(r->hs->store, r->who.user_id, hash, logout_devices,
				     r->who.device_id);
	free(hash);
	if (rc == STORE_OK) {
		log_info("password changed for %s", r->who.user_id);
		api_reply(r, 200, json_object());
	} else {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
	}
}

static void deactivate(struct api_req *r)
{
	int erase;
	if (api_opt_bool(r, r->body, "erase", 0, &erase) < 0)
		return;
	if (uia_require_password(r, "deactivate") < 0)
		return;
	if (store_user_deactivate(r->hs->store, r->who.user_id) != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		return;
	}
	log_info("deactivated %s", r->who.user_id);
	api_reply(r, 200, json_pack("{s:s}", "id_server_unbind_result", "no-support"));
}

static void threepids(struct api_req *r)
{
	api_reply(r, 200, json_pack("{s:[]}", "threepids"));
}

static void threepid_refuse(struct api_req *r)
{
	api_error(r, 400, "M_THREEPID_DENIED", "Third-party identifiers are not supported");
}

static void threepid_unbind(struct api_req *r)
{
	api_reply(r, 200, json_pack("{s:s}", "id_server_unbind_result", "no-support"));
}

/* What this server lets accounts change.  Room versions are the events
 * part's to add when rooms exist. */
static void capabilities(struct api_req *r)
{
	api_reply(r, 200, json_pack("{s:{s:{s:b},s:{s:b},s:{s:b},s:{s:b}}}", "capabilities",
				    "m.change_password", "enabled", 1,
				    "m.set_displayname", "enabled", 1,
				    "m.set_avatar_url", "enabled", 1,
				    "m.3pid_changes", "enabled", 0));
}

#define CS (API_CLIENT_R0 | API_CLIENT_V3)
const struct api_route api_account_routes[] = {
	{ "POST", "/account/password", change_password, CS | API_AUTH | API_JSON },
	{ "POST", "/account/deactivate", deactivate, CS | API_AUTH | API_JSON },
	{ "GET", "/capabilities", capabilities, CS | API_AUTH },
	{ "GET", "/account/3pid", threepids, CS | API_AUTH },
	{ "POST", "/account/3pid", threepid_refuse, CS | API_AUTH | API_JSON },
	{ "POST", "/account/3pid/add", threepid_refuse, CS | API_AUTH | API_JSON },
	{ "POST", "/account/3pid/bind", threepid_refuse, CS | API_AUTH | API_JSON },
	{ "POST", "/account/3pid/delete", threepid_unbind, CS | API_AUTH | API_JSON },
	{ "POST", "/account/3pid/unbind", threepid_unbind, CS | API_AUTH | API_JSON },
	{ "POST", "/account/3pid/email/requestToken", threepid_refuse, CS | API_JSON },
	{ "POST", "/account/3pid/msisdn/requestToken", threepid_refuse, CS | API_JSON },
	{ "POST", "/account/password/email/requestToken", threepid_refuse, CS | API_JSON },
	{ "POST", "/register/email/requestToken", threepid_refuse, CS | API_JSON },
};
const size_t api_account_nroutes = sizeof(api_account_routes) / sizeof(api_account_routes[0]);
