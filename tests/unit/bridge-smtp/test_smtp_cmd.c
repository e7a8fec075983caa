/* Unit tests for bridge-smtp/smtp_cmd: verbs, paths, ESMTP parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/smtp_cmd.h"

static int parse(const char *line, struct smtp_cmd *c)
{
	return smtp_cmd_parse(line, strlen(line), c);
}

/* Asserts that line fails with a reply starting with prefix. */
static void expect_error(const char *line, const char *prefix)
{
	struct smtp_cmd c;
	assert_int_equal(parse(line, &c), -1);
	assert_non_null(c.error);
	if (strncmp(c.error, prefix, strlen(prefix)) != 0)
		fail_msg("'%s' gave '%s', wanted '%s...'", line, c.error, prefix);
}

static void test_verbs(void **state)
{
	struct smtp_cmd c;
	(void)state;
	assert_int_equal(parse("ehlo client.example", &c), 0);
	assert_int_equal(c.verb, SMTP_VERB_EHLO);
	assert_string_equal(c.domain, "client.example");
	assert_int_equal(parse("HELO [192.0.2.1]", &c), 0);
	assert_int_equal(c.verb, SMTP_VERB_HELO);
	assert_int_equal(parse("DATA", &c), 0);
	assert_int_equal(c.verb, SMTP_VERB_DATA);
	assert_int_equal(parse("rset", &c), 0);
	assert_int_equal(c.verb, SMTP_VERB_RSET);
	assert_int_equal(parse("NOOP anything goes", &c), 0);
	assert_int_equal(parse("QUIT", &c), 0);
	assert_int_equal(c.verb, SMTP_VERB_QUIT);
	assert_int_equal(parse("STARTTLS", &c), 0);
	assert_int_equal(parse("VRFY bob", &c), 0);
	assert_int_equal(c.verb, SMTP_VERB_VRFY);
	expect_error("FROB", "500 5.5.1");
	expect_error("", "500 5.5.1");
	expect_error("DATA now", "501 5.5.4");
	expect_error("EHLO", "501 5.5.4");
	expect_error("EHLO a b", "501 5.5.4");
	expect_error("VRFY", "501 5.5.4");
	expect_error("NOOP \x01", "500 5.5.2");
	expect_error("NOOP \r", "500 5.5.2");
}

static void test_mail_paths(void **state)
{
	struct smtp_cmd c;
	(void)state;
	assert_int_equal(parse("MAIL FROM:<alice@example.org>", &c), 0);
	assert_int_equal(c.verb, SMTP_VERB_MAIL);
	assert_string_equal(c.addr, "alice@example.org");
	assert_false(c.null_path);
	assert_int_equal(parse("mail from:<>", &c), 0);
	assert_true(c.null_path);
	assert_string_equal(c.addr, "");
	assert_int_equal(parse("MAIL FROM: <a.b+c@sub.example.org>", &c), 0);
	assert_string_equal(c.addr, "a.b+c@sub.example.org");
	assert_int_equal(parse("MAIL FROM:<\"john doe\"@example.org>", &c), 0);
	assert_string_equal(c.addr, "\"john doe\"@example.org");
	assert_int_equal(parse("MAIL FROM:<@relay.example,@b.example:x@example.org>", &c), 0);
	assert_string_equal(c.addr, "x@example.org");
	assert_int_equal(parse("MAIL FROM:<x@[192.0.2.1]>", &c), 0);
	assert_string_equal(smtp_addr_domain(c.addr), "[192.0.2.1]");

	expect_error("MAIL FROM:alice@example.org", "501 5.1.7");
	expect_error("MAIL FROM:<alice>", "501 5.1.7");
	expect_error("MAIL FROM:<alice@>", "501 5.1.7");
	expect_error("MAIL FROM:<.alice@example.org>", "501 5.1.7");
	expect_error("MAIL FROM:<alice..b@example.org>", "501 5.1.7");
	expect_error("MAIL FROM:<alice@-example.org>", "501 5.1.7");
	expect_error("MAIL FROM:<alice@example.org", "501 5.1.7");
	expect_error("MAIL FROM:<a@b.example>junk", "501 5.1.7");
	expect_error("MAIL TO:<a@b.example>", "501 5.5.4");
	expect_error("MAIL", "501 5.5.4");
}

static void test_rcpt(void **state)
{
	struct smtp_cmd c;
	(void)state;
	assert_int_equal(parse("RCPT TO:<bob@example.org>", &c), 0);
	assert_int_equal(c.verb, SMTP_VERB_RCPT);
	assert_string_equal(c.addr, "bob@example.org");
	assert_int_equal(parse("RCPT TO:<Postmaster>", &c), 0);
	assert_string_equal(c.addr, "Postmaster");
	assert_null(smtp_addr_domain(c.addr));
	expect_error("RCPT TO:<>", "501 5.1.3");
	expect_error("RCPT TO:<bob@example.org> NOTIFY=NEVER", "555 5.5.4");
}

