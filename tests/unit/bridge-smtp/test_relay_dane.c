/* Unit tests for the relay's DANE policy (relay_dane.h): which TLSA
 * answers make TLS mandatory, authenticated, deferred or opportunistic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/relay_dane.h"
#include "common/dns.h"

#define H32 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static struct dns_resolver *zone(void)
{
	struct dns_resolver *d = dns_static_new();
	assert_non_null(d);
	return d;
}

static enum relay_dane_mode lookup(struct dns_resolver *d, const char *host, bool mx_sec, bool a_sec,
				   struct relay_dane *out)
{
	assert_int_equal(relay_dane_lookup(d, host, 25, mx_sec, a_sec, 0, out), 0);
	return out->mode;
}

static void test_usable(void **state)
{
	(void)state;
	struct dns_resolver *d = zone();
	const char *n = "_25._tcp.mx.test";
	assert_int_equal(dns_static_add(d, n, DNS_TLSA, "3 1 1 " H32, (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, n, DNS_TLSA, "2 0 1 " H32, (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, n, DNS_TLSA, "1 1 1 " H32, (size_t)-1), 0); /* PKIX-EE: unusable */
	assert_int_equal(dns_static_add(d, n, DNS_TLSA, "3 1 1 0011", (size_t)-1), 0); /* short digest */
	assert_int_equal(dns_static_add(d, n, DNS_TLSA, "3 2 0 0011", (size_t)-1), 0); /* unknown selector */
	assert_int_equal(dns_static_set_security(d, n, DNS_SEC_SECURE), 0);
	struct relay_dane r;
	assert_int_equal(lookup(d, "mx.test", true, true, &r), RELAY_DANE_VERIFY);
	assert_int_equal(r.n_tlsa, 2);
	assert_int_equal(r.tlsa[0].usage, 3);
	assert_int_equal(r.tlsa[0].selector, 1);
	assert_int_equal(r.tlsa[0].len, 32);
	assert_int_equal(r.tlsa[0].data[1], 0x11);
	assert_int_equal(r.tlsa[1].usage, 2);
	assert_int_equal(r.tlsa[1].selector, 0);
	relay_dane_free(&r);
	/* Insecure MX or addresses: no TLSA lookup at all. */
	unsigned long q = dns_static_queries(d);
	assert_int_equal(lookup(d, "mx.test", false, true, &r), RELAY_DANE_NONE);
	assert_int_equal(lookup(d, "mx.test", true, false, &r), RELAY_DANE_NONE);
	assert_int_equal(dns_static_queries(d), q);
	assert_null(r.tlsa);
	dns_resolver_free(d);
}

