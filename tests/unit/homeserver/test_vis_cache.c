/* Unit tests for homeserver/vis_cache.c: hits, misses, replacement in a
 * taken slot, truncation, and use from several threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "homeserver/vis_cache.h"

static void test_get_put(void **state)
{
	struct vis_cache *c = vis_cache_new();
	char hv[VIS_HV_LEN], m[VIS_MEMBERSHIP_LEN];
	(void)state;
	assert_non_null(c);
	assert_int_equal(vis_cache_get(c, 7, "@a:x", hv, m), 0);
	vis_cache_put(c, 7, "@a:x", "joined", "join");
	assert_int_equal(vis_cache_get(c, 7, "@a:x", hv, m), 1);
	assert_string_equal(hv, "joined");
	assert_string_equal(m, "join");
	/* Another group or user is another entry. */
	assert_int_equal(vis_cache_get(c, 8, "@a:x", hv, m), 0);
	assert_int_equal(vis_cache_get(c, 7, "@b:x", hv, m), 0);
	/* An empty membership (never in the room) is a value too. */
	vis_cache_put(c, 8, "@b:x", "shared", "");
	assert_int_equal(vis_cache_get(c, 8, "@b:x", hv, m), 1);
	assert_string_equal(m, "");
	/* Overlong values are cut, not overflowed. */
	vis_cache_put(c, 9, "@a:x", "a_history_visibility_value_far_too_long", "membership_too_long");
	assert_int_equal(vis_cache_get(c, 9, "@a:x", hv, m), 1);
	assert_int_equal(strlen(hv), VIS_HV_LEN - 1);
	assert_int_equal(strlen(m), VIS_MEMBERSHIP_LEN - 1);
	vis_cache_free(c);
	/* NULL is a cache that never hits. */
	vis_cache_put(NULL, 1, "@a:x", "shared", "join");
	assert_int_equal(vis_cache_get(NULL, 1, "@a:x", hv, m), 0);
	vis_cache_free(NULL);
}

/* Far more entries than slots: whatever is found is what was put for
 * that very key, and memory stays bounded (the leak checker sees it). */
static void test_replacement(void **state)
{
	struct vis_cache *c = vis_cache_new();
	char user[32], hv[VIS_HV_LEN], m[VIS_MEMBERSHIP_LEN], want[VIS_HV_LEN];
	int hits = 0;
	(void)state;
	for (int i = 0; i < 20000; i++) {
		snprintf(user, sizeof(user), "@u%d:x", i % 100);
		snprintf(want, sizeof(want), "hv%d", i);
		vis_cache_put(c, i, user, want, "join");
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(user, sizeof(user), "@u%d:x", i % 100);
		snprintf(want, sizeof(want), "hv%d", i);
		if (vis_cache_get(c, i, user, hv, m)) {
			assert_string_equal(hv, want);
			hits++;
		}
	}
	assert_true(hits > 0 && hits < 20000);
	vis_cache_free(c);
}

static void *worker(void *arg)
{
	struct vis_cache *c = arg;
	char user[32], hv[VIS_HV_LEN], m[VIS_MEMBERSHIP_LEN];
	for (int i = 0; i < 5000; i++) {
		snprintf(user, sizeof(user), "@u%d:x", i % 50);
		vis_cache_put(c, i % 300, user, "joined", "join");
		if (vis_cache_get(c, (i * 7) % 300, user, hv, m) &&
		    (strcmp(hv, "joined") != 0 || strcmp(m, "join") != 0))
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct vis_cache *c = vis_cache_new();
	pthread_t t[4];
	void *rc;
	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, c), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_null(rc);
	}
	vis_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_put),
		cmocka_unit_test(test_replacement),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
