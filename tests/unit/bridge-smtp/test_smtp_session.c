/* Unit tests for bridge-smtp/smtp_session: the protocol state machine,
 * driven with byte strings and a fake event handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/smtp_session.h"
#include "common/buf.h"

static const char *const domains[] = { "example.org", "Example.NET" };

/* A harness: the session, everything it replied, and what it delivered. */
struct harness {
	struct smtp_session_config cfg;
	struct smtp_session *s;
	struct buf out;
	int n_messages;
	int n_auth;
	int n_starttls;
	bool closed;
	bool fail_store;
	struct buf last_msg;
	char last_from[300];
	char last_rcpts[1024];
	char last_auth[300];
};

static void h_init(struct harness *h, enum smtp_role role, bool tls)
{
	memset(h, 0, sizeof(*h));
	h->cfg.role = role;
	h->cfg.hostname = "mx.example.org";
	h->cfg.local_domains = domains;
	h->cfg.n_local_domains = 2;
	smtp_limits_default(&h->cfg.limits);
	h->cfg.limits.max_message_size = 4096;
	h->cfg.limits.max_recipients = 3;
	h->cfg.limits.max_bad_commands = 10;
	h->cfg.tls_available = tls;
	h->cfg.auth_available = role == SMTP_ROLE_SUBMISSION;
	buf_init(&h->out, 0);
	buf_init(&h->last_msg, 0);
}

static void h_start(struct harness *h)
{
	h->s = smtp_session_new(&h->cfg);
	assert_non_null(h->s);
}

static void h_drain(struct harness *h)
{
	size_t n;
	const char *o = smtp_session_output(h->s, &n);
	assert_int_equal(buf_append(&h->out, o, n), 0);
	smtp_session_output_consume(h->s, n);
}

static void h_run(struct harness *h)
{
	enum smtp_event ev;
	while ((ev = smtp_session_step(h->s)) != SMTP_EV_NONE) {
		h_drain(h);
		if (ev == SMTP_EV_CLOSE) {
			h->closed = true;
			return;
		} else if (ev == SMTP_EV_STARTTLS) {
			h->n_starttls++;
			smtp_session_tls_started(h->s);
		} else if (ev == SMTP_EV_AUTH) {
			h->n_auth++;
			bool ok = strcmp(smtp_session_auth_user(h->s), "alice") == 0 &&
				  strcmp(smtp_session_auth_password(h->s), "s3cret") == 0;
			bool temp = strcmp(smtp_session_auth_user(h->s), "down") == 0;
			bool lock = strcmp(smtp_session_auth_user(h->s), "locked") == 0;
			smtp_session_auth_done(h->s, ok ? SMTP_AUTH_OK : temp ? SMTP_AUTH_TEMPFAIL
								     : lock ? SMTP_AUTH_LOCKOUT : SMTP_AUTH_BAD,
					       ok ? "@alice:example.org" : NULL);
		} else if (ev == SMTP_EV_MESSAGE) {
			const struct smtp_envelope *e = smtp_session_envelope(h->s);
			assert_non_null(e);
			h->n_messages++;
			buf_reset(&h->last_msg);
			if (e->data)
				assert_int_equal(buf_append(&h->last_msg, e->data, e->len), 0);
			snprintf(h->last_from, sizeof(h->last_from), "%s", e->mail_from);
			h->last_rcpts[0] = '\0';
			for (size_t i = 0; i < e->n_rcpts; i++) {
				strncat(h->last_rcpts, e->rcpts[i], sizeof(h->last_rcpts) - strlen(h->last_rcpts) - 2);
				strcat(h->last_rcpts, ",");
			}
			snprintf(h->last_auth, sizeof(h->last_auth), "%s", e->auth_identity ? e->auth_identity : "");
			smtp_session_message_done(h->s, !h->fail_store, "Q1");
		}
	}
	h_drain(h);
}

static void h_send(struct harness *h, const char *data, size_t n)
{
	assert_int_equal(smtp_session_feed(h->s, data, n), 0);
	h_run(h);
}

static void h_say(struct harness *h, const char *text)
{
	h_send(h, text, strlen(text));
}

