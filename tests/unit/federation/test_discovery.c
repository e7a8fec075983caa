/* Server names and server discovery, driven by a table of well-known
 * bodies and SRV records (the network steps are the module's callbacks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "federation/discovery.h"
#include "federation/server_name.h"

static void test_server_name_grammar(void **state)
{
	static const struct { const char *name; int ok; int kind; const char *host; unsigned port; } cases[] = {
		{ "matrix.org", 1, SERVER_HOST_DNS, "matrix.org", 0 },
		{ "matrix.org:8888", 1, SERVER_HOST_DNS, "matrix.org", 8888 },
		{ "localhost", 1, SERVER_HOST_DNS, "localhost", 0 },
		{ "1.2.3.4", 1, SERVER_HOST_IPV4, "1.2.3.4", 0 },
		{ "1.2.3.4:1234", 1, SERVER_HOST_IPV4, "1.2.3.4", 1234 },
		{ "[1234:5678::abcd]", 1, SERVER_HOST_IPV6, "1234:5678::abcd", 0 },
		{ "[1234:5678::abcd]:5678", 1, SERVER_HOST_IPV6, "1234:5678::abcd", 5678 },
		{ "[::1]:65535", 1, SERVER_HOST_IPV6, "::1", 65535 },
		{ "", 0, 0, "", 0 },
		{ "matrix.org:", 0, 0, "", 0 },
		{ "matrix.org:0", 0, 0, "", 0 },
		{ "matrix.org:65536", 0, 0, "", 0 },
		{ "matrix.org:123456", 0, 0, "", 0 },
		{ "matrix.org:12a", 0, 0, "", 0 },
		{ "matrix_org", 0, 0, "", 0 },
		{ "ma trix.org", 0, 0, "", 0 },
		{ "1.2.3.400", 0, 0, "", 0 },
		{ "[1234:5678::abcd", 0, 0, "", 0 },
		{ "[zz::1]", 0, 0, "", 0 },
		{ "[::1]x", 0, 0, "", 0 },
		{ "::1", 0, 0, "", 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct server_name sn;
		int rc = server_name_parse(cases[i].name, &sn);
		if (!cases[i].ok) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(sn.kind, cases[i].kind);
		assert_string_equal(sn.host, cases[i].host);
		assert_int_equal(sn.port, cases[i].port);
	}
}

/* A tiny world: well-known bodies by hostname and SRV records by name. */
struct world {
	const char *wk_host, *wk_body;
	const char *srv_name;
	struct fed_srv srv[3];
	int n_srv;
	int srv_fail;
	int wk_calls, srv_calls;
};

static int fake_wk(void *ctx, const char *hostname, char **body, size_t *len)
{
	struct world *w = ctx;
	w->wk_calls++;
	if (!w->wk_host || strcmp(hostname, w->wk_host) != 0)
		return -1;
	*body = strdup(w->wk_body);
	*len = strlen(w->wk_body);
	return 0;
}

static int fake_srv(void *ctx, const char *name, struct fed_srv *out, size_t max)
{
	struct world *w = ctx;
	w->srv_calls++;
	if (w->srv_fail)
		return -1;
	if (!w->srv_name || strcmp(name, w->srv_name) != 0)
		return 0;
	for (int i = 0; i < w->n_srv && (size_t)i < max; i++)
		out[i] = w->srv[i];
	return w->n_srv;
}

static const struct fed_discovery_ops ops = { fake_wk, fake_srv };

static void expect(struct world *w, const char *name, const char *host, unsigned port,
		   const char *host_header, const char *tls_name)
{
	struct fed_target t;
	char err[128];
	assert_int_equal(fed_discover(name, &ops, w, &t, err, sizeof(err)), 0);
	assert_string_equal(t.host, host);
	assert_int_equal(t.port, port);
	assert_string_equal(t.host_header, host_header);
	assert_string_equal(t.tls_name, tls_name);
}

