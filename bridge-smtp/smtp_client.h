/* SMTP client (RFC 5321) for the outbound relay: one transaction (one
 * message to the recipients of one domain) per connection.
 *
 * Three layers, each usable on its own:
 *  - the reply parser (smtp_reply_line): multi-line replies, EHLO
 *    keywords, enhanced status codes (RFC 3463).  It reads what remote
 *    servers send, so it is fuzzed (tests/fuzz/fuzz_smtp_reply.c).
 *  - the protocol state machine (smtp_client_start/_reply/_tls_done): no
 *    sockets, no clock.  It takes each parsed reply and says what to do
 *    next: send the command in its output, do the TLS handshake, send
 *    the message, or close.  Greeting, EHLO (HELO if EHLO is refused),
 *    STARTTLS when offered (opportunistic; or required by the caller)
 *    and EHLO again, MAIL FROM with SIZE, BODY=8BITMIME and SMTPUTF8 as
 *    needed and offered, RCPT per recipient, DATA, QUIT.
 *  - the driver (smtp_client_run): blocking I/O on a connected socket
 *    with the per-stage timeouts of RFC 5321 4.5.3.2, and TLS through
 *    OpenSSL.
 *
 * Results: each recipient ends OK, TEMP or PERM with the reply that
 * decided it.  A failure of the session before any RCPT (no greeting,
 * timeout, TLS trouble, 4xx to MAIL) leaves recipients TEMP with the
 * session's reply, and c->host_failed set: the caller tries the next MX.
 * A 5xx to MAIL fails every recipient for good.  8-bit content goes to a
 * server without 8BITMIME anyway (as most MTAs do); a message that needs
 * SMTPUTF8 fails permanently (5.6.7) at a server without it.
 * Certificates are not verified (opportunistic TLS, RFC 7435) unless the
 * caller gives TLSA records (DANE, RFC 7672): then the handshake fails
 * unless the peer's certificate matches one, and the session ends before
 * MAIL.  require_tls alone only insists on encryption.
 *
 * Signals: OpenSSL writes with write(2), so a peer that hangs up during a
 * handshake raises SIGPIPE; callers ignore SIGPIPE (as the daemons do).
 *
 * Memory: the caller owns the envelope, results array and message for the
 * life of the client; the client owns its output buffer
 * (smtp_client_free releases it).  Nothing here logs message content.
 */
#ifndef SCOP_SMTP_CLIENT_H
#define SCOP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "common/buf.h"

#define SMTP_REPLY_LINE_MAX 2048  /* longer lines are malformed (RFC: 512) */
#define SMTP_REPLY_MAX_LINES 128
#define SMTP_REPLY_TEXT_MAX 512

/* EHLO keywords we act on. */
#define SMTP_EXT_STARTTLS 0x01u
#define SMTP_EXT_SIZE 0x02u
#define SMTP_EXT_8BITMIME 0x04u
#define SMTP_EXT_SMTPUTF8 0x08u
#define SMTP_EXT_PIPELINING 0x10u
#define SMTP_EXT_ENHANCED 0x20u

struct smtp_reply {
	int code;                       /* 200..599 once complete */
	char enh[16];                   /* "5.1.1", or "" */
	char text[SMTP_REPLY_TEXT_MAX]; /* first line's text without the enhanced
					 * code, then the others after "; ";
					 * control octets replaced by '?' */
	unsigned lines;
	unsigned ext;                   /* SMTP_EXT_* seen on lines 2.. (EHLO) */
	unsigned long long size_limit;  /* SIZE argument, 0 if none */
};

void smtp_reply_init(struct smtp_reply *r);
/* Feeds one line (without its CRLF).  Returns 1 when the reply is
 * complete, 0 when more lines follow, -1 when the line is malformed (no
 * 3-digit code in 200..599, a code that changes, a bad separator, too
 * long, too many lines).  After 1 or -1, smtp_reply_init() before reuse. */
int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len);

enum smtp_rcpt_status {
	SMTP_RCPT_PENDING = 0,
	SMTP_RCPT_OK,
	SMTP_RCPT_TEMP,
	SMTP_RCPT_PERM,
};

struct smtp_rcpt_result {
	enum smtp_rcpt_status status;
	int code;        /* 0 when no reply decided it (connection trouble) */
	char enh[16];
	char text[256];  /* the reply's text, or what went wrong */
};

struct smtp_client_envelope {
	const char *from;               /* without brackets; "" for <> */
	const char *const *rcpts;
	size_t n_rcpts;
	size_t size;                    /* octets of the message */
	bool body_8bit;                 /* BODY=8BITMIME when offered */
	bool smtputf8;                  /* the envelope or headers need it */
};

/* RFC 5321 4.5.3.2 minimums (milliseconds); smtp_client_timeouts_default
 * sets them: greeting 5 min, MAIL 5, RCPT 5, DATA 2, data block 3, end of
 * data 10; EHLO/HELO, STARTTLS handshake, QUIT: 5, 2 and 1 min. */
struct smtp_client_timeouts {
	unsigned greeting, ehlo, tls, mail, rcpt, data_init, data_block, data_term, quit;
};
void smtp_client_timeouts_default(struct smtp_client_timeouts *t);
/* Every stage's timeout set to ms (tests). */
void smtp_client_timeouts_all(struct smtp_client_timeouts *t, unsigned ms);

