/* Unit tests for bridge-smtp/smtp_client: the reply parser, the protocol
 * state machine fed scripted replies, and the driver against a scripted
 * server on a socketpair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "bridge-smtp/smtp_client.h"

/* Parses a whole reply given as lines separated by '\n'. */
static void parse_reply(const char *text, struct smtp_reply *r)
{
	smtp_reply_init(r);
	const char *p = text;
	int rc = 0;
	while (rc == 0) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		rc = smtp_reply_line(r, p, n);
		p += n + (nl ? 1 : 0);
	}
	assert_int_equal(rc, 1);
}

static enum smtp_client_action feed(struct smtp_client *c, const char *reply)
{
	struct smtp_reply r;
	parse_reply(reply, &r);
	return smtp_client_reply(c, &r);
}

static void expect_out(struct smtp_client *c, const char *want)
{
	size_t n;
	const char *o = smtp_client_output(c, &n);
	if (n != strlen(want) || memcmp(o, want, n) != 0)
		fail_msg("sent '%.*s', wanted '%s'", (int)n, o, want);
}

static void test_reply_parser(void **state)
{
	(void)state;
	struct smtp_reply r;
	parse_reply("250-mx.example.org hello\n250-SIZE 1000\n250-STARTTLS\n250-8bitmime\n250 SMTPUTF8", &r);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.lines, 5);
	assert_int_equal(r.ext, SMTP_EXT_SIZE | SMTP_EXT_STARTTLS | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8);
	assert_int_equal(r.size_limit, 1000);
	parse_reply("550 5.1.1 <bob@x>: no such user", &r);
	assert_string_equal(r.enh, "5.1.1");
	assert_string_equal(r.text, "<bob@x>: no such user");
	parse_reply("451-4.3.0 first\n451 4.3.0 second", &r);
	assert_string_equal(r.enh, "4.3.0");
	assert_string_equal(r.text, "first; second");
	parse_reply("354", &r);
	assert_int_equal(r.code, 354);
	/* The class of an enhanced code must match the reply's. */
	parse_reply("550 4.1.1 odd", &r);
	assert_string_equal(r.enh, "");
	/* Control octets never reach the text. */
	parse_reply("250 a\tb\x01", &r);
	assert_string_equal(r.text, "a?b?");

	static const char *const bad[] = { "", "25", "199 x", "600 x", "2x0 x", "250x", "260 x", NULL };
	for (size_t i = 0; bad[i]; i++) {
		smtp_reply_init(&r);
		if (smtp_reply_line(&r, bad[i], strlen(bad[i])) != -1)
			fail_msg("'%s' accepted", bad[i]);
	}
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_line(&r, "250-a", 5), 0);
	assert_int_equal(smtp_reply_line(&r, "251 b", 5), -1);
	smtp_reply_init(&r);
	int rc = 0;
	for (int i = 0; i < SMTP_REPLY_MAX_LINES && rc == 0; i++)
		rc = smtp_reply_line(&r, "250-x", 5);
	assert_int_equal(rc, 0);
	assert_int_equal(smtp_reply_line(&r, "250 x", 5), -1);
}

static const char *const two_rcpts[] = { "a@remote.test", "b@remote.test" };

static void start(struct smtp_client *c, struct smtp_client_envelope *e, struct smtp_rcpt_result *res, bool tls,
		  bool require)
{
	struct smtp_client_opts o = { .helo = "relay.test", .tls_available = tls, .require_tls = require };
	assert_int_equal(smtp_client_start(c, &o, e, res), 0);
}