static void h_free(struct harness *h)
{
	smtp_session_free(h->s);
	buf_free(&h->out);
	buf_free(&h->last_msg);
}

/* The reply lines of out, codes only, e.g. "220 250 250 354 250 ". */
static void codes(const struct harness *h, char *dst, size_t dstlen)
{
	const char *p = h->out.data ? h->out.data : "";
	dst[0] = '\0';
	while (*p) {
		const char *eol = strstr(p, "\r\n");
		assert_non_null(eol);
		if (p[3] == ' ') {
			strncat(dst, p, 4);
			assert_true(strlen(dst) < dstlen - 5);
		}
		p = eol + 2;
	}
}

static void expect_codes(const struct harness *h, const char *want)
{
	char got[2048];
	codes(h, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("reply codes '%s', wanted '%s'; output:\n%s", got, want, h->out.data);
}

static bool has_line(const struct harness *h, const char *line)
{
	return h->out.data && strstr(h->out.data, line) != NULL;
}

static void test_ehlo_mx(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, true);
	h_start(&h);
	h_say(&h, "EHLO client.example\r\n");
	assert_true(has_line(&h, "220 mx.example.org ESMTP"));
	assert_true(has_line(&h, "250-PIPELINING\r\n"));
	assert_true(has_line(&h, "250-SIZE 4096\r\n"));
	assert_true(has_line(&h, "250-8BITMIME\r\n"));
	assert_true(has_line(&h, "250-SMTPUTF8\r\n"));
	assert_true(has_line(&h, "250-CHUNKING\r\n"));
	assert_true(has_line(&h, "250-STARTTLS\r\n"));
	assert_true(has_line(&h, "250 ENHANCEDSTATUSCODES\r\n"));
	assert_false(has_line(&h, "AUTH"));
	h_say(&h, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\nVRFY bob\r\nEXPN list\r\nHELP\r\nNOOP\r\nQUIT\r\n");
	expect_codes(&h, "220 250 502 252 502 214 250 221 ");
	assert_true(h.closed);
	h_free(&h);
}

static void test_plain_delivery_pipelined(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	h_say(&h, "EHLO c\r\nMAIL FROM:<a@remote.example> BODY=8BITMIME SIZE=100\r\n"
		  "RCPT TO:<bob@example.org>\r\nRCPT TO:<carol@EXAMPLE.net>\r\nRCPT TO:<bob@example.org>\r\n"
		  "RCPT TO:<eve@elsewhere.example>\r\nRCPT TO:<postmaster>\r\nDATA\r\n"
		  "Subject: hi\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n");
	expect_codes(&h, "220 250 250 250 250 250 550 250 354 250 221 ");
	assert_true(has_line(&h, "550 5.7.1 Relaying denied"));
	assert_true(has_line(&h, "250 2.0.0 Ok: queued as Q1"));
	assert_int_equal(h.n_messages, 1);
	assert_string_equal(h.last_msg.data, "Subject: hi\r\n\r\n.leading dot\r\n");
	assert_string_equal(h.last_from, "a@remote.example");
	assert_string_equal(h.last_rcpts, "bob@example.org,carol@EXAMPLE.net,postmaster,");
	h_free(&h);
}

static void test_byte_at_a_time(void **state)
{
	struct harness h;
	const char *conv = "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nline\r\n.\r\nQUIT\r\n";
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	for (size_t i = 0; conv[i]; i++)
		h_send(&h, conv + i, 1);
	expect_codes(&h, "220 250 250 250 354 250 221 ");
	assert_string_equal(h.last_msg.data, "line\r\n");
	assert_string_equal(h.last_from, "");
	h_free(&h);
}

static void test_sequence_errors(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	h_say(&h, "MAIL FROM:<a@b.example>\r\nHELO c\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
		  "MAIL FROM:<a@b.example>\r\nMAIL FROM:<a@b.example>\r\nDATA\r\nRSET\r\n"
		  "MAIL FROM:<a@b.example> SIZE=10\r\n");
	expect_codes(&h, "220 503 250 503 503 250 503 554 250 555 ");
	h_free(&h);
}

static void test_bare_lf_and_smuggling(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	/* "\r\n.\n": a smuggled second transaction must stay message text. */
	h_say(&h, "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
		  "Subject: x\r\n\r\nbody\r\n.\nMAIL FROM:<evil@b.example>\r\nRCPT TO:<bob@example.org>\r\n"
		  "DATA\r\nsmuggled\r\n.\r\n");
	expect_codes(&h, "220 250 250 250 354 550 ");
	assert_true(has_line(&h, "550 5.6.0 Message contains bare CR or LF"));
	assert_int_equal(h.n_messages, 0);
	/* "\n.\r\n" and "\r.\r\n" forms. */
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nx\n.\r\ny\r\n.\r\n");
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nx\r.\r\ny\r\n.\r\n");
	expect_codes(&h, "220 250 250 250 354 550 250 250 354 550 250 250 354 550 ");
	assert_int_equal(h.n_messages, 0);
	/* A bare LF in a command line is refused too. */
	h_say(&h, "NOOP\n");
	assert_true(has_line(&h, "500 5.5.2 Bare LF"));
	/* And a clean message still goes through afterwards. */
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nok\r\n.\r\n");
	assert_int_equal(h.n_messages, 1);
	h_free(&h);
}

static void test_size_limits(void **state)
{
	struct harness h;
	char big[1200];
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	h_say(&h, "EHLO c\r\nMAIL FROM:<a@b.example> SIZE=5000\r\n");
	assert_true(has_line(&h, "552 5.3.4"));
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
	memset(big, 'x', 998);
	memcpy(big + 998, "\r\n", 3);
	for (int i = 0; i < 6; i++)
		h_say(&h, big);
	h_say(&h, ".\r\n");
	expect_codes(&h, "220 250 552 250 250 354 552 ");
	assert_int_equal(h.n_messages, 0);
	/* A 1001-octet line is too long even in a small message. */
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
	memset(big, 'y', 1100);
	memcpy(big + 1100, "\r\n.\r\n", 6);
	h_say(&h, big);
	assert_true(has_line(&h, "550 5.6.0 Message line too long"));
	assert_int_equal(h.n_messages, 0);
	h_free(&h);
}

static void test_too_many_recipients(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	h_say(&h, "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<r1@example.org>\r\nRCPT TO:<r2@example.org>\r\n"
		  "RCPT TO:<r3@example.org>\r\nRCPT TO:<r4@example.org>\r\nDATA\r\nx\r\n.\r\n");
	expect_codes(&h, "220 250 250 250 250 250 452 354 250 ");
	assert_true(has_line(&h, "452 4.5.3 Too many recipients"));
	assert_string_equal(h.last_rcpts, "r1@example.org,r2@example.org,r3@example.org,");
	h_free(&h);
}

static void test_long_command_line(void **state)
{
	struct harness h;
	char line[3000];
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'z', 2500);
	memcpy(line + 2505, "\r\nNOOP\r\n", 9);
	h_say(&h, line);
	expect_codes(&h, "220 500 250 ");
	assert_true(has_line(&h, "500 5.5.2 Line too long"));
	/* Split over feeds: the tail of the long line is discarded too. */
	h_send(&h, line, 2100);
	h_say(&h, line + 2100);
	expect_codes(&h, "220 500 250 500 250 ");
	h_free(&h);
}

