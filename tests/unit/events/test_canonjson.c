/* Unit tests for common/canonjson: the spec appendix vectors, escaping,
 * ordering, and the strict parser's rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/canonjson.h"

/* Parses in (lax, so the spec's "-0, 1e10" example can be read) and checks
 * the canonical form. */
static void check(const char *in, const char *want)
{
	char err[128];
	json_t *v = canonjson_parse(in, strlen(in), 0, err, sizeof(err));
	char *out;

	if (!v)
		fail_msg("parse %s: %s", in, err);
	out = canonjson_dumps(v, NULL, 0);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
	json_decref(v);
}

static void test_spec_vectors(void **state)
{
	(void)state;
	check("{}", "{}");
	check("{\n    \"one\": 1,\n    \"two\": \"Two\"\n}", "{\"one\":1,\"two\":\"Two\"}");
	check("{\n    \"b\": \"2\",\n    \"a\": \"1\"\n}", "{\"a\":\"1\",\"b\":\"2\"}");
	check("{\"b\":\"2\",\"a\":\"1\"}", "{\"a\":\"1\",\"b\":\"2\"}");
	check("{\"auth\": {\"success\": true, \"mxid\": \"@john.doe:example.com\", \"profile\": {"
	      "\"display_name\": \"John Doe\", \"three_pids\": [{\"medium\": \"email\", \"address\": "
	      "\"john.doe@example.org\"}, {\"medium\": \"msisdn\", \"address\": \"123456789\"}]}}}",
	      "{\"auth\":{\"mxid\":\"@john.doe:example.com\",\"profile\":{\"display_name\":\"John Doe\","
	      "\"three_pids\":[{\"address\":\"john.doe@example.org\",\"medium\":\"email\"},"
	      "{\"address\":\"123456789\",\"medium\":\"msisdn\"}]},\"success\":true}}");
	check("{\"a\": \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}", "{\"a\":\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}");
	/* {"本": 2, "日": 1} -> {"日":1,"本":2} */
	check("{\"\xe6\x9c\xac\": 2, \"\xe6\x97\xa5\": 1}", "{\"\xe6\x97\xa5\":1,\"\xe6\x9c\xac\":2}");
	check("{\"a\": \"\\u65E5\"}", "{\"a\":\"\xe6\x97\xa5\"}");
	check("{\"a\": null}", "{\"a\":null}");
	check("{\"a\": -0}", "{\"a\":0}");
}

static void test_escapes(void **state)
{
	(void)state;
	check("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\\"\\\\/\\b\\f\\n\\r\\t\"]");
	check("[\"\\u0001\\u001f\\u000B\\u007f\"]", "[\"\\u0001\\u001f\\u000b\x7f\"]");
	check("[\"\\u0000x\"]", "[\"\\u0000x\"]");
	check("[\"\\ud83d\\ude00\"]", "[\"\xf0\x9f\x98\x80\"]");
	check("[\"\\u2028\"]", "[\"\xe2\x80\xa8\"]");
}

static void test_ordering_and_scalars(void **state)
{
	(void)state;
	check("{\"ab\":1,\"a\":2,\"B\":3,\"\xc3\xa9\":4,\"z\":5}",
	      "{\"B\":3,\"a\":2,\"ab\":1,\"z\":5,\"\xc3\xa9\":4}");
	/* U+FFFF sorts before U+10000 both in code points and in UTF-8 bytes. */
	check("{\"\xf0\x90\x80\x80\":1,\"\xef\xbf\xbf\":2}", "{\"\xef\xbf\xbf\":2,\"\xf0\x90\x80\x80\":1}");
	check("[true,false,null,[],{},-5,9007199254740991,-9007199254740991]",
	      "[true,false,null,[],{},-5,9007199254740991,-9007199254740991]");
	check("  \"x\"  ", "\"x\"");
}

static void test_parse_rejects(void **state)
{
	static const char *bad[] = {
		"{\"a\":1,\"a\":2}", "1.5", "[1e10]", "{\"a\":1.0}", "9007199254740992",
		"-9007199254740992", "99999999999999999999", "{", "{}x", "", "[\"\xff\"]",
		"{\"a\" 1}", "[01]", "NaN", "[\"\\ud800\"]", "{\"a\\u0000b\":1}",
	};
	char err[128];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = canonjson_parse(bad[i], strlen(bad[i]), 0, err, sizeof(err));
		if (v)
			fail_msg("accepted %s", bad[i]);
		assert_true(strlen(err) > 0);
	}
	assert_null(canonjson_parse(NULL, 0, 0, err, sizeof(err)));
}

