/* SMTP session state machine; see smtp_session.h for the contract. */
#include "bridge-smtp/smtp_session.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge-smtp/smtp_fromhdr.h"
#include "common/base64.h"
#include "common/buf.h"

/* Input waiting beyond this many octets means a client that does not wait
 * for replies at all; output beyond its limit, one that never reads. */
#define SMTP_INPUT_MAX (256 * 1024)
#define SMTP_OUTPUT_MAX (256 * 1024)
#define SMTP_CRED_MAX 512

enum smtp_state {
	ST_CMD,          /* reading command lines */
	ST_DATA,         /* reading DATA text lines */
	ST_BDAT,         /* reading a BDAT chunk's octets */
	ST_AUTH_PLAIN,   /* waiting for the PLAIN response line */
	ST_AUTH_USER,    /* LOGIN: waiting for the user name */
	ST_AUTH_PASS,    /* LOGIN: waiting for the password */
	ST_WAIT_TLS,     /* event outstanding */
	ST_WAIT_AUTH,
	ST_WAIT_MESSAGE,
	ST_CLOSED,
};

struct smtp_session {
	const struct smtp_session_config *cfg;
	enum smtp_state state;
	struct buf in;
	size_t in_off;
	struct buf out;

	/* Session. */
	char helo[SMTP_DOMAIN_MAX + 1];
	bool esmtp;
	bool tls;
	bool authed;
	char identity[SMTP_CRED_MAX];
	char user[SMTP_CRED_MAX];
	char password[SMTP_CRED_MAX];
	unsigned n_commands;
	unsigned n_bad;
	unsigned n_messages;
	bool discard_line; /* skipping the rest of an over-long command line */

	/* Transaction. */
	bool in_txn;
	char *mail_from;
	char **rcpts;
	size_t n_rcpts;
	enum smtp_body body;
	bool smtputf8;
	struct buf msg;
	size_t msg_size;      /* octets seen, stored or not */
	const char *msg_error; /* reply when the message must be rejected */
	bool chunked;
	bool data_prev_crlf;  /* DATA: the previous line ended in CRLF */
	bool data_partial;    /* DATA: inside an over-long line */
	uint64_t bdat_left;
	bool bdat_last;
	const char *bdat_error; /* reply for the chunk instead of 250 */
	int prev_octet;       /* BDAT: last octet, for bare CR/LF checks */
	struct smtp_envelope env;
	const struct smtp_sink *sink;
	bool sink_open;       /* begin() succeeded, content not yet handed over */
	bool check_from;      /* the From: header of this message is checked */
	struct smtp_fromhdr fromhdr;
};

void smtp_limits_default(struct smtp_limits *l)
{
	l->max_line = 2048;
	l->max_data_line = 1000;
	l->max_message_size = 25 * 1024 * 1024;
	l->max_recipients = 100;
	l->max_bad_commands = 10;
	l->max_commands = 1000;
	l->max_messages = 100;
}

static void reply(struct smtp_session *s, const char *line)
{
	if (buf_puts(&s->out, line) < 0 || buf_puts(&s->out, "\r\n") < 0)
		s->state = ST_CLOSED; /* a client that never reads its replies */
}