static void test_machine_happy(void **state)
{
	(void)state;
	struct smtp_client_envelope e = { .from = "u@local.test", .rcpts = two_rcpts, .n_rcpts = 2, .size = 1234,
				   .body_8bit = true };
	struct smtp_rcpt_result res[2];
	struct smtp_client c;
	start(&c, &e, res, true, false);
	assert_int_equal(feed(&c, "220 mx ESMTP"), SMTPC_ACT_SEND);
	expect_out(&c, "EHLO relay.test\r\n");
	assert_int_equal(feed(&c, "250-mx\n250-STARTTLS\n250-SIZE 5000\n250 8BITMIME"), SMTPC_ACT_SEND);
	expect_out(&c, "STARTTLS\r\n");
	assert_int_equal(feed(&c, "220 2.0.0 go ahead"), SMTPC_ACT_TLS);
	assert_int_equal(smtp_client_tls_done(&c, true), SMTPC_ACT_SEND);
	expect_out(&c, "EHLO relay.test\r\n");
	assert_int_equal(feed(&c, "250-mx\n250-SIZE 5000\n250 8BITMIME"), SMTPC_ACT_SEND);
	expect_out(&c, "MAIL FROM:<u@local.test> SIZE=1234 BODY=8BITMIME\r\n");
	assert_int_equal(feed(&c, "250 ok"), SMTPC_ACT_SEND);
	expect_out(&c, "RCPT TO:<a@remote.test>\r\n");
	assert_int_equal(feed(&c, "550 5.1.1 unknown"), SMTPC_ACT_SEND);
	expect_out(&c, "RCPT TO:<b@remote.test>\r\n");
	assert_int_equal(feed(&c, "250 ok"), SMTPC_ACT_SEND);
	expect_out(&c, "DATA\r\n");
	assert_int_equal(feed(&c, "354 go"), SMTPC_ACT_SEND_BODY);
	assert_int_equal(feed(&c, "250 2.0.0 queued as X"), SMTPC_ACT_SEND);
	expect_out(&c, "QUIT\r\n");
	assert_int_equal(feed(&c, "221 bye"), SMTPC_ACT_CLOSE);
	assert_true(c.delivered);
	assert_true(c.tls_active);
	assert_false(c.host_failed);
	assert_int_equal(res[0].status, SMTP_RCPT_PERM);
	assert_int_equal(res[0].code, 550);
	assert_string_equal(res[0].enh, "5.1.1");
	assert_int_equal(res[1].status, SMTP_RCPT_OK);
	assert_string_equal(res[1].text, "queued as X");
	smtp_client_free(&c);
}

static void test_machine_helo_fallback(void **state)
{
	(void)state;
	struct smtp_client_envelope e = { .from = "", .rcpts = two_rcpts, .n_rcpts = 1, .size = 10, .body_8bit = true };
	struct smtp_rcpt_result res[1];
	struct smtp_client c;
	start(&c, &e, res, true, false);
	feed(&c, "220 old");
	assert_int_equal(feed(&c, "502 what?"), SMTPC_ACT_SEND);
	expect_out(&c, "HELO relay.test\r\n");
	feed(&c, "250 hi");
	/* No SIZE, no BODY= without EHLO. */
	expect_out(&c, "MAIL FROM:<>\r\n");
	feed(&c, "250 ok");
	feed(&c, "451 4.3.0 greylisted");
	/* No recipient accepted: no DATA. */
	expect_out(&c, "QUIT\r\n");
	assert_int_equal(res[0].status, SMTP_RCPT_TEMP);
	assert_int_equal(res[0].code, 451);
	assert_false(c.host_failed);
	smtp_client_free(&c);
}

