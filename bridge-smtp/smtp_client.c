/* SMTP client: reply parser, protocol state machine, blocking driver.
 * See smtp_client.h. */
#include "bridge-smtp/smtp_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

/* ---- replies ---- */

void smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of an enhanced status code "c.d{1,3}.d{1,3}" of class cls at
 * the start of t (followed by the end or a space), else 0. */
static size_t enh_len(const char *t, size_t n, char cls)
{
	size_t i = 0;
	if (n < 5 || t[0] != cls || t[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (i < n && is_digit(t[i]) && d < 3) {
			i++;
			d++;
		}
		if (d == 0)
			return 0;
		if (part == 0) {
			if (i >= n || t[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && t[i] != ' ')
		return 0;
	return i;
}

/* Whether t starts with the keyword w (case-insensitive) followed by the
 * end or a space. */
static bool keyword(const char *t, size_t n, const char *w)
{
	size_t wl = strlen(w);
	return n >= wl && strncasecmp(t, w, wl) == 0 && (n == wl || t[wl] == ' ');
}

static void append_text(struct smtp_reply *r, const char *t, size_t n)
{
	size_t len = strlen(r->text);
	if (r->lines > 0 && len + 2 < sizeof(r->text)) {
		memcpy(r->text + len, "; ", 2);
		len += 2;
	}
	for (size_t i = 0; i < n && len + 1 < sizeof(r->text); i++) {
		unsigned char ch = (unsigned char)t[i];
		r->text[len++] = (ch < 32 || ch == 127) ? '?' : (char)ch;
	}
	r->text[len] = '\0';
}

int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len)
{
	if (len < 3 || len > SMTP_REPLY_LINE_MAX || r->lines >= SMTP_REPLY_MAX_LINES)
		return -1;
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || !is_digit(line[2]))
		return -1;
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->lines && code != r->code)
		return -1;
	bool last;
	if (len == 3 || line[3] == ' ')
		last = true;
	else if (line[3] == '-')
		last = false;
	else
		return -1;
	r->code = code;
	const char *t = len > 3 ? line + 4 : line + 3;
	size_t n = len > 3 ? len - 4 : 0;
	size_t e = enh_len(t, n, line[0]);
	if (e) {
		if (r->lines == 0 && e < sizeof(r->enh)) {
			memcpy(r->enh, t, e);
			r->enh[e] = '\0';
		}
		t += e;
		n -= e;
		while (n && *t == ' ') {
			t++;
			n--;
		}
	}
	if (r->lines > 0) {
		if (keyword(t, n, "STARTTLS"))
			r->ext |= SMTP_EXT_STARTTLS;
		else if (keyword(t, n, "8BITMIME"))
			r->ext |= SMTP_EXT_8BITMIME;
		else if (keyword(t, n, "SMTPUTF8"))
			r->ext |= SMTP_EXT_SMTPUTF8;
		else if (keyword(t, n, "PIPELINING"))
			r->ext |= SMTP_EXT_PIPELINING;
		else if (keyword(t, n, "ENHANCEDSTATUSCODES"))
			r->ext |= SMTP_EXT_ENHANCED;
		else if (keyword(t, n, "SIZE")) {
			r->ext |= SMTP_EXT_SIZE;
			unsigned long long v = 0;
			size_t i = 5;
			while (i < n && is_digit(t[i]) && v < 1000000000000ULL)
				v = v * 10 + (unsigned)(t[i++] - '0');
			r->size_limit = v;
		}
	}
	append_text(r, t, n);
	r->lines++;
	return last ? 1 : 0;
}

/* ---- state machine ---- */

void smtp_client_timeouts_default(struct smtp_client_timeouts *t)
{
	t->greeting = 300000;
	t->ehlo = 300000;
	t->tls = 120000;
	t->mail = 300000;
	t->rcpt = 300000;
	t->data_init = 120000;
	t->data_block = 180000;
	t->data_term = 600000;
	t->quit = 60000;
}

void smtp_client_timeouts_all(struct smtp_client_timeouts *t, unsigned ms)
{
	t->greeting = t->ehlo = t->tls = t->mail = t->rcpt = ms;
	t->data_init = t->data_block = t->data_term = t->quit = ms;
}

static void set_result(struct smtp_rcpt_result *res, enum smtp_rcpt_status st, int code, const char *enh,
		       const char *text)
{
	size_t n = text ? strnlen(text, sizeof(res->text) - 1) : 0;
	res->status = st;
	res->code = code;
	snprintf(res->enh, sizeof(res->enh), "%s", enh ? enh : "");
	if (n)
		memmove(res->text, text, n);
	res->text[n] = '\0';
}

static enum smtp_rcpt_status class_of(int code)
{
	return code >= 500 ? SMTP_RCPT_PERM : code >= 200 && code < 300 ? SMTP_RCPT_OK : SMTP_RCPT_TEMP;
}

int smtp_client_start(struct smtp_client *c, const struct smtp_client_opts *o, const struct smtp_client_envelope *env,
		      struct smtp_rcpt_result *res)
{
	memset(c, 0, sizeof(*c));
	c->opts = *o;
	if (o->dane)
		c->opts.require_tls = true; /* RFC 7672 2.2: never fall back to cleartext */
	c->env = env;
	c->res = res;
	buf_init(&c->out, 0);
	for (size_t i = 0; i < env->n_rcpts; i++)
		set_result(&res[i], SMTP_RCPT_PENDING, 0, "", "");
	set_result(&c->why, SMTP_RCPT_TEMP, 0, "", "");
	c->state = SMTPC_GREETING;
	return 0;
}

void smtp_client_free(struct smtp_client *c)
{
	buf_free(&c->out);
}

/* Sends verb, then arg (may be NULL), then tail (CRLF included). */
static enum smtp_client_action send_cmd(struct smtp_client *c, enum smtp_client_state next, const char *verb,
					const char *arg, const char *tail)
{
	buf_reset(&c->out);
	buf_puts(&c->out, verb);
	if (arg)
		buf_puts(&c->out, arg);
	buf_puts(&c->out, tail);
	c->state = next;
	return SMTPC_ACT_SEND;
}

static enum smtp_client_action quit(struct smtp_client *c)
{
	return send_cmd(c, SMTPC_QUIT, "QUIT", NULL, "\r\n");
}

/* Every undecided recipient gets st with the given reply. */
static void fail_pending(struct smtp_client *c, enum smtp_rcpt_status st, int code, const char *enh,
			 const char *text, bool also_accepted)
{
	for (size_t i = 0; i < c->env->n_rcpts; i++) {
		enum smtp_rcpt_status s = c->res[i].status;
		if (s == SMTP_RCPT_PENDING || (also_accepted && s == SMTP_RCPT_OK))
			set_result(&c->res[i], st, code, enh, text);
	}
	set_result(&c->why, st, code, enh, text);
}

/* The host could not take the message now: try the next one. */
static enum smtp_client_action host_fail(struct smtp_client *c, int code, const char *enh, const char *text)
{
	c->host_failed = true;
	fail_pending(c, SMTP_RCPT_TEMP, code, enh, text, false);
	return quit(c);
}

static enum smtp_client_action host_fail_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	return host_fail(c, r->code, r->enh, r->text);
}

