/* Unit tests for homeserver/ratelimit.c: bursts, refill, keys, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "homeserver/ratelimit.h"

static void test_burst_then_refuse(void **state)
{
	struct ratelimit *rl = ratelimit_new(1.0, 3, 16);
	(void)state;
	assert_int_equal(ratelimit_check(rl, "ip", 1000, 1), 0);
	assert_int_equal(ratelimit_check(rl, "ip", 1000, 1), 0);
	assert_int_equal(ratelimit_check(rl, "ip", 1000, 1), 0);
	int64_t wait = ratelimit_check(rl, "ip", 1000, 1);
	assert_true(wait >= 999 && wait <= 1001);
	/* Another key has its own bucket. */
	assert_int_equal(ratelimit_check(rl, "other", 1000, 1), 0);
	/* Half a second later: still waiting, about half as long. */
	wait = ratelimit_check(rl, "ip", 1500, 1);
	assert_true(wait >= 499 && wait <= 501);
	/* A second later one token is back. */
	assert_int_equal(ratelimit_check(rl, "ip", 2000, 1), 0);
	assert_true(ratelimit_check(rl, "ip", 2000, 1) > 0);
	ratelimit_free(rl);
}

static void test_peek_and_charge(void **state)
{
	struct ratelimit *rl = ratelimit_new(0.5, 2, 16);
	(void)state;
	/* Peeking does not take. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(ratelimit_check(rl, "u", 0, 0), 0);
	ratelimit_charge(rl, "u", 0);
	assert_int_equal(ratelimit_check(rl, "u", 0, 0), 0);
	ratelimit_charge(rl, "u", 0);
	ratelimit_charge(rl, "u", 0); /* never below zero */
	int64_t wait = ratelimit_check(rl, "u", 0, 0);
	assert_true(wait >= 1999 && wait <= 2001);
	assert_int_equal(ratelimit_check(rl, "u", 2000, 0), 0);
	/* The refill is capped at the burst. */
	assert_int_equal(ratelimit_check(rl, "u", 1000000, 1), 0);
	assert_int_equal(ratelimit_check(rl, "u", 1000000, 1), 0);
	assert_true(ratelimit_check(rl, "u", 1000000, 1) > 0);
	ratelimit_free(rl);
}

static void test_bounded_keys(void **state)
{
	struct ratelimit *rl = ratelimit_new(0.001, 1, 4);
	char key[32];
	(void)state;
	/* Many distinct keys: memory stays bounded, and the exhausted key
	 * that was used most recently is still remembered. */
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(ratelimit_check(rl, key, i, 1), 0);
	}
	assert_true(ratelimit_check(rl, "k99", 100, 1) > 0);
	ratelimit_free(rl);
}

static void test_zero_rate(void **state)
{
	struct ratelimit *rl = ratelimit_new(0, 1, 4);
	(void)state;
	assert_int_equal(ratelimit_check(rl, "x", 0, 1), 0);
	assert_true(ratelimit_check(rl, "x", 1000000, 1) > 0);
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refuse),
		cmocka_unit_test(test_peek_and_charge),
		cmocka_unit_test(test_bounded_keys),
		cmocka_unit_test(test_zero_rate),
	};
	return cmocka_run_group_tests_name("homeserver ratelimit", tests, NULL, NULL);
}
