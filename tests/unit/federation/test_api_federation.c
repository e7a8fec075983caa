/* api_federation: the federation options of scopd's config, and the URI
 * a request is checked against. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/yamljson.h"
#include "federation/api_federation.h"
#include "federation/keyring.h"

static int parse(const char *yaml, struct fed_options *o, char *err, size_t errlen)
{
	json_t *root = yaml_load_string(yaml, strlen(yaml), err, errlen);
	assert_non_null(root);
	int rc = fed_options_parse(root, o, err, errlen);
	json_decref(root);
	return rc;
}

static void test_options_full(void **state)
{
	struct fed_options o;
	char err[256] = "";
	(void)state;
	assert_int_equal(parse("server_name: a.test\n"
			       "trusted_key_servers:\n"
			       "  - server_name: notary.test\n"
			       "    verify_keys: {'ed25519:n1': 'Noi6WqcDj0QmPxCNQqgezwTlBKrfqehY1u2FyWP9uYw'}\n"
			       "  - server_name: other.test\n"
			       "    verify_keys:\n"
			       "      'ed25519:a': 'Noi6WqcDj0QmPxCNQqgezwTlBKrfqehY1u2FyWP9uYw'\n"
			       "      'ed25519:b': 'Noi6WqcDj0QmPxCNQqgezwTlBKrfqehY1u2FyWP9uYw'\n"
			       "federation_certificate_verification_whitelist: [lan.test, 'x.test:8448']\n"
			       "federation_address_overrides: ['h.test:443:127.0.0.1:8443']\n"
			       "federation_ca_file: /etc/ca.pem\n"
			       "federation_dns_forwarder: 127.0.0.1@5353\n", &o, err, sizeof(err)), 0);
	assert_int_equal(o.n_notaries, 3);
	assert_string_equal(o.notaries[0].server_name, "notary.test");
	assert_string_equal(o.notaries[0].key_id, "ed25519:n1");
	assert_int_equal(o.notaries[0].pub[0], 0x36);
	assert_string_equal(o.notaries[2].server_name, "other.test");
	assert_string_equal(o.no_verify[0], "lan.test");
	assert_string_equal(o.no_verify[1], "x.test:8448");
	assert_null(o.no_verify[2]);
	assert_string_equal(o.overrides[0], "h.test:443:127.0.0.1:8443");
	assert_string_equal(o.ca_file, "/etc/ca.pem");
	assert_string_equal(o.dns_forwarder, "127.0.0.1@5353");
	fed_options_free(&o);
}

static void test_options_empty(void **state)
{
	struct fed_options o;
	char err[256] = "";
	(void)state;
	assert_int_equal(parse("server_name: a.test\n", &o, err, sizeof(err)), 0);
	assert_int_equal(o.n_notaries, 0);
	assert_null(o.no_verify[0]);
	assert_null(o.overrides[0]);
	assert_null(o.ca_file);
	fed_options_free(&o);
	fed_options_free(&o); /* twice is fine */
}

static void test_options_bad(void **state)
{
	static const char *const bad[] = {
		"federation_certificate_verification_whitelist: a.test\n",
		"federation_certificate_verification_whitelist: [1]\n",
		"federation_address_overrides: {a: b}\n",
		"federation_ca_file: [x]\n",
		"trusted_key_servers: x\n",
		"trusted_key_servers: [{server_name: n.test}]\n",
		"trusted_key_servers: [{verify_keys: {'ed25519:a': 'Noi6WqcDj0QmPxCNQqgezwTlBKrfqehY1u2FyWP9uYw'}}]\n",
		"trusted_key_servers: [{server_name: n.test, verify_keys: {'ed25519:a': 'short'}}]\n",
		"trusted_key_servers: [{server_name: n.test, verify_keys: {'ed25519:a': 5}}]\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fed_options o;
		char err[256] = "";
		assert_int_equal(parse(bad[i], &o, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_null(o.no_verify);
		assert_null(o.notaries);
	}
	struct fed_options o;
	assert_int_equal(fed_options_parse(NULL, &o, NULL, 0), -1);
}

static void test_request_uri(void **state)
{
	struct http_request rq;
	(void)state;
	memset(&rq, 0, sizeof(rq));
	rq.path = "/_matrix/federation/v1/user/devices/%40a%3Ab.test";
	char *u = fed_request_uri(&rq);
	assert_string_equal(u, "/_matrix/federation/v1/user/devices/%40a%3Ab.test");
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_full),
		cmocka_unit_test(test_options_empty),
		cmocka_unit_test(test_options_bad),
		cmocka_unit_test(test_request_uri),
	};
	return cmocka_run_group_tests_name("api_federation", tests, NULL, NULL);
}
