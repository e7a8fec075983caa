/* Unit tests for DMARC: record parsing, organizational domains via the
 * PSL, strict and relaxed alignment, p/sp/pct, the policy outcome table,
 * and record discovery over the table-backed resolver of dns.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/dmarc.h"
#include "common/dns.h"

static const char psl_text[] = "com\nnet\nuk\nco.uk\n";

static int setup(void **state)
{
	*state = psl_load_buffer(psl_text, sizeof(psl_text) - 1, NULL, 0);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	psl_free(*state);
	return 0;
}

static void parse_ok(const char *txt, struct dmarc_record *r)
{
	char err[128];
	if (dmarc_record_parse(txt, strlen(txt), r, err, sizeof(err)) != 0)
		fail_msg("rejected %s: %s", txt, err);
}

static void test_record_parse(void **state)
{
	struct dmarc_record r;
	char err[128];
	(void)state;
	parse_ok("v=DMARC1; p=reject", &r);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_REJECT); /* sp defaults to p */
	assert_int_equal(r.pct, 100);
	assert_int_equal(r.adkim, DMARC_ALIGN_RELAXED);
	assert_int_equal(r.aspf, DMARC_ALIGN_RELAXED);

	parse_ok("v=DMARC1;p=Quarantine; sp=none; adkim=s; aspf=s; pct=25; rua=mailto:d@example.com; ri=3600; fo=1",
		 &r);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.sp, DMARC_POLICY_NONE);
	assert_true(r.has_sp);
	assert_int_equal(r.adkim, DMARC_ALIGN_STRICT);
	assert_int_equal(r.aspf, DMARC_ALIGN_STRICT);
	assert_int_equal(r.pct, 25);
	assert_int_equal(r.ri, 3600);
	assert_string_equal(r.rua, "mailto:d@example.com");
	assert_string_equal(r.fo, "1");

	/* Bad optional values fall back to defaults; unknown tags are ignored. */
	parse_ok("v=DMARC1; p=none; pct=250; adkim=x; future=yes", &r);
	assert_int_equal(r.pct, 100);
	assert_int_equal(r.adkim, DMARC_ALIGN_RELAXED);
	/* No usable p= but a rua=: p=none (RFC 7489 6.6.3). */
	parse_ok("v=DMARC1; p=bogus; rua=mailto:x@example.com", &r);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	assert_true(r.p_defaulted);
	parse_ok("v=DMARC1; rua=mailto:x@example.com", &r);
	assert_true(r.p_defaulted);

	static const char *bad[] = {
		"", "p=reject", "v=DMARC2; p=reject", "v=dmarc1; p=reject", "p=reject; v=DMARC1",
		"v=DMARC1", "v=DMARC1; p=bogus", "v=DMARC1; p=reject; sp=bogus", "v=DMARC1; p=reject; p=none",
		"v=DMARC1;; p=reject", "v=DMARC1; rua=nouri",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dmarc_record_parse(bad[i], strlen(bad[i]), &r, err, sizeof(err)) != -1)
			fail_msg("accepted %s", bad[i]);
	}
}

static void test_alignment(void **state)
{
	const struct psl *p = *state;
	assert_true(dmarc_aligned(p, "example.com", "EXAMPLE.com.", DMARC_ALIGN_STRICT));
	assert_false(dmarc_aligned(p, "mail.example.com", "example.com", DMARC_ALIGN_STRICT));
	assert_true(dmarc_aligned(p, "mail.example.com", "example.com", DMARC_ALIGN_RELAXED));
	assert_true(dmarc_aligned(p, "a.example.com", "b.example.com", DMARC_ALIGN_RELAXED));
	assert_false(dmarc_aligned(p, "example.com", "example.net", DMARC_ALIGN_RELAXED));
	assert_true(dmarc_aligned(p, "x.bbc.co.uk", "bbc.co.uk", DMARC_ALIGN_RELAXED));
	/* Two registrations under one public suffix are not aligned. */
	assert_false(dmarc_aligned(p, "bbc.co.uk", "itv.co.uk", DMARC_ALIGN_RELAXED));
	assert_false(dmarc_aligned(p, "co.uk", "bbc.co.uk", DMARC_ALIGN_RELAXED));
	assert_false(dmarc_aligned(p, "", "example.com", DMARC_ALIGN_RELAXED));
	assert_false(dmarc_aligned(p, NULL, "example.com", DMARC_ALIGN_RELAXED));
}

static struct dkim_result dk(const char *domain, enum dkim_status st)
{
	struct dkim_result r;
	memset(&r, 0, sizeof(r));
	r.status = st;
	snprintf(r.domain, sizeof(r.domain), "%s", domain);
	return r;
}

/* The outcome table: each row is a record, the authentication results,
 * and what DMARC must say. */