static void test_length_limits(void **state)
{
	char line[600];
	char local[80];
	(void)state;
	memset(local, 'a', 65);
	local[65] = '\0';
	snprintf(line, sizeof(line), "MAIL FROM:<%s@example.org>", local);
	expect_error(line, "501 5.1.7");
	local[64] = '\0';
	struct smtp_cmd c;
	snprintf(line, sizeof(line), "MAIL FROM:<%s@example.org>", local);
	assert_int_equal(parse(line, &c), 0);
	/* Path over 256 octets. */
	char dom[300];
	memset(dom, 'd', 60);
	strcpy(dom + 60, ".");
	memset(dom + 61, 'e', 60);
	strcpy(dom + 121, ".");
	memset(dom + 122, 'f', 60);
	strcpy(dom + 182, ".");
	memset(dom + 183, 'g', 60);
	dom[243] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@%s>", local, dom);
	expect_error(line, "501 5.1.3");
}

static void test_params(void **state)
{
	struct smtp_cmd c;
	(void)state;
	assert_int_equal(parse("MAIL FROM:<a@example.org> SIZE=12345 BODY=8BITMIME", &c), 0);
	assert_true(c.has_size);
	assert_int_equal(c.size, 12345);
	assert_int_equal(c.body, SMTP_BODY_8BITMIME);
	assert_int_equal(parse("MAIL FROM:<a@example.org> body=7bit size=1", &c), 0);
	assert_int_equal(c.body, SMTP_BODY_7BIT);
	assert_int_equal(parse("MAIL FROM:<a@example.org> AUTH=<>", &c), 0);
	expect_error("MAIL FROM:<a@example.org> SIZE=12x", "501 5.5.4");
	expect_error("MAIL FROM:<a@example.org> SIZE=99999999999999999999", "501 5.5.4");
	expect_error("MAIL FROM:<a@example.org> SIZE=1 SIZE=2", "501 5.5.4");
	expect_error("MAIL FROM:<a@example.org> BODY=BINARYMIME", "555 5.5.4");
	expect_error("MAIL FROM:<a@example.org> RET=HDRS", "555 5.5.4");
	expect_error("MAIL FROM:<a@example.org> SMTPUTF8=yes", "501 5.5.4");
}

static void test_smtputf8(void **state)
{
	struct smtp_cmd c;
	(void)state;
	assert_int_equal(parse("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example> SMTPUTF8", &c), 0);
	assert_true(c.smtputf8);
	assert_true(c.addr_8bit);
	expect_error("MAIL FROM:<j\xc3\xb6rg@example.org>", "553 5.6.7");
	/* Invalid UTF-8: overlong, lone continuation, surrogate. */
	expect_error("MAIL FROM:<\xc0\xafx@example.org> SMTPUTF8", "500 5.5.2");
	expect_error("MAIL FROM:<\x80x@example.org> SMTPUTF8", "500 5.5.2");
	expect_error("MAIL FROM:<\xed\xa0\x80x@example.org> SMTPUTF8", "500 5.5.2");
	expect_error("EHLO b\xc3\xbc" "cher.example", "500 5.5.2");
	assert_int_equal(parse("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@example.org>", &c), 0);
	assert_true(c.addr_8bit);
	assert_int_equal(smtp_utf8_valid((const unsigned char *)"\xf0\x9f\x98\x80", 4), 1);
	assert_int_equal(smtp_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
}

static void test_bdat_auth(void **state)
{
	struct smtp_cmd c;
	(void)state;
	assert_int_equal(parse("BDAT 1024", &c), 0);
	assert_int_equal(c.verb, SMTP_VERB_BDAT);
	assert_int_equal(c.chunk_size, 1024);
	assert_false(c.last);
	assert_int_equal(parse("bdat 0 last", &c), 0);
	assert_true(c.last);
	expect_error("BDAT", "501 5.5.4");
	expect_error("BDAT -1", "501 5.5.4");
	expect_error("BDAT 10 FIRST", "501 5.5.4");
	assert_int_equal(parse("AUTH plain AGFsaWNlAHNlY3JldA==", &c), 0);
	assert_string_equal(c.mech, "PLAIN");
	assert_true(c.has_initial);
	assert_string_equal(c.auth_initial, "AGFsaWNlAHNlY3JldA==");
	assert_int_equal(parse("AUTH LOGIN", &c), 0);
	assert_false(c.has_initial);
	expect_error("AUTH", "501 5.5.4");
	expect_error("AUTH PLAIN a b", "501 5.5.4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_mail_paths),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_smtputf8),
		cmocka_unit_test(test_bdat_auth),
	};
	return cmocka_run_group_tests_name("smtp_cmd", tests, NULL, NULL);
}
