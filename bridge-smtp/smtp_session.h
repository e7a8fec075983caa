/* One SMTP server session as a pure state machine (RFC 5321 with
 * PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, CHUNKING,
 * STARTTLS and AUTH PLAIN/LOGIN).  No sockets, no clock, no files: the
 * server feeds the bytes it reads, sends the reply bytes it is given, and
 * acts on events.  That keeps the protocol unit-testable and fuzzable.
 *
 * Driving it:
 *   s = smtp_session_new(&cfg);            greeting is already in the output
 *   loop:
 *     smtp_session_feed(s, bytes, n);      after each read
 *     while ((ev = smtp_session_step(s)) != SMTP_EV_NONE) handle ev;
 *     send smtp_session_output(), then smtp_session_output_consume()
 *   smtp_session_free(s);
 * Events and what the caller must do before calling step() again:
 *   SMTP_EV_STARTTLS  send all output, do the TLS handshake, then call
 *                     smtp_session_tls_started() (or close on failure).
 *   SMTP_EV_AUTH      check smtp_session_auth_user()/_password() and call
 *                     smtp_session_auth_done().
 *   SMTP_EV_MESSAGE   store the message of smtp_session_envelope() durably,
 *                     then call smtp_session_message_done(); the 250 (or
 *                     451) is only written then.
 *   SMTP_EV_CLOSE     send the remaining output and close the connection.
 * While an event is outstanding step() returns SMTP_EV_NONE; feed() still
 * buffers input.
 *
 * Strictness: commands and message lines must end in CRLF; a bare LF or
 * bare CR anywhere in DATA or BDAT content gets the message rejected
 * (never reinterpreted), and "." ends DATA only after a CRLF-terminated
 * line, so "\n.\n", "\n.\r\n" and "\r.\r\n" smuggle nothing.  Input read
 * after STARTTLS but before the handshake is discarded (CVE-2011-0411).
 *
 * Submission sender policy (cfg->sender_policy, smtp_sender.h): once
 * authenticated, MAIL FROM must be an address the user owns (else 553
 * 5.7.1; the null sender too), and every From: header address of the
 * message must be as well (read while the content streams in; checked
 * at its end, 550 5.7.1, the message then never reaches SMTP_EV_MESSAGE).
 * An SMTP_AUTH_LOCKOUT answer to SMTP_EV_AUTH ends the session with 421.
 *
 * Memory: the session owns its buffers; strings from the accessors live
 * until the next step()/free().  The config (and the strings it points to)
 * must outlive the session.  Functions returning int give 0 or -1.
 */
#ifndef SCOP_SMTP_SESSION_H
#define SCOP_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "bridge-smtp/smtp_auth.h"
#include "bridge-smtp/smtp_cmd.h"
#include "bridge-smtp/smtp_sender.h"

enum smtp_role {
	SMTP_ROLE_MX = 0,         /* mail for local domains only, no AUTH */
	SMTP_ROLE_SUBMISSION = 1, /* STARTTLS then AUTH required, may relay */
};

struct smtp_limits {
	size_t max_line;          /* command line incl. CRLF (>= 512) */
	size_t max_data_line;     /* message text line incl. CRLF (RFC: 1000) */
	size_t max_message_size;  /* octets, advertised in SIZE */
	size_t max_recipients;
	unsigned max_bad_commands; /* errors before 421 */
	unsigned max_commands;     /* commands per session before 421 */
	unsigned max_messages;     /* messages per session before 421 */
};

/* Defaults: 2048, 1000, 25 MiB, 100, 10, 1000, 100. */
void smtp_limits_default(struct smtp_limits *l);

struct smtp_session_config {
	enum smtp_role role;
	const char *hostname;
	const char *const *local_domains; /* compared case-insensitively */
	size_t n_local_domains;
	struct smtp_limits limits;
	bool tls_available;  /* offer STARTTLS */
	bool auth_available; /* a password checker exists (submission) */
	/* Submission only: which senders an authenticated user may use
	 * (MAIL FROM, From: header); NULL checks nothing. */
	const struct smtp_sender_policy *sender_policy;
};

enum smtp_event {
	SMTP_EV_NONE = 0,
	SMTP_EV_STARTTLS,
	SMTP_EV_AUTH,
	SMTP_EV_MESSAGE,
	SMTP_EV_CLOSE,
};

/* The envelope and content of an accepted message; all owned by the
 * session and valid until smtp_session_message_done(). */
struct smtp_envelope {
	const char *mail_from;   /* "" for the null reverse-path */
	const char *const *rcpts;
	size_t n_rcpts;
	enum smtp_body body;
	bool smtputf8;
	bool chunked;            /* arrived with BDAT */
	const char *helo;
	bool tls;
	const char *auth_identity; /* NULL unless authenticated */
	const char *data;        /* the message, CRLF lines, dots unstuffed;
				    NULL when it went to a sink */
	size_t len;
};

/* Where message content goes.  Without a sink (the default) the session
 * keeps the message in memory and hands it over in the envelope.  With
 * one, content is streamed as it arrives: begin() when the first octet is
 * due (the envelope is complete; its data is NULL), write() for each
 * piece, and abort() if the message is refused or the transaction ends
 * without it.  On SMTP_EV_MESSAGE the streamed content belongs to the
 * caller (to commit); the session will not abort it.  begin() and write()
 * return 0 or -1; -1 makes the message fail with 452 4.3.1. */
struct smtp_sink {
	int (*begin)(void *ctx, const struct smtp_envelope *env);
	int (*write)(void *ctx, const void *data, size_t len);
	void (*abort)(void *ctx);
	void *ctx;
};

struct smtp_session;

struct smtp_session *smtp_session_new(const struct smtp_session_config *cfg);
void smtp_session_free(struct smtp_session *s);
/* sink must outlive the session; set it before feeding input. */
void smtp_session_set_sink(struct smtp_session *s, const struct smtp_sink *sink);

/* Buffers input; -1 when more than the input limit is waiting (the
 * caller should close the connection). */
int smtp_session_feed(struct smtp_session *s, const void *data, size_t len);
enum smtp_event smtp_session_step(struct smtp_session *s);

const char *smtp_session_output(const struct smtp_session *s, size_t *len);
void smtp_session_output_consume(struct smtp_session *s, size_t n);

/* Replies 421 and moves to the closing state (idle or session time out). */
void smtp_session_timeout(struct smtp_session *s);
/* Replies 421 for a server shutting down. */
void smtp_session_shutdown(struct smtp_session *s);
bool smtp_session_closed(const struct smtp_session *s);

void smtp_session_tls_started(struct smtp_session *s);

const char *smtp_session_auth_user(const struct smtp_session *s);
const char *smtp_session_auth_password(const struct smtp_session *s);
/* identity may be NULL (the user name is used). Wipes the password. */
void smtp_session_auth_done(struct smtp_session *s, enum smtp_auth_result r, const char *identity);

const struct smtp_envelope *smtp_session_envelope(struct smtp_session *s);
/* ok: the message is stored (queue_id goes in the 250 text); otherwise a
 * temporary failure 451 is sent.  Either way the transaction ends. */
void smtp_session_message_done(struct smtp_session *s, bool ok, const char *queue_id);

#endif
