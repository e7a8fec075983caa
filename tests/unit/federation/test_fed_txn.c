/* fed_txn: the shape of inbound transactions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "federation/fed_txn.h"

static int parse(const char *text, const char *origin, struct fed_txn *t)
{
	char err[256] = "";
	json_t *j = json_loads(text, 0, NULL);
	int rc = fed_txn_parse(j, origin, t, err, sizeof(err));
	if (rc < 0)
		assert_true(err[0] != '\0');
	json_decref(j);
	return rc;
}

static void test_good(void **state)
{
	struct fed_txn t;
	char err[64];
	(void)state;
	json_t *j = json_loads("{\"origin\":\"a.test\",\"origin_server_ts\":5,\"pdus\":[{}],"
			       "\"edus\":[{\"edu_type\":\"m.typing\",\"content\":{}}]}", 0, NULL);
	assert_int_equal(fed_txn_parse(j, "a.test", &t, err, sizeof(err)), 0);
	assert_string_equal(t.origin, "a.test");
	assert_int_equal(t.origin_server_ts, 5);
	assert_int_equal(json_array_size(t.pdus), 1);
	assert_int_equal(json_array_size(t.edus), 1);
	json_decref(j);
	assert_int_equal(parse("{\"origin\":\"a.test\",\"origin_server_ts\":5,\"pdus\":[]}", NULL, &t), 0);
	assert_null(t.edus);
	assert_int_equal(parse("{\"origin\":\"a.test\",\"origin_server_ts\":5,\"pdus\":[],\"edus\":null}", NULL, &t),
			 0);
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"origin\":1,\"origin_server_ts\":5,\"pdus\":[]}",
		"{\"origin\":\"b.test\",\"origin_server_ts\":5,\"pdus\":[]}",
		"{\"origin\":\"a.test\",\"origin_server_ts\":\"5\",\"pdus\":[]}",
		"{\"origin\":\"a.test\",\"origin_server_ts\":5}",
		"{\"origin\":\"a.test\",\"origin_server_ts\":5,\"pdus\":{}}",
		"{\"origin\":\"a.test\",\"origin_server_ts\":5,\"pdus\":[1]}",
		"{\"origin\":\"a.test\",\"origin_server_ts\":5,\"pdus\":[],\"edus\":{}}",
		"{\"origin\":\"a.test\",\"origin_server_ts\":5,\"pdus\":[],\"edus\":[{\"edu_type\":1,\"content\":{}}]}",
		"{\"origin\":\"a.test\",\"origin_server_ts\":5,\"pdus\":[],\"edus\":[{\"edu_type\":\"x\"}]}",
	};
	struct fed_txn t;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], "a.test", &t), -1);
	assert_int_equal(fed_txn_parse(NULL, NULL, &t, (char[8]){ 0 }, 8), -1);
}

static void test_limits(void **state)
{
	struct fed_txn t;
	char err[128];
	(void)state;
	json_t *j = json_pack("{s:s,s:i,s:[]}", "origin", "a.test", "origin_server_ts", 1, "pdus");
	for (int i = 0; i < FED_TXN_MAX_IN_PDUS; i++)
		json_array_append_new(json_object_get(j, "pdus"), json_object());
	assert_int_equal(fed_txn_parse(j, NULL, &t, err, sizeof(err)), 0);
	json_array_append_new(json_object_get(j, "pdus"), json_object());
	assert_int_equal(fed_txn_parse(j, NULL, &t, err, sizeof(err)), -1);
	json_object_set_new(j, "pdus", json_array());
	json_object_set_new(j, "edus", json_array());
	for (int i = 0; i <= FED_TXN_MAX_IN_EDUS; i++)
		json_array_append_new(json_object_get(j, "edus"), json_pack("{s:s,s:{}}", "edu_type", "x", "content"));
	assert_int_equal(fed_txn_parse(j, NULL, &t, err, sizeof(err)), -1);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests_name("fed_txn", tests, NULL, NULL);
}