static void test_machine_failures(void **state)
{
	(void)state;
	struct smtp_client_envelope e = { .from = "u@l", .rcpts = two_rcpts, .n_rcpts = 2, .size = 10 };
	struct smtp_rcpt_result res[2];
	struct smtp_client c;

	/* TLS required, not offered: the host fails, recipients wait. */
	start(&c, &e, res, true, true);
	feed(&c, "220 x");
	feed(&c, "250 x");
	expect_out(&c, "QUIT\r\n");
	assert_true(c.host_failed);
	assert_int_equal(res[0].status, SMTP_RCPT_TEMP);
	assert_int_equal(res[1].status, SMTP_RCPT_TEMP);
	smtp_client_free(&c);

	/* Opportunistic: STARTTLS refused, go on in the clear. */
	start(&c, &e, res, true, false);
	feed(&c, "220 x");
	feed(&c, "250-x\n250 STARTTLS");
	feed(&c, "454 4.7.0 not now");
	expect_out(&c, "MAIL FROM:<u@l>\r\n");
	smtp_client_free(&c);

	/* 5xx to MAIL fails everyone for good. */
	start(&c, &e, res, false, false);
	feed(&c, "220 x");
	feed(&c, "250 x");
	feed(&c, "553 5.7.1 sender refused");
	assert_int_equal(res[0].status, SMTP_RCPT_PERM);
	assert_int_equal(res[1].status, SMTP_RCPT_PERM);
	assert_string_equal(res[1].enh, "5.7.1");
	smtp_client_free(&c);

	/* A 421 greeting: next host. */
	start(&c, &e, res, false, false);
	feed(&c, "421 busy");
	assert_true(c.host_failed);
	assert_int_equal(res[0].status, SMTP_RCPT_TEMP);
	smtp_client_free(&c);

	/* The connection drops after the message was sent: not delivered. */
	start(&c, &e, res, false, false);
	feed(&c, "220 x");
	feed(&c, "250 x");
	feed(&c, "250 ok");
	feed(&c, "250 ok");
	feed(&c, "250 ok");
	assert_int_equal(feed(&c, "354 go"), SMTPC_ACT_SEND_BODY);
	smtp_client_abort(&c, "connection closed");
	assert_false(c.host_failed);
	assert_int_equal(res[0].status, SMTP_RCPT_TEMP);
	assert_int_equal(res[1].status, SMTP_RCPT_TEMP);
	smtp_client_free(&c);

	/* 5xx after the data: both accepted recipients fail for good. */
	start(&c, &e, res, false, false);
	feed(&c, "220 x");
	feed(&c, "250 x");
	feed(&c, "250 ok");
	feed(&c, "250 ok");
	feed(&c, "250 ok");
	feed(&c, "354 go");
	feed(&c, "554 5.7.1 spam");
	assert_int_equal(res[0].status, SMTP_RCPT_PERM);
	assert_int_equal(res[1].status, SMTP_RCPT_PERM);
	smtp_client_free(&c);

	/* SMTPUTF8 needed, not offered. */
	e.smtputf8 = true;
	start(&c, &e, res, false, false);
	feed(&c, "220 x");
	feed(&c, "250-x\n250 8BITMIME");
	expect_out(&c, "QUIT\r\n");
	assert_int_equal(res[0].status, SMTP_RCPT_PERM);
	assert_string_equal(res[0].enh, "5.6.7");
	smtp_client_free(&c);

	/* Too big for the server's SIZE. */
	e.smtputf8 = false;
	e.size = 100000;
	start(&c, &e, res, false, false);
	feed(&c, "220 x");
	feed(&c, "250-x\n250 SIZE 1000");
	assert_int_equal(res[1].status, SMTP_RCPT_PERM);
	assert_string_equal(res[1].enh, "5.3.4");
	smtp_client_free(&c);
}

static void test_dot_stuff(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	assert_int_equal(smtp_dot_stuff(".a\r\nb\r\n..c\r\n.\r\n", 15, &b), 0);
	assert_string_equal(b.data, "..a\r\nb\r\n...c\r\n..\r\n.\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_dot_stuff("x\ny", 3, &b), 0);
	assert_string_equal(b.data, "x\r\ny\r\n.\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_dot_stuff("", 0, &b), 0);
	assert_string_equal(b.data, ".\r\n");
	buf_free(&b);
}

/* ---- the driver against a scripted server ---- */

struct script {
	int fd;
	const char *const *steps; /* reply, expected command prefix, reply, ... */
	char body[4096];
	size_t body_len;
	char err[256];
};

static int read_line(int fd, char *line, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		char ch;
		if (read(fd, &ch, 1) != 1)
			return -1;
		line[n++] = ch;
		if (ch == '\n')
			break;
	}
	line[n] = '\0';
	return (int)n;
}

static void *server(void *arg)
{
	struct script *s = arg;
	char line[1024];
	for (size_t i = 0; s->steps[i]; i++) {
		if (i % 2 == 0) {
			if (!*s->steps[i])
				break; /* "" means: go silent */
			if (write(s->fd, s->steps[i], strlen(s->steps[i])) < 0)
				break;
			continue;
		}
		if (read_line(s->fd, line, sizeof(line)) < 0)
			break;
		if (strncmp(line, s->steps[i], strlen(s->steps[i])) != 0) {
			snprintf(s->err, sizeof(s->err), "got '%s', wanted '%s'", line, s->steps[i]);
			break;
		}
		if (strcmp(s->steps[i], "DATA") == 0 && strncmp(s->steps[i + 1], "354", 3) == 0) {
			if (write(s->fd, s->steps[i + 1], strlen(s->steps[i + 1])) < 0)
				break;
			i += 2;
			while (read_line(s->fd, line, sizeof(line)) > 0 && strcmp(line, ".\r\n") != 0) {
				size_t n = strlen(line);
				if (s->body_len + n < sizeof(s->body)) {
					memcpy(s->body + s->body_len, line, n);
					s->body_len += n;
				}
			}
		}
	}
	/* Holds the socket open until the client closes it. */
	while (read_line(s->fd, line, sizeof(line)) > 0)
		;
	close(s->fd);
	return NULL;
}

static void run_script(const char *const *steps, struct smtp_client_envelope *e, struct smtp_rcpt_result *res,
		       unsigned timeout_ms, struct script *s, struct smtp_client *c)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(s, 0, sizeof(*s));
	s->fd = sv[1];
	s->steps = steps;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, server, s), 0);
	struct smtp_client_timeouts t;
	smtp_client_timeouts_all(&t, timeout_ms);
	start(c, e, res, false, false);
	const char *head = "DKIM-Signature: x\r\n";
	const char *msg = "Subject: t\r\n\r\n.dot\r\nend\r\n";
	assert_int_equal(smtp_client_run(c, sv[0], NULL, NULL, &t, head, strlen(head), msg, strlen(msg)), 0);
	pthread_join(th, NULL);
	if (s->err[0])
		fail_msg("%s", s->err);
}