static enum smtp_client_action send_mail(struct smtp_client *c)
{
	const struct smtp_client_envelope *e = c->env;
	if (e->smtputf8 && !(c->ext & SMTP_EXT_SMTPUTF8)) {
		fail_pending(c, SMTP_RCPT_PERM, 553, "5.6.7", "the remote server does not support SMTPUTF8", false);
		return quit(c);
	}
	if ((c->ext & SMTP_EXT_SIZE) && c->size_limit && e->size > c->size_limit) {
		fail_pending(c, SMTP_RCPT_PERM, 552, "5.3.4", "message larger than the remote server accepts", false);
		return quit(c);
	}
	buf_reset(&c->out);
	buf_printf(&c->out, "MAIL FROM:<%s>", e->from);
	if (c->ext & SMTP_EXT_SIZE)
		buf_printf(&c->out, " SIZE=%zu", e->size);
	if (e->body_8bit && (c->ext & SMTP_EXT_8BITMIME))
		buf_puts(&c->out, " BODY=8BITMIME");
	if (e->smtputf8)
		buf_puts(&c->out, " SMTPUTF8");
	buf_puts(&c->out, "\r\n");
	c->state = SMTPC_MAIL;
	return SMTPC_ACT_SEND;
}

static enum smtp_client_action after_hello(struct smtp_client *c)
{
	if (!c->tls_active && (c->ext & SMTP_EXT_STARTTLS) && c->opts.tls_available)
		return send_cmd(c, SMTPC_STARTTLS, "STARTTLS", NULL, "\r\n");
	if (!c->tls_active && c->opts.require_tls)
		return host_fail(c, 0, "4.7.10", "TLS is required but the server does not offer STARTTLS");
	return send_mail(c);
}