static void test_literals_and_ports_skip_lookups(void **state)
{
	struct world w = { 0 };
	(void)state;
	expect(&w, "1.2.3.4", "1.2.3.4", 8448, "1.2.3.4", "1.2.3.4");
	expect(&w, "[::1]:8449", "::1", 8449, "[::1]:8449", "::1");
	expect(&w, "example.org:1234", "example.org", 1234, "example.org:1234", "example.org");
	assert_int_equal(w.wk_calls, 0);
	assert_int_equal(w.srv_calls, 0);
}

static void test_well_known_delegation(void **state)
{
	struct world w = { .wk_host = "example.org", .wk_body = "{\"m.server\": \"matrix.example.org:443\"}" };
	(void)state;
	expect(&w, "example.org", "matrix.example.org", 443, "matrix.example.org:443", "matrix.example.org");
	w.wk_body = "{\"m.server\": \"[2001:db8::1]\"}";
	expect(&w, "example.org", "2001:db8::1", 8448, "[2001:db8::1]", "2001:db8::1");
	/* Delegated name without port: SRV on the delegated name, Host is it. */
	w.wk_body = "{\"m.server\": \"hs.example.net\"}";
	w.srv_name = "_matrix-fed._tcp.hs.example.net";
	w.srv[0] = (struct fed_srv){ "node1.example.net", 8009, 10, 0 };
	w.n_srv = 1;
	expect(&w, "example.org", "node1.example.net", 8009, "hs.example.net", "hs.example.net");
	/* No SRV: the delegated name on 8448. */
	w.srv_name = NULL;
	expect(&w, "example.org", "hs.example.net", 8448, "hs.example.net", "hs.example.net");
}

static void test_invalid_well_known_is_ignored(void **state)
{
	static const char *bodies[] = { "not json", "[]", "{}", "{\"m.server\": 5}",
					"{\"m.server\": \"bad name!\"}", "{\"m.server\": \"a:99999\"}" };
	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct world w = { .wk_host = "example.org", .wk_body = bodies[i] };
		expect(&w, "example.org", "example.org", 8448, "example.org", "example.org");
	}
}

static void test_srv_without_well_known(void **state)
{
	struct world w = { .srv_name = "_matrix-fed._tcp.example.org", .n_srv = 3 };
	(void)state;
	w.srv[0] = (struct fed_srv){ "b.example.org", 1002, 20, 5 };
	w.srv[1] = (struct fed_srv){ "a.example.org", 1001, 10, 1 };
	w.srv[2] = (struct fed_srv){ "c.example.org", 1003, 10, 9 };
	expect(&w, "example.org", "c.example.org", 1003, "example.org", "example.org");
	/* The deprecated service name is the next fallback. */
	w.srv_name = "_matrix._tcp.example.org";
	expect(&w, "example.org", "c.example.org", 1003, "example.org", "example.org");
	/* "." means no service here. */
	w.n_srv = 1;
	w.srv[0] = (struct fed_srv){ ".", 0, 0, 0 };
	expect(&w, "example.org", "example.org", 8448, "example.org", "example.org");
}

static void test_failures(void **state)
{
	struct world w = { .srv_fail = 1 };
	struct fed_target t;
	char err[128];
	(void)state;
	assert_int_equal(fed_discover("example.org", &ops, &w, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SRV"));
	assert_int_equal(fed_discover("bad_name", &ops, &w, &t, err, sizeof(err)), -1);
	char big[FED_WELL_KNOWN_MAX + 64];
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "{\"m.server\":\"a.org\"}", 20);
	char out[256];
	assert_int_equal(fed_well_known_parse(big, strlen(big), out, sizeof(out)), -1);
	assert_int_equal(fed_well_known_parse("{\"m.server\":\"a.org\"}", 20, out, sizeof(out)), 0);
	assert_string_equal(out, "a.org");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_name_grammar),
		cmocka_unit_test(test_literals_and_ports_skip_lookups),
		cmocka_unit_test(test_well_known_delegation),
		cmocka_unit_test(test_invalid_well_known_is_ignored),
		cmocka_unit_test(test_srv_without_well_known),
		cmocka_unit_test(test_failures),
	};
	return cmocka_run_group_tests_name("discovery", tests, NULL, NULL);
}
