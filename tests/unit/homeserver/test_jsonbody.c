/* Unit tests for homeserver/jsonbody.c: objects only, size limit, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "homeserver/jsonbody.h"

static enum json_body_rc parse(const char *s, size_t max, int empty_ok, json_t **out)
{
	return json_body_parse(s, s ? strlen(s) : 0, max, empty_ok, out);
}

static void test_objects(void **state)
{
	json_t *j;
	(void)state;
	assert_int_equal(parse("{\"a\":1}", 100, 0, &j), JSON_BODY_OK);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	json_decref(j);
	assert_int_equal(parse("  {}  ", 100, 0, &j), JSON_BODY_OK);
	json_decref(j);
}

static void test_errors(void **state)
{
	json_t *j;
	(void)state;
	assert_int_equal(parse("", 100, 0, &j), JSON_BODY_NOT_JSON);
	assert_null(j);
	assert_int_equal(parse(NULL, 100, 0, &j), JSON_BODY_NOT_JSON);
	assert_int_equal(parse("{", 100, 0, &j), JSON_BODY_NOT_JSON);
	assert_int_equal(parse("{}x", 100, 0, &j), JSON_BODY_NOT_JSON);
	assert_int_equal(parse("{\"a\":NaN}", 100, 0, &j), JSON_BODY_NOT_JSON);
	assert_int_equal(parse("{\"a\":1,\"a\":2}", 100, 0, &j), JSON_BODY_NOT_JSON);
	assert_int_equal(parse("{\"a\":\"\xff\"}", 100, 0, &j), JSON_BODY_NOT_JSON);
	assert_int_equal(parse("[1]", 100, 0, &j), JSON_BODY_NOT_OBJECT);
	assert_int_equal(parse("\"str\"", 100, 0, &j), JSON_BODY_NOT_OBJECT);
	assert_int_equal(parse("null", 100, 0, &j), JSON_BODY_NOT_OBJECT);
	assert_null(j);
	assert_string_equal(json_body_errcode(JSON_BODY_NOT_JSON), "M_NOT_JSON");
	assert_string_equal(json_body_errcode(JSON_BODY_NOT_OBJECT), "M_BAD_JSON");
	assert_int_equal(json_body_status(JSON_BODY_NOT_OBJECT), 400);
}

static void test_embedded_nul(void **state)
{
	json_t *j;
	(void)state;
	assert_int_equal(json_body_parse("{}\0{}", 5, 100, 0, &j), JSON_BODY_NOT_JSON);
	/* \u0000 inside a string: refused unless the caller allows it
	 * (federation bodies, which other servers' events may carry it in). */
	assert_int_equal(parse("{\"a\":\"x\\u0000y\"}", 100, 0, &j), JSON_BODY_NOT_JSON);
	assert_int_equal(parse("{\"a\":\"x\\u0000y\"}", 100, JSON_BODY_ALLOW_NUL, &j), JSON_BODY_OK);
	assert_int_equal(json_string_length(json_object_get(j, "a")), 3);
	json_decref(j);
	assert_int_equal(parse("", 100, JSON_BODY_EMPTY_OK | JSON_BODY_ALLOW_NUL, &j), JSON_BODY_OK);
	json_decref(j);
}

static void test_limits(void **state)
{
	json_t *j;
	char *deep;
	size_t n = 100000;
	(void)state;
	assert_int_equal(parse("{\"a\":\"0123456789\"}", 10, 0, &j), JSON_BODY_TOO_LARGE);
	assert_null(j);
	assert_string_equal(json_body_errcode(JSON_BODY_TOO_LARGE), "M_TOO_LARGE");
	assert_int_equal(json_body_status(JSON_BODY_TOO_LARGE), 413);
	/* Exactly at the limit is fine. */
	assert_int_equal(parse("{}", 2, 0, &j), JSON_BODY_OK);
	json_decref(j);
	/* Deep nesting is refused, not a stack overflow. */
	deep = malloc(2 * n + 8);
	strcpy(deep, "{\"a\":");
	memset(deep + 5, '[', n);
	memset(deep + 5 + n, ']', n);
	strcpy(deep + 5 + 2 * n, "}");
	assert_int_equal(parse(deep, 4 * n, 0, &j), JSON_BODY_NOT_JSON);
	free(deep);
}

static void test_empty_ok(void **state)
{
	json_t *j;
	(void)state;
	assert_int_equal(parse("", 100, 1, &j), JSON_BODY_OK);
	assert_true(json_is_object(j) && json_object_size(j) == 0);
	json_decref(j);
	assert_int_equal(parse("[]", 100, 1, &j), JSON_BODY_NOT_OBJECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_empty_ok),
	};
	return cmocka_run_group_tests_name("homeserver jsonbody", tests, NULL, NULL);
}