static void test_driver(void **state)
{
	(void)state;
	/* Replies (even) and expected command prefixes (odd); after DATA's
	 * 354 the server reads the message, and the "" after it stands for
	 * that. */
	static const char *const full[] = {
		"220-mx.remote.test\r\n220 ESMTP\r\n", "EHLO relay.test",
		"250-mx.remote.test\r\n250 SIZE 100000\r\n", "MAIL FROM:<u@local.test> SIZE=",
		"250 2.1.0 ok\r\n", "RCPT TO:<a@remote.test>",
		"250 2.1.5 ok\r\n", "RCPT TO:<b@remote.test>",
		"452 4.2.2 mailbox full\r\n", "DATA",
		"354 go\r\n", "",
		"250 2.0.0 queued\r\n", "QUIT",
		"221 bye\r\n", NULL,
	};
	struct smtp_client_envelope e = { .from = "u@local.test", .rcpts = two_rcpts, .n_rcpts = 2, .size = 40 };
	struct smtp_rcpt_result res[2];
	struct script s;
	struct smtp_client c;
	run_script(full, &e, res, 5000, &s, &c);
	assert_true(c.delivered);
	assert_int_equal(res[0].status, SMTP_RCPT_OK);
	assert_int_equal(res[1].status, SMTP_RCPT_TEMP);
	assert_int_equal(res[1].code, 452);
	s.body[s.body_len] = '\0';
	assert_string_equal(s.body, "DKIM-Signature: x\r\nSubject: t\r\n\r\n..dot\r\nend\r\n");
	smtp_client_free(&c);
}

static void test_driver_timeout(void **state)
{
	(void)state;
	static const char *const steps[] = { "220 x\r\n", "EHLO", "", NULL };
	struct smtp_client_envelope e = { .from = "u@l", .rcpts = two_rcpts, .n_rcpts = 1, .size = 40 };
	struct smtp_rcpt_result res[1];
	struct script s;
	struct smtp_client c;
	run_script(steps, &e, res, 200, &s, &c);
	assert_true(c.host_failed);
	assert_int_equal(res[0].status, SMTP_RCPT_TEMP);
	assert_string_equal(res[0].text, "timed out");
	smtp_client_free(&c);

	/* Garbage instead of a reply. */
	static const char *const junk[] = { "hello there\r\n", NULL };
	run_script(junk, &e, res, 2000, &s, &c);
	assert_true(c.host_failed);
	assert_string_equal(res[0].text, "malformed reply");
	smtp_client_free(&c);
}

int main(void)
{
	/* As in the daemons: a peer that hangs up is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_parser),	 cmocka_unit_test(test_machine_happy),
		cmocka_unit_test(test_machine_helo_fallback), cmocka_unit_test(test_machine_failures),
		cmocka_unit_test(test_dot_stuff),	 cmocka_unit_test(test_driver),
		cmocka_unit_test(test_driver_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
