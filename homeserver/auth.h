/* Access tokens and who is asking: token generation (OpenSSL CSPRNG,
 * stored only as SHA-256 hex), the Bearer/query-parameter token of a
 * request mapped to a requester, password checks with failure rate
 * limits, and the tokens a new login session gets.
 *
 * Contract: plain tokens exist only in caller buffers and in the reply
 * sent to the client; they are wiped by auth_session_wipe() and never
 * logged.  Functions that take a struct api_req answer it themselves on
 * failure and return -1.
 */
#ifndef SCOP_HS_AUTH_H
#define SCOP_HS_AUTH_H

#include <stdint.h>

#include <jansson.h>

#include "homeserver/api.h"
#include "homeserver/store/store.h"
#include "homeserver/userid.h"

#define AUTH_TOKEN_MAX 400
#define AUTH_DEVICE_ID_MAX 256

void requester_clear(struct requester *w);
/* Fills r->who from the request's token, or answers 401 (M_MISSING_TOKEN,
 * M_UNKNOWN_TOKEN with soft_logout) and returns -1. */
int auth_requester(struct api_req *r);

/* "<prefix>_<base64url localpart>_<32 random chars>" into out, its hash
 * into hash[65].  -1 when it does not fit or randomness fails. */
int auth_make_token(const char *prefix, const char *user_id, char *out, size_t outlen,
		    char hash[65]);
/* Ten random upper-case letters, as Synapse makes device ids. */
int auth_make_device_id(char out[11]);

/* The rate-limiter key for a user: the id lower-cased, since logins match
 * ids case-insensitively and changing case must not buy more guesses. */
void auth_user_key(const char *user_id, char out[HS_USER_ID_MAX + 1]);

enum auth_pw {
	AUTH_PW_OK = 0,
	AUTH_PW_WRONG,        /* unknown user or wrong password */
	AUTH_PW_LIMITED,      /* too many failures: *retry_ms says how long */
	AUTH_PW_DEACTIVATED,
	AUTH_PW_ERROR,        /* storage failure */
};
/* Verifies a password for user_id (matched case-insensitively; the stored
 * id goes to *canonical, malloc'd, when OK).  Failures count against ip
 * and the user in the failed_attempts limiters. */
enum auth_pw auth_check_password(struct hs *hs, const char *user_id, const char *password,
				 const char *ip, int64_t *retry_ms, char **canonical);

/* The device and tokens of a new login. */
struct auth_session {
	char device_id[AUTH_DEVICE_ID_MAX];
	char access[AUTH_TOKEN_MAX];
	char access_hash[65];
	char refresh[AUTH_TOKEN_MAX];
	char refresh_hash[65];
	int refreshable;
	int64_t expires_in_ms;
	struct store_login login; /* points into this struct and the arguments */
};
/* device_id NULL: a new random one.  The strings passed must outlive s. */
int auth_session_prepare(struct hs *hs, struct auth_session *s, const char *user_id,
			 const char *device_id, const char *display_name, const char *ip,
			 int refreshable);
/* Adds user_id, access_token, device_id, home_server and, when
 * refreshable, refresh_token and expires_in_ms to reply. */
void auth_session_reply(struct hs *hs, const struct auth_session *s, const char *user_id,
			json_t *reply);
void auth_session_wipe(struct auth_session *s);

/* The password in a UIA "auth" dict or a login body: identifier
 * (m.id.user) or legacy "user", resolved to a full user id (malloc'd) with
 * the server's name for a bare localpart.  -1 after answering 400. */
int auth_identifier_user(struct api_req *r, json_t *obj, char **user_id);

#endif
