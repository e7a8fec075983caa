/* The SMTP server: listeners, an epoll event loop over non-blocking
 * sockets, OpenSSL for STARTTLS, and the glue between smtp_session (the
 * protocol), spool (storage) and smtp_auth (password checks).
 *
 * One thread runs every session; an idle client costs a socket and a
 * session struct, never a thread.  Message content is streamed into its
 * spool file as it arrives (the session's sink), so memory per session
 * stays small.  What may block runs on short-lived worker threads whose
 * results come back to the loop through a pipe: password checks (an HTTP
 * round trip to the homeserver) and committing a message (fsync, rename,
 * fsync of the directory), after which the session sends its 250.
 *
 * Per client address (smtp_limits_ip.h, one table over all listeners):
 * connections past client_limits get 421 4.7.0 before the greeting, and
 * after too many failed AUTHs an address gets 421 4.7.0 on its next AUTH
 * and on connecting to a submission listener, until its block ends.
 *
 * Contract: the config and everything it points to (spool, SSL_CTX,
 * checker, domain list) must outlive the server.  Functions return 0 or
 * -1 (with a message in err where there is one).  smtp_server_stop() is
 * async-signal-safe, so a SIGTERM handler may call it.
 */
#ifndef SCOP_SMTP_SERVER_H
#define SCOP_SMTP_SERVER_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "bridge-smtp/smtp_auth.h"
#include "bridge-smtp/smtp_limits_ip.h"
#include "bridge-smtp/smtp_sender.h"
#include "bridge-smtp/smtp_session.h"
#include "bridge-smtp/spool.h"

struct smtp_server_config {
	const char *hostname;
	const char *const *local_domains;
	size_t n_local_domains;
	struct smtp_limits limits;
	unsigned idle_timeout_s;    /* no input for this long: 421 */
	unsigned session_timeout_s; /* whole session: 421 */
	unsigned max_sessions;      /* more connections get 421 at once */
	/* Per client address, over all listeners (all zero: no limits). */
	struct smtp_ip_limits_config client_limits;
	/* Submission sender checks; NULL: none. */
	const struct smtp_sender_policy *sender_policy;
	SSL_CTX *tls;               /* NULL: no STARTTLS */
	const struct smtp_auth_checker *auth; /* NULL: no AUTH */
	struct spool *spool;
	/* Called on the loop thread after a message is stored; may be NULL. */
	void (*on_queued)(void *ctx, const char *queue_id);
	void *on_queued_ctx;
};

struct smtp_server;

struct smtp_server *smtp_server_new(const struct smtp_server_config *cfg);
void smtp_server_free(struct smtp_server *srv);

/* Binds and listens; port 0 picks a free port (see smtp_server_port). */
int smtp_server_listen(struct smtp_server *srv, const char *address, int port, enum smtp_role role,
		       char *err, size_t errlen);
/* The bound port of the n-th listener (in order of smtp_server_listen). */
int smtp_server_port(const struct smtp_server *srv, size_t n);

/* Serves until smtp_server_stop(); then tells open sessions 421, waits
 * for running password checks and returns. */
int smtp_server_run(struct smtp_server *srv);
void smtp_server_stop(struct smtp_server *srv);

/* A server TLS context from PEM files (TLS 1.2 or later). */
SSL_CTX *smtp_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen);

#endif
