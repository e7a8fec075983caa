/* resolver.h's pure parts: well-known cache lifetimes, SRV RDATA, routes
 * with overrides and the no-verify list (no network is used). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "federation/resolver.h"

static void test_well_known_ttl(void **state)
{
	(void)state;
	time_t now = 1700000000;
	assert_int_equal(fed_well_known_ttl(0, "max-age=99999", NULL, now), 3600);
	assert_int_equal(fed_well_known_ttl(1, NULL, NULL, now), 24 * 3600);
	assert_int_equal(fed_well_known_ttl(1, "max-age=7200", NULL, now), 7200);
	assert_int_equal(fed_well_known_ttl(1, "public, max-age=\"7200\"", NULL, now), 7200);
	assert_int_equal(fed_well_known_ttl(1, "max-age=10", NULL, now), 300);          /* floor */
	assert_int_equal(fed_well_known_ttl(1, "max-age=99999999999999999999", NULL, now), 48 * 3600);
	assert_int_equal(fed_well_known_ttl(1, "no-store", NULL, now), 0);
	assert_int_equal(fed_well_known_ttl(1, "private, no-cache", NULL, now), 0);
	assert_int_equal(fed_well_known_ttl(1, "x-max-age=5", NULL, now), 24 * 3600);   /* not max-age */
	assert_int_equal(fed_well_known_ttl(1, "foo=\"a,max-age=5\"", NULL, now), 24 * 3600);
	/* Expires: Tue, 14 Nov 2023 22:13:20 GMT is now; +2 h */
	assert_int_equal(fed_well_known_ttl(1, NULL, "Wed, 15 Nov 2023 00:13:20 GMT", now), 7200);
	assert_int_equal(fed_well_known_ttl(1, NULL, "garbage", now), 300);
	/* max-age wins over Expires */
	assert_int_equal(fed_well_known_ttl(1, "max-age=600", "Wed, 15 Nov 2023 00:13:20 GMT", now), 600);
}

static void test_srv_rdata(void **state)
{
	(void)state;
	struct fed_srv s;
	static const unsigned char ok[] = { 0, 10, 0, 5, 0x21, 0x01, 3, 'F', 'e', 'd', 7, 'e', 'x', 'a', 'm', 'p',
					    'l', 'e', 0 };
	assert_int_equal(fed_srv_parse_rdata(ok, sizeof(ok), &s), 0);
	assert_int_equal(s.priority, 10);
	assert_int_equal(s.weight, 5);
	assert_int_equal(s.port, 8449);
	assert_string_equal(s.target, "fed.example");
	static const unsigned char root[] = { 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(fed_srv_parse_rdata(root, sizeof(root), &s), 0);
	assert_string_equal(s.target, "");
	static const unsigned char ptr[] = { 0, 0, 0, 0, 0, 1, 0xc0, 12 };
	assert_int_equal(fed_srv_parse_rdata(ptr, sizeof(ptr), &s), -1);
	static const unsigned char trailing[] = { 0, 0, 0, 0, 0, 1, 1, 'a', 0, 9 };
	assert_int_equal(fed_srv_parse_rdata(trailing, sizeof(trailing), &s), -1);
	static const unsigned char cut[] = { 0, 0, 0, 0, 0, 1, 5, 'a' };
	assert_int_equal(fed_srv_parse_rdata(cut, sizeof(cut), &s), -1);
	static const unsigned char odd[] = { 0, 0, 0, 0, 0, 1, 2, 'a', ' ', 0 };
	assert_int_equal(fed_srv_parse_rdata(odd, sizeof(odd), &s), -1);
	assert_int_equal(fed_srv_parse_rdata(ok, 5, &s), -1);
}

static void test_routes(void **state)
{
	(void)state;
	const char *over[] = { "fed.example.test:8448:127.0.0.1:9000", NULL };
	const char *nv[] = { "insecure.test", NULL };
	struct fed_resolver_options opt = { .dns_forwarder = "127.0.0.1@1", .overrides = over, .no_verify = nv,
					    .ca_file = "/tmp/ca.pem" };
	char err[128];
	struct fed_resolver *r = fed_resolver_new(&opt, err, sizeof(err));
	assert_non_null(r);

	struct fed_target t;
	struct fed_route route;
	assert_int_equal(fed_resolver_resolve(r, "[::1]:8448", &t, err, sizeof(err)), 0);
	assert_int_equal(fed_resolver_route(r, "[::1]:8448", &t, "/x", &route), 0);
	assert_string_equal(route.url, "https://[::1]:8448/x");
	assert_string_equal(route.connect_to, "[::1]:8448:[::1]:8448");
	assert_string_equal(route.host_header, "Host: [::1]:8448");
	assert_int_equal(route.no_verify, 0);
	assert_string_equal(route.ca_file, "/tmp/ca.pem");

	assert_int_equal(fed_resolver_resolve(r, "fed.example.test:8448", &t, err, sizeof(err)), 0);
	assert_int_equal(fed_resolver_route(r, "fed.example.test:8448", &t, "/k", &route), 0);
	assert_string_equal(route.url, "https://fed.example.test:8448/k");
	assert_string_equal(route.connect_to, "fed.example.test:8448:127.0.0.1:9000");

	assert_int_equal(fed_resolver_no_verify(r, "INSECURE.test"), 1);
	assert_int_equal(fed_resolver_no_verify(r, "insecure.test:1"), 0);
	assert_int_equal(fed_resolver_resolve(r, "bad name", &t, err, sizeof(err)), -1);

	struct httpc_request req = { 0 };
	fed_route_apply(&route, &req);
	assert_string_equal(req.url, route.url);
	assert_ptr_equal(req.connect_to[0], route.connect_to);
	assert_null(req.connect_to[1]);
	fed_resolver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_known_ttl),
		cmocka_unit_test(test_srv_rdata),
		cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests_name("resolver", tests, NULL, NULL);
}
