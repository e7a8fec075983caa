/* Password checking for SMTP AUTH on the submission port.
 *
 * The SMTP code never knows where passwords live: it calls a checker
 * through this interface.  The daemon plugs in smtp_auth_hs, which logs in
 * to the Matrix homeserver (POST /_matrix/client/v3/login) and logs the
 * new device straight out again, so the bridge holds no password database
 * and works with any homeserver.
 *
 * Contract: check() gets NUL-terminated user and password (the caller
 * wipes the password afterwards; a checker must not keep or log it) and
 * returns one of enum smtp_auth_result.  On SMTP_AUTH_OK it may write the
 * canonical identity (e.g. the Matrix user ID) into identity[identity_len],
 * NUL-terminated; otherwise the SMTP user name is used.  check() may block
 * (the server runs it off the event loop thread) and must be safe to call
 * from several threads at once.
 */
#ifndef SCOP_SMTP_AUTH_H
#define SCOP_SMTP_AUTH_H

#include <stddef.h>

enum smtp_auth_result {
	SMTP_AUTH_OK = 0,
	SMTP_AUTH_BAD = 1,      /* wrong user or password: 535 5.7.8 */
	SMTP_AUTH_TEMPFAIL = 2, /* checker unreachable or broken: 454 4.7.0 */
	/* Never from a checker: the server's verdict after too many failures
	 * from the client's address (421 4.7.0, the session ends). */
	SMTP_AUTH_LOCKOUT = 3,
};

struct smtp_auth_checker {
	enum smtp_auth_result (*check)(void *ctx, const char *user, const char *password,
				       char *identity, size_t identity_len);
	void *ctx;
};

/* The homeserver-login checker.  base_url is e.g. "http://127.0.0.1:8008"
 * (no trailing path); timeout_ms bounds each HTTP request.  Returns NULL
 * when memory runs out.  Call curl_global_init() once before use. */
struct smtp_auth_hs;
struct smtp_auth_hs *smtp_auth_hs_new(const char *base_url, long timeout_ms);
void smtp_auth_hs_free(struct smtp_auth_hs *hs);
/* Fills *out with a checker backed by hs (hs must outlive it). */
void smtp_auth_hs_checker(struct smtp_auth_hs *hs, struct smtp_auth_checker *out);

#endif
