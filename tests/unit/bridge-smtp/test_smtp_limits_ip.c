/* Unit tests for bridge-smtp/smtp_limits_ip: per-address connection,
 * rate and AUTH-failure limits with a bounded table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "bridge-smtp/smtp_limits_ip.h"

static const uint8_t hkey[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static struct smtp_ip_key v4(const char *a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct smtp_ip_key k;
	assert_int_equal(inet_pton(AF_INET, a, &sin.sin_addr), 1);
	assert_int_equal(smtp_ip_key_from((struct sockaddr *)&sin, &k), 0);
	return k;
}

static struct smtp_ip_key v6(const char *a)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct smtp_ip_key k;
	assert_int_equal(inet_pton(AF_INET6, a, &sin6.sin6_addr), 1);
	assert_int_equal(smtp_ip_key_from((struct sockaddr *)&sin6, &k), 0);
	return k;
}

static void test_concurrent_connections(void **state)
{
	(void)state;
	struct smtp_ip_limits_config c;
	smtp_ip_limits_default(&c);
	c.max_conns = 3;
	c.max_conn_rate = 0;
	struct smtp_ip_limits *t = smtp_ip_limits_new(&c, hkey);
	assert_non_null(t);
	struct smtp_ip_key a = v4("192.0.2.1"), b = v4("192.0.2.2");
	for (int i = 0; i < 3; i++)
		assert_int_equal(smtp_ip_limits_connect(t, &a, 1000), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &a, 1000), SMTP_IP_TOO_MANY_CONNS);
	/* Another address is not affected. */
	assert_int_equal(smtp_ip_limits_connect(t, &b, 1000), SMTP_IP_OK);
	smtp_ip_limits_disconnect(t, &a, 2000);
	assert_int_equal(smtp_ip_limits_connect(t, &a, 2000), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &a, 2000), SMTP_IP_TOO_MANY_CONNS);
	/* More disconnects than connects never go negative. */
	for (int i = 0; i < 10; i++)
		smtp_ip_limits_disconnect(t, &a, 3000);
	assert_int_equal(smtp_ip_limits_connect(t, &a, 3000), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_used(t), 2);
	smtp_ip_limits_free(t);
}

static void test_connection_rate(void **state)
{
	(void)state;
	struct smtp_ip_limits_config c;
	smtp_ip_limits_default(&c);
	c.max_conns = 0;
	c.max_conn_rate = 5;
	c.conn_rate_window_s = 10;
	struct smtp_ip_limits *t = smtp_ip_limits_new(&c, hkey);
	struct smtp_ip_key a = v4("198.51.100.7");
	for (int i = 0; i < 5; i++) {
		assert_int_equal(smtp_ip_limits_connect(t, &a, 1000 + (uint64_t)i), SMTP_IP_OK);
		smtp_ip_limits_disconnect(t, &a, 1000 + (uint64_t)i);
	}
	assert_int_equal(smtp_ip_limits_connect(t, &a, 5000), SMTP_IP_RATE);
	assert_int_equal(smtp_ip_limits_connect(t, &a, 10999), SMTP_IP_RATE);
	/* A new window. */
	assert_int_equal(smtp_ip_limits_connect(t, &a, 11000), SMTP_IP_OK);
	smtp_ip_limits_free(t);
}