static void test_lax(void **state)
{
	json_t *v = canonjson_parse("[9007199254740993]", 18, CANONJSON_LAX, NULL, 0);
	char *s;
	(void)state;
	assert_non_null(v);
	assert_null(canonjson_dumps(v, NULL, 0));
	s = canonjson_dumps(v, NULL, CANONJSON_LAX);
	assert_string_equal(s, "[9007199254740993]");
	free(s);
	assert_int_equal(canonjson_is_strict(v), 0);
	json_decref(v);
	v = canonjson_parse("{\"a\":1.5}", 9, CANONJSON_LAX, NULL, 0);
	assert_non_null(v);
	assert_null(canonjson_dumps(v, NULL, CANONJSON_LAX)); /* fractions never encode */
	json_decref(v);
	/* The spec's last example, which needs the lax reading of 1e10. */
	v = canonjson_parse("{\"a\": -0, \"b\": 1e10}", 20, CANONJSON_LAX, NULL, 0);
	assert_non_null(v);
	assert_null(canonjson_dumps(v, NULL, 0));
	s = canonjson_dumps(v, NULL, CANONJSON_LAX);
	assert_string_equal(s, "{\"a\":0,\"b\":10000000000}");
	free(s);
	json_decref(v);
	v = canonjson_parse("[-0.0, 1e300, 9007199254740992.0]", 33, CANONJSON_LAX, NULL, 0);
	assert_non_null(v);
	assert_null(canonjson_dumps(v, NULL, CANONJSON_LAX));
	json_array_remove(v, 2);
	assert_null(canonjson_dumps(v, NULL, CANONJSON_LAX));
	json_array_remove(v, 1);
	s = canonjson_dumps(v, NULL, CANONJSON_LAX);
	assert_string_equal(s, "[0]");
	free(s);
	json_decref(v);
}

static void test_encode_rejects(void **state)
{
	struct buf b;
	json_t *v;
	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "keep"), 0);
	v = json_pack("{s:[i,f]}", "a", 1, 2.5);
	assert_int_equal(canonjson_encode(v, &b, 0), -1);
	assert_string_equal(b.data, "keep"); /* restored on failure */
	json_decref(v);
	v = json_stringn_nocheck("\xc0\x80", 2); /* overlong NUL */
	assert_int_equal(canonjson_encode(v, &b, 0), -1);
	json_decref(v);
	v = json_stringn_nocheck("\xed\xa0\x80", 3); /* surrogate */
	assert_int_equal(canonjson_encode(v, &b, 0), -1);
	json_decref(v);
	/* Too deep. */
	v = json_array();
	json_t *cur = v;
	for (int i = 0; i < CANONJSON_MAX_DEPTH + 2; i++) {
		json_t *n = json_array();
		json_array_append_new(cur, n);
		cur = n;
	}
	assert_int_equal(canonjson_encode(v, &b, 0), -1);
	json_decref(v);
	/* A size limit on the buffer is honoured. */
	struct buf small;
	buf_init(&small, 5);
	v = json_pack("{s:s}", "key", "value");
	assert_int_equal(canonjson_encode(v, &small, 0), -1);
	json_decref(v);
	buf_free(&small);
	buf_free(&b);
}

static void test_roundtrip_stable(void **state)
{
	const char *in = "{\"z\":[1,{\"y\":\"\\n\",\"x\":null}],\"a\":{\"c\":true,\"b\":-1}}";
	json_t *v = canonjson_parse(in, strlen(in), 0, NULL, 0);
	char *a = canonjson_dumps(v, NULL, 0);
	json_t *w = canonjson_parse(a, strlen(a), 0, NULL, 0);
	char *b = canonjson_dumps(w, NULL, 0);
	(void)state;
	assert_string_equal(a, b);
	assert_string_equal(a, "{\"a\":{\"b\":-1,\"c\":true},\"z\":[1,{\"x\":null,\"y\":\"\\n\"}]}");
	free(a);
	free(b);
	json_decref(v);
	json_decref(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_vectors),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_ordering_and_scalars),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_lax),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_roundtrip_stable),
	};
	return cmocka_run_group_tests_name("canonjson", tests, NULL, NULL);
}
