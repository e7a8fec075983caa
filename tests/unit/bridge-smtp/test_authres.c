/* Unit tests for Authentication-Results: parsing RFC 8601 examples and
 * odd-but-valid forms, rejecting broken ones, and writing fields that
 * parse back to what was written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/authres.h"
#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dmarc.h"

static void parse_ok(const char *v, struct authres *ar)
{
	if (authres_parse(v, strlen(v), ar) != 0)
		fail_msg("rejected: %s", v);
}

static void test_parse_examples(void **state)
{
	struct authres ar;
	(void)state;
	parse_ok("example.org 1; none", &ar);
	assert_string_equal(ar.authserv_id, "example.org");
	assert_int_equal(ar.version, 1);
	assert_int_equal(ar.count, 0);

	parse_ok(" example.com;\r\n\tspf=pass smtp.mailfrom=example.net", &ar);
	assert_int_equal(ar.count, 1);
	assert_string_equal(ar.results[0].method, "spf");
	assert_string_equal(ar.results[0].result, "pass");
	assert_string_equal(ar.results[0].props[0].ptype, "smtp");
	assert_string_equal(ar.results[0].props[0].property, "mailfrom");
	assert_string_equal(ar.results[0].props[0].value, "example.net");

	parse_ok("example.com;\r\n  auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
		 "  spf=pass smtp.mailfrom=example.net", &ar);
	assert_int_equal(ar.count, 2);
	assert_string_equal(ar.results[0].props[0].value, "sender@example.net");

	parse_ok("mail-router.example.net;\r\n dkim=pass (good signature) header.d=newyork.example.com\r\n"
		 "   header.b=oINEO8hg;\r\n dkim=fail (bad signature) header.d=newyork.example.com\r\n"
		 "   header.b=EToRSuvU", &ar);
	assert_int_equal(ar.count, 2);
	assert_string_equal(ar.results[1].result, "fail");
	assert_int_equal(ar.results[1].nprops, 2);
	assert_string_equal(ar.results[1].props[1].value, "EToRSuvU");

	/* Comments everywhere CFWS goes, method versions, quoted values, a reason. */
	parse_ok("(outer (nested) \\) comment) \"quoted id\" (c) ; DKIM / 1 (x) = Pass (y) "
		 "reason = \"bad \\\"sig\\\"\" (z) header . d (w) = example.com ; "
		 "spf=neutral smtp.mailfrom=\"odd local\"@example.com;", &ar);
	assert_string_equal(ar.authserv_id, "quoted id");
	assert_string_equal(ar.results[0].method, "dkim");
	assert_string_equal(ar.results[0].version, "1");
	assert_string_equal(ar.results[0].result, "pass");
	assert_string_equal(ar.results[0].reason, "bad \"sig\"");
	assert_string_equal(ar.results[0].props[0].value, "example.com");
	assert_string_equal(ar.results[1].props[0].value, "odd local@example.com");
	parse_ok("example.com; dmarc=pass policy.published-domain-policy=reject header.from=@example.com", &ar);
	assert_string_equal(ar.results[0].props[1].value, "@example.com");
}

static void test_parse_rejects(void **state)
{
	struct authres ar;
	static const char *bad[] = {
		"", "   ", "example.com", "example.com;", "example.com; none; spf=pass",
		"example.com; =pass", "example.com; dkim=", "example.com; dkim pass",
		"example.com; dkim=pass header.d", "example.com; dkim=pass header.d=",
		"example.com; dkim=pass header=x", "example.com; dkim=pass (unterminated",
		"example.com (unterminated; spf=pass", "\"unterminated; spf=pass",
		"example.com; dkim/=pass", "example.com; dkim=pass reason=", "example.com; dkim=pass reason=a reason=b",
		"example.com; dkim=pass header.d=a.com reason=late",
		"example.com x; spf=pass", "example.com; spf=pass\x01",
		"example.com; spf=pass ((((((((((((((((((((((((((((((((((deep))))))))))))))))))))))))))))))))))",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (authres_parse(bad[i], strlen(bad[i]), &ar) != -1)
			fail_msg("accepted %zu: %s", i, bad[i]);
	}
	/* Limits: results and properties. */
	char many[2048] = "example.com";
	for (int i = 0; i < AUTHRES_MAX_RESULTS + 1; i++)
		strcat(many, "; spf=pass");
	assert_int_equal(authres_parse(many, strlen(many), &ar), -1);
	strcpy(many, "example.com; dkim=pass");
	for (int i = 0; i < AUTHRES_MAX_PROPS + 1; i++)
		strcat(many, " header.d=x");
	assert_int_equal(authres_parse(many, strlen(many), &ar), -1);
}