static void test_auth_failures_block(void **state)
{
	(void)state;
	struct smtp_ip_limits_config c;
	smtp_ip_limits_default(&c);
	c.max_auth_failures = 3;
	c.auth_window_s = 60;
	c.auth_block_s = 100;
	struct smtp_ip_limits *t = smtp_ip_limits_new(&c, hkey);
	struct smtp_ip_key a = v4("203.0.113.9"), b = v4("203.0.113.10");
	assert_false(smtp_ip_limits_auth_blocked(t, &a, 0));
	assert_false(smtp_ip_limits_auth_failed(t, &a, 1000));
	assert_false(smtp_ip_limits_auth_failed(t, &a, 2000));
	assert_false(smtp_ip_limits_auth_blocked(t, &a, 2000));
	assert_true(smtp_ip_limits_auth_failed(t, &a, 3000));
	assert_true(smtp_ip_limits_auth_blocked(t, &a, 3000));
	assert_true(smtp_ip_limits_auth_blocked(t, &a, 102999));
	assert_false(smtp_ip_limits_auth_blocked(t, &b, 3000));
	/* Failures while blocked do not extend or restart it. */
	assert_false(smtp_ip_limits_auth_failed(t, &a, 50000));
	assert_false(smtp_ip_limits_auth_blocked(t, &a, 103000));
	/* After the block, counting starts again. */
	assert_false(smtp_ip_limits_auth_failed(t, &a, 104000));
	assert_false(smtp_ip_limits_auth_blocked(t, &a, 104000));

	/* Failures spread wider than the window never block. */
	for (uint64_t i = 0; i < 10; i++)
		assert_false(smtp_ip_limits_auth_failed(t, &b, 200000 + i * 31000));
	assert_false(smtp_ip_limits_auth_blocked(t, &b, 600000));
	smtp_ip_limits_free(t);
}

static void test_auth_limit_off(void **state)
{
	(void)state;
	struct smtp_ip_limits_config c;
	smtp_ip_limits_default(&c);
	c.max_auth_failures = 0;
	struct smtp_ip_limits *t = smtp_ip_limits_new(&c, hkey);
	struct smtp_ip_key a = v4("203.0.113.9");
	for (int i = 0; i < 100; i++)
		assert_false(smtp_ip_limits_auth_failed(t, &a, 1000));
	assert_false(smtp_ip_limits_auth_blocked(t, &a, 1000));
	smtp_ip_limits_free(t);
}

static void test_ipv6_counts_by_64(void **state)
{
	(void)state;
	struct smtp_ip_limits_config c;
	smtp_ip_limits_default(&c);
	c.max_conns = 2;
	struct smtp_ip_limits *t = smtp_ip_limits_new(&c, hkey);
	struct smtp_ip_key a1 = v6("2001:db8:1:2::1"), a2 = v6("2001:db8:1:2:ffff::7"), b = v6("2001:db8:1:3::1");
	assert_int_equal(smtp_ip_limits_connect(t, &a1, 0), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &a2, 0), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &a1, 0), SMTP_IP_TOO_MANY_CONNS);
	assert_int_equal(smtp_ip_limits_connect(t, &b, 0), SMTP_IP_OK);
	/* A v4-mapped v6 peer is the IPv4 address, counted whole. */
	struct smtp_ip_key m1 = v6("::ffff:192.0.2.1"), m2 = v6("::ffff:192.0.2.2"), p4 = v4("192.0.2.1");
	assert_int_equal(smtp_ip_limits_connect(t, &m1, 0), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &m2, 0), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &p4, 0), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &m1, 0), SMTP_IP_TOO_MANY_CONNS);
	smtp_ip_limits_free(t);
}

