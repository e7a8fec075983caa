/* Unit tests for homeserver/auth.c over a real SQLite store: token and
 * device id format, password checks with their failure limits, login
 * sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/yamljson.h"
#include "homeserver/auth.h"
#include "homeserver/password.h"

struct fixture {
	char dir[64];
	char db[96];
	struct hs_config cfg;
	struct store *st;
	struct hs hs;
};

static int setup(void **state)
{
	static const char yaml[] =
		"server_name: unit.test\n"
		"password_hashing: {time_cost: 1, memory_kib: 8}\n"
		"rc_login: {failed_attempts: {per_second: 0.001, burst_count: 3}}\n";
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	json_t *root;

	scop_log_init("test_auth", SCOP_LOG_ERROR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/scop-auth-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/hs.db", f->dir);
	hs_config_init(&f->cfg);
	root = yaml_load_string(yaml, sizeof(yaml) - 1, err, sizeof(err));
	assert_int_equal(hs_config_parse(&f->cfg, root, f->dir, err, sizeof(err)), 0);
	json_decref(root);
	assert_int_equal(store_open("sqlite", f->db, &f->st, err, sizeof(err)), STORE_OK);
	assert_int_equal(hs_init(&f->hs, &f->cfg, f->st), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];
	hs_free(&f->hs);
	store_close(f->st);
	hs_config_free(&f->cfg);
	unlink(f->db);
	snprintf(path, sizeof(path), "%s-wal", f->db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", f->db);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_token_format(void **state)
{
	char tok[AUTH_TOKEN_MAX], hash[65], again[65], dev[11];
	char tok2[AUTH_TOKEN_MAX], hash2[65];
	(void)state;
	assert_int_equal(auth_make_token("syt", "@alice:unit.test", tok, sizeof(tok), hash), 0);
	assert_true(strncmp(tok, "syt_YWxpY2U_", 12) == 0);
	assert_int_equal(strlen(tok), 12 + 32);
	assert_int_equal(scop_sha256_hex(tok, strlen(tok), again), 0);
	assert_string_equal(hash, again);
	assert_int_equal(auth_make_token("syt", "@alice:unit.test", tok2, sizeof(tok2), hash2), 0);
	assert_string_not_equal(tok, tok2);
	/* Too small a buffer is an error, not a truncated token. */
	assert_int_equal(auth_make_token("syt", "@alice:unit.test", tok, 20, hash), -1);
	assert_int_equal(auth_make_device_id(dev), 0);
	assert_int_equal(strlen(dev), 10);
	for (int i = 0; i < 10; i++)
		assert_true(dev[i] >= 'A' && dev[i] <= 'Z');
}

static void test_user_key(void **state)
{
	char key[HS_USER_ID_MAX + 1];
	(void)state;
	auth_user_key("@AlIcE:Unit.Test", key);
	assert_string_equal(key, "@alice:unit.test");
}

static void make_user(struct fixture *f, const char *id, const char *pw)
{
	char *h = password_hash(pw, &f->hs.pw);
	assert_non_null(h);
	assert_int_equal(store_user_create(f->st, id, h, 0, 1, NULL), STORE_OK);
	free(h);
}

static void test_check_password(void **state)
{
	struct fixture *f = *state;
	int64_t retry;
	char *canon;

	make_user(f, "@bob:unit.test", "right");
	assert_int_equal(auth_check_password(&f->hs, "@bob:unit.test", "right", "10.0.0.1", &retry, &canon),
			 AUTH_PW_OK);
	assert_string_equal(canon, "@bob:unit.test");
	free(canon);
	/* Case-insensitive match gives the stored id. */
	assert_int_equal(auth_check_password(&f->hs, "@BOB:unit.test", "right", "10.0.0.1", &retry, &canon),
			 AUTH_PW_OK);
	assert_string_equal(canon, "@bob:unit.test");
	free(canon);
	assert_int_equal(auth_check_password(&f->hs, "@nobody:unit.test", "x", "10.0.0.2", &retry, &canon),
			 AUTH_PW_WRONG);
	assert_null(canon);
	/* Three failures for bob (from different IPs): the fourth try is
	 * refused before the hash, even with the right password. */
	assert_int_equal(auth_check_password(&f->hs, "@bob:unit.test", "bad", "10.0.0.3", &retry, &canon),
			 AUTH_PW_WRONG);
	assert_int_equal(auth_check_password(&f->hs, "@Bob:unit.test", "bad", "10.0.0.4", &retry, &canon),
			 AUTH_PW_WRONG);
	assert_int_equal(auth_check_password(&f->hs, "@bob:unit.test", "bad", "10.0.0.5", &retry, &canon),
			 AUTH_PW_WRONG);
	assert_int_equal(auth_check_password(&f->hs, "@bob:unit.test", "right", "10.0.0.6", &retry, &canon),
			 AUTH_PW_LIMITED);
	assert_true(retry > 0);
}

static void test_deactivated(void **state)
{
	struct fixture *f = *state;
	int64_t retry;
	char *canon;

	make_user(f, "@gone:unit.test", "pw");
	assert_int_equal(store_user_deactivate(f->st, "@gone:unit.test"), STORE_OK);
	assert_int_equal(auth_check_password(&f->hs, "@gone:unit.test", "pw", "10.1.0.1", &retry, &canon),
			 AUTH_PW_DEACTIVATED);
}

static void test_session(void **state)
{
	struct fixture *f = *state;
	struct auth_session s;
	json_t *reply = json_object();

	make_user(f, "@carol:unit.test", "pw");
	assert_int_equal(auth_session_prepare(&f->hs, &s, "@carol:unit.test", NULL, "Phone", "::1", 1), 0);
	assert_int_equal(strlen(s.device_id), 10);
	assert_true(s.login.access_valid_until_ms > s.login.now_ms);
	assert_non_null(s.login.refresh_token_hash);
	assert_int_equal(store_login(f->st, "@carol:unit.test", &s.login), STORE_OK);
	auth_session_reply(&f->hs, &s, "@carol:unit.test", reply);
	assert_string_equal(json_string_value(json_object_get(reply, "access_token")), s.access);
	assert_non_null(json_object_get(reply, "refresh_token"));
	assert_int_equal(json_integer_value(json_object_get(reply, "expires_in_ms")),
			 f->cfg.access_token_lifetime_ms);
	auth_session_wipe(&s);
	assert_int_equal(s.access[0], 0);
	json_decref(reply);

	reply = json_object();
	assert_int_equal(auth_session_prepare(&f->hs, &s, "@carol:unit.test", "MINE", NULL, NULL, 0), 0);
	assert_string_equal(s.device_id, "MINE");
	assert_null(s.login.refresh_token_hash);
	assert_int_equal(s.login.access_valid_until_ms, 0);
	auth_session_reply(&f->hs, &s, "@carol:unit.test", reply);
	assert_null(json_object_get(reply, "refresh_token"));
	auth_session_wipe(&s);
	json_decref(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_format),
		cmocka_unit_test(test_user_key),
		cmocka_unit_test_setup_teardown(test_check_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deactivated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session, setup, teardown),
	};
	return cmocka_run_group_tests_name("homeserver auth", tests, NULL, NULL);
}