enum smtp_client_state {
	SMTPC_GREETING,
	SMTPC_EHLO,
	SMTPC_HELO,
	SMTPC_STARTTLS,
	SMTPC_TLS,       /* handshake in progress (the caller's) */
	SMTPC_MAIL,
	SMTPC_RCPT,
	SMTPC_DATA,
	SMTPC_BODY,      /* message sent, waiting for the final reply */
	SMTPC_QUIT,
	SMTPC_DONE,
};

enum smtp_client_action {
	SMTPC_ACT_SEND,      /* write smtp_client_output(), then read a reply */
	SMTPC_ACT_TLS,       /* do the TLS handshake, then smtp_client_tls_done() */
	SMTPC_ACT_SEND_BODY, /* write the dot-stuffed message and ".", then read */
	SMTPC_ACT_CLOSE,     /* write any output (QUIT), close */
};

/* One TLSA record (RFC 6698) to authenticate the server with. */
struct smtp_tlsa {
	unsigned char usage, selector, mtype;
	const unsigned char *data;
	size_t len;
};

/* DANE authentication (RFC 7672) for one connection; borrowed. */
struct smtp_client_dane {
	const struct smtp_tlsa *tlsa;
	size_t n_tlsa;
	const char *mx_host;   /* TLSA base domain, SNI, reference identifier */
	const char *nexthop;   /* the recipient domain: also a reference
				* identifier for DANE-TA(2) (RFC 7672 3.2.2) */
};

struct smtp_client_opts {
	const char *helo;      /* our host name */
	bool tls_available;    /* we can do TLS (a client SSL_CTX exists) */
	bool require_tls;      /* no STARTTLS or a failed handshake: fail the host */
	/* Non-NULL: the certificate must match (implies require_tls; the
	 * SSL_CTX must come from smtp_client_tls_ctx_new). */
	const struct smtp_client_dane *dane;
};

struct smtp_client {
	enum smtp_client_state state;
	struct smtp_client_opts opts;
	const struct smtp_client_envelope *env;
	struct smtp_rcpt_result *res;   /* env->n_rcpts entries */
	struct buf out;
	unsigned ext;                   /* the server's EHLO keywords */
	unsigned long long size_limit;
	bool esmtp, tls_active;
	size_t next_rcpt;
	size_t accepted;                /* RCPTs answered 2xx */
	/* Session outcome: host_failed when the host, not the recipients, was
	 * the trouble (try the next MX); why says what happened. */
	bool host_failed;
	bool delivered;                 /* the final reply to DATA was 2xx */
	bool tls_failed;                /* the STARTTLS handshake failed */
	bool tls_verified;              /* the peer matched opts.dane */
	char tls_info[160];             /* "TLSv1.3 with cipher ..." once up; or
					 * why the handshake or DANE check failed */
	struct smtp_rcpt_result why;
};

/* Starts a client waiting for the greeting.  res[] is set to PENDING. */
int smtp_client_start(struct smtp_client *c, const struct smtp_client_opts *o, const struct smtp_client_envelope *env,
		      struct smtp_rcpt_result *res);
void smtp_client_free(struct smtp_client *c);
/* Next step after a complete reply. */
enum smtp_client_action smtp_client_reply(struct smtp_client *c, const struct smtp_reply *r);
/* After SMTPC_ACT_TLS: ok says whether the handshake succeeded. */
enum smtp_client_action smtp_client_tls_done(struct smtp_client *c, bool ok);
/* The connection failed (I/O error, timeout, malformed reply) in the
 * current state: records why and finishes.  Recipients not yet decided
 * stay TEMP. */
void smtp_client_abort(struct smtp_client *c, const char *why);
/* Command bytes to send (empty when none). */
const char *smtp_client_output(const struct smtp_client *c, size_t *len);
/* The timeout (ms) for the reply awaited in the current state. */
unsigned smtp_client_timeout(const struct smtp_client *c, const struct smtp_client_timeouts *t);

/* Appends msg[0..len) to out dot-stuffed (RFC 5321 4.5.2), with a final
 * CRLF if missing, then ".\r\n". */
int smtp_dot_stuff(const char *msg, size_t len, struct buf *out);

/* Connects a TCP socket to addr with a timeout; -1 with a reason in err. */
struct sockaddr;
int smtp_client_connect(const struct sockaddr *addr, unsigned addrlen, unsigned timeout_ms, char *err,
			size_t errlen);

/* Runs the whole session on the connected socket fd (which it closes):
 * head (may be NULL: e.g. the DKIM-Signature field) then msg are sent as
 * the message.  tls may be NULL (no STARTTLS); sni is the host name for
 * the handshake.  Returns 0 once the session has ended, whatever the
 * outcome (see c->res, c->delivered, c->host_failed); -1 only when memory
 * ran out. */
int smtp_client_run(struct smtp_client *c, int fd, SSL_CTX *tls, const char *sni,
		    const struct smtp_client_timeouts *t, const char *head, size_t head_len, const char *msg,
		    size_t msg_len);

/* A client TLS context for STARTTLS: no verification (opportunistic)
 * unless a connection has smtp_client_opts.dane; DANE is enabled on it,
 * with no name checks for DANE-EE(3) (RFC 7672 3.1.1). */
SSL_CTX *smtp_client_tls_ctx_new(char *err, size_t errlen);

#endif
