/* Unit tests for homeserver/router.c: templates, parameters, 404 vs 405,
 * percent-decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "homeserver/router.h"

static int h_login, h_device, h_device_put, h_state;

static struct router *make(void)
{
	struct router *r = router_new();
	assert_non_null(r);
	assert_int_equal(router_add(r, "POST", "/_matrix/client/v3/login", &h_login, 1), 0);
	assert_int_equal(router_add(r, "GET", "/_matrix/client/v3/devices/{deviceId}", &h_device, 2), 0);
	assert_int_equal(router_add(r, "PUT", "/_matrix/client/v3/devices/{deviceId}", &h_device_put, 3), 0);
	assert_int_equal(router_add(r, "PUT",
				    "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}",
				    &h_state, 4), 0);
	return r;
}

static void test_literal_match(void **state)
{
	struct router *r = make();
	struct route_match m;
	(void)state;
	assert_int_equal(router_match(r, "POST", "/_matrix/client/v3/login", &m), ROUTE_FOUND);
	assert_ptr_equal(m.handler, &h_login);
	assert_int_equal(m.flags, 1);
	assert_int_equal(m.nparams, 0);
	route_match_free(&m);
	/* A trailing slash is tolerated. */
	assert_int_equal(router_match(r, "POST", "/_matrix/client/v3/login/", &m), ROUTE_FOUND);
	route_match_free(&m);
	router_free(r);
}

static void test_params_and_methods(void **state)
{
	struct router *r = make();
	struct route_match m;
	(void)state;
	assert_int_equal(router_match(r, "GET", "/_matrix/client/v3/devices/ABC", &m), ROUTE_FOUND);
	assert_ptr_equal(m.handler, &h_device);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "ABC");
	assert_string_equal(m.names[0], "{deviceId}");
	route_match_free(&m);
	assert_int_equal(router_match(r, "PUT", "/_matrix/client/v3/devices/ABC", &m), ROUTE_FOUND);
	assert_ptr_equal(m.handler, &h_device_put);
	route_match_free(&m);
	assert_int_equal(router_match(r, "DELETE", "/_matrix/client/v3/devices/ABC", &m), ROUTE_BAD_METHOD);
	assert_int_equal(router_match(r, "GET", "/_matrix/client/v3/login", &m), ROUTE_BAD_METHOD);
	assert_int_equal(router_match(r, "GET", "/_matrix/client/v3/devices", &m), ROUTE_NOT_FOUND);
	assert_int_equal(router_match(r, "GET", "/_matrix/client/v3/devices/", &m), ROUTE_NOT_FOUND);
	assert_int_equal(router_match(r, "GET", "/_matrix/client/v3/devices/A/B", &m), ROUTE_NOT_FOUND);
	assert_int_equal(router_match(r, "GET", "", &m), ROUTE_NOT_FOUND);
	assert_int_equal(router_match(r, "GET", "relative", &m), ROUTE_NOT_FOUND);
	router_free(r);
}

static void test_encoded_params(void **state)
{
	struct router *r = make();
	struct route_match m;
	(void)state;
	/* An encoded '/' stays inside its parameter; an empty state key is a
	 * separate segment in the spec but our placeholder needs one char. */
	assert_int_equal(router_match(r, "PUT",
				      "/_matrix/client/v3/rooms/%21room%3Aex.org/state/m.room.name/a%2Fb",
				      &m), ROUTE_FOUND);
	assert_int_equal(m.nparams, 3);
	assert_string_equal(m.params[0], "!room:ex.org");
	assert_string_equal(m.params[1], "m.room.name");
	assert_string_equal(m.params[2], "a/b");
	route_match_free(&m);
	/* Bad escapes and encoded NULs are refused. */
	assert_int_equal(router_match(r, "GET", "/_matrix/client/v3/devices/%zz", &m), ROUTE_ERROR);
	assert_int_equal(router_match(r, "GET", "/_matrix/client/v3/devices/%00", &m), ROUTE_ERROR);
	assert_int_equal(router_match(r, "GET", "/_matrix/client/v3/devices/%4", &m), ROUTE_ERROR);
	router_free(r);
}

static void test_bad_templates(void **state)
{
	struct router *r = router_new();
	(void)state;
	assert_int_equal(router_add(r, "GET", "no/slash", &h_login, 0), -1);
	assert_int_equal(router_add(r, "GET", "/a//b", &h_login, 0), -1);
	assert_int_equal(router_add(r, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", &h_login, 0), -1);
	assert_int_equal(router_add(r, "GET", "/", &h_login, 0), -1);
	router_free(r);
}

static void test_percent_decode(void **state)
{
	char *s;
	(void)state;
	s = percent_decode("a%20b+c", 7, 1);
	assert_string_equal(s, "a b c");
	free(s);
	s = percent_decode("a%20b+c", 7, 0);
	assert_string_equal(s, "a b+c");
	free(s);
	assert_null(percent_decode("%", 1, 0));
	assert_null(percent_decode("%g0", 3, 0));
}

static void test_many_routes(void **state)
{
	struct router *r = router_new();
	struct route_match m;
	char path[64];
	(void)state;
	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "/r%d/{x}", i);
		assert_int_equal(router_add(r, "GET", path, &h_login, (unsigned)i), 0);
	}
	assert_int_equal(router_match(r, "GET", "/r150/val", &m), ROUTE_FOUND);
	assert_int_equal(m.flags, 150);
	assert_string_equal(m.params[0], "val");
	route_match_free(&m);
	router_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_match),
		cmocka_unit_test(test_params_and_methods),
		cmocka_unit_test(test_encoded_params),
		cmocka_unit_test(test_bad_templates),
		cmocka_unit_test(test_percent_decode),
		cmocka_unit_test(test_many_routes),
	};
	return cmocka_run_group_tests_name("homeserver router", tests, NULL, NULL);
}
