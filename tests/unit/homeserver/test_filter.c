/* Unit tests for homeserver/filter.c: event filters and stream tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "homeserver/filter.h"

static int match(const struct room_filter *f, const char *type)
{
	json_t *ev = json_pack("{s:s}", "type", type);
	int m = room_filter_match(f, ev);
	json_decref(ev);
	return m;
}

static void test_event_filter(void **state)
{
	struct room_filter f;
	const char *s = "{\"limit\":5,\"types\":[\"m.room.*\",\"x\"],\"not_types\":[\"m.room.member\"]}";
	(void)state;
	room_filter_init(&f);
	assert_int_equal(room_filter_parse(&f, s, strlen(s), 0), 0);
	assert_int_equal(f.limit, 5);
	assert_true(match(&f, "m.room.message"));
	assert_true(match(&f, "x"));
	assert_false(match(&f, "m.room.member"));
	assert_false(match(&f, "y"));
	room_filter_clear(&f);
	assert_true(match(&f, "anything"));
}

static void test_sync_filter(void **state)
{
	struct room_filter f;
	const char *s = "{\"room\":{\"timeline\":{\"limit\":100000,\"types\":[]}}}";
	(void)state;
	room_filter_init(&f);
	assert_int_equal(room_filter_parse(&f, s, strlen(s), 1), 0);
	assert_int_equal(f.limit, FILTER_MAX_LIMIT);
	assert_false(match(&f, "m.room.message")); /* an empty types list matches nothing */
	assert_int_equal(room_filter_parse(&f, "{}", 2, 1), 0);
	assert_int_equal(f.limit, 0);
	room_filter_clear(&f);
}

static void test_lazy_members(void **state)
{
	struct room_filter f;
	const char *s = "{\"room\":{\"state\":{\"lazy_load_members\":true,"
			"\"include_redundant_members\":true},\"timeline\":{\"limit\":3}}}";
	const char *tl = "{\"room\":{\"timeline\":{\"lazy_load_members\":true}}}";
	const char *ev = "{\"lazy_load_members\":true}";
	(void)state;
	room_filter_init(&f);
	assert_int_equal(room_filter_parse(&f, s, strlen(s), 1), 0);
	assert_true(f.lazy_load_members && f.include_redundant_members);
	assert_int_equal(f.limit, 3);
	/* in a sync filter only room.state's flags count */
	assert_int_equal(room_filter_parse(&f, tl, strlen(tl), 1), 0);
	assert_false(f.lazy_load_members);
	assert_int_equal(room_filter_parse(&f, ev, strlen(ev), 0), 0);
	assert_true(f.lazy_load_members && !f.include_redundant_members);
	assert_int_equal(room_filter_parse(&f, "{\"lazy_load_members\":1}", 23, 0), -1);
	s = "{\"room\":{\"state\":[]}}";
	assert_int_equal(room_filter_parse(&f, s, strlen(s), 1), -1);
	s = "{\"room\":{\"state\":{\"include_redundant_members\":\"yes\"}}}";
	assert_int_equal(room_filter_parse(&f, s, strlen(s), 1), -1);
	assert_false(f.lazy_load_members);
	room_filter_clear(&f);
}

static void test_bad_filters(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{\"limit\":-1}", "{\"limit\":\"5\"}", "{\"types\":\"m\"}",
		"{\"types\":[1]}", "{\"not_types\":{}}", "{\"a\":1,\"a\":2}", "{",
	};
	struct room_filter f;
	(void)state;
	room_filter_init(&f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(room_filter_parse(&f, bad[i], strlen(bad[i]), 0), -1);
		assert_int_equal(f.ntypes + f.nnot, 0);
	}
	assert_int_equal(room_filter_parse(&f, "{\"room\":[]}", 11, 1), -1);
	room_filter_clear(&f);
}

static void test_tokens(void **state)
{
	int64_t p = -1;
	(void)state;
	assert_int_equal(sync_token_parse("s42", &p), 0);
	assert_int_equal(p, 42);
	assert_int_equal(sync_token_parse("7", &p), 0);
	assert_int_equal(p, 7);
	assert_int_equal(sync_token_parse("s", &p), -1);
	assert_int_equal(sync_token_parse("", &p), -1);
	assert_int_equal(sync_token_parse(NULL, &p), -1);
	assert_int_equal(sync_token_parse("s-1", &p), -1);
	assert_int_equal(sync_token_parse("s1x", &p), -1);
	assert_int_equal(sync_token_parse("s9999999999999999999", &p), -1);
	{
		int64_t x = -1;
		assert_int_equal(sync_token_parse2("s5_77", &p, &x), 0);
		assert_int_equal(p, 5);
		assert_int_equal(x, 77);
		assert_int_equal(sync_token_parse2("s5", &p, &x), 0);
		assert_int_equal(x, 0);
		assert_int_equal(sync_token_parse2("s5_", &p, &x), -1);
		assert_int_equal(sync_token_parse2("s5_1_2", &p, &x), -1);
		assert_int_equal(sync_token_parse("s5_9", &p), 0);
		assert_int_equal(p, 5);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_filter),
		cmocka_unit_test(test_sync_filter),
		cmocka_unit_test(test_lazy_members),
		cmocka_unit_test(test_bad_filters),
		cmocka_unit_test(test_tokens),
	};
	return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