static void test_exempt(void **state)
{
	(void)state;
	struct smtp_ip_net nets[2];
	assert_int_equal(smtp_ip_net_parse("10.1.0.0/16", &nets[0]), 0);
	assert_int_equal(smtp_ip_net_parse("2001:db8::1", &nets[1]), 0);
	assert_int_equal(nets[0].prefix, 112);
	assert_int_equal(nets[1].prefix, 128);
	struct smtp_ip_limits_config c;
	smtp_ip_limits_default(&c);
	c.max_conns = 1;
	c.max_auth_failures = 1;
	c.exempt = nets;
	c.n_exempt = 2;
	struct smtp_ip_limits *t = smtp_ip_limits_new(&c, hkey);
	struct smtp_ip_key in = v4("10.1.200.3"), out = v4("10.2.0.1");
	struct smtp_ip_key in6 = v6("2001:db8::1"), out6 = v6("2001:db8::2");
	for (int i = 0; i < 20; i++) {
		assert_int_equal(smtp_ip_limits_connect(t, &in, 0), SMTP_IP_OK);
		assert_int_equal(smtp_ip_limits_connect(t, &in6, 0), SMTP_IP_OK);
		assert_false(smtp_ip_limits_auth_failed(t, &in, 0));
	}
	assert_false(smtp_ip_limits_auth_blocked(t, &in, 0));
	assert_int_equal(smtp_ip_limits_connect(t, &out, 0), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &out, 0), SMTP_IP_TOO_MANY_CONNS);
	/* Exemption is by full address even though IPv6 counts by /64. */
	assert_int_equal(smtp_ip_limits_connect(t, &out6, 0), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &out6, 0), SMTP_IP_TOO_MANY_CONNS);
	assert_int_equal(smtp_ip_limits_used(t), 2);
	smtp_ip_limits_free(t);
}

static void test_net_parse_errors(void **state)
{
	(void)state;
	struct smtp_ip_net n;
	static const char *const bad[] = { "", "/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x",
					   "10.0.0/8", "host.example", "10.0.0.0/-1", "10.0.0.0/0008",
					   "1.2.3.4 ", NULL };
	for (size_t i = 0; bad[i]; i++)
		assert_int_equal(smtp_ip_net_parse(bad[i], &n), -1);
	assert_int_equal(smtp_ip_net_parse("0.0.0.0/0", &n), 0);
	assert_int_equal(n.prefix, 96);
	assert_int_equal(smtp_ip_net_parse("::/0", &n), 0);
	assert_int_equal(n.prefix, 0);
	assert_int_equal(smtp_ip_net_parse("127.0.0.0/8", &n), 0);
	assert_int_equal(n.prefix, 104);
	struct sockaddr_un_like {
		sa_family_t f;
	} u = { AF_UNIX };
	struct smtp_ip_key k;
	assert_int_equal(smtp_ip_key_from((struct sockaddr *)&u, &k), -1);
}

/* A flood of distinct sources: the table never grows past its size, and
 * an address holding connections is not the one evicted while idle ones
 * are around. */
static void test_flood_bounded(void **state)
{
	(void)state;
	struct smtp_ip_limits_config c;
	smtp_ip_limits_default(&c);
	c.max_conns = 2;
	c.table_size = 64;
	struct smtp_ip_limits *t = smtp_ip_limits_new(&c, hkey);
	struct smtp_ip_key busy = v4("192.0.2.77");
	assert_int_equal(smtp_ip_limits_connect(t, &busy, 0), SMTP_IP_OK);
	assert_int_equal(smtp_ip_limits_connect(t, &busy, 0), SMTP_IP_OK);
	for (uint32_t i = 0; i < 100000; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		sin.sin_addr.s_addr = htonl(0x0a000000u + i);
		struct smtp_ip_key k;
		smtp_ip_key_from((struct sockaddr *)&sin, &k);
		assert_int_equal(smtp_ip_limits_connect(t, &k, 1 + i), SMTP_IP_OK);
		smtp_ip_limits_disconnect(t, &k, 1 + i);
		assert_true(smtp_ip_limits_used(t) <= 64);
	}
	assert_int_equal(smtp_ip_limits_used(t), 64);
	assert_int_equal(smtp_ip_limits_connect(t, &busy, 200000), SMTP_IP_TOO_MANY_CONNS);
	smtp_ip_limits_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_connections),
		cmocka_unit_test(test_connection_rate),
		cmocka_unit_test(test_auth_failures_block),
		cmocka_unit_test(test_auth_limit_off),
		cmocka_unit_test(test_ipv6_counts_by_64),
		cmocka_unit_test(test_exempt),
		cmocka_unit_test(test_net_parse_errors),
		cmocka_unit_test(test_flood_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