static enum smtp_client_action send_rcpt(struct smtp_client *c)
{
	return send_cmd(c, SMTPC_RCPT, "RCPT TO:<", c->env->rcpts[c->next_rcpt], ">\r\n");
}

enum smtp_client_action smtp_client_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	int cls = r->code / 100;
	switch (c->state) {
	case SMTPC_GREETING:
		if (cls != 2)
			return host_fail_reply(c, r);
		return send_cmd(c, SMTPC_EHLO, "EHLO ", c->opts.helo, "\r\n");
	case SMTPC_EHLO:
		if (cls == 2) {
			c->esmtp = true;
			c->ext = r->ext;
			c->size_limit = r->size_limit;
			return after_hello(c);
		}
		if (cls == 5 && !c->tls_active)
			return send_cmd(c, SMTPC_HELO, "HELO ", c->opts.helo, "\r\n");
		return host_fail_reply(c, r);
	case SMTPC_HELO:
		if (cls != 2)
			return host_fail_reply(c, r);
		c->ext = 0;
		return after_hello(c);
	case SMTPC_STARTTLS:
		if (cls == 2) {
			c->state = SMTPC_TLS;
			buf_reset(&c->out);
			return SMTPC_ACT_TLS;
		}
		if (c->opts.require_tls)
			return host_fail_reply(c, r);
		return send_mail(c);
	case SMTPC_TLS:
		return host_fail(c, 0, "4.7.0", "reply during the TLS handshake");
	case SMTPC_MAIL:
		if (cls == 2) {
			c->next_rcpt = 0;
			return send_rcpt(c);
		}
		if (cls == 5) {
			fail_pending(c, SMTP_RCPT_PERM, r->code, r->enh, r->text, false);
			return quit(c);
		}
		return host_fail_reply(c, r);
	case SMTPC_RCPT: {
		enum smtp_rcpt_status st = class_of(r->code);
		set_result(&c->res[c->next_rcpt], st, r->code, r->enh, r->text);
		if (st == SMTP_RCPT_OK)
			c->accepted++;
		if (++c->next_rcpt < c->env->n_rcpts)
			return send_rcpt(c);
		if (c->accepted == 0)
			return quit(c);
		return send_cmd(c, SMTPC_DATA, "DATA", NULL, "\r\n");
	}
	case SMTPC_DATA:
		if (cls == 3) {
			c->state = SMTPC_BODY;
			buf_reset(&c->out);
			return SMTPC_ACT_SEND_BODY;
		}
		fail_pending(c, cls == 5 ? SMTP_RCPT_PERM : SMTP_RCPT_TEMP, r->code, r->enh, r->text, true);
		return quit(c);
	case SMTPC_BODY:
		if (cls == 2) {
			c->delivered = true;
			set_result(&c->why, SMTP_RCPT_OK, r->code, r->enh, r->text);
			/* The final reply is what the recipients' delivery
			 * rests on (their RCPT replies said only "yes"). */
			for (size_t i = 0; i < c->env->n_rcpts; i++)
				if (c->res[i].status == SMTP_RCPT_OK)
					set_result(&c->res[i], SMTP_RCPT_OK, r->code, r->enh, r->text);
		} else {
			fail_pending(c, cls == 5 ? SMTP_RCPT_PERM : SMTP_RCPT_TEMP, r->code, r->enh, r->text, true);
		}
		return quit(c);
	case SMTPC_QUIT:
	case SMTPC_DONE:
		c->state = SMTPC_DONE;
		buf_reset(&c->out);
		return SMTPC_ACT_CLOSE;
	}
	return SMTPC_ACT_CLOSE;
}

static void abort_enh(struct smtp_client *c, const char *enh, const char *why);

