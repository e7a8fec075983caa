/* Unit tests for bridge-smtp/smtp_fromhdr: the streaming From: collector
 * and the mailbox-list reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/smtp_fromhdr.h"

static struct smtp_fromhdr h;

/* Feeds msg in pieces of step octets. */
static void collect(const char *msg, size_t step)
{
	smtp_fromhdr_init(&h);
	size_t n = strlen(msg);
	for (size_t off = 0; off < n; off += step)
		smtp_fromhdr_feed(&h, msg + off, n - off < step ? n - off : step);
}

static void assert_value(const char *want)
{
	assert_int_equal(h.len, strlen(want));
	assert_memory_equal(h.value, want, h.len);
}

static void test_collect_any_split(void **state)
{
	(void)state;
	const char *msg = "Received: x\r\nSubject: hi\r\nfROM : \"Alice\"\r\n <alice@example.org>\r\n"
			  "To: bob@example.org\r\n\r\nFrom: body@evil.example\r\n";
	for (size_t step = 1; step < 20; step++) {
		collect(msg, step);
		assert_int_equal(h.n_from, 1);
		assert_false(h.overflow);
		assert_true(h.header_done);
		assert_value(" \"Alice\" <alice@example.org>");
	}
}

static void test_collect_counts(void **state)
{
	(void)state;
	collect("From: a@example.org\r\nX-From: x@y\r\nFrom: b@example.org\r\n\r\n", 7);
	assert_int_equal(h.n_from, 2);
	assert_value(" a@example.org");
	collect("Subject: none\r\n\r\nFrom: a@b\r\n", 3);
	assert_int_equal(h.n_from, 0);
	assert_true(h.header_done);
	/* No empty line: everything is header. */
	collect("From: a@b\r\nFromage: c@d\r\nFrom", 1);
	assert_int_equal(h.n_from, 1);
	assert_false(h.header_done);
	/* A line without a colon is not a field. */
	collect("From\r\nFrom: x@y\r\n\r\n", 2);
	assert_int_equal(h.n_from, 1);
	assert_value(" x@y");
}

static void test_collect_overflow(void **state)
{
	(void)state;
	static char big[SMTP_FROMHDR_MAX + 200];
	memcpy(big, "From: ", 6);
	memset(big + 6, 'a', sizeof(big) - 6 - 1);
	big[sizeof(big) - 1] = '\0';
	collect(big, 100);
	assert_true(h.overflow);
	assert_int_equal(h.len, SMTP_FROMHDR_MAX);
}

/* All addresses of value, joined with '|', or "ERR". */
static const char *addrs(const char *value)
{
	static char out[1024];
	char a[257];
	size_t pos = 0, len = strlen(value);
	int rc;
	out[0] = '\0';
	while ((rc = smtp_fromhdr_next(value, len, &pos, a, sizeof(a))) == 1) {
		if (out[0])
			strcat(out, "|");
		strcat(out, a);
	}
	return rc < 0 ? "ERR" : out;
}

static void test_read_mailboxes(void **state)
{
	(void)state;
	assert_string_equal(addrs(" alice@example.org"), "alice@example.org");
	assert_string_equal(addrs("Alice <alice@example.org>"), "alice@example.org");
	assert_string_equal(addrs("\"Smith, Alice\" <alice@example.org>"), "alice@example.org");
	assert_string_equal(addrs("alice@example.org (Alice <x@y>)"), "alice@example.org");
	assert_string_equal(addrs("(c (nested) c) alice @ example.org"), "alice@example.org");
	assert_string_equal(addrs("=?utf-8?q?J=C3=B6rg?= <jorg@example.org>"), "jorg@example.org");
	assert_string_equal(addrs("a@example.org, \"B\" <b@example.org>,,c@example.org"),
			    "a@example.org|b@example.org|c@example.org");
	assert_string_equal(addrs("<@relay.example,@r2.example:alice@example.org>"), "alice@example.org");
	assert_string_equal(addrs("\"a b\"@example.org"), "\"a b\"@example.org");
	assert_string_equal(addrs("X <\"a\\\"b\"@example.org>"), "\"a\\\"b\"@example.org");
	assert_string_equal(addrs("x@[192.0.2.1]"), "x@[192.0.2.1]");
	assert_string_equal(addrs(""), "");
	assert_string_equal(addrs(" , "), "");
}

static void test_read_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Alice",
		"alice@example.org <mallory@evil.example>",
		"Alice <alice@example.org> <mallory@evil.example>",
		"Alice <alice@example.org> trailing",
		"Alice <alice@example.org",
		"Alice alice@example.org>",
		"undisclosed: alice@example.org;",
		"\"unterminated <alice@example.org>",
		"(unterminated alice@example.org",
		"<>",
		"<@example.org>",
		"alice@",
		"@example.org",
		"a@b@example.org",
		"alice@example.org \"x\"",
		"alice@exa\"mple\".org",
		"<@relay.example alice@example.org>",
		"alice@(c)example.org)",
		NULL,
	};
	for (size_t i = 0; bad[i]; i++) {
		if (strcmp(addrs(bad[i]), "ERR") != 0)
			fail_msg("accepted: %s -> %s", bad[i], addrs(bad[i]));
	}
	/* A NUL would end the address early as a C string. */
	static const char nul1[] = "alice@example.org\0@evil.example";
	static const char nul2[] = "\"al\0ice\"@example.org";
	static const char nul3[] = "\"al\\\0ice\"@example.org";
	char a[64];
	size_t pos = 0;
	assert_int_equal(smtp_fromhdr_next(nul1, sizeof(nul1) - 1, &pos, a, sizeof(a)), -1);
	pos = 0;
	assert_int_equal(smtp_fromhdr_next(nul2, sizeof(nul2) - 1, &pos, a, sizeof(a)), -1);
	pos = 0;
	assert_int_equal(smtp_fromhdr_next(nul3, sizeof(nul3) - 1, &pos, a, sizeof(a)), -1);
	/* An address longer than the buffer. */
	char longaddr[400];
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + sizeof(longaddr) - 13, "@example.org", 13);
	assert_string_equal(addrs(longaddr), "ERR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_any_split),
		cmocka_unit_test(test_collect_counts),
		cmocka_unit_test(test_collect_overflow),
		cmocka_unit_test(test_read_mailboxes),
		cmocka_unit_test(test_read_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
