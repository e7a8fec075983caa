/* Unit tests for homeserver/query.c: the ?limit= rule (Synapse's
 * parse_integer: integers only, no negatives; capped, not refused). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "homeserver/query.h"

static void test_valid(void **state)
{
	long v = -1;
	(void)state;
	assert_int_equal(query_uint("0", 100, &v), QUERY_INT_OK);
	assert_int_equal(v, 0);
	assert_int_equal(query_uint("7", 100, &v), QUERY_INT_OK);
	assert_int_equal(v, 7);
	assert_int_equal(query_uint("0042", 100, &v), QUERY_INT_OK);
	assert_int_equal(v, 42);
	assert_int_equal(query_uint("100", 100, &v), QUERY_INT_OK);
	assert_int_equal(v, 100);
	assert_int_equal(query_uint("-0", 100, &v), QUERY_INT_OK);
	assert_int_equal(v, 0);
}

static void test_capped(void **state)
{
	long v = -1;
	(void)state;
	assert_int_equal(query_uint("101", 100, &v), QUERY_INT_OK);
	assert_int_equal(v, 100);
	assert_int_equal(query_uint("9223372036854775807", 100, &v), QUERY_INT_OK);
	assert_int_equal(v, 100);
	assert_int_equal(query_uint("99999999999999999999999999999999999999", 100, &v),
			 QUERY_INT_OK);
	assert_int_equal(v, 100);
	assert_int_equal(query_uint("99999999999999999999999", LONG_MAX, &v), QUERY_INT_OK);
	assert_true(v == LONG_MAX);
	assert_int_equal(query_uint("5", 0, &v), QUERY_INT_OK);
	assert_int_equal(v, 0);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"", "-", "abc", "1x", "x1", " 1", "1 ", "+1", "1.5", "1e3", "0x10", "--1",
		"99999999999999999999999999x",
	};
	long v = 1234;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(query_uint(bad[i], 100, &v), QUERY_INT_BAD);
		assert_int_equal(v, 1234); /* untouched */
	}
	assert_int_equal(query_uint("-1", 100, &v), QUERY_INT_NEGATIVE);
	assert_int_equal(query_uint("-99999999999999999999999", 100, &v), QUERY_INT_NEGATIVE);
	assert_int_equal(query_uint("-1x", 100, &v), QUERY_INT_BAD);
	assert_int_equal(v, 1234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_capped),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