enum smtp_client_action smtp_client_tls_done(struct smtp_client *c, bool ok)
{
	if (c->state != SMTPC_TLS || !ok) {
		c->tls_failed = true;
		char why[sizeof(c->tls_info) + 32];
		snprintf(why, sizeof(why), "TLS handshake failed%s%s", c->tls_info[0] ? ": " : "", c->tls_info);
		/* X.7.5, cryptographic failure, when DANE was the reason. */
		abort_enh(c, c->opts.dane ? "4.7.5" : "4.4.2", why);
		return SMTPC_ACT_CLOSE;
	}
	c->tls_active = true;
	c->ext = 0;
	return send_cmd(c, SMTPC_EHLO, "EHLO ", c->opts.helo, "\r\n");
}

void smtp_client_abort(struct smtp_client *c, const char *why)
{
	abort_enh(c, "4.4.2", why);
}

static void abort_enh(struct smtp_client *c, const char *enh, const char *why)
{
	if (c->state == SMTPC_QUIT || c->state == SMTPC_DONE) {
		/* Everything was decided; only the goodbye was lost. */
		c->state = SMTPC_DONE;
		return;
	}
	if (c->state <= SMTPC_MAIL)
		c->host_failed = true;
	fail_pending(c, SMTP_RCPT_TEMP, 0, enh, why, !c->delivered);
	c->state = SMTPC_DONE;
	buf_reset(&c->out);
}

const char *smtp_client_output(const struct smtp_client *c, size_t *len)
{
	*len = c->out.len;
	return c->out.data ? c->out.data : "";
}

unsigned smtp_client_timeout(const struct smtp_client *c, const struct smtp_client_timeouts *t)
{
	switch (c->state) {
	case SMTPC_GREETING:
		return t->greeting;
	case SMTPC_EHLO:
	case SMTPC_HELO:
		return t->ehlo;
	case SMTPC_STARTTLS:
	case SMTPC_TLS:
		return t->tls;
	case SMTPC_MAIL:
		return t->mail;
	case SMTPC_RCPT:
		return t->rcpt;
	case SMTPC_DATA:
		return t->data_init;
	case SMTPC_BODY:
		return t->data_term;
	case SMTPC_QUIT:
	case SMTPC_DONE:
		return t->quit;
	}
	return t->quit;
}

/* Dot-stuffs p[0..n) onto out; *bol says whether we are at a line start.
 * Bare LFs become CRLF so the wire always has CRLF lines. */
static int stuff(struct buf *out, const char *p, size_t n, bool *bol)
{
	if (buf_reserve(out, n + n / 32 + 8) < 0)
		return -1;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (*bol && p[i] == '.') {
			if (buf_append(out, p + start, i - start) < 0 || buf_putc(out, '.') < 0)
				return -1;
			start = i;
		}
		*bol = false;
		if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r') {
				if (buf_append(out, p + start, i - start) < 0 || buf_puts(out, "\r") < 0)
					return -1;
				start = i;
			}
			*bol = true;
		}
	}
	return buf_append(out, p + start, n - start);
}

static int stuff_end(struct buf *out, bool bol)
{
	if (!bol) {
		if (out->len && out->data[out->len - 1] == '\r')
			return buf_puts(out, "\n.\r\n");
		return buf_puts(out, "\r\n.\r\n");
	}
	return buf_puts(out, ".\r\n");
}

int smtp_dot_stuff(const char *msg, size_t len, struct buf *out)
{
	bool bol = true;
	if (stuff(out, msg, len, &bol) < 0)
		return -1;
	return stuff_end(out, bol);
}

/* ---- driver ---- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for ev until deadline: 0, or -1 on timeout. */
static int wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = { .fd = fd, .events = ev };
		int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