static void test_too_many_errors(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h.cfg.limits.max_bad_commands = 5;
	h_start(&h);
	h_say(&h, "X1\r\nX2\r\nX3\r\nX4\r\nX5\r\nNOOP\r\n");
	expect_codes(&h, "220 500 500 500 500 421 ");
	assert_true(h.closed);
	assert_true(has_line(&h, "421 4.7.0 Too many errors"));
	h_free(&h);
}

static void test_command_limit_and_timeout(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h.cfg.limits.max_commands = 3;
	h_start(&h);
	h_say(&h, "NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n");
	expect_codes(&h, "220 250 250 250 421 ");
	assert_true(h.closed);
	h_free(&h);

	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	smtp_session_timeout(h.s);
	h_run(&h);
	expect_codes(&h, "220 421 ");
	assert_true(has_line(&h, "421 4.4.2"));
	assert_true(smtp_session_closed(h.s));
	h_free(&h);
}

static void test_bdat(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	h_say(&h, "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\n"
		  "BDAT 9\r\nSubject: BDAT 5 LAST\r\nabc\r\n");
	expect_codes(&h, "220 250 250 250 250 250 ");
	assert_int_equal(h.n_messages, 1);
	assert_string_equal(h.last_msg.data, "Subject: abc\r\n");
	/* DATA after BDAT is refused; BDAT without recipients still eats its
	 * octets so they are not taken for commands. */
	h_say(&h, "MAIL FROM:<a@b.example>\r\nBDAT 6\r\nQUIT\r\n");
	expect_codes(&h, "220 250 250 250 250 250 250 554 ");
	assert_false(h.closed);
	h_say(&h, "RCPT TO:<bob@example.org>\r\nBDAT 4\r\nab\r\nDATA\r\nBDAT 0 LAST\r\n");
	expect_codes(&h, "220 250 250 250 250 250 250 554 250 250 503 250 ");
	assert_int_equal(h.n_messages, 2);
	assert_string_equal(h.last_msg.data, "ab\r\n");
	/* Bare LF inside a chunk. */
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT 3 LAST\r\na\nb");
	assert_true(has_line(&h, "550 5.6.0 Message contains bare CR or LF"));
	assert_int_equal(h.n_messages, 2);
	/* Oversize chunk: consumed, refused. */
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT 5000\r\n");
	char *big = malloc(5000);
	memset(big, 'q', 5000);
	h_send(&h, big, 5000);
	free(big);
	h_say(&h, "NOOP\r\n");
	assert_true(has_line(&h, "552 5.3.4"));
	expect_codes(&h, "220 250 250 250 250 250 250 554 250 250 503 250 250 250 550 250 250 552 250 ");
	/* A BDAT whose size cannot be read ends the session. */
	h_say(&h, "BDAT x\r\n");
	assert_true(h.closed);
	h_free(&h);
}

