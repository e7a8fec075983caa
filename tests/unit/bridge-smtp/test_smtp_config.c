/* Unit tests for bridge-smtp/smtp_config: the YAML configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

#define BASE "hostname: mx.test\nlocal_domains: [example.org]\nlisteners: {mx: {port: 25}}\nspool_dir: /tmp/x\n"

static void test_client_limits_and_policy(void **state)
{
	struct smtp_config cfg;
	char err[256];
	(void)state;
	/* Defaults. */
	assert_int_equal(load(BASE, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.client_limits.max_conns, 10);
	assert_int_equal(cfg.client_limits.max_auth_failures, 5);
	assert_int_equal(cfg.client_limits.n_exempt, 0);
	assert_true(cfg.sender_policy.check_envelope);
	assert_true(cfg.sender_policy.check_header);
	assert_int_equal(cfg.sender_policy.n_local_domains, 1);
	smtp_config_free(&cfg);
	assert_int_equal(load(BASE "client_limits: {max_connections: 0, max_connection_rate: 7, connection_rate_window: 9,"
				   " max_auth_failures: 2, auth_failure_window: 30, auth_block_time: 45, table_size: 64,"
				   " exempt: [127.0.0.0/8, '::1']}\n"
				   "submission_policy:\n  sender_check: false\n  sender_addresses:\n"
				   "    '@alice:example.org': [alice.smith@example.org, '@lists.example']\n"
				   "    '@bob:example.org': []\n",
			      &cfg, err, sizeof(err)), 0);
	const struct smtp_ip_limits_config *c = &cfg.client_limits;
	assert_int_equal(c->max_conns, 0);
	assert_int_equal(c->max_conn_rate, 7);
	assert_int_equal(c->conn_rate_window_s, 9);
	assert_int_equal(c->max_auth_failures, 2);
	assert_int_equal(c->auth_window_s, 30);
	assert_int_equal(c->auth_block_s, 45);
	assert_int_equal(c->table_size, 64);
	assert_int_equal(c->n_exempt, 2);
	assert_int_equal(c->exempt[0].prefix, 104);
	assert_int_equal(c->exempt[1].prefix, 128);
	assert_false(cfg.sender_policy.check_envelope);
	assert_true(cfg.sender_policy.check_header);
	assert_int_equal(cfg.sender_policy.n_grants, 2);
	assert_true(smtp_sender_owns(&cfg.sender_policy, "@alice:example.org", "x@lists.example"));
	assert_true(smtp_sender_owns(&cfg.sender_policy, "@alice:example.org", "alice.smith@example.org"));
	assert_false(smtp_sender_owns(&cfg.sender_policy, "@bob:example.org", "x@lists.example"));
	smtp_config_free(&cfg);

	expect_error(BASE "client_limits: {max_conections: 3}\n", "unknown key 'max_conections'");
	expect_error(BASE "client_limits: {table_size: 2}\n", "table_size");
	expect_error(BASE "client_limits: {exempt: [10.0.0.0/33]}\n", "exempt entry 0");
	expect_error(BASE "client_limits: {exempt: 10.0.0.0/8}\n", "exempt must be a list");
	expect_error(BASE "client_limits: [1]\n", "'client_limits' must be a mapping");
	expect_error(BASE "submission_policy: {sender_check: yes please}\n", "'sender_check' must be true or false");
	expect_error(BASE "submission_policy: {sender_addresses: {'@a:b': [nodomain]}}\n", "'nodomain' is not an address");
	expect_error(BASE "submission_policy: {sender_addresses: {'@a:b': [x@y, 3]}}\n", "'?' is not an address");
	expect_error(BASE "submission_policy: {sender_addresses: {'@a:b': x@y}}\n", "maps a user ID");
	expect_error(BASE "submission_policy: {from_check: true}\n", "unknown key 'from_check'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_parses),
		cmocka_unit_test(test_minimal_and_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_client_limits_and_policy),
	};
	return cmocka_run_group_tests_name("smtp_config", tests, NULL, NULL);
}