int smtp_client_connect(const struct sockaddr *addr, unsigned addrlen, unsigned timeout_ms, char *err,
			size_t errlen)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, addr, addrlen) < 0) {
		if (errno != EINPROGRESS) {
			snprintf(err, errlen, "connect: %s", strerror(errno));
			close(fd);
			return -1;
		}
		if (wait_fd(fd, POLLOUT, now_ms() + timeout_ms) < 0) {
			snprintf(err, errlen, "connect: timed out");
			close(fd);
			return -1;
		}
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			snprintf(err, errlen, "connect: %s", strerror(e ? e : errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

struct conn {
	int fd;
	SSL *ssl;
	char buf[4096];
	size_t pos, len;
	const char *err; /* why the last operation failed */
};

/* One read into the buffer: 0, or -1 (closed, error, timeout). */
static int conn_fill(struct conn *cn, long long deadline)
{
	for (;;) {
		if (cn->ssl) {
			int n = SSL_read(cn->ssl, cn->buf, sizeof(cn->buf));
			if (n > 0) {
				cn->pos = 0;
				cn->len = (size_t)n;
				return 0;
			}
			int e = SSL_get_error(cn->ssl, n);
			short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
			if (!ev) {
				cn->err = e == SSL_ERROR_ZERO_RETURN ? "connection closed" : "TLS read error";
				ERR_clear_error();
				return -1;
			}
			if (wait_fd(cn->fd, ev, deadline) < 0) {
				cn->err = "timed out";
				return -1;
			}
		} else {
			ssize_t n = read(cn->fd, cn->buf, sizeof(cn->buf));
			if (n > 0) {
				cn->pos = 0;
				cn->len = (size_t)n;
				return 0;
			}
			if (n == 0) {
				cn->err = "connection closed";
				return -1;
			}
			if (errno != EAGAIN && errno != EINTR) {
				cn->err = "read error";
				return -1;
			}
			if (wait_fd(cn->fd, POLLIN, deadline) < 0) {
				cn->err = "timed out";
				return -1;
			}
		}
	}
}

/* A line without its CRLF (or LF) into line[cap]: its length, or -1. */
static long conn_line(struct conn *cn, char *line, size_t cap, long long deadline)
{
	size_t n = 0;
	for (;;) {
		if (cn->pos == cn->len && conn_fill(cn, deadline) < 0)
			return -1;
		char ch = cn->buf[cn->pos++];
		if (ch == '\n') {
			if (n && line[n - 1] == '\r')
				n--;
			return (long)n;
		}
		if (n + 1 >= cap) {
			cn->err = "reply line too long";
			return -1;
		}
		line[n++] = ch;
	}
}

/* Writes everything; timeout_ms bounds each wait for progress. */
static int conn_write(struct conn *cn, const char *p, size_t n, unsigned timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	while (n) {
		size_t chunk = n > 65536 ? 65536 : n;
		short ev = 0;
		if (cn->ssl) {
			int w = SSL_write(cn->ssl, p, (int)chunk);
			if (w > 0) {
				p += w;
				n -= (size_t)w;
				deadline = now_ms() + timeout_ms;
				continue;
			}
			int e = SSL_get_error(cn->ssl, w);
			ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
			if (!ev) {
				ERR_clear_error();
				cn->err = "TLS write error";
				return -1;
			}
		} else {
			ssize_t w = send(cn->fd, p, chunk, MSG_NOSIGNAL);
			if (w > 0) {
				p += w;
				n -= (size_t)w;
				deadline = now_ms() + timeout_ms;
				continue;
			}
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				cn->err = "write error";
				return -1;
			}
			ev = POLLOUT;
		}
		if (wait_fd(cn->fd, ev, deadline) < 0) {
			cn->err = "timed out";
			return -1;
		}
	}
	return 0;
}

/* Sets up DANE on ssl (RFC 7672): the MX host is the base domain (and
 * SNI); the next-hop domain is a further name DANE-TA(2) chains may match. */
static bool dane_setup(SSL *ssl, const struct smtp_client_dane *d, struct smtp_client *c)
{
	if (SSL_dane_enable(ssl, d->mx_host) <= 0) {
		snprintf(c->tls_info, sizeof(c->tls_info), "cannot enable DANE");
		return false;
	}
	if (d->nexthop && *d->nexthop && strcasecmp(d->nexthop, d->mx_host) != 0)
		SSL_add1_host(ssl, d->nexthop);
	int added = 0;
	for (size_t i = 0; i < d->n_tlsa; i++) {
		const struct smtp_tlsa *t = &d->tlsa[i];
		/* 0 means unusable (unknown parameters): skip, as RFC 7671 says. */
		if (SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype, t->data, t->len) > 0)
			added++;
	}
	if (added == 0) {
		snprintf(c->tls_info, sizeof(c->tls_info), "no usable TLSA records");
		return false;
	}
	return true;
}

/* After the handshake: did the peer match a TLSA record? */
static bool dane_check(SSL *ssl, struct smtp_client *c)
{
	long v = SSL_get_verify_result(ssl);
	if (v != X509_V_OK) {
		snprintf(c->tls_info, sizeof(c->tls_info), "server certificate not trusted (DANE: %s)",
			 X509_verify_cert_error_string(v));
		return false;
	}
	if (SSL_get0_dane_authority(ssl, NULL, NULL) < 0) {
		snprintf(c->tls_info, sizeof(c->tls_info), "server certificate matches no TLSA record");
		return false;
	}
	c->tls_verified = true;
	return true;
}

static bool conn_tls(struct conn *cn, SSL_CTX *ctx, const char *sni, unsigned timeout_ms, struct smtp_client *c)
{
	/* Anything the server sent before the handshake is not trusted
	 * (CVE-2011-0411 style injection): drop it. */
	cn->pos = cn->len = 0;
	c->tls_info[0] = '\0';
	if (!(cn->ssl = SSL_new(ctx)) || SSL_set_fd(cn->ssl, cn->fd) != 1)
		return false;
	if (sni && *sni)
		SSL_set_tlsext_host_name(cn->ssl, sni);
	if (c->opts.dane && !dane_setup(cn->ssl, c->opts.dane, c)) {
		ERR_clear_error();
		return false;
	}
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		int rc = SSL_connect(cn->ssl);
		if (rc == 1)
			break;
		int e = SSL_get_error(cn->ssl, rc);
		short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
		if (!ev || wait_fd(cn->fd, ev, deadline) < 0) {
			ERR_clear_error();
			return false;
		}
	}
	if (c->opts.dane && !dane_check(cn->ssl, c))
		return false;
	snprintf(c->tls_info, sizeof(c->tls_info), "%s with cipher %s", SSL_get_version(cn->ssl),
		 SSL_get_cipher_name(cn->ssl));
	return true;
}

