/* Unit tests for homeserver/config.c: Synapse-style keys, defaults, errors,
 * and --generate-config output that loads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/crypto.h"
#include "common/yamljson.h"
#include "homeserver/config.h"

static int parse(struct hs_config *c, const char *yaml, char *err, size_t errlen)
{
	json_t *root = yaml_load_string(yaml, strlen(yaml), err, errlen);
	int rc;
	assert_non_null(root);
	rc = hs_config_parse(c, root, "/base", err, errlen);
	json_decref(root);
	return rc;
}

static void test_minimal_defaults(void **state)
{
	struct hs_config c;
	char err[256];
	(void)state;
	hs_config_init(&c);
	assert_int_equal(parse(&c, "server_name: example.org\n", err, sizeof(err)), 0);
	assert_string_equal(c.server_name, "example.org");
	assert_int_equal(c.nbinds, 2);
	assert_string_equal(c.binds[0].addr, "127.0.0.1");
	assert_int_equal(c.binds[0].port, 8008);
	assert_string_equal(c.binds[1].addr, "::1");
	assert_int_equal(c.db_kind, HS_DB_SQLITE);
	assert_string_equal(c.db_path, "/base/homeserver.db");
	assert_string_equal(c.signing_key_path, "/base/example.org.signing.key");
	assert_false(c.enable_registration);
	assert_null(c.registration_shared_secret);
	assert_int_equal(c.max_request_body, 1024 * 1024);
	hs_config_free(&c);
	hs_config_free(&c); /* idempotent */
}

static void test_synapse_style(void **state)
{
	struct hs_config c;
	char err[256];
	(void)state;
	hs_config_init(&c);
	assert_int_equal(parse(&c,
			       "server_name: \"matrix.example.org:8448\"\n"
			       "public_baseurl: https://matrix.example.org\n"
			       "listeners:\n"
			       "  - port: 9000\n"
			       "    type: http\n"
			       "    tls: false\n"
			       "    bind_addresses: ['::1', '127.0.0.1']\n"
			       "    x_forwarded: true\n"
			       "    resources: [{names: [client, federation]}]\n"
			       "  - port: 9001\n"
			       "    type: metrics\n"
			       "database:\n"
			       "  name: psycopg2\n"
			       "  args:\n"
			       "    user: synapse\n"
			       "    password: \"it's secret\"\n"
			       "    database: synapse\n"
			       "    host: localhost\n"
			       "    port: 5432\n"
			       "    cp_min: 5\n"
			       "registration_shared_secret: xyz\n"
			       "enable_registration: yes\n"
			       "registration_requires_token: true\n"
			       "registration_tokens: [a, b]\n"
			       "signing_key_path: /keys/k.key\n"
			       "log_level: WARNING\n"
			       "max_upload_size: 10M\n"
			       "max_request_body_size: 65536\n"
			       "rc_login:\n"
			       "  failed_attempts: {per_second: 0.5, burst_count: 3}\n",
			       err, sizeof(err)), 0);
	assert_string_equal(c.public_baseurl, "https://matrix.example.org/");
	assert_int_equal(c.nbinds, 2);
	assert_string_equal(c.binds[0].addr, "::1");
	assert_int_equal(c.binds[0].port, 9000);
	assert_true(c.binds[0].x_forwarded && c.binds[1].x_forwarded);
	assert_int_equal(c.db_kind, HS_DB_POSTGRES);
	assert_string_equal(c.db_conninfo, "dbname='synapse' user='synapse' password='it\\'s secret' "
					   "host='localhost' port='5432'");
	assert_string_equal(c.registration_shared_secret, "xyz");
	assert_true(c.enable_registration);
	assert_true(c.registration_requires_token);
	assert_string_equal(c.registration_tokens[0], "a");
	assert_string_equal(c.registration_tokens[1], "b");
	assert_null(c.registration_tokens[2]);
	assert_string_equal(c.signing_key_path, "/keys/k.key");
	assert_int_equal(c.log_level, SCOP_LOG_WARN);
	assert_int_equal(c.max_upload_size, 10 * 1024 * 1024);
	assert_int_equal(c.max_request_body, 65536);
	assert_true(c.rc_login_failed.per_second == 0.5);
	assert_true(c.rc_login_failed.burst_count == 3);
	hs_config_free(&c);
}

static void test_sqlite_relative_and_dsn(void **state)
{
	struct hs_config c;
	char err[256];
	(void)state;
	hs_config_init(&c);
	assert_int_equal(parse(&c, "server_name: a.b\ndatabase: {name: sqlite3, args: {database: hs.db}}\n",
			       err, sizeof(err)), 0);
	assert_string_equal(c.db_path, "/base/hs.db");
	assert_int_equal(parse(&c, "server_name: a.b\ndatabase: {name: psycopg2, args: "
				   "{dsn: 'host=/tmp port=5', database: fresh}}\n", err, sizeof(err)), 0);
	assert_string_equal(c.db_conninfo, "host=/tmp port=5 dbname='fresh'");
	hs_config_free(&c);
}