static void test_submission_auth(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_SUBMISSION, true);
	h_start(&h);
	h_say(&h, "EHLO c\r\n");
	assert_false(has_line(&h, "AUTH"));
	h_say(&h, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\nMAIL FROM:<alice@example.org>\r\n");
	assert_true(has_line(&h, "530 5.7.0 Must issue a STARTTLS command first"));
	assert_int_equal(h.n_auth, 0);
	/* Commands pipelined behind STARTTLS are dropped, not run under TLS. */
	h_say(&h, "STARTTLS\r\nNOOP\r\n");
	assert_int_equal(h.n_starttls, 1);
	expect_codes(&h, "220 250 530 530 220 ");
	h_say(&h, "MAIL FROM:<alice@example.org>\r\n");
	assert_true(has_line(&h, "503 5.5.1 Send EHLO"));
	buf_reset(&h.out);
	h_say(&h, "EHLO c\r\n");
	assert_true(has_line(&h, "250-AUTH PLAIN LOGIN\r\n"));
	assert_false(has_line(&h, "STARTTLS"));
	h_say(&h, "MAIL FROM:<alice@example.org>\r\n");
	assert_true(has_line(&h, "530 5.7.0 Authentication required"));
	/* Wrong password, then right one: "\0alice\0wrong", "\0alice\0s3cret". */
	h_say(&h, "AUTH PLAIN AGFsaWNlAHdyb25n\r\n");
	assert_true(has_line(&h, "535 5.7.8"));
	h_say(&h, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");
	assert_true(has_line(&h, "235 2.7.0"));
	h_say(&h, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");
	assert_true(has_line(&h, "503 5.5.1 Already authenticated"));
	h_say(&h, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<friend@far.example>\r\nDATA\r\nhello\r\n.\r\n");
	assert_int_equal(h.n_messages, 1);
	assert_string_equal(h.last_rcpts, "friend@far.example,");
	assert_string_equal(h.last_auth, "@alice:example.org");
	h_free(&h);
}

static void test_auth_login(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_SUBMISSION, true);
	h_start(&h);
	h_say(&h, "EHLO c\r\nSTARTTLS\r\n");
	h_say(&h, "EHLO c\r\nAUTH LOGIN\r\n*\r\n");
	assert_true(has_line(&h, "334 VXNlcm5hbWU6\r\n"));
	assert_true(has_line(&h, "501 5.0.0 Authentication cancelled"));
	/* "alice" / "s3cret", the user as initial response. */
	h_say(&h, "AUTH LOGIN YWxpY2U=\r\n");
	assert_true(has_line(&h, "334 UGFzc3dvcmQ6\r\n"));
	h_say(&h, "czNjcmV0\r\n");
	assert_true(has_line(&h, "235 2.7.0"));
	assert_int_equal(h.n_auth, 1);
	h_free(&h);

	h_init(&h, SMTP_ROLE_SUBMISSION, true);
	h_start(&h);
	h_say(&h, "EHLO c\r\nSTARTTLS\r\n");
	h_say(&h, "EHLO c\r\nAUTH PLAIN\r\n");
	assert_true(has_line(&h, "334 \r\n"));
	h_say(&h, "!!notbase64\r\nAUTH PLAIN AGRvd24AeA==\r\nAUTH XOAUTH2\r\n");
	assert_true(has_line(&h, "501 5.5.2"));
	assert_true(has_line(&h, "454 4.7.0"));
	assert_true(has_line(&h, "504 5.5.4"));
	h_free(&h);
}

static void test_store_failure(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h.fail_store = true;
	h_start(&h);
	h_say(&h, "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nx\r\n.\r\n");
	expect_codes(&h, "220 250 250 250 354 451 ");
	h_free(&h);
}

static void test_smtputf8_rcpt(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	h_say(&h, "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<\xc3\xa9lise@example.org>\r\nRSET\r\n"
		  "MAIL FROM:<a@b.example> SMTPUTF8\r\nRCPT TO:<\xc3\xa9lise@example.org>\r\n");
	expect_codes(&h, "220 250 250 553 250 250 250 ");
	h_free(&h);
}

/* A sink that collects into a buffer and counts its calls. */
struct test_sink {
	struct buf data;
	int begins, aborts, writes;
	bool fail_begin;
	size_t fail_after; /* fail write once this many octets are in (0: never) */
	char helo[64];
};

static int ts_begin(void *ctx, const struct smtp_envelope *e)
{
	struct test_sink *t = ctx;
	t->begins++;
	buf_reset(&t->data);
	assert_null(e->data);
	assert_true(e->n_rcpts > 0);
	snprintf(t->helo, sizeof(t->helo), "%s", e->helo);
	return t->fail_begin ? -1 : 0;
}

static int ts_write(void *ctx, const void *data, size_t len)
{
	struct test_sink *t = ctx;
	t->writes++;
	if (t->fail_after && t->data.len + len > t->fail_after)
		return -1;
	return buf_append(&t->data, data, len);
}

static void ts_abort(void *ctx)
{
	struct test_sink *t = ctx;
	t->aborts++;
}

static void test_sink_streams(void **state)
{
	struct harness h;
	struct test_sink ts = { 0 };
	struct smtp_sink sink = { ts_begin, ts_write, ts_abort, &ts };
	(void)state;
	buf_init(&ts.data, 0);
	h_init(&h, SMTP_ROLE_MX, false);
	h_start(&h);
	smtp_session_set_sink(h.s, &sink);
	h_say(&h, "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
		  "Subject: s\r\n\r\n..x\r\n.\r\n");
	assert_int_equal(h.n_messages, 1);
	assert_int_equal(ts.begins, 1);
	assert_int_equal(ts.aborts, 0);
	assert_string_equal(ts.data.data, "Subject: s\r\n\r\n.x\r\n");
	assert_int_equal(h.last_msg.len, 0); /* no copy in the envelope */
	assert_string_equal(ts.helo, "c");

	/* Refused message (bare LF): aborted once, never handed over. */
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nx\ny\r\n.\r\n");
	assert_int_equal(ts.begins, 2);
	assert_int_equal(ts.aborts, 1);
	assert_int_equal(h.n_messages, 1);

	/* RSET in the middle of BDAT chunks aborts the started message. */
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT 3\r\nabcRSET\r\n");
	assert_int_equal(ts.begins, 3);
	assert_int_equal(ts.aborts, 2);

	/* Storage trouble: begin fails, or a write fails: 452 4.3.1. */
	ts.fail_begin = true;
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nx\r\n.\r\n");
	assert_true(has_line(&h, "452 4.3.1"));
	assert_int_equal(ts.aborts, 2);
	ts.fail_begin = false;
	ts.fail_after = 4;
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nline1\r\nline2\r\n.\r\n");
	assert_int_equal(ts.aborts, 3);
	assert_int_equal(h.n_messages, 1);

	/* A session freed mid-message aborts it. */
	ts.fail_after = 0;
	h_say(&h, "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\npartial\r\n");
	assert_int_equal(ts.begins, 6);
	h_free(&h);
	assert_int_equal(ts.aborts, 4);
	buf_free(&ts.data);
}

/* A submission session authenticated as @alice:example.org. */
static void h_authed(struct harness *h, const struct smtp_sender_policy *p, bool use_tls)
{
	h_init(h, SMTP_ROLE_SUBMISSION, use_tls);
	h->cfg.sender_policy = p;
	h_start(h);
	h_say(h, "EHLO c\r\nSTARTTLS\r\n");
	h_say(h, "EHLO c\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");
	assert_true(has_line(h, "235 2.7.0"));
	buf_reset(&h->out);
}

static void sender_policy(struct smtp_sender_policy *p)
{
	smtp_sender_policy_default(p);
	p->local_domains = domains;
	p->n_local_domains = 2;
}

static void test_sender_envelope(void **state)
{
	struct harness h;
	struct smtp_sender_policy p;
	(void)state;
	sender_policy(&p);
	h_authed(&h, &p, true);
	h_say(&h, "MAIL FROM:<bob@example.org>\r\n");
	assert_true(has_line(&h, "553 5.7.1 <bob@example.org>: Sender address rejected: not owned by user @alice:example.org\r\n"));
	h_say(&h, "MAIL FROM:<alice@far.example>\r\nMAIL FROM:<>\r\n");
	assert_true(has_line(&h, "553 5.7.1 Sender address rejected: null sender not allowed on submission\r\n"));
	h_say(&h, "RCPT TO:<x@far.example>\r\n");
	expect_codes(&h, "553 553 553 503 ");
	/* A non-ASCII address is not echoed in the reply. */
	buf_reset(&h.out);
	h_say(&h, "MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8\r\n");
	assert_string_equal(h.out.data, "553 5.7.1 Sender address rejected: not owned by user @alice:example.org\r\n");
	buf_reset(&h.out);
	h_say(&h, "MAIL FROM:<Alice@Example.NET>\r\nRCPT TO:<x@far.example>\r\nDATA\r\n"
		  "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nbody\r\n.\r\n");
	expect_codes(&h, "250 250 354 250 ");
	assert_int_equal(h.n_messages, 1);
	h_free(&h);

	/* The MX role never applies the submission policy. */
	h_init(&h, SMTP_ROLE_MX, false);
	h.cfg.sender_policy = &p;
	h_start(&h);
	h_say(&h, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
		  "From: someone@example.org\r\n\r\nx\r\n.\r\n");
	expect_codes(&h, "220 250 250 250 354 250 ");
	h_free(&h);

	/* Switched off. */
	p.check_envelope = false;
	p.check_header = false;
	h_authed(&h, &p, true);
	h_say(&h, "MAIL FROM:<>\r\nRCPT TO:<x@far.example>\r\nDATA\r\nFrom: bob@example.org\r\n\r\nx\r\n.\r\n");
	expect_codes(&h, "250 250 354 250 ");
	h_free(&h);
}

static void test_sender_from_header(void **state)
{
	struct harness h;
	struct smtp_sender_policy p;
	(void)state;
	sender_policy(&p);
	p.check_envelope = false; /* the header check stands on its own */
	h_authed(&h, &p, true);
	static const struct {
		const char *head;
		const char *reply;
	} cases[] = {
		{ "From: Mallory <bob@example.org>\r\n", "550 5.7.1 From: header address rejected: not owned by user" },
		{ "From: alice@example.org, bob@example.org\r\n", "550 5.7.1 From: header address rejected" },
		{ "From: alice@example.org\r\nFrom: alice@example.org\r\n", "550 5.7.1 Message has more than one From:" },
		{ "From: alice@example.org <bob@example.org>\r\n", "550 5.7.1 From: header field cannot be parsed" },
		{ "From: undisclosed:;\r\n", "550 5.7.1 From: header field cannot be parsed" },
		{ "From:\r\n", "550 5.7.1 From: header field cannot be parsed" },
		{ "Subject: x\r\nfrom:\r\n \"Alice\" (me)\r\n\t<alice@example.org>\r\n", "250 2.0.0 Ok" },
		{ "Subject: no from at all\r\n", "250 2.0.0 Ok" },
		{ "From: =?utf-8?q?A?= <\"alice\"@EXAMPLE.org>, alice@example.net\r\n", "250 2.0.0 Ok" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&h.out);
		h_say(&h, "MAIL FROM:<bob@example.org>\r\nRCPT TO:<x@far.example>\r\nDATA\r\n");
		h_say(&h, cases[i].head);
		/* A From: in the body is no header. */
		h_say(&h, "\r\nFrom: bob@example.org\r\n.\r\n");
		if (!has_line(&h, cases[i].reply))
			fail_msg("case %zu: wanted '%s', got:\n%s", i, cases[i].reply, h.out.data);
	}
	assert_int_equal(h.n_messages, 3);
	/* BDAT: the header may be split anywhere across chunks. */
	buf_reset(&h.out);
	h_say(&h, "MAIL FROM:<x@example.org>\r\nRCPT TO:<y@far.example>\r\n"
		  "BDAT 8\r\nFrom: bo"
		  "BDAT 20 LAST\r\nb@example.org\r\n\r\nx\r\n");
	expect_codes(&h, "250 250 250 550 ");
	assert_int_equal(h.n_messages, 3);
	buf_reset(&h.out);
	h_say(&h, "MAIL FROM:<x@example.org>\r\nRCPT TO:<y@far.example>\r\n"
		  "BDAT 9\r\nFrom: ali"
		  "BDAT 21 LAST\r\nce@example.org\r\n\r\nx\r\n");
	expect_codes(&h, "250 250 250 250 ");
	assert_int_equal(h.n_messages, 4);
	h_free(&h);
}

static void test_auth_lockout(void **state)
{
	struct harness h;
	(void)state;
	h_init(&h, SMTP_ROLE_SUBMISSION, true);
	h_start(&h);
	h_say(&h, "EHLO c\r\nSTARTTLS\r\n");
	h_say(&h, "EHLO c\r\nAUTH PLAIN AGxvY2tlZAB4\r\nNOOP\r\n"); /* \0locked\0x */
	assert_true(has_line(&h, "421 4.7.0 Too many failed authentication attempts, mx.example.org closing connection\r\n"));
	assert_true(h.closed);
	assert_false(has_line(&h, "250 2.0.0 OK"));
	h_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ehlo_mx),
		cmocka_unit_test(test_plain_delivery_pipelined),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_sequence_errors),
		cmocka_unit_test(test_bare_lf_and_smuggling),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_too_many_recipients),
		cmocka_unit_test(test_long_command_line),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_command_limit_and_timeout),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_submission_auth),
		cmocka_unit_test(test_auth_login),
		cmocka_unit_test(test_store_failure),
		cmocka_unit_test(test_smtputf8_rcpt),
		cmocka_unit_test(test_sink_streams),
		cmocka_unit_test(test_sender_envelope),
		cmocka_unit_test(test_sender_from_header),
		cmocka_unit_test(test_auth_lockout),
	};
	return cmocka_run_group_tests_name("smtp_session", tests, NULL, NULL);
}