int smtp_client_run(struct smtp_client *c, int fd, SSL_CTX *tls, const char *sni,
		    const struct smtp_client_timeouts *t, const char *head, size_t head_len, const char *msg,
		    size_t msg_len)
{
	struct conn cn = { .fd = fd };
	struct buf body = BUF_INIT;
	char line[SMTP_REPLY_LINE_MAX + 2];
	int rc = 0;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	c->opts.tls_available = c->opts.tls_available && tls;
	while (c->state != SMTPC_DONE) {
		struct smtp_reply r;
		smtp_reply_init(&r);
		long long deadline = now_ms() + smtp_client_timeout(c, t);
		int got = 0;
		while (got == 0) {
			long n = conn_line(&cn, line, sizeof(line), deadline);
			if (n < 0)
				break;
			got = smtp_reply_line(&r, line, (size_t)n);
			if (got < 0)
				cn.err = "malformed reply";
		}
		if (got != 1) {
			smtp_client_abort(c, cn.err ? cn.err : "connection failed");
			break;
		}
		enum smtp_client_action act = smtp_client_reply(c, &r);
		for (;;) {
			if (act == SMTPC_ACT_TLS) {
				act = smtp_client_tls_done(c, conn_tls(&cn, tls, sni, t->tls, c));
				continue;
			}
			break;
		}
		if (act == SMTPC_ACT_SEND) {
			size_t n;
			const char *out = smtp_client_output(c, &n);
			if (conn_write(&cn, out, n, smtp_client_timeout(c, t)) < 0)
				smtp_client_abort(c, cn.err);
		} else if (act == SMTPC_ACT_SEND_BODY) {
			bool bol = true;
			buf_reset(&body);
			if ((head && stuff(&body, head, head_len, &bol) < 0) || stuff(&body, msg, msg_len, &bol) < 0 ||
			    stuff_end(&body, bol) < 0) {
				smtp_client_abort(c, "out of memory");
				rc = -1;
				break;
			}
			if (conn_write(&cn, body.data, body.len, t->data_block) < 0)
				smtp_client_abort(c, cn.err);
		} else if (act == SMTPC_ACT_CLOSE) {
			break;
		}
	}
	if (cn.ssl) {
		SSL_free(cn.ssl);
		ERR_clear_error();
	}
	close(fd);
	buf_free(&body);
	return rc;
}

SSL_CTX *smtp_client_tls_ctx_new(char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "cannot create a TLS client context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Opportunistic TLS (RFC 7435): encrypt, do not authenticate.  With
	 * DANE the chain is still checked and conn_tls() looks at the result
	 * (so it can say why). */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		SSL_CTX_free(ctx);
		snprintf(err, errlen, "cannot enable DANE on the TLS client context");
		return NULL;
	}
	SSL_CTX_dane_set_flags(ctx, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}
