/* User-interactive authentication sessions (spec: "User-Interactive
 * Authentication API"): which stages a session has completed, what it was
 * opened for, and a registration token it holds a pending use of.
 *
 * Contract: internally locked; sessions expire after UIA_LIFETIME_MS, and
 * an expiring session holding a registration token hands it to the
 * release callback (so the token's pending use is given back).  A session
 * is bound to an action ("register", "delete_devices", ...) and a user id
 * ("" for registration); presenting it for another is treated as unknown.
 */
#ifndef SCOP_HS_UIA_H
#define SCOP_HS_UIA_H

#include <stdint.h>

#define UIA_SESSION_LEN 24
#define UIA_LIFETIME_MS (15 * 60 * 1000)

enum uia_stage {
	UIA_DUMMY = 1,
	UIA_PASSWORD = 2,
	UIA_REGTOKEN = 4,
};

struct uia;
struct api_req;

typedef void (*uia_release_fn)(void *ctx, const char *regtoken);

struct uia *uia_new(uia_release_fn release, void *ctx);
/* Releases every held registration token too. */
void uia_free(struct uia *u);

/* New session id into id[UIA_SESSION_LEN + 1]; -1 on failure. */
int uia_session_new(struct uia *u, const char *action, const char *user_id,
		    int64_t now_ms, char id[UIA_SESSION_LEN + 1]);
/* 0 and the completed stages when the session exists for this action and
 * user; -1 otherwise. */
int uia_session_get(struct uia *u, const char *id, const char *action,
		    const char *user_id, int64_t now_ms, unsigned *completed);
/* Marks a stage done; regtoken (may be NULL) is the token whose pending
 * use the session now holds.  -1 when the session is gone. */
int uia_session_complete(struct uia *u, const char *id, unsigned stage, const char *regtoken);
/* Ends the session; *regtoken (may be NULL) gets its token (malloc'd) so
 * the caller can complete the use instead of releasing it. */
void uia_session_finish(struct uia *u, const char *id, char **regtoken);

/* The common UIA step for endpoints that need the user's password
 * (delete devices, change password, deactivate): with no or an incomplete
 * "auth" answers 401 with the flows and a session and returns -1; with a
 * wrong password answers 401 with M_FORBIDDEN (and counts the failure);
 * returns 0 when the password was verified.  action names the endpoint. */
int uia_require_password(struct api_req *r, const char *action);

#endif
