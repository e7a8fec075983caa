/* dns.h without a network: name checks, the RDATA parser (SRV too), the table
 * resolver, and libunbound resolver construction errors.  Real lookups
 * against a DNS server are in tests/e2e/test_dns.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/dns.h"

static void test_names(void **state)
{
	(void)state;
	char out[256];
	assert_int_equal(dns_name_normalize("Mail.Example.COM.", out, sizeof(out)), 0);
	assert_string_equal(out, "mail.example.com");
	assert_int_equal(dns_name_normalize("_spf.example.com", out, sizeof(out)), 0);
	assert_int_equal(dns_name_normalize("", out, sizeof(out)), -1);
	assert_int_equal(dns_name_normalize(".", out, sizeof(out)), -1);
	assert_int_equal(dns_name_normalize("a..b", out, sizeof(out)), -1);
	assert_int_equal(dns_name_normalize(".a", out, sizeof(out)), -1);
	char label[80];
	memset(label, 'x', 64);
	strcpy(label + 64, ".com");
	assert_int_equal(dns_name_normalize(label, out, sizeof(out)), -1); /* 64-octet label */
	assert_int_equal(dns_name_normalize(label + 1, out, sizeof(out)), 0); /* 63 */
	char longname[300];
	for (int i = 0; i < 300; i += 2) {
		longname[i] = 'a';
		longname[i + 1] = '.';
	}
	longname[253] = '\0'; /* 127 labels "a.a...a" of 253 octets */
	assert_int_equal(dns_name_normalize(longname, out, sizeof(out)), 0);
	longname[253] = 'a';
	longname[254] = '\0';
	assert_int_equal(dns_name_normalize(longname, out, sizeof(out)), -1);
	assert_string_equal(dns_status_name(DNS_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(dns_security_name(DNS_SEC_BOGUS), "bogus");
}

static void test_rdata(void **state)
{
	(void)state;
	struct dns_record rec;
	static const uint8_t txt[] = { 5, 'v', '=', 's', 'p', 'f', 3, '1', ' ', 'a', 0 };
	assert_int_equal(dns_rdata_parse(DNS_TXT, txt, sizeof(txt), &rec), 0);
	assert_int_equal(rec.len, 8); /* "v=spf" "1 a" "" joined */
	assert_string_equal(rec.text, "v=spf1 a");
	dns_record_clear(&rec);
	static const uint8_t txt_bad[] = { 9, 'a', 'b' };
	assert_int_equal(dns_rdata_parse(DNS_TXT, txt_bad, sizeof(txt_bad), &rec), -1);
	assert_null(rec.text);
	static const uint8_t mx[] = { 0, 10, 2, 'm', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0 };
	assert_int_equal(dns_rdata_parse(DNS_MX, mx, sizeof(mx), &rec), 0);
	assert_int_equal(rec.pref, 10);
	assert_string_equal(rec.text, "mx.example.com");
	dns_record_clear(&rec);
	static const uint8_t nullmx[] = { 0, 0, 0 };
	assert_int_equal(dns_rdata_parse(DNS_MX, nullmx, sizeof(nullmx), &rec), 0);
	assert_string_equal(rec.text, ".");
	dns_record_clear(&rec);
	static const uint8_t ptr_odd[] = { 3, 'a', '.', 0x01, 3, 'c', 'o', 'm', 0 };
	assert_int_equal(dns_rdata_parse(DNS_PTR, ptr_odd, sizeof(ptr_odd), &rec), 0);
	assert_string_equal(rec.text, "a\\046\\001.com");
	dns_record_clear(&rec);
	static const uint8_t compressed[] = { 0xc0, 0x0c };
	assert_int_equal(dns_rdata_parse(DNS_PTR, compressed, sizeof(compressed), &rec), -1);
	static const uint8_t trailing[] = { 1, 'a', 0, 'x' };
	assert_int_equal(dns_rdata_parse(DNS_PTR, trailing, sizeof(trailing), &rec), -1);
	static const uint8_t a[] = { 192, 0, 2, 1 };
	assert_int_equal(dns_rdata_parse(DNS_A, a, 4, &rec), 0);
	assert_memory_equal(rec.addr, a, 4);
	assert_int_equal(dns_rdata_parse(DNS_A, a, 3, &rec), -1);
	assert_int_equal(dns_rdata_parse(DNS_AAAA, a, 4, &rec), -1);
}

static void test_srv_rdata(void **state)
{
	(void)state;
	struct dns_record rec;
	static const uint8_t srv[] = { 0, 10, 0, 5, 0x21, 0x01, 3, 'F', 'e', 'd', 7, 'e', 'x', 'a', 'm', 'p',
				       'l', 'e', 0 };
	assert_int_equal(dns_rdata_parse(DNS_SRV, srv, sizeof(srv), &rec), 0);
	assert_int_equal(rec.priority, 10);
	assert_int_equal(rec.weight, 5);
	assert_int_equal(rec.port, 8449);
	assert_int_equal(rec.pref, 0);
	assert_string_equal(rec.text, "Fed.example"); /* case as served */
	assert_int_equal(rec.len, 11);
	dns_record_clear(&rec);
	static const uint8_t root[] = { 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(dns_rdata_parse(DNS_SRV, root, sizeof(root), &rec), 0);
	assert_string_equal(rec.text, "."); /* service not offered */
	dns_record_clear(&rec);
	static const uint8_t odd[] = { 0, 1, 0, 2, 0, 3, 2, 'a', ' ', 0 };
	assert_int_equal(dns_rdata_parse(DNS_SRV, odd, sizeof(odd), &rec), 0);
	assert_string_equal(rec.text, "a\\032");
	dns_record_clear(&rec);
	/* Malformed: compressed target, trailing byte, cut label, no target. */
	static const uint8_t ptr[] = { 0, 0, 0, 0, 0, 1, 0xc0, 12 };
	static const uint8_t trailing[] = { 0, 0, 0, 0, 0, 1, 1, 'a', 0, 9 };
	static const uint8_t cut[] = { 0, 0, 0, 0, 0, 1, 5, 'a' };
	assert_int_equal(dns_rdata_parse(DNS_SRV, ptr, sizeof(ptr), &rec), -1);
	assert_int_equal(dns_rdata_parse(DNS_SRV, trailing, sizeof(trailing), &rec), -1);
	assert_int_equal(rec.priority, 0); /* left empty */
	assert_null(rec.text);
	assert_int_equal(dns_rdata_parse(DNS_SRV, cut, sizeof(cut), &rec), -1);
	assert_int_equal(dns_rdata_parse(DNS_SRV, srv, 6, &rec), -1);
	assert_int_equal(dns_rdata_parse(DNS_SRV, srv, 0, &rec), -1);
}

static void test_tlsa_rdata(void **state)
{
	(void)state;
	struct dns_record rec;
	static const uint8_t tlsa[] = { 3, 1, 1, 0xde, 0xad, 0x00, 0xef };
	assert_int_equal(dns_rdata_parse(DNS_TLSA, tlsa, sizeof(tlsa), &rec), 0);
	assert_int_equal(rec.tlsa_usage, 3);
	assert_int_equal(rec.tlsa_selector, 1);
	assert_int_equal(rec.tlsa_mtype, 1);
	assert_int_equal(rec.len, 4);
	assert_memory_equal(rec.text, "\xde\xad\x00\xef", 4); /* binary, NUL inside */
	dns_record_clear(&rec);
	/* No association data, or nothing at all: malformed. */
	assert_int_equal(dns_rdata_parse(DNS_TLSA, tlsa, 3, &rec), -1);
	assert_null(rec.text);
	assert_int_equal(dns_rdata_parse(DNS_TLSA, tlsa, 0, &rec), -1);
}

static void test_static_tlsa(void **state)
{
	(void)state;
	struct dns_resolver *r = dns_static_new();
	assert_non_null(r);
	const char *name = "_25._tcp.mx.example.com";
	assert_int_equal(dns_static_add(r, name, DNS_TLSA, "3 1 1 00ff10Ab", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, name, DNS_TLSA, "2 0 0 c0", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, name, DNS_TLSA, "3 1 1 0", (size_t)-1), -1);   /* odd digits */
	assert_int_equal(dns_static_add(r, name, DNS_TLSA, "3 1 1 zz", (size_t)-1), -1);  /* not hex */
	assert_int_equal(dns_static_add(r, name, DNS_TLSA, "3 1 1", (size_t)-1), -1);     /* no data */
	assert_int_equal(dns_static_add(r, name, DNS_TLSA, "256 1 1 00", (size_t)-1), -1);
	assert_int_equal(dns_static_add(r, name, DNS_TLSA, "x 1 1 00", (size_t)-1), -1);
	assert_int_equal(dns_static_set_security(r, name, DNS_SEC_SECURE), 0);
	struct dns_result res;
	assert_int_equal(dns_lookup(r, "_25._TCP.mx.example.com.", DNS_TLSA, &res), 0);
	assert_int_equal(res.status, DNS_OK);
	assert_int_equal(res.security, DNS_SEC_SECURE);
	assert_int_equal(res.count, 2);
	assert_int_equal(res.records[0].tlsa_usage, 3);
	assert_int_equal(res.records[0].len, 4);
	assert_memory_equal(res.records[0].text, "\x00\xff\x10\xab", 4);
	assert_int_equal(res.records[1].tlsa_usage, 2);
	assert_int_equal(res.records[1].tlsa_selector, 0);
	assert_int_equal(res.records[1].tlsa_mtype, 0);
	assert_int_equal(res.records[1].len, 1);
	dns_result_free(&res);
	dns_resolver_free(r);
}

static void test_static_srv(void **state)
{
	(void)state;
	struct dns_resolver *r = dns_static_new();
	assert_non_null(r);
	const char *name = "_matrix-fed._tcp.example.com";
	assert_int_equal(dns_static_add(r, name, DNS_SRV, "20 5 9999 backup.example.com.", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, name, DNS_SRV, "10 1 8449 b.example.com", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, name, DNS_SRV, "10 9 8448 a.example.com", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, "_matrix._tcp.none.example", DNS_SRV, "0 0 0 .", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, name, DNS_SRV, "10 5 70000 x.example.com", (size_t)-1), -1);
	assert_int_equal(dns_static_add(r, name, DNS_SRV, "10 5 x.example.com", (size_t)-1), -1);
	assert_int_equal(dns_static_add(r, name, DNS_SRV, "-1 5 80 x.example.com", (size_t)-1), -1);
	assert_int_equal(dns_static_add(r, name, DNS_SRV, "", (size_t)-1), -1);

	struct dns_result res;
	assert_int_equal(dns_lookup(r, "_MATRIX-FED._tcp.example.com.", DNS_SRV, &res), 0);
	assert_int_equal(res.status, DNS_OK);
	assert_int_equal(res.count, 3);
	/* By priority; equal priorities keep the order they were served in. */
	assert_int_equal(res.records[0].priority, 10);
	assert_int_equal(res.records[0].weight, 1);
	assert_int_equal(res.records[0].port, 8449);
	assert_string_equal(res.records[0].text, "b.example.com");
	assert_string_equal(res.records[1].text, "a.example.com");
	assert_int_equal(res.records[1].weight, 9);
	assert_int_equal(res.records[2].priority, 20);
	assert_int_equal(res.records[2].port, 9999);
	assert_string_equal(res.records[2].text, "backup.example.com");
	dns_result_free(&res);
	assert_int_equal(dns_lookup_within(r, "_matrix._tcp.none.example", DNS_SRV, 1, &res), 0);
	assert_int_equal(res.count, 1);
	assert_string_equal(res.records[0].text, ".");
	dns_result_free(&res);
	assert_int_equal(dns_lookup(r, "_matrix._tcp.example.com", DNS_SRV, &res), 0);
	assert_int_equal(res.status, DNS_NXDOMAIN);
	assert_int_equal(dns_lookup(r, name, DNS_A, &res), 0);
	assert_int_equal(res.status, DNS_NODATA);
	dns_resolver_free(r);
}

static void test_static(void **state)
{
	(void)state;
	struct dns_resolver *r = dns_static_new();
	assert_non_null(r);
	assert_int_equal(dns_static_add(r, "Example.com.", DNS_MX, "20 b.example.com.", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, "example.com", DNS_MX, "10 a.example.com", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, "example.com", DNS_A, "192.0.2.1", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, "example.com", DNS_AAAA, "2001:db8::1", (size_t)-1), 0);
	assert_int_equal(dns_static_add(r, "example.com", DNS_TXT, "nul\0inside", 10), 0);
	assert_int_equal(dns_static_add(r, "example.com", DNS_A, "not-an-ip", (size_t)-1), -1);
	assert_int_equal(dns_static_add(r, "bad..name", DNS_A, "192.0.2.1", (size_t)-1), -1);
	assert_int_equal(dns_static_add_name(r, "empty.example.com"), 0);
	assert_int_equal(dns_static_set_status(r, "slow.example.com", DNS_TEMPFAIL), 0);
	assert_int_equal(dns_static_set_security(r, "example.com", DNS_SEC_SECURE), 0);

	struct dns_result res;
	assert_int_equal(dns_lookup(r, "EXAMPLE.COM", DNS_MX, &res), 0);
	assert_int_equal(res.status, DNS_OK);
	assert_int_equal(res.security, DNS_SEC_SECURE);
	assert_int_equal(res.count, 2);
	assert_int_equal(res.records[0].pref, 10); /* sorted by preference */
	assert_string_equal(res.records[0].text, "a.example.com");
	assert_string_equal(res.records[1].text, "b.example.com");
	dns_result_free(&res);
	assert_int_equal(dns_lookup(r, "example.com", DNS_TXT, &res), 0);
	assert_int_equal(res.records[0].len, 10);
	assert_memory_equal(res.records[0].text, "nul\0inside", 10);
	dns_result_free(&res);
	assert_int_equal(dns_lookup(r, "example.com", DNS_PTR, &res), 0);
	assert_int_equal(res.status, DNS_NODATA);
	dns_result_free(&res);
	assert_int_equal(dns_lookup(r, "empty.example.com", DNS_A, &res), 0);
	assert_int_equal(res.status, DNS_NODATA);
	assert_int_equal(dns_lookup(r, "nope.example.com", DNS_A, &res), 0);
	assert_int_equal(res.status, DNS_NXDOMAIN);
	assert_int_equal(dns_lookup(r, "slow.example.com", DNS_TXT, &res), 0);
	assert_int_equal(res.status, DNS_TEMPFAIL);
	assert_int_equal(dns_lookup(r, "a..b", DNS_TXT, &res), 0);
	assert_int_equal(res.status, DNS_PERMFAIL);
	assert_int_equal(dns_lookup(r, NULL, DNS_TXT, &res), -1);
	assert_int_equal(dns_lookup(r, "example.com", (enum dns_type)99, &res), -1);
	assert_int_equal(dns_static_queries(r), 6); /* invalid ones never reach it */
	dns_resolver_free(r);
	dns_result_free(NULL);
}

static void test_unbound_options(void **state)
{
	(void)state;
	char err[256];
	struct dns_resolver_options opt = { .forwarder = "not an address" };
	assert_null(dns_unbound_new(&opt, err, sizeof(err)));
	assert_true(strstr(err, "forwarder") != NULL);
	/* A valid forwarder: creation needs no network. */
	opt.forwarder = "127.0.0.1@1";
	struct dns_resolver *r = dns_unbound_new(&opt, err, sizeof(err));
	assert_non_null(r);
	struct dns_result res;
	assert_int_equal(dns_lookup(r, "bad..name", DNS_A, &res), 0);
	assert_int_equal(res.status, DNS_PERMFAIL);
	dns_resolver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rdata),
		cmocka_unit_test(test_srv_rdata),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_static_srv),
		cmocka_unit_test(test_tlsa_rdata),
		cmocka_unit_test(test_static_tlsa),
		cmocka_unit_test(test_unbound_options),
	};
	return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
