/* Unit tests for bridge-smtp/smtp_config: the YAML configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/smtp_config.h"

static int load(const char *yaml, struct smtp_config *cfg, char *err, size_t errlen)
{
	return smtp_config_parse(yaml, strlen(yaml), cfg, err, errlen);
}

static void test_example_parses(void **state)
{
	struct smtp_config cfg;
	char err[256];
	(void)state;
	assert_int_equal(load(smtp_config_example(), &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.hostname, "mx.example.org");
	assert_int_equal(cfg.n_local_domains, 1);
	assert_string_equal(cfg.local_domains[0], "example.org");
	assert_true(cfg.mx.enabled);
	assert_int_equal(cfg.mx.port, 25);
	assert_true(cfg.submission.enabled);
	assert_int_equal(cfg.submission.port, 587);
	assert_string_equal(cfg.tls_key, "/etc/scop/mail-key.pem");
	assert_string_equal(cfg.homeserver_url, "http://127.0.0.1:8008");
	assert_int_equal(cfg.limits.max_message_size, 26214400);
	assert_int_equal(cfg.idle_timeout_s, 300);
	smtp_config_free(&cfg);
}

static void test_minimal_and_defaults(void **state)
{
	struct smtp_config cfg;
	char err[256];
	(void)state;
	assert_int_equal(load("hostname: mx.test\nlocal_domains: [a.example, b.example]\n"
			      "listeners: {mx: {port: 2525}}\nspool_dir: /tmp/x\n"
			      "other_part: {anything: 1}\nlimits: {max_recipients: 7}\n",
			      &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.mx.address, "127.0.0.1");
	assert_false(cfg.submission.enabled);
	assert_null(cfg.tls_cert);
	assert_null(cfg.homeserver_url);
	assert_int_equal(cfg.n_local_domains, 2);
	assert_int_equal(cfg.limits.max_recipients, 7);
	assert_int_equal(cfg.limits.max_data_line, 1000);
	assert_int_equal(cfg.max_sessions, 1000);
	smtp_config_free(&cfg);
}

static void expect_error(const char *yaml, const char *needle)
{
	struct smtp_config cfg;
	char err[256] = "";
	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("local_domains: [a]\nlisteners: {mx: {port: 25}}\nspool_dir: /x\n", "hostname");
	expect_error("hostname: h\nlisteners: {mx: {port: 25}}\nspool_dir: /x\n", "local_domains");
	expect_error("hostname: h\nlocal_domains: []\nlisteners: {mx: {port: 25}}\nspool_dir: /x\n",
		     "local_domains");
	expect_error("hostname: h\nlocal_domains: [a]\nlisteners: {}\nspool_dir: /x\n", "no listener");
	expect_error("hostname: h\nlocal_domains: [a]\nlisteners: {mx: {port: 70000}}\nspool_dir: /x\n", "port");
	expect_error("hostname: h\nlocal_domains: [a]\nlisteners: {mx: {prot: 25}}\nspool_dir: /x\n", "prot");
	expect_error("hostname: h\nlocal_domains: [a]\nlisteners: {mx: {port: 25}}\n", "spool_dir");
	expect_error("hostname: h\nlocal_domains: [a]\nlisteners: {mx: {port: 25}}\nspool_dir: /x\n"
		     "limits: {max_recipients: 0}\n", "max_recipients");
	expect_error("hostname: h\nlocal_domains: [a]\nlisteners: {mx: {port: 25}}\nspool_dir: /x\n"
		     "limits: {max_recipient: 5}\n", "max_recipient");
	expect_error("hostname: h\nlocal_domains: [a]\nlisteners: {mx: {port: 25}}\nspool_dir: /x\n"
		     "tls: {cert: /c}\n", "key");
	expect_error("hostname: 'a b'\nlocal_domains: [a]\nlisteners: {mx: {port: 25}}\nspool_dir: /x\n",
		     "hostname");
	expect_error("- just\n- a list\n", "mapping");
	expect_error("key: [unclosed\n", "");
}

static void test_mail_auth(void **state)
{
	struct smtp_config cfg;
	char err[256];
	static const char base[] = "hostname: mx.test\nlocal_domains: [a.example]\n"
				   "listeners: {mx: {port: 2525}}\nspool_dir: /tmp/x\n";
	(void)state;
	/* Defaults: on, DMARC rejects, SPF does not, the system resolver. */
	assert_int_equal(load(base, &cfg, err, sizeof(err)), 0);
	assert_true(cfg.mail_auth.enabled);
	assert_true(cfg.mail_auth.dmarc_reject);
	assert_false(cfg.mail_auth.spf_reject);
	assert_null(cfg.mail_auth.dns_forwarder);
	assert_null(cfg.mail_auth.psl_path);
	assert_int_equal(cfg.mail_auth.dns_timeout_ms, 5000);
	smtp_config_free(&cfg);

	char yaml[1024];
	snprintf(yaml, sizeof(yaml),
		 "%smail_auth: {enabled: true, dmarc_reject: false, spf_reject: true, public_suffix_list: /p}\n"
		 "dns: {forwarder: 127.0.0.1@5353, trust_anchor_file: /ta, root_trust_anchor: true, "
		 "timeout_ms: 800}\n", base);
	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), 0);
	assert_false(cfg.mail_auth.dmarc_reject);
	assert_true(cfg.mail_auth.spf_reject);
	assert_string_equal(cfg.mail_auth.psl_path, "/p");
	assert_string_equal(cfg.mail_auth.dns_forwarder, "127.0.0.1@5353");
	assert_string_equal(cfg.mail_auth.dns_trust_anchor, "/ta");
	assert_true(cfg.mail_auth.dns_root_anchor);
	assert_int_equal(cfg.mail_auth.dns_timeout_ms, 800);
	smtp_config_free(&cfg);

	snprintf(yaml, sizeof(yaml), "%smail_auth: {enabled: false}\n", base);
	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), 0);
	assert_false(cfg.mail_auth.enabled);
	smtp_config_free(&cfg);

	snprintf(yaml, sizeof(yaml), "%smail_auth: {enable: true}\n", base);
	expect_error(yaml, "enable");
	snprintf(yaml, sizeof(yaml), "%smail_auth: {dmarc_reject: 1}\n", base);
	expect_error(yaml, "dmarc_reject");
	snprintf(yaml, sizeof(yaml), "%sdns: {timeout_ms: 5}\n", base);
	expect_error(yaml, "timeout_ms");
	snprintf(yaml, sizeof(yaml), "%sdns: [1]\n", base);
	expect_error(yaml, "dns");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_parses),
		cmocka_unit_test(test_minimal_and_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_mail_auth),
	};
	return cmocka_run_group_tests_name("smtp_config", tests, NULL, NULL);
}
