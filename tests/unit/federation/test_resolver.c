/* resolver.h's pure parts: well-known cache lifetimes, SRV RDATA, routes
 * with overrides and the no-verify list; SRV discovery over dns.h's table
 * resolver (the only network use is a refused connection to 127.0.0.1). */
#include <pthread.h>
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

static struct dns_resolver *srv_table(void)
{
	struct dns_resolver *d = dns_static_new();
	assert_non_null(d);
	static const char *const rr[][2] = {
		{ "_matrix-fed._tcp.srv.example.test", "20 5 9999 backup.example.test" },
		{ "_matrix-fed._tcp.srv.example.test", "10 5 8449 Target.Example.test." },
		{ "_matrix-fed._tcp.srv.example.test", "5 5 8000 bad\\032name.example.test" },
		{ "_matrix-fed._tcp.srv.example.test", "1 0 0 ." },
		{ "_matrix._tcp.legacy.example.test", "10 5 8450 old.example.test" },
		{ "_matrix-fed._tcp.none.example.test", "0 0 0 ." },
		{ "_matrix._tcp.none.example.test", "10 0 8451 ignored.example.test" },
	};
	for (size_t i = 0; i < sizeof(rr) / sizeof(rr[0]); i++)
		assert_int_equal(dns_static_add(d, rr[i][0], DNS_SRV, rr[i][1], (size_t)-1), 0);
	assert_int_equal(dns_static_set_status(d, "_matrix-fed._tcp.down.example.test", DNS_TEMPFAIL), 0);
	assert_int_equal(dns_static_set_status(d, "_matrix-fed._tcp.refused.example.test", DNS_PERMFAIL), 0);
	return d;
}

static void test_srv_lookup(void **state)
{
	(void)state;
	struct dns_resolver *d = srv_table();
	/* Well-known fetches go to a closed port on loopback and fail fast. */
	const char *over[] = { "srv.example.test:443:127.0.0.1:1", "legacy.example.test:443:127.0.0.1:1",
			       "none.example.test:443:127.0.0.1:1", "down.example.test:443:127.0.0.1:1",
			       "refused.example.test:443:127.0.0.1:1", NULL };
	struct fed_resolver_options opt = { .dns = d, .overrides = over, .http_timeout_ms = 5000 };
	char err[128];
	struct fed_resolver *r = fed_resolver_new(&opt, err, sizeof(err));
	assert_non_null(r);

	const struct fed_discovery_ops *ops = fed_resolver_ops();
	struct fed_srv out[4];
	/* The "." record and the one whose target is no host name are left
	 * out; the rest come lowest priority first. */
	assert_int_equal(ops->lookup_srv(r, "_matrix-fed._tcp.srv.example.test", out, 4), 2);
	assert_string_equal(out[0].target, "target.example.test");
	assert_int_equal(out[0].port, 8449);
	assert_int_equal(out[0].priority, 10);
	assert_int_equal(out[0].weight, 5);
	assert_string_equal(out[1].target, "backup.example.test");
	assert_int_equal(ops->lookup_srv(r, "_matrix-fed._tcp.srv.example.test", out, 1), 1);
	assert_string_equal(out[0].target, "target.example.test");
	assert_int_equal(ops->lookup_srv(r, "_matrix-fed._tcp.nothing.example.test", out, 4), 0);
	assert_int_equal(ops->lookup_srv(r, "_matrix-fed._tcp.down.example.test", out, 4), -1);
	assert_int_equal(ops->lookup_srv(r, "_matrix-fed._tcp.refused.example.test", out, 4), -1);
	assert_int_equal(ops->lookup_srv(r, "_matrix-fed._tcp.a b.test", out, 4), 0); /* never asked */

	unsigned long asked = dns_static_queries(d);
	struct fed_target t;
	assert_int_equal(fed_resolver_resolve(r, "srv.example.test", &t, err, sizeof(err)), 0);
	assert_string_equal(t.host, "target.example.test");
	assert_int_equal(t.port, 8449);
	assert_string_equal(t.tls_name, "srv.example.test");
	assert_int_equal(t.via_srv, 1);
	assert_int_equal(dns_static_queries(d), asked + 1);
	/* _matrix-fed first, then the deprecated _matrix. */
	assert_int_equal(fed_resolver_resolve(r, "legacy.example.test", &t, err, sizeof(err)), 0);
	assert_string_equal(t.host, "old.example.test");
	assert_int_equal(t.port, 8450);
	assert_int_equal(dns_static_queries(d), asked + 3);
	/* Only "." under _matrix-fed: the service is not offered there, and
	 * the deprecated name is asked next. */
	assert_int_equal(fed_resolver_resolve(r, "none.example.test", &t, err, sizeof(err)), 0);
	assert_string_equal(t.host, "ignored.example.test");
	assert_int_equal(t.port, 8451);
	assert_int_equal(fed_resolver_resolve(r, "down.example.test", &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SRV"));
	assert_int_equal(fed_resolver_resolve_within(r, "srv.example.test", 5000, &t, err, sizeof(err)), 0);
	assert_int_equal(t.port, 8449);
	fed_resolver_free(r);
	dns_resolver_free(d); /* borrowed: still ours */
}

struct parallel {
	struct fed_resolver *r;
	int ok;
};

static void *discover_thread(void *arg)
{
	struct parallel *p = arg;
	char err[128];
	for (int k = 0; k < 20; k++) {
		struct fed_target a, b;
		if (fed_resolver_resolve(p->r, "srv.example.test", &a, err, sizeof(err)) == 0 &&
		    strcmp(a.host, "target.example.test") == 0 && a.port == 8449 &&
		    fed_resolver_resolve(p->r, "legacy.example.test", &b, err, sizeof(err)) == 0 &&
		    strcmp(b.host, "old.example.test") == 0 && b.port == 8450)
			p->ok++;
	}
	return NULL;
}

/* One fed_resolver (and one DNS resolver) shared by 4 threads: every
 * discovery gets the right answer and every SRV query is counted. */
static void test_srv_parallel(void **state)
{
	(void)state;
	struct dns_resolver *d = srv_table();
	const char *over[] = { "srv.example.test:443:127.0.0.1:1", "legacy.example.test:443:127.0.0.1:1", NULL };
	struct fed_resolver_options opt = { .dns = d, .overrides = over, .http_timeout_ms = 5000 };
	char err[128];
	struct fed_resolver *r = fed_resolver_new(&opt, err, sizeof(err));
	assert_non_null(r);
	struct parallel p[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		p[i] = (struct parallel){ r, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, discover_thread, &p[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(p[i].ok, 20);
	}
	assert_int_equal(dns_static_queries(d), 4 * 20 * 3); /* srv: 1 SRV query, legacy: 2 */
	fed_resolver_free(r);
	dns_resolver_free(d);
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
		cmocka_unit_test(test_srv_lookup),
		cmocka_unit_test(test_srv_parallel),
		cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests_name("resolver", tests, NULL, NULL);
}
