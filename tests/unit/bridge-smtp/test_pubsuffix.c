/* Unit tests for the public suffix list: rule kinds (normal, wildcard,
 * exception), IDN rules as punycode, organizational domains against
 * Debian's list, and bad names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bridge-smtp/pubsuffix.h"

static const char small_list[] =
	"// comment line\n"
	"com\n"
	"uk\n"
	"co.uk\n"
	"ck\n"
	"*.ck\n"
	"!www.ck\n"
	"jp\n"
	"kobe.jp\n"
	"*.kobe.jp\n"
	"!city.kobe.jp\n"
	"\xe9\xa3\x9f\xe7\x8b\xae.com.cn   trailing words are ignored\n"
	"com.cn\n"
	"cn\n"
	"\n"
	"// ===BEGIN PRIVATE DOMAINS===\n"
	"uk.com\n";

static void org(const struct psl *p, const char *name, const char *want)
{
	char out[256];
	if (psl_org_domain(p, name, out, sizeof(out)) != 0)
		fail_msg("no org domain for %s", name);
	if (strcmp(out, want) != 0)
		fail_msg("org(%s) = %s, want %s", name, out, want);
}

static void test_rules(void **state)
{
	char err[128];
	struct psl *p = psl_load_buffer(small_list, sizeof(small_list) - 1, err, sizeof(err));
	(void)state;
	assert_non_null(p);
	assert_int_equal(psl_rule_count(p), 12); /* distinct names: "ck" and "*.ck" share one */
	org(p, "example.com", "example.com");
	org(p, "a.b.Example.COM.", "example.com");
	org(p, "com", "com");
	org(p, "foo.bar.example.co.uk", "example.co.uk");
	org(p, "b.example.uk.com", "example.uk.com");
	org(p, "x.test.ck", "x.test.ck");      /* *.ck: test.ck is a suffix */
	org(p, "www.ck", "www.ck");            /* !www.ck: its suffix is ck */
	org(p, "a.www.ck", "www.ck");
	org(p, "b.c.kobe.jp", "b.c.kobe.jp");
	org(p, "a.b.c.kobe.jp", "b.c.kobe.jp");
	org(p, "www.city.kobe.jp", "city.kobe.jp");
	org(p, "shishi.xn--85x722f.com.cn", "shishi.xn--85x722f.com.cn");
	org(p, "a.shishi.com.cn", "shishi.com.cn");
	/* U-labels in the name: converted before the lookup. */
	org(p, "shishi.\xe9\xa3\x9f\xe7\x8b\xae.com.cn", "shishi.xn--85x722f.com.cn");
	org(p, "www.B\xc3\xbc" "cher.com", "xn--bcher-kva.com");
	org(p, "example.unlisted", "example.unlisted"); /* the implicit "*" rule */
	assert_int_equal(psl_suffix_labels(p, "a.b.example.co.uk"), 2);
	assert_int_equal(psl_suffix_labels(p, "x.test.ck"), 2);
	psl_free(p);
}

static void test_bad_names(void **state)
{
	struct psl *p = psl_load_buffer("com\n", 4, NULL, 0);
	char out[256], small[4];
	(void)state;
	assert_int_equal(psl_org_domain(p, "", out, sizeof(out)), -1);
	assert_int_equal(psl_org_domain(p, ".", out, sizeof(out)), -1);
	assert_int_equal(psl_org_domain(p, "a..com", out, sizeof(out)), -1);
	assert_int_equal(psl_org_domain(p, ".a.com", out, sizeof(out)), -1);
	assert_int_equal(psl_org_domain(p, "a b.com", out, sizeof(out)), -1);
	assert_int_equal(psl_org_domain(p, "example.com", small, sizeof(small)), -1);
	char longlabel[80];
	memset(longlabel, 'a', 70);
	strcpy(longlabel + 70, ".com");
	assert_int_equal(psl_org_domain(p, longlabel, out, sizeof(out)), -1);
	psl_free(p);
	assert_null(psl_load("/nonexistent/psl.dat", out, sizeof(out)));
	assert_non_null(strstr(out, "cannot open"));
}

static void test_punycode(void **state)
{
	char out[64];
	(void)state;
	/* RFC 3492 / well-known labels. */
	assert_int_equal(psl_label_to_ascii("b\xc3\xbc" "cher", 7, out, sizeof(out)), 0);
	assert_string_equal(out, "xn--bcher-kva");
	assert_int_equal(psl_label_to_ascii("\xe4\xb8\xad\xe5\x9b\xbd", 6, out, sizeof(out)), 0);
	assert_string_equal(out, "xn--fiqs8s");
	assert_int_equal(psl_label_to_ascii("MiXed", 5, out, sizeof(out)), 0);
	assert_string_equal(out, "mixed");
	assert_int_equal(psl_label_to_ascii("\xff", 1, out, sizeof(out)), -1);
	assert_int_equal(psl_label_to_ascii("\xe4\xb8", 2, out, sizeof(out)), -1);
	assert_int_equal(psl_label_to_ascii("b\xc3\xbc" "cher", 7, out, 8), -1);
}

static void test_debian_list(void **state)
{
	char err[256];
	struct psl *p;
	(void)state;
	if (access(PSL_DEFAULT_PATH, R_OK) != 0)
		fail_msg("%s missing: install Debian's publicsuffix package", PSL_DEFAULT_PATH);
	p = psl_load(NULL, err, sizeof(err));
	assert_non_null(p);
	assert_true(psl_rule_count(p) > 5000);
	org(p, "mail.example.com", "example.com");
	org(p, "a.b.bbc.co.uk", "bbc.co.uk");
	org(p, "user.github.io", "user.github.io");         /* private section */
	org(p, "x.user.github.io", "user.github.io");
	org(p, "www.city.kobe.jp", "city.kobe.jp");
	org(p, "mail.example.xn--fiqs8s", "example.xn--fiqs8s"); /* 中国 */
	psl_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_punycode),
		cmocka_unit_test(test_debian_list),
	};
	return cmocka_run_group_tests_name("pubsuffix", tests, NULL, NULL);
}