static void test_outcome_table(void **state)
{
	const struct psl *p = *state;
	static const struct row {
		const char *record, *record_domain, *from;
		const char *spf_domain;
		int spf_pass;
		const char *dkim_domain;
		enum dkim_status dkim_status;
		unsigned sample;
		enum dmarc_result result;
		enum dmarc_policy policy, disposition;
		int sampled_out;
	} rows[] = {
		/* aligned SPF passes */
		{ "v=DMARC1; p=reject", "example.com", "example.com", "bounce.example.com", 1, NULL, DKIM_NONE, 0,
		  DMARC_RES_PASS, DMARC_POLICY_REJECT, DMARC_POLICY_NONE, 0 },
		/* ...but not under aspf=s */
		{ "v=DMARC1; p=reject; aspf=s", "example.com", "example.com", "bounce.example.com", 1, NULL, DKIM_NONE, 0,
		  DMARC_RES_FAIL, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, 0 },
		/* SPF pass for another domain does not count */
		{ "v=DMARC1; p=quarantine", "example.com", "example.com", "example.net", 1, NULL, DKIM_NONE, 0,
		  DMARC_RES_FAIL, DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, 0 },
		/* aligned DKIM passes, relaxed */
		{ "v=DMARC1; p=reject", "example.com", "example.com", "example.net", 0, "mail.example.com", DKIM_PASS, 0,
		  DMARC_RES_PASS, DMARC_POLICY_REJECT, DMARC_POLICY_NONE, 0 },
		/* ...not under adkim=s */
		{ "v=DMARC1; p=reject; adkim=s", "example.com", "example.com", NULL, 0, "mail.example.com", DKIM_PASS, 0,
		  DMARC_RES_FAIL, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, 0 },
		/* a failing aligned signature does not pass */
		{ "v=DMARC1; p=reject", "example.com", "example.com", NULL, 0, "example.com", DKIM_FAIL, 0,
		  DMARC_RES_FAIL, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, 0 },
		/* p=none: fail, nothing to do */
		{ "v=DMARC1; p=none", "example.com", "example.com", NULL, 0, NULL, DKIM_NONE, 0,
		  DMARC_RES_FAIL, DMARC_POLICY_NONE, DMARC_POLICY_NONE, 0 },
		/* subdomain of the record's domain: sp applies */
		{ "v=DMARC1; p=reject; sp=quarantine", "example.com", "news.example.com", NULL, 0, NULL, DKIM_NONE, 0,
		  DMARC_RES_FAIL, DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, 0 },
		/* no sp: p applies to subdomains too */
		{ "v=DMARC1; p=reject", "example.com", "news.example.com", NULL, 0, NULL, DKIM_NONE, 0,
		  DMARC_RES_FAIL, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, 0 },
		/* pct: sampled in (sample < pct) */
		{ "v=DMARC1; p=reject; pct=30", "example.com", "example.com", NULL, 0, NULL, DKIM_NONE, 29,
		  DMARC_RES_FAIL, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, 0 },
		/* pct: sampled out, reject softens to quarantine */
		{ "v=DMARC1; p=reject; pct=30", "example.com", "example.com", NULL, 0, NULL, DKIM_NONE, 30,
		  DMARC_RES_FAIL, DMARC_POLICY_REJECT, DMARC_POLICY_QUARANTINE, 1 },
		/* ...and quarantine to none */
		{ "v=DMARC1; p=quarantine; pct=0", "example.com", "example.com", NULL, 0, NULL, DKIM_NONE, 0,
		  DMARC_RES_FAIL, DMARC_POLICY_QUARANTINE, DMARC_POLICY_NONE, 1 },
		/* pct does not touch a pass */
		{ "v=DMARC1; p=reject; pct=0", "example.com", "example.com", "example.com", 1, NULL, DKIM_NONE, 99,
		  DMARC_RES_PASS, DMARC_POLICY_REJECT, DMARC_POLICY_NONE, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct dmarc_record rec;
		struct dmarc_outcome o;
		struct dkim_result d = dk(w->dkim_domain ? w->dkim_domain : "", w->dkim_status);
		struct dmarc_input in = { .from_domain = w->from, .spf_domain = w->spf_domain, .spf_pass = w->spf_pass,
					  .dkim = &d, .ndkim = w->dkim_domain ? 1 : 0, .sample = w->sample };
		parse_ok(w->record, &rec);
		memset(&o, 0x55, sizeof(o)); /* dmarc_evaluate must not trust what is there */
		assert_int_equal(dmarc_evaluate(p, &rec, w->record_domain, &in, &o), 0);
		if (o.result != w->result || o.policy != w->policy || o.disposition != w->disposition ||
		    o.sampled_out != w->sampled_out)
			fail_msg("row %zu: result %d policy %d disposition %d sampled_out %d", i, o.result, o.policy,
				 o.disposition, o.sampled_out);
		assert_string_equal(o.org_domain, "example.com");
	}
}

static void test_discovery(void **state)
{
	const struct psl *p = *state;
	struct dns_resolver *dns = dns_static_new();
	struct dkim_result d = dk("example.com", DKIM_PASS);
	struct dmarc_input in = { .from_domain = "example.com", .dkim = &d, .ndkim = 1 };
	struct dmarc_outcome o;
	assert_non_null(dns);
	assert_int_equal(dns_static_add(dns, "_dmarc.example.com", DNS_TXT, "v=DMARC1; p=reject; sp=none", (size_t)-1), 0);
	/* Not DMARC records: ignored. */
	assert_int_equal(dns_static_add(dns, "_dmarc.example.com", DNS_TXT, "v=spf1 -all", (size_t)-1), 0);
	assert_int_equal(dns_static_add(dns, "_dmarc.example.com", DNS_TXT, "v=DMARC10; p=none", (size_t)-1), 0);
	assert_int_equal(dns_static_add(dns, "_dmarc.two.example.net", DNS_TXT, "v=DMARC1; p=reject", (size_t)-1), 0);
	assert_int_equal(dns_static_add(dns, "_dmarc.two.example.net", DNS_TXT, "v=DMARC1; p=none", (size_t)-1), 0);
	assert_int_equal(dns_static_add(dns, "_dmarc.example.net", DNS_TXT, "v=DMARC1; p=quarantine", (size_t)-1), 0);
	assert_int_equal(dns_static_add(dns, "_dmarc.spf.example.net", DNS_TXT, "v=spf1 -all", (size_t)-1), 0);
	assert_int_equal(dns_static_add(dns, "_dmarc.broken.example.net", DNS_TXT, "v=DMARC1; p=maybe", (size_t)-1), 0);
	assert_int_equal(dns_static_set_status(dns, "_dmarc.slow.com", DNS_TEMPFAIL), 0);

	/* At the From domain itself. */
	assert_int_equal(dmarc_check(dns, p, &in, &o), 0);
	assert_int_equal(o.result, DMARC_RES_PASS);
	assert_string_equal(o.record_domain, "example.com");
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	assert_true(o.dkim_aligned);
	assert_string_equal(o.dkim_domain, "example.com");

	/* A subdomain with no record of its own: the org domain's, with sp. */
	in.from_domain = "Mail.Example.COM";
	d.status = DKIM_FAIL;
	assert_int_equal(dmarc_check(dns, p, &in, &o), 0);
	assert_int_equal(o.result, DMARC_RES_FAIL);
	assert_string_equal(o.record_domain, "example.com");
	assert_string_equal(o.from_domain, "mail.example.com");
	assert_int_equal(o.policy, DMARC_POLICY_NONE);

	/* Two DMARC records at one name: no DMARC at all (RFC 7489 6.6.3
	 * step 5), not a fall-back to the organizational domain... */
	in.from_domain = "two.example.net";
	assert_int_equal(dmarc_check(dns, p, &in, &o), 0);
	assert_int_equal(o.result, DMARC_RES_NONE);
	assert_false(o.have_record);
	/* ...while a name with only non-DMARC TXT records does fall back. */
	in.from_domain = "spf.example.net";
	assert_int_equal(dmarc_check(dns, p, &in, &o), 0);
	assert_string_equal(o.record_domain, "example.net");
	assert_int_equal(o.disposition, DMARC_POLICY_QUARANTINE);
	/* One DMARC1 record without a usable p= (or rua=): no DMARC either. */
	in.from_domain = "broken.example.net";
	assert_int_equal(dmarc_check(dns, p, &in, &o), 0);
	assert_int_equal(o.result, DMARC_RES_NONE);

	/* No record anywhere. */
	in.from_domain = "nodmarc.org";
	assert_int_equal(dmarc_check(dns, p, &in, &o), 0);
	assert_int_equal(o.result, DMARC_RES_NONE);
	assert_false(o.have_record);

	/* DNS trouble. */
	in.from_domain = "slow.com";
	assert_int_equal(dmarc_check(dns, p, &in, &o), 0);
	assert_int_equal(o.result, DMARC_RES_TEMPERROR);

	/* Unusable From domains. */
	in.from_domain = "localhost";
	assert_int_equal(dmarc_check(dns, p, &in, &o), 0);
	assert_int_equal(o.result, DMARC_RES_PERMERROR);
	in.from_domain = "a..b.com";
	assert_int_equal(dmarc_check(dns, p, &in, &o), 0);
	assert_int_equal(o.result, DMARC_RES_PERMERROR);
	dns_resolver_free(dns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_outcome_table),
		cmocka_unit_test(test_discovery),
	};
	return cmocka_run_group_tests_name("dmarc", tests, setup, teardown);
}
