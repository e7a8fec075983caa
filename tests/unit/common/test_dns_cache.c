/* Unit tests for dns_cache: what is kept and for how long, copies that
 * do not share memory with the cache, the bound on entries, and threads
 * getting and putting at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/dns.h"
#include "common/dns_cache.h"

/* An answer with n TXT records "v=spf1 -all #i" (the first with a NUL
 * inside, as TXT data may have). */
static void txt_answer(struct dns_result *r, size_t n, uint32_t ttl)
{
	memset(r, 0, sizeof(*r));
	r->status = n ? DNS_OK : DNS_NODATA;
	r->ttl = ttl;
	r->security = DNS_SEC_SECURE;
	r->records = n ? calloc(n, sizeof(*r->records)) : NULL;
	for (size_t i = 0; i < n; i++) {
		char s[64];
		int len = snprintf(s, sizeof(s), "v=spf1 -all #%zu", i);
		if (i == 0)
			s[3] = '\0';
		r->records[i].text = malloc((size_t)len + 1);
		assert_non_null(r->records[i].text);
		memcpy(r->records[i].text, s, (size_t)len + 1);
		r->records[i].len = (size_t)len;
		r->count++;
	}
}

static void test_kept_for_ttl(void **state)
{
	struct dns_cache *c = dns_cache_new(16, 0);
	struct dns_result a, got;
	(void)state;

	txt_answer(&a, 3, 300);
	dns_cache_put(c, "example.com", DNS_TXT, 1000, &a);
	assert_int_equal(dns_cache_get(c, "example.com", DNS_TXT, 1000, &got), 1);
	assert_int_equal(got.status, DNS_OK);
	assert_int_equal(got.security, DNS_SEC_SECURE);
	assert_int_equal(got.count, 3);
	assert_int_equal(got.ttl, 300);
	assert_int_equal(got.records[0].len, a.records[0].len);
	assert_memory_equal(got.records[0].text, a.records[0].text, a.records[0].len + 1);
	assert_ptr_not_equal(got.records[0].text, a.records[0].text);
	dns_result_free(&got);
	/* Other type, other name: not there. */
	assert_int_equal(dns_cache_get(c, "example.com", DNS_MX, 1000, &got), 0);
	assert_int_equal(dns_cache_get(c, "example.org", DNS_TXT, 1000, &got), 0);
	/* What is left of the TTL, then gone. */
	assert_int_equal(dns_cache_get(c, "example.com", DNS_TXT, 1299, &got), 1);
	assert_int_equal(got.ttl, 1);
	dns_result_free(&got);
	assert_int_equal(dns_cache_get(c, "example.com", DNS_TXT, 1300, &got), 0);
	assert_int_equal(dns_cache_count(c), 0);
	/* The caller's answer is its own. */
	dns_result_free(&a);
	dns_cache_free(c);
}

static void test_what_is_not_kept(void **state)
{
	struct dns_cache *c = dns_cache_new(16, 60);
	struct dns_result a, got;
	(void)state;

	txt_answer(&a, 1, 0); /* TTL 0 */
	dns_cache_put(c, "zero.example", DNS_TXT, 0, &a);
	a.ttl = 300;
	a.status = DNS_TEMPFAIL;
	dns_cache_put(c, "tempfail.example", DNS_TXT, 0, &a);
	a.status = DNS_PERMFAIL;
	dns_cache_put(c, "permfail.example", DNS_TXT, 0, &a);
	a.status = DNS_OK;
	a.security = DNS_SEC_BOGUS;
	dns_cache_put(c, "bogus.example", DNS_TXT, 0, &a);
	assert_int_equal(dns_cache_count(c), 0);
	/* Negative answers are kept, and the cap on TTL holds. */
	a.security = DNS_SEC_INSECURE;
	a.status = DNS_NXDOMAIN;
	a.ttl = 100000;
	dns_cache_put(c, "nx.example", DNS_A, 0, &a);
	assert_int_equal(dns_cache_get(c, "nx.example", DNS_A, 59, &got), 1);
	assert_int_equal(got.status, DNS_NXDOMAIN);
	assert_int_equal(got.ttl, 1);
	dns_result_free(&got);
	assert_int_equal(dns_cache_get(c, "nx.example", DNS_A, 60, &got), 0);
	dns_result_free(&a);
	dns_cache_free(c);
}

static void test_replace_and_evict(void **state)
{
	struct dns_cache *c = dns_cache_new(8, 0);
	struct dns_result a, b, got;
	char name[32];
	(void)state;

	txt_answer(&a, 1, 300);
	txt_answer(&b, 2, 300);
	dns_cache_put(c, "x.example", DNS_TXT, 0, &a);
	dns_cache_put(c, "x.example", DNS_TXT, 0, &b);
	assert_int_equal(dns_cache_count(c), 1);
	assert_int_equal(dns_cache_get(c, "x.example", DNS_TXT, 0, &got), 1);
	assert_int_equal(got.count, 2);
	dns_result_free(&got);
	/* 100 more names into 8 places: never more than 8; x.example, used
	 * just now, goes once 8 newer ones came. */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		dns_cache_put(c, name, DNS_TXT, 0, &a);
		assert_true(dns_cache_count(c) <= 8);
		if (i == 5) {
			assert_int_equal(dns_cache_get(c, "x.example", DNS_TXT, 0, &got), 1);
			dns_result_free(&got);
		}
	}
	assert_int_equal(dns_cache_count(c), 8);
	assert_int_equal(dns_cache_get(c, "x.example", DNS_TXT, 0, &got), 0);
	assert_int_equal(dns_cache_get(c, "n99.example", DNS_TXT, 0, &got), 1);
	dns_result_free(&got);
	assert_int_equal(dns_cache_get(c, "n91.example", DNS_TXT, 0, &got), 0);
	dns_result_free(&a);
	dns_result_free(&b);
	dns_cache_free(c);
}

struct worker {
	struct dns_cache *c;
	int id, bad;
};

static void *hammer(void *p)
{
	struct worker *w = p;
	struct dns_result a, got;
	char name[32];

	txt_answer(&a, (size_t)(w->id % 3) + 1, 300);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "h%d.example", (i * 7 + w->id) % 50);
		if (i % 3 == 0)
			dns_cache_put(w->c, name, DNS_TXT, i / 100, &a);
		int rc = dns_cache_get(w->c, name, DNS_TXT, i / 100, &got);
		if (rc < 0 || (rc == 1 && (got.count < 1 || got.count > 3 || got.records[0].len == 0)))
			w->bad++;
		dns_result_free(&got);
	}
	dns_result_free(&a);
	return NULL;
}

static void test_threads(void **state)
{
	struct dns_cache *c = dns_cache_new(32, 0);
	struct worker w[4];
	pthread_t th[4];
	(void)state;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ c, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	assert_true(dns_cache_count(c) <= 32);
	dns_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_for_ttl),
		cmocka_unit_test(test_what_is_not_kept),
		cmocka_unit_test(test_replace_and_evict),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