static void expect_error(const char *yaml, const char *fragment)
{
	struct hs_config c;
	char err[256] = "";
	hs_config_init(&c);
	assert_int_equal(parse(&c, yaml, err, sizeof(err)), -1);
	if (!strstr(err, fragment))
		fail_msg("error \"%s\" lacks \"%s\"", err, fragment);
	assert_null(c.server_name); /* freed on error */
	hs_config_free(&c);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("[1, 2]\n", "mapping");
	expect_error("listeners: []\n", "server_name");
	expect_error("server_name: 'bad name'\n", "server_name");
	expect_error("server_name: a.b\nlisteners: {port: 1}\n", "listeners");
	expect_error("server_name: a.b\nlisteners: [{port: 70000}]\n", "port");
	expect_error("server_name: a.b\nlisteners: [{port: 80, tls: true}]\n", "tls_certificate_path");
	expect_error("server_name: a.b\ndatabase: {name: mysql}\n", "mysql");
	expect_error("server_name: a.b\ndatabase: {name: sqlite3}\n", "database");
	expect_error("server_name: a.b\nenable_registration: maybe\n", "enable_registration");
	expect_error("server_name: a.b\nlog_level: loud\n", "log_level");
	expect_error("server_name: a.b\nmax_upload_size: 10X\n", "max_upload_size");
	expect_error("server_name: a.b\nmax_upload_size: -5\n", "max_upload_size");
	expect_error("server_name: a.b\nrc_login: {address: {per_second: -1}}\n", "per_second");
	expect_error("server_name: a.b\nregistration_tokens: [1]\n", "registration_tokens");
	expect_error("server_name: a.b\npassword_hashing: {time_cost: 0}\n", "time_cost");
	expect_error("server_name: 5\n", "server_name");
}

static void test_generate_and_load(void **state)
{
	char dir[] = "/tmp/scop-config-XXXXXX";
	char path[256], data[256], key[300], err[256];
	struct hs_config c;
	struct scop_ed25519 k;
	struct stat st;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/homeserver.yaml", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	assert_int_equal(hs_config_generate(path, "example.org", data, err, sizeof(err)), 0);
	/* Never overwrites. */
	assert_int_equal(hs_config_generate(path, "example.org", data, err, sizeof(err)), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	hs_config_init(&c);
	assert_int_equal(hs_config_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.server_name, "example.org");
	assert_non_null(c.registration_shared_secret);
	assert_true(strlen(c.registration_shared_secret) >= 32);
	snprintf(key, sizeof(key), "%s/example.org.signing.key", data);
	assert_string_equal(c.signing_key_path, key);
	assert_int_equal(scop_ed25519_load(key, &k), 0);
	scop_ed25519_clear(&k);
	snprintf(key, sizeof(key), "%s/homeserver.db", data);
	assert_string_equal(c.db_path, key);
	assert_int_equal(c.nbinds, 2);
	assert_int_equal(c.binds[0].port, 8008);
	hs_config_free(&c);
	assert_int_equal(hs_config_generate("/tmp/x.yaml", "bad name", NULL, err, sizeof(err)), -1);
	unlink(path);
	unlink(key);
	snprintf(key, sizeof(key), "%s/example.org.signing.key", data);
	unlink(key);
	rmdir(data);
	rmdir(dir);
}

static void test_generate_relative(void **state)
{
	char dir[] = "/tmp/scop-config-XXXXXX";
	char cwd[512], key[512], err[256];
	struct hs_config c;
	struct scop_ed25519 k;
	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(mkdir("sub", 0700), 0);
	/* A relative config path: the paths inside must still resolve. */
	assert_int_equal(hs_config_generate("sub/hs.yaml", "localhost", NULL, err, sizeof(err)), 0);
	assert_int_equal(chdir(cwd), 0);
	snprintf(key, sizeof(key), "%s/sub/hs.yaml", dir);
	hs_config_init(&c);
	assert_int_equal(hs_config_load(&c, key, err, sizeof(err)), 0);
	assert_int_equal(scop_ed25519_load(c.signing_key_path, &k), 0);
	scop_ed25519_clear(&k);
	unlink(c.signing_key_path);
	hs_config_free(&c);
	unlink(key);
	snprintf(key, sizeof(key), "%s/sub", dir);
	rmdir(key);
	rmdir(dir);
}

static void test_load_missing(void **state)
{
	struct hs_config c;
	char err[256];
	(void)state;
	hs_config_init(&c);
	assert_int_equal(hs_config_load(&c, "/nonexistent/hs.yaml", err, sizeof(err)), -1);
	hs_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_synapse_style),
		cmocka_unit_test(test_sqlite_relative_and_dsn),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_generate_and_load),
		cmocka_unit_test(test_generate_relative),
		cmocka_unit_test(test_load_missing),
	};
	return cmocka_run_group_tests_name("homeserver config", tests, NULL, NULL);
}
