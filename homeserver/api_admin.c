/* Synapse-compatible shared-secret registration:
 * GET /_synapse/admin/v1/register hands out a nonce; POST registers a user
 * when mac = hex(HMAC-SHA1(registration_shared_secret,
 *   nonce NUL username NUL password NUL ("admin"|"notadmin") [NUL user_type])).
 * Works even when open registration is off: it is how the first admin is
 * made (scopctl register). */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/log.h"
#include "homeserver/api.h"
#include "homeserver/auth.h"
#include "homeserver/nonce.h"
#include "homeserver/password.h"
#include "homeserver/userid.h"

static int enabled(struct api_req *r)
{
	if (r->hs->cfg->registration_shared_secret)
		return 1;
	api_error(r, 400, "M_UNKNOWN", "Shared secret registration is not enabled");
	return 0;
}

static void get_nonce(struct api_req *r)
{
	char nonce[NONCE_LEN + 1];
	if (!enabled(r))
		return;
	if (nonces_issue(r->hs->nonces, http_monotonic_ms(), nonce) < 0) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		return;
	}
	api_reply(r, 200, json_pack("{s:s}", "nonce", nonce));
}

/* 1 when mac is the right HMAC for these fields. */
static int mac_ok(const char *secret, const char *nonce, const char *user, const char *pw,
		  int admin, const char *user_type, const char *mac)
{
	struct buf b = BUF_INIT;
	unsigned char md[64];
	char hex[129];
	size_t mdlen = 0;
	int ok = 0;

	if (buf_append(&b, nonce, strlen(nonce) + 1) == 0 &&
	    buf_append(&b, user, strlen(user) + 1) == 0 &&
	    buf_append(&b, pw, strlen(pw) + 1) == 0 &&
	    buf_puts(&b, admin ? "admin" : "notadmin") == 0 &&
	    (!user_type || (buf_putc(&b, '\0') == 0 && buf_puts(&b, user_type) == 0)) &&
	    scop_hmac("sha1", secret, strlen(secret), b.data, b.len, md, &mdlen) == 0) {
		scop_hex(md, mdlen, hex);
		ok = scop_ct_equal(hex, 2 * mdlen, mac, strlen(mac));
	}
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	return ok;
}

static void admin_register(struct api_req *r)
{
	struct hs *hs = r->hs;
	const char *nonce, *username, *password, *mac, *user_type, *displayname;
	int admin;
	char *user_id = NULL, *hash = NULL;
	struct auth_session s;
	enum store_rc rc;
	json_t *reply;

	memset(&s, 0, sizeof(s));
	if (!enabled(r))
		return;
	if (api_req_string(r, r->body, "nonce", &nonce) < 0 ||
	    api_req_string(r, r->body, "username", &username) < 0 ||
	    api_req_string(r, r->body, "password", &password) < 0 ||
	    api_req_string(r, r->body, "mac", &mac) < 0 ||
	    api_opt_string(r, r->body, "user_type", &user_type) < 0 ||
	    api_opt_string(r, r->body, "displayname", &displayname) < 0 ||
	    api_opt_bool(r, r->body, "admin", 0, &admin) < 0)
		return;
	if (!nonces_take(hs->nonces, nonce, http_monotonic_ms())) {
		api_error(r, 400, "M_UNKNOWN", "unrecognised nonce");
		return;
	}
	if (strlen(password) > PASSWORD_MAX_LEN) {
		api_error(r, 400, "M_BAD_JSON", "Password too long");
		return;
	}
	if (!mac_ok(hs->cfg->registration_shared_secret, nonce, username, password, admin,
		    user_type, mac)) {
		api_error(r, 403, "M_FORBIDDEN", "HMAC incorrect");
		return;
	}
	if (!hs_localpart_valid_new(username)) {
		api_error(r, 400, "M_INVALID_USERNAME",
			  "User ID can only contain characters a-z, 0-9, or '=_-./+'");
		return;
	}
	user_id = hs_user_id_make(username, hs->cfg->server_name);
	if (!user_id) {
		api_error(r, 400, "M_INVALID_USERNAME", "User ID is too long");
		return;
	}
	hash = password_hash(password, &hs->pw);
	if (!hash || auth_session_prepare(hs, &s, user_id, NULL, NULL, r->http->remote_ip, 0) < 0) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		goto out;
	}
	rc = store_user_create(hs->store, user_id, hash, admin, http_now_ms(), &s.login);
	if (rc == STORE_CONFLICT) {
		api_error(r, 400, "M_USER_IN_USE", "User ID already taken.");
		goto out;
	}
	if (rc != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		goto out;
	}
	if (displayname)
		store_user_set_displayname(hs->store, user_id, displayname);
	log_info("registered %s%s with the shared secret", user_id, admin ? " (admin)" : "");
	reply = json_object();
	auth_session_reply(hs, &s, user_id, reply);
	api_reply(r, 200, reply);
out:
	auth_session_wipe(&s);
	free(user_id);
	free(hash);
}

const struct api_route api_admin_routes[] = {
	{ "GET", "/_synapse/admin/v1/register", get_nonce, 0 },
	{ "POST", "/_synapse/admin/v1/register", admin_register, API_JSON },
};
const size_t api_admin_nroutes = sizeof(api_admin_routes) / sizeof(api_admin_routes[0]);