static void replyf(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void replyf(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (r < 0 || buf_puts(&s->out, "\r\n") < 0)
		s->state = ST_CLOSED;
}

static void close_with(struct smtp_session *s, const char *code_text)
{
	replyf(s, "%s %s closing connection", code_text, s->cfg->hostname);
	s->state = ST_CLOSED;
}

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

static void txn_reset(struct smtp_session *s)
{
	if (s->sink_open) {
		s->sink->abort(s->sink->ctx);
		s->sink_open = false;
	}
	free(s->mail_from);
	s->mail_from = NULL;
	for (size_t i = 0; i < s->n_rcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->n_rcpts = 0;
	s->in_txn = false;
	s->body = SMTP_BODY_UNSPECIFIED;
	s->smtputf8 = false;
	buf_free(&s->msg);
	s->msg_size = 0;
	s->msg_error = NULL;
	s->chunked = false;
	s->bdat_left = 0;
	s->bdat_last = false;
	s->bdat_error = NULL;
	s->prev_octet = -1;
}

struct smtp_session *smtp_session_new(const struct smtp_session_config *cfg)
{
	struct smtp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = cfg;
	buf_init(&s->in, SMTP_INPUT_MAX + cfg->limits.max_line);
	buf_init(&s->out, SMTP_OUTPUT_MAX);
	s->state = ST_CMD;
	s->prev_octet = -1;
	replyf(s, "220 %s ESMTP SCoP", cfg->hostname);
	return s;
}

void smtp_session_set_sink(struct smtp_session *s, const struct smtp_sink *sink)
{
	s->sink = sink;
}

void smtp_session_free(struct smtp_session *s)
{
	if (!s)
		return;
	txn_reset(s);
	wipe(s->password, sizeof(s->password));
	buf_free(&s->in);
	buf_free(&s->out);
	free(s);
}

int smtp_session_feed(struct smtp_session *s, const void *data, size_t len)
{
	if (s->state == ST_CLOSED || s->state == ST_WAIT_TLS)
		return 0; /* after STARTTLS: plaintext must not survive */
	if (s->in_off > 0) {
		memmove(s->in.data, s->in.data + s->in_off, s->in.len - s->in_off);
		s->in.len -= s->in_off;
		s->in.data[s->in.len] = '\0';
		s->in_off = 0;
	}
	if (buf_append(&s->in, data, len) < 0)
		return -1;
	return 0;
}

const char *smtp_session_output(const struct smtp_session *s, size_t *len)
{
	*len = s->out.len;
	return s->out.data ? s->out.data : "";
}

void smtp_session_output_consume(struct smtp_session *s, size_t n)
{
	if (n >= s->out.len) {
		s->out.len = 0;
	} else {
		memmove(s->out.data, s->out.data + n, s->out.len - n);
		s->out.len -= n;
	}
	if (s->out.data)
		s->out.data[s->out.len] = '\0';
}

bool smtp_session_closed(const struct smtp_session *s)
{
	return s->state == ST_CLOSED;
}

void smtp_session_timeout(struct smtp_session *s)
{
	if (s->state != ST_CLOSED)
		close_with(s, "421 4.4.2");
}

void smtp_session_shutdown(struct smtp_session *s)
{
	if (s->state != ST_CLOSED)
		close_with(s, "421 4.3.2 Service shutting down,");
}

/* Counts a rejected command; past the limit the session ends with 421
 * instead of the reply. */
static void bad_command(struct smtp_session *s, const char *line)
{
	if (++s->n_bad >= s->cfg->limits.max_bad_commands) {
		close_with(s, "421 4.7.0 Too many errors,");
		return;
	}
	reply(s, line);
}

static bool is_local_domain(const struct smtp_session *s, const char *domain)
{
	for (size_t i = 0; i < s->cfg->n_local_domains; i++)
		if (strcasecmp(domain, s->cfg->local_domains[i]) == 0)
			return true;
	return false;
}

static void do_ehlo(struct smtp_session *s, const struct smtp_cmd *c)
{
	txn_reset(s);
	snprintf(s->helo, sizeof(s->helo), "%s", c->domain);
	if (c->verb == SMTP_VERB_HELO) {
		s->esmtp = false;
		replyf(s, "250 %s", s->cfg->hostname);
		return;
	}
	s->esmtp = true;
	replyf(s, "250-%s greets %s", s->cfg->hostname, c->domain);
	reply(s, "250-PIPELINING");
	replyf(s, "250-SIZE %zu", s->cfg->limits.max_message_size);
	reply(s, "250-8BITMIME");
	reply(s, "250-SMTPUTF8");
	reply(s, "250-CHUNKING");
	if (s->cfg->tls_available && !s->tls)
		reply(s, "250-STARTTLS");
	if (s->cfg->role == SMTP_ROLE_SUBMISSION && s->cfg->auth_available && s->tls && !s->authed)
		reply(s, "250-AUTH PLAIN LOGIN");
	reply(s, "250 ENHANCEDSTATUSCODES");
}

static const struct smtp_sender_policy *submission_policy(const struct smtp_session *s)
{
	if (s->cfg->role != SMTP_ROLE_SUBMISSION || !s->authed)
		return NULL;
	return s->cfg->sender_policy;
}

/* text for a reply line when it is plain printable ASCII, else "". */
static const char *printable(const char *text)
{
	for (const char *p = text; *p; p++)
		if (*p <= 32 || *p >= 127)
			return "";
	return text;
}

/* Submission: MAIL FROM must be an address the user owns; the reply is
 * Postfix's for reject_sender_login_mismatch (RFC 5321 553 "mailbox name
 * not allowed", RFC 3463 5.7.1 "delivery not authorized").  A bounce
 * address <> has no business on the submission port. */
static bool sender_allowed(struct smtp_session *s, const struct smtp_cmd *c)
{
	const struct smtp_sender_policy *p = submission_policy(s);
	if (!p || !p->check_envelope)
		return true;
	if (c->null_path || !c->addr[0]) {
		reply(s, "553 5.7.1 Sender address rejected: null sender not allowed on submission");
		return false;
	}
	if (!smtp_sender_owns(p, s->identity, c->addr)) {
		const char *addr = printable(c->addr), *who = printable(s->identity);
		replyf(s, "553 5.7.1 %s%s%sSender address rejected: not owned by user%s%s", *addr ? "<" : "", addr,
		       *addr ? ">: " : "", *who ? " " : "", who);
		return false;
	}
	return true;
}

static void do_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (!s->helo[0]) {
		bad_command(s, "503 5.5.1 Send EHLO or HELO first");
		return;
	}
	if (s->in_txn) {
		bad_command(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	if (s->cfg->role == SMTP_ROLE_SUBMISSION) {
		if (!s->tls) {
			bad_command(s, "530 5.7.0 Must issue a STARTTLS command first");
			return;
		}
		if (!s->authed) {
			bad_command(s, "530 5.7.0 Authentication required");
			return;
		}
	}
	if (!s->esmtp && (c->has_size || c->body != SMTP_BODY_UNSPECIFIED || c->smtputf8)) {
		bad_command(s, "555 5.5.4 Parameters need EHLO");
		return;
	}
	if (s->n_messages >= s->cfg->limits.max_messages) {
		close_with(s, "421 4.7.0 Too many messages in one session,");
		return;
	}
	if (c->has_size && c->size > s->cfg->limits.max_message_size) {
		reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		return;
	}
	if (!sender_allowed(s, c))
		return;
	s->mail_from = strdup(c->addr);
	if (!s->mail_from) {
		reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	s->in_txn = true;
	s->body = c->body;
	s->smtputf8 = c->smtputf8;
	reply(s, "250 2.1.0 Sender OK");
}

static void do_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (!s->in_txn) {
		bad_command(s, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	if (c->addr_8bit && !s->smtputf8) {
		reply(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
		return;
	}
	const char *domain = smtp_addr_domain(c->addr);
	/* RCPT TO:<postmaster> (no domain) is always local (RFC 5321 4.5.1);
	 * elsewhere only configured domains, unless an authenticated
	 * submission client relays. */
	bool relay_ok = s->cfg->role == SMTP_ROLE_SUBMISSION && s->authed;
	if (domain && !relay_ok && !is_local_domain(s, domain)) {
		reply(s, "550 5.7.1 Relaying denied");
		return;
	}
	for (size_t i = 0; i < s->n_rcpts; i++) {
		if (strcmp(s->rcpts[i], c->addr) == 0) {
			reply(s, "250 2.1.5 Recipient OK (duplicate)");
			return;
		}
	}
	if (s->n_rcpts >= s->cfg->limits.max_recipients) {
		reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	char **r = realloc(s->rcpts, (s->n_rcpts + 1) * sizeof(*r));
	if (!r) {
		reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	s->rcpts = r;
	r[s->n_rcpts] = strdup(c->addr);
	if (!r[s->n_rcpts]) {
		reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	s->n_rcpts++;
	reply(s, "250 2.1.5 Recipient OK");
}

static void fill_envelope(struct smtp_session *s)
{
	s->env.mail_from = s->mail_from;
	s->env.rcpts = (const char *const *)s->rcpts;
	s->env.n_rcpts = s->n_rcpts;
	s->env.body = s->body;
	s->env.smtputf8 = s->smtputf8;
	s->env.chunked = s->chunked;
	s->env.helo = s->helo;
	s->env.tls = s->tls;
	s->env.auth_identity = s->authed ? s->identity : NULL;
	s->env.data = NULL;
	s->env.len = 0;
}

#define E_STORAGE "452 4.3.1 Insufficient system storage"

static void start_message(struct smtp_session *s)
{
	buf_init(&s->msg, s->cfg->limits.max_message_size);
	s->msg_size = 0;
	s->msg_error = NULL;
	const struct smtp_sender_policy *p = submission_policy(s);
	s->check_from = p && p->check_header;
	if (s->check_from)
		smtp_fromhdr_init(&s->fromhdr);
	if (s->sink) {
		fill_envelope(s);
		if (s->sink->begin(s->sink->ctx, &s->env) < 0)
			s->msg_error = E_STORAGE;
		else
			s->sink_open = true;
	}
}

static void do_data(struct smtp_session *s)
{
	if (!s->in_txn) {
		bad_command(s, "503 5.5.1 Need MAIL command");
		return;
	}
	if (s->chunked) {
		bad_command(s, "503 5.5.1 DATA not allowed after BDAT");
		return;
	}
	if (s->n_rcpts == 0) {
		reply(s, "554 5.5.1 No valid recipients");
		return;
	}
	start_message(s);
	s->data_prev_crlf = true;
	s->data_partial = false;
	s->state = ST_DATA;
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* A BDAT chunk is always read, even when it will be refused, or its octets
 * would be taken for commands (RFC 3030 3). */
static void do_bdat(struct smtp_session *s, const struct smtp_cmd *c)
{
	const char *err = NULL;
	if (!s->esmtp)
		err = "503 5.5.1 BDAT needs EHLO";
	else if (!s->in_txn)
		err = "503 5.5.1 Need MAIL command";
	else if (s->n_rcpts == 0)
		err = "554 5.5.1 No valid recipients";
	if (!err && !s->chunked) {
		s->chunked = true;
		start_message(s);
	}
	s->bdat_error = err;
	s->bdat_left = c->chunk_size;
	s->bdat_last = c->last;
	s->state = ST_BDAT;
}

static void do_starttls(struct smtp_session *s)
{
	if (s->tls) {
		bad_command(s, "503 5.5.1 TLS already active");
		return;
	}
	if (!s->cfg->tls_available) {
		bad_command(s, "502 5.5.1 STARTTLS not available");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	/* Anything pipelined after STARTTLS was sent in clear: drop it. */
	s->in.len = 0;
	s->in_off = 0;
	s->state = ST_WAIT_TLS;
}

static int decode_b64_line(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	if (len == 1 && in[0] == '=') { /* RFC 4954 4: an empty response */
		*out = calloc(1, 1);
		*outlen = 0;
		return *out ? 0 : -1;
	}
	*out = base64_decode_alloc(in, len, BASE64_PAD, outlen);
	return *out ? 0 : -1;
}

static enum smtp_event begin_check(struct smtp_session *s)
{
	s->state = ST_WAIT_AUTH;
	return SMTP_EV_AUTH;
}

/* PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd. */
static enum smtp_event auth_plain(struct smtp_session *s, const char *b64, size_t len)
{
	unsigned char *dec;
	size_t n;
	if (decode_b64_line(b64, len, &dec, &n) < 0) {
		s->state = ST_CMD;
		bad_command(s, "501 5.5.2 Cannot decode response");
		return SMTP_EV_NONE;
	}
	unsigned char *p1 = memchr(dec, 0, n);
	unsigned char *p2 = p1 ? memchr(p1 + 1, 0, n - (size_t)(p1 + 1 - dec)) : NULL;
	size_t zlen = p1 ? (size_t)(p1 - dec) : 0;
	size_t ulen = p2 ? (size_t)(p2 - p1 - 1) : 0;
	size_t plen = p2 ? n - (size_t)(p2 + 1 - dec) : 0;
	bool ok = p2 && ulen > 0 && ulen < sizeof(s->user) && plen > 0 && plen < sizeof(s->password) &&
		  (zlen == 0 || (zlen == ulen && memcmp(dec, p1 + 1, ulen) == 0));
	if (ok) {
		memcpy(s->user, p1 + 1, ulen);
		s->user[ulen] = '\0';
		memcpy(s->password, p2 + 1, plen);
		s->password[plen] = '\0';
	}
	wipe(dec, n);
	free(dec);
	if (!ok) {
		s->state = ST_CMD;
		bad_command(s, "501 5.5.2 Malformed PLAIN response");
		return SMTP_EV_NONE;
	}
	return begin_check(s);
}

/* LOGIN: one base64 line each for user and password. */
static enum smtp_event auth_login_part(struct smtp_session *s, const char *b64, size_t len, bool pass)
{
	unsigned char *dec;
	size_t n;
	char *dst = pass ? s->password : s->user;
	if (decode_b64_line(b64, len, &dec, &n) < 0 || n == 0 || n >= SMTP_CRED_MAX ||
	    memchr(dec, 0, n)) {
		if (dec) {
			wipe(dec, n);
			free(dec);
		}
		s->state = ST_CMD;
		wipe(s->password, sizeof(s->password));
		bad_command(s, "501 5.5.2 Cannot decode response");
		return SMTP_EV_NONE;
	}
	memcpy(dst, dec, n);
	dst[n] = '\0';
	wipe(dec, n);
	free(dec);
	if (!pass) {
		s->state = ST_AUTH_PASS;
		reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
		return SMTP_EV_NONE;
	}
	return begin_check(s);
}

static enum smtp_event do_auth(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (s->cfg->role != SMTP_ROLE_SUBMISSION || !s->cfg->auth_available) {
		bad_command(s, "502 5.5.1 AUTH not available");
		return SMTP_EV_NONE;
	}
	if (!s->tls) {
		bad_command(s, "530 5.7.0 Must issue a STARTTLS command first");
		return SMTP_EV_NONE;
	}
	if (!s->esmtp) {
		bad_command(s, "503 5.5.1 Send EHLO first");
		return SMTP_EV_NONE;
	}
	if (s->authed) {
		bad_command(s, "503 5.5.1 Already authenticated");
		return SMTP_EV_NONE;
	}
	if (s->in_txn) {
		bad_command(s, "503 5.5.1 AUTH not allowed during a mail transaction");
		return SMTP_EV_NONE;
	}
	s->user[0] = '\0';
	if (strcmp(c->mech, "PLAIN") == 0) {
		if (c->has_initial)
			return auth_plain(s, c->auth_initial, strlen(c->auth_initial));
		s->state = ST_AUTH_PLAIN;
		reply(s, "334 ");
		return SMTP_EV_NONE;
	}
	if (strcmp(c->mech, "LOGIN") == 0) {
		if (c->has_initial)
			return auth_login_part(s, c->auth_initial, strlen(c->auth_initial), false);
		s->state = ST_AUTH_USER;
		reply(s, "334 VXNlcm5hbWU6"); /* "Username:" */
		return SMTP_EV_NONE;
	}
	bad_command(s, "504 5.5.4 Unrecognized authentication type");
	return SMTP_EV_NONE;
}

static enum smtp_event do_command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd c;
	if (++s->n_commands > s->cfg->limits.max_commands) {
		close_with(s, "421 4.7.0 Too many commands,");
		return SMTP_EV_CLOSE;
	}
	if (smtp_cmd_parse(line, len, &c) < 0) {
		if (c.verb == SMTP_VERB_BDAT) {
			/* The chunk size is unknown, so the octets that follow
			 * cannot be skipped: stop here. */
			reply(s, c.error);
			s->state = ST_CLOSED;
			return SMTP_EV_CLOSE;
		}
		bad_command(s, c.error);
		return s->state == ST_CLOSED ? SMTP_EV_CLOSE : SMTP_EV_NONE;
	}
	switch (c.verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		do_ehlo(s, &c);
		break;
	case SMTP_VERB_MAIL:
		do_mail(s, &c);
		break;
	case SMTP_VERB_RCPT:
		do_rcpt(s, &c);
		break;
	case SMTP_VERB_DATA:
		do_data(s);
		break;
	case SMTP_VERB_BDAT:
		do_bdat(s, &c);
		break;
	case SMTP_VERB_RSET:
		txn_reset(s);
		reply(s, "250 2.0.0 OK");
		break;
	case SMTP_VERB_NOOP:
		reply(s, "250 2.0.0 OK");
		break;
	case SMTP_VERB_QUIT:
		replyf(s, "221 2.0.0 %s closing connection", s->cfg->hostname);
		s->state = ST_CLOSED;
		break;
	case SMTP_VERB_VRFY:
		reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
		break;
	case SMTP_VERB_EXPN:
		reply(s, "502 5.5.1 EXPN not available");
		break;
	case SMTP_VERB_HELP:
		reply(s, "214 2.0.0 See RFC 5321");
		break;
	case SMTP_VERB_STARTTLS:
		do_starttls(s);
		if (s->state == ST_WAIT_TLS)
			return SMTP_EV_STARTTLS;
		break;
	case SMTP_VERB_AUTH:
		return do_auth(s, &c);
	case SMTP_VERB_UNKNOWN:
		break;
	}
	return s->state == ST_CLOSED ? SMTP_EV_CLOSE : SMTP_EV_NONE;
}

static void msg_fail(struct smtp_session *s, const char *why)
{
	if (!s->msg_error) {
		s->msg_error = why;
		buf_free(&s->msg);
	}
	if (s->sink_open) {
		s->sink->abort(s->sink->ctx);
		s->sink_open = false;
	}
}

static void msg_append(struct smtp_session *s, const char *p, size_t n)
{
	s->msg_size += n;
	if (s->msg_error)
		return;
	if (s->msg_size > s->cfg->limits.max_message_size) {
		msg_fail(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		return;
	}
	if (s->check_from)
		smtp_fromhdr_feed(&s->fromhdr, p, n);
	int rc = s->sink ? s->sink->write(s->sink->ctx, p, n) : buf_append(&s->msg, p, n);
	if (rc < 0)
		msg_fail(s, E_STORAGE);
}

/* Submission: every address in the From: field (RFC 5322 3.6.2) must be
 * the user's.  A message without From: passes (the envelope sender was
 * checked); one with several From fields, or one the reader cannot
 * parse, is refused rather than guessed at.  NULL when it may pass. */
static const char *from_header_error(struct smtp_session *s)
{
	const struct smtp_fromhdr *h = &s->fromhdr;
	if (!s->check_from || h->n_from == 0)
		return NULL;
	if (h->n_from > 1)
		return "550 5.7.1 Message has more than one From: header field";
	if (h->overflow)
		return "550 5.7.1 From: header field too long";
	char addr[SMTP_PATH_MAX + 1];
	size_t pos = 0;
	int rc, n = 0;
	while ((rc = smtp_fromhdr_next(h->value, h->len, &pos, addr, sizeof(addr))) == 1) {
		n++;
		if (!smtp_sender_owns(s->cfg->sender_policy, s->identity, addr))
			return "550 5.7.1 From: header address rejected: not owned by user";
	}
	if (rc < 0 || n == 0)
		return "550 5.7.1 From: header field cannot be parsed";
	return NULL;
}

#define E_BARE "550 5.6.0 Message contains bare CR or LF (RFC 5321 2.3.8)"
#define E_LONGLINE "550 5.6.0 Message line too long (RFC 5321 4.5.3.1.6)"

static enum smtp_event finish_message(struct smtp_session *s)
{
	const char *from_err = s->msg_error ? NULL : from_header_error(s);
	if (from_err)
		msg_fail(s, from_err);
	if (s->msg_error) {
		reply(s, s->msg_error);
		txn_reset(s);
		s->state = ST_CMD;
		return SMTP_EV_NONE;
	}
	fill_envelope(s);
	if (s->sink) {
		s->env.len = s->msg_size;
		s->sink_open = false; /* the caller commits it now */
	} else {
		s->env.data = s->msg.data ? s->msg.data : "";
		s->env.len = s->msg.len;
	}
	s->state = ST_WAIT_MESSAGE;
	return SMTP_EV_MESSAGE;
}

/* DATA: consumes complete lines; returns an event, or NONE when it needs
 * more input (state still ST_DATA) or the message ended in a rejection. */
static enum smtp_event step_data(struct smtp_session *s, bool *more)
{
	const char *base = s->in.data + s->in_off;
	size_t avail = s->in.len - s->in_off;
	const char *lf = memchr(base, '\n', avail);
	size_t max = s->cfg->limits.max_data_line;
	if (!lf) {
		*more = false;
		if (s->data_partial || avail > max) {
			/* Drop the middle of an over-long line, keeping a
			 * trailing CR that may pair with the next LF. */
			size_t drop = avail;
			if (drop > 0 && base[drop - 1] == '\r')
				drop--;
			if (memchr(base, '\r', drop))
				msg_fail(s, E_BARE);
			msg_fail(s, E_LONGLINE);
			s->msg_size += drop;
			s->in_off += drop;
			s->data_partial = true;
		}
		return SMTP_EV_NONE;
	}
	size_t linelen = (size_t)(lf - base) + 1; /* with the LF */
	bool crlf = linelen >= 2 && base[linelen - 2] == '\r';
	size_t textlen = linelen - (crlf ? 2 : 1);
	bool prev_crlf = s->data_prev_crlf;
	s->in_off += linelen;
	s->data_prev_crlf = crlf;
	if (!crlf || memchr(base, '\r', textlen))
		msg_fail(s, E_BARE);
	if (s->data_partial) {
		s->data_partial = false;
		s->msg_size += linelen;
		return SMTP_EV_NONE;
	}
	if (crlf && prev_crlf && textlen == 1 && base[0] == '.') {
		s->n_messages++;
		return finish_message(s);
	}
	if (linelen > max)
		msg_fail(s, E_LONGLINE);
	if (s->msg_error) {
		s->msg_size += linelen;
		return SMTP_EV_NONE;
	}
	if (textlen > 0 && base[0] == '.') /* dot-stuffing, RFC 5321 4.5.2 */
		msg_append(s, base + 1, linelen - 1);
	else
		msg_append(s, base, linelen);
	return SMTP_EV_NONE;
}

static void bdat_check(struct smtp_session *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];
		if ((c == '\n' && s->prev_octet != '\r') || (s->prev_octet == '\r' && c != '\n')) {
			msg_fail(s, E_BARE);
			break;
		}
		s->prev_octet = c;
	}
}

static enum smtp_event step_bdat(struct smtp_session *s, bool *more)
{
	size_t avail = s->in.len - s->in_off;
	size_t n = avail < s->bdat_left ? avail : (size_t)s->bdat_left;
	const char *p = s->in.data + s->in_off;
	if (!s->bdat_error) {
		if (!s->msg_error)
			bdat_check(s, p, n);
		msg_append(s, p, n);
	}
	s->in_off += n;
	s->bdat_left -= n;
	if (s->bdat_left > 0) {
		*more = false;
		return SMTP_EV_NONE;
	}
	s->state = ST_CMD;
	if (s->bdat_error) {
		bad_command(s, s->bdat_error);
		s->bdat_error = NULL;
		return s->state == ST_CLOSED ? SMTP_EV_CLOSE : SMTP_EV_NONE;
	}
	if (!s->bdat_last) {
		if (s->msg_error) {
			/* Refuse now and drop the transaction (RFC 3030 3). */
			reply(s, s->msg_error);
			txn_reset(s);
		} else {
			replyf(s, "250 2.0.0 %zu octets received", s->msg_size);
		}
		return SMTP_EV_NONE;
	}
	if (s->prev_octet == '\r')
		msg_fail(s, E_BARE);
	s->n_messages++;
	return finish_message(s);
}

/* Takes one CRLF line from the input; 1 with line and len set, 0 when none
 * is complete.  Over-long and bare-LF lines are answered here. */
static int next_line(struct smtp_session *s, const char **line, size_t *len)
{
	for (;;) {
		const char *base = s->in.data + s->in_off;
		size_t avail = s->in.len - s->in_off;
		const char *lf = avail ? memchr(base, '\n', avail) : NULL;
		size_t max = s->cfg->limits.max_line;
		if (!lf) {
			if (!s->discard_line && avail >= max) {
				s->discard_line = true;
				bad_command(s, "500 5.5.2 Line too long");
			}
			if (s->discard_line)
				s->in_off += avail;
			return 0;
		}
		size_t linelen = (size_t)(lf - base) + 1;
		s->in_off += linelen;
		if (s->discard_line) {
			s->discard_line = false;
			continue;
		}
		if (linelen > max) {
			bad_command(s, "500 5.5.2 Line too long");
			if (s->state == ST_CLOSED)
				return 0;
			continue;
		}
		if (linelen < 2 || base[linelen - 2] != '\r') {
			bad_command(s, "500 5.5.2 Bare LF not allowed; end lines with CRLF");
			if (s->state == ST_CLOSED)
				return 0;
			continue;
		}
		*line = base;
		*len = linelen - 2;
		return 1;
	}
}

enum smtp_event smtp_session_step(struct smtp_session *s)
{
	for (;;) {
		bool more = true;
		const char *line;
		size_t len;
		enum smtp_event ev = SMTP_EV_NONE;
		switch (s->state) {
		case ST_CLOSED:
			return SMTP_EV_CLOSE;
		case ST_WAIT_TLS:
		case ST_WAIT_AUTH:
		case ST_WAIT_MESSAGE:
			return SMTP_EV_NONE;
		case ST_DATA:
			ev = step_data(s, &more);
			break;
		case ST_BDAT:
			ev = step_bdat(s, &more);
			break;
		case ST_CMD:
		case ST_AUTH_PLAIN:
		case ST_AUTH_USER:
		case ST_AUTH_PASS:
			if (!next_line(s, &line, &len)) {
				if (s->state == ST_CLOSED)
					return SMTP_EV_CLOSE;
				return SMTP_EV_NONE;
			}
			if (s->state == ST_CMD) {
				ev = do_command(s, line, len);
			} else if (len == 1 && line[0] == '*') {
				s->state = ST_CMD;
				wipe(s->password, sizeof(s->password));
				bad_command(s, "501 5.0.0 Authentication cancelled");
			} else if (s->state == ST_AUTH_PLAIN) {
				ev = auth_plain(s, line, len);
			} else {
				ev = auth_login_part(s, line, len, s->state == ST_AUTH_PASS);
			}
			break;
		}
		if (ev != SMTP_EV_NONE)
			return ev;
		if (s->state == ST_CLOSED)
			return SMTP_EV_CLOSE;
		if (!more)
			return SMTP_EV_NONE;
	}
}

void smtp_session_tls_started(struct smtp_session *s)
{
	if (s->state != ST_WAIT_TLS)
		return;
	/* RFC 3207 4.2: forget everything learnt before the handshake. */
	txn_reset(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->authed = false;
	s->tls = true;
	s->in.len = 0;
	s->in_off = 0;
	s->state = ST_CMD;
}

const char *smtp_session_auth_user(const struct smtp_session *s)
{
	return s->user;
}

const char *smtp_session_auth_password(const struct smtp_session *s)
{
	return s->password;
}

void smtp_session_auth_done(struct smtp_session *s, enum smtp_auth_result r, const char *identity)
{
	if (s->state != ST_WAIT_AUTH)
		return;
	wipe(s->password, sizeof(s->password));
	s->state = ST_CMD;
	switch (r) {
	case SMTP_AUTH_OK:
		s->authed = true;
		snprintf(s->identity, sizeof(s->identity), "%s", identity && *identity ? identity : s->user);
		reply(s, "235 2.7.0 Authentication successful");
		break;
	case SMTP_AUTH_BAD:
		bad_command(s, "535 5.7.8 Authentication credentials invalid");
		break;
	case SMTP_AUTH_TEMPFAIL:
		reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	case SMTP_AUTH_LOCKOUT:
		close_with(s, "421 4.7.0 Too many failed authentication attempts,");
		break;
	}
}

const struct smtp_envelope *smtp_session_envelope(struct smtp_session *s)
{
	return s->state == ST_WAIT_MESSAGE ? &s->env : NULL;
}

void smtp_session_message_done(struct smtp_session *s, bool ok, const char *queue_id)
{
	if (s->state != ST_WAIT_MESSAGE)
		return;
	if (ok)
		replyf(s, "250 2.0.0 Ok: queued as %s", queue_id ? queue_id : "?");
	else
		reply(s, "451 4.3.0 Temporary failure storing message");
	txn_reset(s);
	memset(&s->env, 0, sizeof(s->env));
	s->state = ST_CMD;
}
