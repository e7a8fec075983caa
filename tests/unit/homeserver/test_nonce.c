/* Unit tests for homeserver/nonce.c: single use, expiry, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "homeserver/nonce.h"

static void test_single_use(void **state)
{
	struct nonces *n = nonces_new();
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1];
	(void)state;
	assert_int_equal(nonces_issue(n, 0, a), 0);
	assert_int_equal(nonces_issue(n, 0, b), 0);
	assert_int_equal(strlen(a), NONCE_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(nonces_take(n, a, 10), 1);
	assert_int_equal(nonces_take(n, a, 10), 0);
	assert_int_equal(nonces_take(n, "", 10), 0);
	assert_int_equal(nonces_take(n, "not issued", 10), 0);
	assert_int_equal(nonces_take(n, b, 10), 1);
	nonces_free(n);
}

static void test_expiry(void **state)
{
	struct nonces *n = nonces_new();
	char a[NONCE_LEN + 1];
	(void)state;
	assert_int_equal(nonces_issue(n, 1000, a), 0);
	assert_int_equal(nonces_take(n, a, 1000 + 61 * 1000), 0);
	nonces_free(n);
}

static void test_bounded(void **state)
{
	struct nonces *n = nonces_new();
	char first[NONCE_LEN + 1], x[NONCE_LEN + 1];
	(void)state;
	assert_int_equal(nonces_issue(n, 0, first), 0);
	for (int i = 1; i <= 5000; i++)
		assert_int_equal(nonces_issue(n, i, x), 0);
	/* The oldest was dropped to make room; the newest is there. */
	assert_int_equal(nonces_take(n, first, 5001), 0);
	assert_int_equal(nonces_take(n, x, 5001), 1);
	nonces_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_use),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests_name("homeserver nonce", tests, NULL, NULL);
}