static void test_write_and_parse_back(void **state)
{
	struct authres ar, back;
	struct buf b = BUF_INIT;
	struct dkim_result d;
	struct dmarc_outcome o;
	(void)state;
	memset(&ar, 0, sizeof(ar));
	memset(&d, 0, sizeof(d));
	memset(&o, 0, sizeof(o));
	snprintf(ar.authserv_id, sizeof(ar.authserv_id), "mx.scop.example");
	d.status = DKIM_PASS;
	d.algo = DKIM_ALGO_ED25519_SHA256;
	snprintf(d.domain, sizeof(d.domain), "example.com");
	snprintf(d.selector, sizeof(d.selector), "brisbane");
	snprintf(d.identity, sizeof(d.identity), "@example.com");
	snprintf(d.b_prefix, sizeof(d.b_prefix), "/gCrinpc");
	d.testing = 1;
	assert_int_equal(authres_add_dkim(&ar, &d), 0);
	d.status = DKIM_FAIL;
	d.testing = 0;
	d.algo = DKIM_ALGO_RSA_SHA256;
	snprintf(d.reason, sizeof(d.reason), "body hash mismatch");
	assert_int_equal(authres_add_dkim(&ar, &d), 0);
	assert_int_equal(authres_add(&ar, "spf", "pass", NULL), 0);
	assert_int_equal(authres_add_prop(&ar, "smtp", "mailfrom", "bounce+x=y@example.com"), 0);
	o.result = DMARC_RES_FAIL;
	o.have_record = 1;
	o.rec.p = DMARC_POLICY_REJECT;
	o.rec.sp = DMARC_POLICY_NONE;
	o.disposition = DMARC_POLICY_QUARANTINE;
	o.sampled_out = 1;
	snprintf(o.from_domain, sizeof(o.from_domain), "example.com");
	assert_int_equal(authres_add_dmarc(&ar, &o), 0);
	/* Hostile text stays inside its quotes. */
	assert_int_equal(authres_add(&ar, "x-test", "neutral", "evil\r\nInjected: yes; \"q\" \\"), 0);

	assert_int_equal(authres_write(&ar, &b), 0);
	assert_string_equal(b.data,
		"Authentication-Results: mx.scop.example;\r\n"
		"\tdkim=pass (key in test mode) header.d=example.com header.i=@example.com header.s=brisbane"
		" header.a=ed25519-sha256 header.b=/gCrinpc;\r\n"
		"\tdkim=fail reason=\"body hash mismatch\" header.d=example.com header.i=@example.com"
		" header.s=brisbane header.a=rsa-sha256 header.b=/gCrinpc;\r\n"
		"\tspf=pass smtp.mailfrom=bounce+x=y@example.com;\r\n"
		"\tdmarc=fail (p=reject sp=none dis=quarantine pct-sampled-out) header.from=example.com;\r\n"
		"\tx-test=neutral reason=\"evilInjected: yes; \\\"q\\\" \\\\\"\r\n");
	assert_null(strstr(b.data, "\nInjected"));

	/* Parse back: the same results. */
	const char *v = b.data + strlen("Authentication-Results:");
	assert_int_equal(authres_parse(v, strlen(v) - 2, &back), 0);
	assert_string_equal(back.authserv_id, "mx.scop.example");
	assert_int_equal(back.count, ar.count);
	for (size_t i = 0; i < ar.count; i++) {
		assert_string_equal(back.results[i].method, ar.results[i].method);
		assert_string_equal(back.results[i].result, ar.results[i].result);
		assert_int_equal(back.results[i].nprops, ar.results[i].nprops);
		for (size_t k = 0; k < ar.results[i].nprops; k++)
			assert_string_equal(back.results[i].props[k].value, ar.results[i].props[k].value);
	}
	assert_string_equal(back.results[4].reason, "evilInjected: yes; \"q\" \\");
	buf_free(&b);

	/* No results: the "none" form. */
	memset(&ar, 0, sizeof(ar));
	snprintf(ar.authserv_id, sizeof(ar.authserv_id), "mx.example");
	ar.version = 1;
	assert_int_equal(authres_write(&ar, &b), 0);
	assert_string_equal(b.data, "Authentication-Results: mx.example 1; none\r\n");
	buf_free(&b);
}

static void test_add_limits(void **state)
{
	struct authres ar;
	char big[400];
	(void)state;
	memset(&ar, 0, sizeof(ar));
	assert_int_equal(authres_add_prop(&ar, "smtp", "mailfrom", "x"), -1); /* no result yet */
	for (int i = 0; i < AUTHRES_MAX_RESULTS; i++)
		assert_int_equal(authres_add(&ar, "spf", "pass", NULL), 0);
	assert_int_equal(authres_add(&ar, "spf", "pass", NULL), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(authres_add_prop(&ar, "smtp", "mailfrom", big), -1);
}

static void test_claims(void **state)
{
	static const char *ours[] = {
		" mx.scop.example; dkim=pass header.d=evil.com",
		"(forged) MX.Scop.Example; junk that does not parse ((",
		"\"mx.scop.example\" 1; none",
	};
	static const char *theirs[] = {
		" mx.other.example; dkim=pass", "mx.scop.example.evil; none", "", "(unterminated",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		assert_true(authres_claims(ours[i], strlen(ours[i]), "mx.scop.example"));
	for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		assert_false(authres_claims(theirs[i], strlen(theirs[i]), "mx.scop.example"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_examples),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_write_and_parse_back),
		cmocka_unit_test(test_add_limits),
		cmocka_unit_test(test_claims),
	};
	return cmocka_run_group_tests_name("authres", tests, NULL, NULL);
}