static void test_unusable_only(void **state)
{
	(void)state;
	struct dns_resolver *d = zone();
	const char *n = "_25._tcp.mx.test";
	assert_int_equal(dns_static_add(d, n, DNS_TLSA, "0 0 1 " H32, (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, n, DNS_TLSA, "1 1 1 " H32, (size_t)-1), 0);
	assert_int_equal(dns_static_set_security(d, n, DNS_SEC_SECURE), 0);
	struct relay_dane r;
	assert_int_equal(lookup(d, "mx.test", true, true, &r), RELAY_DANE_ENCRYPT);
	assert_int_equal(r.n_tlsa, 0);
	relay_dane_free(&r);
	dns_resolver_free(d);
}

static void test_insecure_and_absent(void **state)
{
	(void)state;
	struct dns_resolver *d = zone();
	/* Records in an unsigned zone count for nothing. */
	assert_int_equal(dns_static_add(d, "_25._tcp.plain.test", DNS_TLSA, "3 1 1 " H32, (size_t)-1), 0);
	struct relay_dane r;
	assert_int_equal(lookup(d, "plain.test", true, true, &r), RELAY_DANE_NONE);
	/* Secure denial: NXDOMAIN and NODATA. */
	assert_int_equal(lookup(d, "none.test", true, true, &r), RELAY_DANE_NONE);
	assert_int_equal(dns_static_add_name(d, "_25._tcp.empty.test"), 0);
	assert_int_equal(dns_static_set_security(d, "_25._tcp.empty.test", DNS_SEC_SECURE), 0);
	assert_int_equal(lookup(d, "empty.test", true, true, &r), RELAY_DANE_NONE);
	/* The port is part of the name. */
	assert_int_equal(dns_static_add(d, "_2525._tcp.port.test", DNS_TLSA, "3 1 1 " H32, (size_t)-1), 0);
	assert_int_equal(dns_static_set_security(d, "_2525._tcp.port.test", DNS_SEC_SECURE), 0);
	assert_int_equal(relay_dane_lookup(d, "port.test", 2525, true, true, 0, &r), 0);
	assert_int_equal(r.mode, RELAY_DANE_VERIFY);
	relay_dane_free(&r);
	dns_resolver_free(d);
}

static void test_defer(void **state)
{
	(void)state;
	struct dns_resolver *d = zone();
	assert_int_equal(dns_static_set_status(d, "_25._tcp.slow.test", DNS_TEMPFAIL), 0);
	assert_int_equal(dns_static_set_security(d, "_25._tcp.slow.test", DNS_SEC_SECURE), 0);
	assert_int_equal(dns_static_add(d, "_25._tcp.bogus.test", DNS_TLSA, "3 1 1 " H32, (size_t)-1), 0);
	assert_int_equal(dns_static_set_security(d, "_25._tcp.bogus.test", DNS_SEC_BOGUS), 0);
	struct relay_dane r;
	assert_int_equal(lookup(d, "slow.test", true, true, &r), RELAY_DANE_DEFER);
	assert_non_null(strstr(r.why, "failed"));
	assert_int_equal(lookup(d, "bogus.test", true, true, &r), RELAY_DANE_DEFER);
	assert_non_null(strstr(r.why, "DNSSEC"));
	/* A host name too long for the TLSA owner name: defer, not crash. */
	char longname[256];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (size_t i = 60; i < sizeof(longname) - 1; i += 61)
		longname[i] = '.';
	assert_int_equal(lookup(d, longname, true, true, &r), RELAY_DANE_DEFER);
	/* Without an answer the decision is opportunistic. */
	assert_int_equal(relay_dane_decide(NULL, true, true, &r), 0);
	assert_int_equal(r.mode, RELAY_DANE_NONE);
	assert_string_equal(relay_dane_mode_name(RELAY_DANE_DEFER), "defer");
	dns_resolver_free(d);
}

/* DANE makes TLS mandatory in the client: no STARTTLS or a refused one
 * fails the host instead of going on in the clear. */
static void test_client_requires_tls(void **state)
{
	(void)state;
	static const struct smtp_tlsa t = { 3, 1, 1, (const unsigned char *)"x", 1 };
	struct smtp_client_dane cd = { &t, 1, "mx.test", "dom.test" };
	struct smtp_client_opts o = { .helo = "relay.test", .tls_available = true, .dane = &cd };
	const char *rcpt = "a@dom.test";
	struct smtp_client_envelope env = { .from = "b@x.test", .rcpts = &rcpt, .n_rcpts = 1, .size = 10 };
	struct smtp_rcpt_result res;
	struct smtp_reply r;
	for (int refuse = 0; refuse < 2; refuse++) {
		struct smtp_client c;
		assert_int_equal(smtp_client_start(&c, &o, &env, &res), 0);
		assert_true(c.opts.require_tls);
		smtp_reply_init(&r);
		assert_int_equal(smtp_reply_line(&r, "220 hi", 6), 1);
		assert_int_equal(smtp_client_reply(&c, &r), SMTPC_ACT_SEND);
		smtp_reply_init(&r);
		if (refuse) {
			assert_int_equal(smtp_reply_line(&r, "250-mx", 6), 0);
			assert_int_equal(smtp_reply_line(&r, "250 STARTTLS", 12), 1);
			assert_int_equal(smtp_client_reply(&c, &r), SMTPC_ACT_SEND);
			smtp_reply_init(&r);
			assert_int_equal(smtp_reply_line(&r, "454 not now", 11), 1);
		} else {
			assert_int_equal(smtp_reply_line(&r, "250 mx", 6), 1);
		}
		assert_int_equal(smtp_client_reply(&c, &r), SMTPC_ACT_SEND); /* QUIT, not MAIL */
		size_t n;
		const char *out = smtp_client_output(&c, &n);
		assert_true(n == 6 && memcmp(out, "QUIT\r\n", 6) == 0);
		assert_true(c.host_failed);
		assert_false(c.delivered);
		assert_int_equal(res.status, SMTP_RCPT_TEMP);
		smtp_client_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_unusable_only),
		cmocka_unit_test(test_insecure_and_absent),
		cmocka_unit_test(test_defer),
		cmocka_unit_test(test_client_requires_tls),
	};
	return cmocka_run_group_tests_name("relay_dane", tests, NULL, NULL);
}
