/* Unit tests for homeserver/store/: every test runs on SQLite (a file in a
 * private temp dir) and on PostgreSQL (a database of its own, created
 * through SCOP_TEST_PG_DSN and dropped afterwards).  Without
 * SCOP_TEST_PG_DSN the PostgreSQL runs are skipped, or fail when
 * SCOP_REQUIRE_PG=1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>

#include "common/log.h"
#include "tests/unit/pgtest.h"
#include "homeserver/store/store.h"
#include "schema/migrations.h"

struct fx {
	const char *backend;
	int skip;
	char dir[64];        /* SQLite: temp dir */
	char conninfo[1024]; /* SQLite: file path; PostgreSQL: conninfo */
	char dbname[64];     /* PostgreSQL: the test's database */
	struct store *st;
};

static int newest_version(const char *backend)
{
	int v = 0;
	for (size_t i = 0; i < schema_migrations_count; i++)
		if (strcmp(schema_migrations[i].backend, backend) == 0 &&
		    schema_migrations[i].version > v)
			v = schema_migrations[i].version;
	return v;
}

/* Runs SQL on the test database behind the store's back. */
static int raw_exec(struct fx *f, const char *sql)
{
	if (strcmp(f->backend, "sqlite") == 0) {
		sqlite3 *db;
		int rc = sqlite3_open(f->conninfo, &db);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		sqlite3_close(db);
		return rc == SQLITE_OK ? 0 : -1;
	} else {
		PGconn *c = PQconnectdb(f->conninfo);
		PGresult *r = PQexec(c, sql);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
		PQfinish(c);
		return ok ? 0 : -1;
	}
}

static int fx_open(struct fx *f)
{
	char err[256] = "";
	enum store_rc rc = store_open(f->backend, f->conninfo, &f->st, err, sizeof(err));
	if (rc != STORE_OK)
		fprintf(stderr, "# store_open: %s\n", err);
	return rc == STORE_OK ? 0 : -1;
}

static int teardown(void **state);
static void wipe_database(struct fx *f);

static int setup(void **state, const char *backend)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->backend = backend;
	*state = f;
	if (strcmp(backend, "sqlite") == 0) {
		snprintf(f->dir, sizeof(f->dir), "/tmp/scop-store-XXXXXX");
		if (!mkdtemp(f->dir))
			return -1;
		snprintf(f->conninfo, sizeof(f->conninfo), "%s/test.db", f->dir);
	} else {
		int rc = pgtest_create("scop_test", f->dbname, sizeof(f->dbname), f->conninfo, sizeof(f->conninfo));
		if (rc > 0) {
			f->skip = 1;
			return 0;
		}
		if (rc < 0)
			return -1;
	}
	return fx_open(f);
}

/* cmocka skips the teardown when a setup fails, so clean up here. */
static int setup_or_clean(void **state, const char *backend)
{
	if (setup(state, backend) == 0)
		return 0;
	teardown(state);
	*state = NULL;
	return -1;
}

static int setup_sqlite(void **state) { return setup_or_clean(state, "sqlite"); }
static int setup_pg(void **state) { return setup_or_clean(state, "postgres"); }

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	store_close(f->st);
	if (f->dir[0]) {
		char p[1100];
		static const char *suffix[] = { "", "-wal", "-shm", "-journal" };
		for (int i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s%s", f->conninfo, suffix[i]);
			unlink(p);
		}
		rmdir(f->dir);
	}
	pgtest_drop(f->dbname);
	free(f);
	return 0;
}

static struct fx *fx(void **state)
{
	struct fx *f = *state;
	if (f->skip)
		skip();
	return f;
}

/* A login on device dev with access token hash at (and refresh rt). */
static struct store_login login_of(const char *dev, const char *at, const char *rt)
{
	struct store_login l = { 0 };
	l.device_id = dev;
	l.device_display_name = "phone";
	l.ip = "127.0.0.1";
	l.now_ms = 1000;
	l.access_token_hash = at;
	l.refresh_token_hash = rt;
	return l;
}

static int token_exists(struct store *st, const char *hash)
{
	struct store_access a;
	enum store_rc rc = store_access_token_lookup(st, hash, &a);
	store_access_clear(&a);
	assert_true(rc == STORE_OK || rc == STORE_NOT_FOUND);
	return rc == STORE_OK;
}

/* ---- tests ---------------------------------------------------------- */

static void test_migrations_idempotent_and_durable(void **state)
{
	struct fx *f = fx(state);
	int v = -1;
	char *val = NULL;
	char err[256];
	struct store *other = NULL;

	assert_int_equal(store_schema_version(f->st, &v), STORE_OK);
	assert_int_equal(v, newest_version(f->backend));
	assert_true(v >= 1);
	/* Each migration exists for both backends. */
	for (size_t i = 0; i < schema_migrations_count; i++) {
		int twins = 0;
		for (size_t j = 0; j < schema_migrations_count; j++)
			if (schema_migrations[j].version == schema_migrations[i].version &&
			    strcmp(schema_migrations[j].backend, schema_migrations[i].backend) != 0)
				twins++;
		assert_int_equal(twins, 1);
	}
	assert_string_equal(store_backend(f->st), f->backend);
	assert_int_equal(store_user_create(f->st, "@keep:x", "hash", 0, 5, NULL), STORE_OK);
	assert_int_equal(store_kv_set(f->st, "k", "v"), STORE_OK);

	/* A second store on the same database at the same time is fine. */
	assert_int_equal(store_open(f->backend, f->conninfo, &other, err, sizeof(err)), STORE_OK);
	store_close(other);

	/* Close and reopen: nothing re-applied, the data is there. */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(fx_open(f), 0);
	assert_int_equal(store_schema_version(f->st, &v), STORE_OK);
	assert_int_equal(v, newest_version(f->backend));
	assert_int_equal(store_kv_get(f->st, "k", &val), STORE_OK);
	assert_string_equal(val, "v");
	free(val);
	{
		struct store_user u;
		assert_int_equal(store_user_get(f->st, "@keep:x", &u), STORE_OK);
		assert_int_equal(u.created_ts, 5);
		store_user_clear(&u);
	}

	/* A database from a newer scopd is refused. */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(raw_exec(f, "INSERT INTO schema_version (version, name, applied_ts)"
				  " VALUES (999, 'future', 0)"), 0);
	assert_int_equal(store_open(f->backend, f->conninfo, &other, err, sizeof(err)), STORE_ERROR);
	assert_null(other);
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(raw_exec(f, "DELETE FROM schema_version WHERE version = 999"), 0);
	assert_int_equal(fx_open(f), 0);
}

static void test_open_rejects_bad_arguments(void **state)
{
	struct fx *f = fx(state);
	struct store *st = NULL;
	char err[256];
	assert_int_equal(store_open("mysql", "x", &st, err, sizeof(err)), STORE_ERROR);
	assert_null(st);
	assert_non_null(strstr(err, "mysql"));
	assert_int_equal(store_open("sqlite", ":memory:", &st, err, sizeof(err)), STORE_ERROR);
	assert_int_equal(store_open("sqlite", "/nonexistent-dir/x.db", &st, err, sizeof(err)), STORE_ERROR);
	assert_null(st);
	if (strcmp(f->backend, "postgres") == 0) {
		assert_int_equal(store_open("postgres", "host=127.0.0.1 port=1 connect_timeout=2",
					    &st, err, sizeof(err)), STORE_ERROR);
		assert_null(st);
	}
	assert_string_equal(store_rc_str(STORE_CONFLICT), "conflict");
}

static void test_user_create_conflict_lookup(void **state)
{
	struct fx *f = fx(state);
	struct store_user u;
	int64_t n;

	assert_int_equal(store_user_create(f->st, "@alice:x", "$argon2id$h1", 0, 100, NULL), STORE_OK);
	assert_int_equal(store_user_create(f->st, "@alice:x", "other", 1, 200, NULL), STORE_CONFLICT);
	assert_int_equal(store_user_create(f->st, "@bob:x", NULL, 1, 300, NULL), STORE_OK);

	assert_int_equal(store_user_get(f->st, "@alice:x", &u), STORE_OK);
	assert_string_equal(u.user_id, "@alice:x");
	assert_string_equal(u.password_hash, "$argon2id$h1");
	assert_int_equal(u.is_admin, 0);
	assert_int_equal(u.deactivated, 0);
	assert_int_equal(u.created_ts, 100);
	assert_null(u.displayname);
	store_user_clear(&u);

	assert_int_equal(store_user_get(f->st, "@bob:x", &u), STORE_OK);
	assert_null(u.password_hash);
	assert_int_equal(u.is_admin, 1);
	store_user_clear(&u);

	assert_int_equal(store_user_get(f->st, "@nobody:x", &u), STORE_NOT_FOUND);
	assert_null(u.user_id);
	store_user_clear(&u);

	/* Case-insensitive: unique match, exact match preferred, ambiguity. */
	assert_int_equal(store_user_get_ci(f->st, "@ALICE:X", &u), STORE_OK);
	assert_string_equal(u.user_id, "@alice:x");
	store_user_clear(&u);
	assert_int_equal(store_user_create(f->st, "@Alice:x", NULL, 0, 1, NULL), STORE_OK);
	assert_int_equal(store_user_get_ci(f->st, "@Alice:x", &u), STORE_OK);
	assert_string_equal(u.user_id, "@Alice:x");
	store_user_clear(&u);
	assert_int_equal(store_user_get_ci(f->st, "@ALICE:x", &u), STORE_CONFLICT);
	assert_int_equal(store_user_get_ci(f->st, "@carol:x", &u), STORE_NOT_FOUND);

	/* Profile and admin flags. */
	assert_int_equal(store_user_set_displayname(f->st, "@alice:x", "Alice \xc3\xa9"), STORE_OK);
	assert_int_equal(store_user_set_avatar_url(f->st, "@alice:x", "mxc://x/abc"), STORE_OK);
	assert_int_equal(store_user_set_admin(f->st, "@alice:x", 1), STORE_OK);
	assert_int_equal(store_user_get(f->st, "@alice:x", &u), STORE_OK);
	assert_string_equal(u.displayname, "Alice \xc3\xa9");
	assert_string_equal(u.avatar_url, "mxc://x/abc");
	assert_int_equal(u.is_admin, 1);
	store_user_clear(&u);
	assert_int_equal(store_user_set_displayname(f->st, "@alice:x", NULL), STORE_OK);
	assert_int_equal(store_user_get(f->st, "@alice:x", &u), STORE_OK);
	assert_null(u.displayname);
	store_user_clear(&u);
	assert_int_equal(store_user_set_admin(f->st, "@nobody:x", 1), STORE_NOT_FOUND);
	assert_int_equal(store_user_set_displayname(f->st, "@nobody:x", "n"), STORE_NOT_FOUND);

	/* Hostile-looking IDs are just data (parameterised statements). */
	assert_int_equal(store_user_create(f->st, "@x'); DROP TABLE users; --:x", NULL, 0, 1, NULL), STORE_OK);
	assert_int_equal(store_user_get(f->st, "@x'); DROP TABLE users; --:x", &u), STORE_OK);
	store_user_clear(&u);
	/* Placeholder look-alikes in values are not rewritten. */
	assert_int_equal(store_user_create(f->st, "@q?$1:x", "?$2\\", 0, 1, NULL), STORE_OK);
	assert_int_equal(store_user_get(f->st, "@q?$1:x", &u), STORE_OK);
	assert_string_equal(u.password_hash, "?$2\\");
	store_user_clear(&u);

	assert_int_equal(store_user_count(f->st, 1, &n), STORE_OK);
	assert_int_equal(n, 5);
	assert_int_equal(store_user_deactivate(f->st, "@bob:x"), STORE_OK);
	assert_int_equal(store_user_count(f->st, 0, &n), STORE_OK);
	assert_int_equal(n, 4);
	assert_int_equal(store_user_count(f->st, 1, &n), STORE_OK);
	assert_int_equal(n, 5);
}

static void test_user_create_with_login_is_atomic(void **state)
{
	struct fx *f = fx(state);
	struct store_login l = login_of("DEV1", "at-1", "rt-1");
	struct store_access a;
	struct store_device d;
	struct store_user u;

	l.access_valid_until_ms = 5000;
	assert_int_equal(store_user_create(f->st, "@a:x", "h", 0, 1, &l), STORE_OK);
	assert_int_equal(store_access_token_lookup(f->st, "at-1", &a), STORE_OK);
	assert_string_equal(a.user_id, "@a:x");
	assert_string_equal(a.device_id, "DEV1");
	assert_int_equal(a.valid_until_ms, 5000);
	assert_string_equal(a.refresh_token_hash, "rt-1");
	assert_int_equal(a.is_admin, 0);
	assert_int_equal(a.deactivated, 0);
	store_access_clear(&a);
	assert_int_equal(store_device_get(f->st, "@a:x", "DEV1", &d), STORE_OK);
	assert_string_equal(d.display_name, "phone");
	assert_string_equal(d.last_seen_ip, "127.0.0.1");
	assert_int_equal(d.last_seen_ts, 1000);
	store_device_clear(&d);

	/* The second user's token collides: the user must not be left behind. */
	l = login_of("DEV1", "at-1", NULL);
	assert_int_equal(store_user_create(f->st, "@b:x", "h", 0, 1, &l), STORE_CONFLICT);
	assert_int_equal(store_user_get(f->st, "@b:x", &u), STORE_NOT_FOUND);
	assert_int_equal(store_device_get(f->st, "@b:x", "DEV1", &d), STORE_NOT_FOUND);
	/* Now with a fresh token it works. */
	l = login_of("DEV1", "at-2", NULL);
	assert_int_equal(store_user_create(f->st, "@b:x", "h", 0, 1, &l), STORE_OK);
	assert_int_equal(store_access_token_lookup(f->st, "at-2", &a), STORE_OK);
	assert_string_equal(a.user_id, "@b:x");
	assert_null(a.refresh_token_hash);
	assert_int_equal(a.valid_until_ms, 0);
	store_access_clear(&a);
}

static void test_devices(void **state)
{
	struct fx *f = fx(state);
	struct store_login l = login_of("BBB", "t-b", NULL);
	struct store_device *list = NULL, d;
	size_t n = 9;

	assert_int_equal(store_user_create(f->st, "@u:x", "h", 0, 1, &l), STORE_OK);
	l = login_of("AAA", "t-a", NULL);
	l.device_display_name = NULL;
	l.ip = NULL;
	assert_int_equal(store_login(f->st, "@u:x", &l), STORE_OK);
	assert_int_equal(store_device_list(f->st, "@u:x", &list, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].device_id, "AAA");
	assert_null(list[0].display_name);
	assert_null(list[0].last_seen_ip);
	assert_string_equal(list[1].device_id, "BBB");
	assert_string_equal(list[1].display_name, "phone");
	store_device_list_free(list, n);

	/* Logging in again on an existing device keeps its name and old tokens. */
	l = login_of("BBB", "t-b2", NULL);
	l.device_display_name = "ignored";
	l.now_ms = 2000;
	l.ip = "::1";
	assert_int_equal(store_login(f->st, "@u:x", &l), STORE_OK);
	assert_int_equal(store_device_get(f->st, "@u:x", "BBB", &d), STORE_OK);
	assert_string_equal(d.display_name, "phone");
	assert_string_equal(d.last_seen_ip, "::1");
	assert_int_equal(d.last_seen_ts, 2000);
	store_device_clear(&d);
	assert_true(token_exists(f->st, "t-b"));
	assert_true(token_exists(f->st, "t-b2"));
	/* ... unless told to replace them. */
	l = login_of("BBB", "t-b3", NULL);
	l.replace_device_tokens = 1;
	assert_int_equal(store_login(f->st, "@u:x", &l), STORE_OK);
	assert_false(token_exists(f->st, "t-b"));
	assert_false(token_exists(f->st, "t-b2"));
	assert_true(token_exists(f->st, "t-b3"));

	assert_int_equal(store_device_set_display_name(f->st, "@u:x", "AAA", "laptop"), STORE_OK);
	assert_int_equal(store_device_set_display_name(f->st, "@u:x", "ZZZ", "laptop"), STORE_NOT_FOUND);
	assert_int_equal(store_device_touch(f->st, "@u:x", "AAA", 3000, "10.0.0.1"), STORE_OK);
	assert_int_equal(store_device_touch(f->st, "@u:x", "AAA", 4000, NULL), STORE_OK);
	assert_int_equal(store_device_get(f->st, "@u:x", "AAA", &d), STORE_OK);
	assert_string_equal(d.display_name, "laptop");
	assert_string_equal(d.last_seen_ip, "10.0.0.1");
	assert_int_equal(d.last_seen_ts, 4000);
	store_device_clear(&d);
	assert_int_equal(store_device_touch(f->st, "@u:x", "ZZZ", 1, NULL), STORE_NOT_FOUND);

	/* Deleting a device takes its tokens; the other device is untouched. */
	assert_int_equal(store_device_delete(f->st, "@u:x", "BBB"), STORE_OK);
	assert_false(token_exists(f->st, "t-b3"));
	assert_true(token_exists(f->st, "t-a"));
	assert_int_equal(store_device_delete(f->st, "@u:x", "BBB"), STORE_NOT_FOUND);
	assert_int_equal(store_device_get(f->st, "@u:x", "BBB", &d), STORE_NOT_FOUND);

	/* Unknown users have no devices and cannot log in. */
	assert_int_equal(store_device_list(f->st, "@nobody:x", &list, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_null(list);
	l = login_of("D", "t-n", NULL);
	assert_int_equal(store_login(f->st, "@nobody:x", &l), STORE_NOT_FOUND);
	assert_false(token_exists(f->st, "t-n"));
}

static void test_access_tokens(void **state)
{
	struct fx *f = fx(state);
	struct store_login l = login_of("D1", "t1", NULL);
	struct store_access a;

	assert_int_equal(store_user_create(f->st, "@u:x", "h", 1, 1, &l), STORE_OK);
	assert_int_equal(store_access_token_add(f->st, "t2", "@u:x", "D1", 777), STORE_OK);
	assert_int_equal(store_access_token_add(f->st, "t3", "@u:x", NULL, 0), STORE_OK);
	assert_int_equal(store_access_token_add(f->st, "t3", "@u:x", NULL, 0), STORE_CONFLICT);
	assert_int_equal(store_access_token_add(f->st, "t4", "@u:x", "NODEV", 0), STORE_NOT_FOUND);
	assert_int_equal(store_access_token_add(f->st, "t4", "@nobody:x", NULL, 0), STORE_NOT_FOUND);

	assert_int_equal(store_access_token_lookup(f->st, "t2", &a), STORE_OK);
	assert_int_equal(a.valid_until_ms, 777);
	assert_int_equal(a.is_admin, 1);
	store_access_clear(&a);
	assert_int_equal(store_access_token_lookup(f->st, "t3", &a), STORE_OK);
	assert_null(a.device_id);
	store_access_clear(&a);
	assert_int_equal(store_access_token_lookup(f->st, "nope", &a), STORE_NOT_FOUND);
	assert_null(a.user_id);

	assert_int_equal(store_access_token_delete(f->st, "t2"), STORE_OK);
	assert_int_equal(store_access_token_delete(f->st, "t2"), STORE_NOT_FOUND);
	assert_true(token_exists(f->st, "t1"));

	assert_int_equal(store_tokens_delete_for_device(f->st, "@u:x", "D1"), STORE_OK);
	assert_false(token_exists(f->st, "t1"));
	assert_true(token_exists(f->st, "t3"));
	{
		struct store_device d;
		assert_int_equal(store_device_get(f->st, "@u:x", "D1", &d), STORE_OK);
		store_device_clear(&d);
	}

	l = login_of("D1", "t5", "r5");
	assert_int_equal(store_login(f->st, "@u:x", &l), STORE_OK);
	assert_int_equal(store_tokens_delete_for_user(f->st, "@u:x"), STORE_OK);
	assert_false(token_exists(f->st, "t3"));
	assert_false(token_exists(f->st, "t5"));
	assert_int_equal(store_refresh_rotate(f->st, "r5", 1, "a", 0, "b", 0, NULL, NULL), STORE_NOT_FOUND);
}

static void test_refresh_rotation(void **state)
{
	struct fx *f = fx(state);
	struct store_login l = login_of("D", "a0", "r0");
	char *user = NULL, *dev = NULL;
	struct store_access a;

	/* Note: token_exists() is a lookup, i.e. a use of the access token. */
	l.refresh_valid_until_ms = 10000;
	assert_int_equal(store_user_create(f->st, "@u:x", "h", 0, 1, &l), STORE_OK);

	assert_int_equal(store_refresh_rotate(f->st, "r0", 100, "a1", 900, "r1", 0, &user, &dev), STORE_OK);
	assert_string_equal(user, "@u:x");
	assert_string_equal(dev, "D");
	free(user);
	free(dev);
	assert_false(token_exists(f->st, "a0"));

	/* The client lost the answer and retries with r0: allowed while a1 and
	 * r1 are unused; r1 and a1 are replaced. */
	assert_int_equal(store_refresh_rotate(f->st, "r0", 200, "a2", 900, "r2", 0, NULL, NULL), STORE_OK);
	assert_false(token_exists(f->st, "a1"));
	assert_int_equal(store_refresh_rotate(f->st, "r1", 200, "ax", 0, "rx", 0, NULL, NULL), STORE_NOT_FOUND);

	/* Using the new access token settles the rotation: r0 is revoked. */
	assert_int_equal(store_access_token_lookup(f->st, "a2", &a), STORE_OK);
	assert_int_equal(a.valid_until_ms, 900);
	assert_string_equal(a.refresh_token_hash, "r2");
	store_access_clear(&a);
	assert_int_equal(store_refresh_rotate(f->st, "r0", 300, "ay", 0, "ry", 0, NULL, NULL), STORE_NOT_FOUND);
	assert_true(token_exists(f->st, "a2"));

	/* So does using the new refresh token. */
	assert_int_equal(store_refresh_rotate(f->st, "r2", 300, "a3", 0, "r3", 0, NULL, NULL), STORE_OK);
	assert_false(token_exists(f->st, "a2"));
	assert_int_equal(store_refresh_rotate(f->st, "r2", 310, "a3b", 0, "r3b", 0, NULL, NULL), STORE_OK);
	assert_int_equal(store_refresh_rotate(f->st, "r3", 320, "az", 0, "rz", 0, NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_refresh_rotate(f->st, "r3b", 400, "a4", 0, "r4", 0, NULL, NULL), STORE_OK);
	assert_int_equal(store_refresh_rotate(f->st, "r2", 400, "az", 0, "rz", 0, NULL, NULL), STORE_NOT_FOUND);
	assert_false(token_exists(f->st, "az"));
	assert_false(token_exists(f->st, "a3b"));
	assert_true(token_exists(f->st, "a4"));

	/* A collision of the new hash changes nothing. */
	assert_int_equal(store_access_token_add(f->st, "collide", "@u:x", NULL, 0), STORE_OK);
	assert_int_equal(store_refresh_rotate(f->st, "r4", 500, "collide", 0, "r5", 0, NULL, NULL), STORE_CONFLICT);
	assert_true(token_exists(f->st, "a4"));
	assert_int_equal(store_refresh_rotate(f->st, "r4", 500, "a5", 0, "r5", 0, NULL, NULL), STORE_OK);

	/* Expiry. */
	l = login_of("E", "ae", "re");
	l.refresh_valid_until_ms = 1000;
	assert_int_equal(store_login(f->st, "@u:x", &l), STORE_OK);
	assert_int_equal(store_refresh_rotate(f->st, "re", 1000, "a6", 0, "r6", 0, NULL, NULL), STORE_NOT_FOUND);
	assert_true(token_exists(f->st, "ae"));
	assert_int_equal(store_refresh_rotate(f->st, "nope", 1, "a7", 0, "r7", 0, NULL, NULL), STORE_NOT_FOUND);

	/* Logging the device out removes its refresh tokens. */
	assert_int_equal(store_device_delete(f->st, "@u:x", "D"), STORE_OK);
	assert_int_equal(store_refresh_rotate(f->st, "r5", 600, "a8", 0, "r8", 0, NULL, NULL), STORE_NOT_FOUND);
}

static void test_registration_tokens(void **state)
{
	struct fx *f = fx(state);
	struct store_regtoken t, *list = NULL;
	size_t n;
	int valid = -1;

	assert_int_equal(store_regtoken_create(f->st, "two", 2, 0), STORE_OK);
	assert_int_equal(store_regtoken_create(f->st, "two", 5, 0), STORE_CONFLICT);
	assert_int_equal(store_regtoken_create(f->st, "free", -1, 0), STORE_OK);
	assert_int_equal(store_regtoken_create(f->st, "old", -1, 5000), STORE_OK);

	assert_int_equal(store_regtoken_use_pending(f->st, "two", 1), STORE_OK);
	assert_int_equal(store_regtoken_use_pending(f->st, "two", 1), STORE_OK);
	assert_int_equal(store_regtoken_use_pending(f->st, "two", 1), STORE_NOT_FOUND);
	assert_int_equal(store_regtoken_validity(f->st, "two", 1, &valid), STORE_OK);
	assert_int_equal(valid, 0);
	assert_int_equal(store_regtoken_use_release(f->st, "two"), STORE_OK);
	assert_int_equal(store_regtoken_validity(f->st, "two", 1, &valid), STORE_OK);
	assert_int_equal(valid, 1);
	assert_int_equal(store_regtoken_use_complete(f->st, "two"), STORE_OK);
	assert_int_equal(store_regtoken_use_complete(f->st, "two"), STORE_NOT_FOUND); /* none pending */
	assert_int_equal(store_regtoken_get(f->st, "two", &t), STORE_OK);
	assert_string_equal(t.token, "two");
	assert_int_equal(t.uses_allowed, 2);
	assert_int_equal(t.pending, 0);
	assert_int_equal(t.completed, 1);
	assert_int_equal(t.expiry_time, 0);
	store_regtoken_clear(&t);

	for (int i = 0; i < 5; i++)
		assert_int_equal(store_regtoken_use_pending(f->st, "free", 1), STORE_OK);
	assert_int_equal(store_regtoken_get(f->st, "free", &t), STORE_OK);
	assert_int_equal(t.uses_allowed, -1);
	assert_int_equal(t.pending, 5);
	store_regtoken_clear(&t);

	assert_int_equal(store_regtoken_validity(f->st, "old", 4999, &valid), STORE_OK);
	assert_int_equal(valid, 1);
	assert_int_equal(store_regtoken_validity(f->st, "old", 5000, &valid), STORE_OK);
	assert_int_equal(valid, 0);
	assert_int_equal(store_regtoken_use_pending(f->st, "old", 6000), STORE_NOT_FOUND);
	assert_int_equal(store_regtoken_validity(f->st, "nope", 1, &valid), STORE_OK);
	assert_int_equal(valid, 0);
	assert_int_equal(store_regtoken_get(f->st, "nope", &t), STORE_NOT_FOUND);

	assert_int_equal(store_regtoken_list(f->st, -1, 6000, &list, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].token, "free");
	assert_string_equal(list[1].token, "old");
	assert_int_equal(list[1].expiry_time, 5000);
	assert_string_equal(list[2].token, "two");
	store_regtoken_list_free(list, n);
	assert_int_equal(store_regtoken_list(f->st, 1, 6000, &list, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].token, "free");
	assert_string_equal(list[1].token, "two");
	store_regtoken_list_free(list, n);
	assert_int_equal(store_regtoken_list(f->st, 0, 6000, &list, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].token, "old");
	store_regtoken_list_free(list, n);

	assert_int_equal(store_regtoken_update(f->st, "old", 1, 0), STORE_OK);
	assert_int_equal(store_regtoken_use_pending(f->st, "old", 6000), STORE_OK);
	assert_int_equal(store_regtoken_use_pending(f->st, "old", 6000), STORE_NOT_FOUND);
	assert_int_equal(store_regtoken_update(f->st, "nope", 1, 0), STORE_NOT_FOUND);
	assert_int_equal(store_regtoken_delete(f->st, "old"), STORE_OK);
	assert_int_equal(store_regtoken_delete(f->st, "old"), STORE_NOT_FOUND);
}

static void test_deactivation_and_password_cascades(void **state)
{
	struct fx *f = fx(state);
	struct store_login l1 = login_of("D1", "t1", "r1"), l2 = login_of("D2", "t2", "r2"),
			   l3 = login_of("D3", "t3", NULL);
	struct store_user u;
	struct store_device *list;
	size_t n;

	assert_int_equal(store_user_create(f->st, "@u:x", "h1", 0, 1, &l1), STORE_OK);
	assert_int_equal(store_login(f->st, "@u:x", &l2), STORE_OK);
	assert_int_equal(store_login(f->st, "@u:x", &l3), STORE_OK);
	assert_int_equal(store_access_token_add(f->st, "t-nodev", "@u:x", NULL, 0), STORE_OK);
	/* Another user's sessions must survive everything below. */
	l1 = login_of("D1", "other", NULL);
	assert_int_equal(store_user_create(f->st, "@v:x", "h", 0, 1, &l1), STORE_OK);

	/* Password change that logs out the other devices. */
	assert_int_equal(store_user_set_password(f->st, "@u:x", "h2", 1, "D1"), STORE_OK);
	assert_int_equal(store_user_get(f->st, "@u:x", &u), STORE_OK);
	assert_string_equal(u.password_hash, "h2");
	store_user_clear(&u);
	assert_true(token_exists(f->st, "t1"));
	assert_false(token_exists(f->st, "t2"));
	assert_false(token_exists(f->st, "t3"));
	assert_true(token_exists(f->st, "t-nodev"));
	assert_int_equal(store_device_list(f->st, "@u:x", &list, &n), STORE_OK);
	assert_int_equal(n, 1);
	store_device_list_free(list, n);
	assert_int_equal(store_refresh_rotate(f->st, "r2", 1, "x", 0, "y", 0, NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_user_set_password(f->st, "@u:x", "h3", 0, NULL), STORE_OK);
	assert_true(token_exists(f->st, "t1"));
	assert_int_equal(store_user_set_password(f->st, "@nobody:x", "h", 1, NULL), STORE_NOT_FOUND);

	/* logout/all */
	assert_int_equal(store_login(f->st, "@u:x", &l2), STORE_OK);
	assert_int_equal(store_device_delete_all(f->st, "@u:x", NULL), STORE_OK);
	assert_false(token_exists(f->st, "t1"));
	assert_false(token_exists(f->st, "t2"));
	assert_false(token_exists(f->st, "t-nodev"));
	assert_int_equal(store_device_list(f->st, "@u:x", &list, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_device_delete_all(f->st, "@u:x", NULL), STORE_OK);

	/* Deactivation. */
	l1 = login_of("D1", "t1b", "r1b");
	assert_int_equal(store_login(f->st, "@u:x", &l1), STORE_OK);
	assert_int_equal(store_user_deactivate(f->st, "@u:x"), STORE_OK);
	assert_int_equal(store_user_deactivate(f->st, "@u:x"), STORE_OK);
	assert_int_equal(store_user_deactivate(f->st, "@nobody:x"), STORE_NOT_FOUND);
	assert_int_equal(store_user_get(f->st, "@u:x", &u), STORE_OK);
	assert_int_equal(u.deactivated, 1);
	assert_null(u.password_hash);
	store_user_clear(&u);
	assert_false(token_exists(f->st, "t1b"));
	assert_int_equal(store_device_list(f->st, "@u:x", &list, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_user_create(f->st, "@u:x", "h", 0, 1, NULL), STORE_CONFLICT);
	l1 = login_of("D9", "t9", NULL);
	assert_int_equal(store_login(f->st, "@u:x", &l1), STORE_NOT_FOUND);
	assert_false(token_exists(f->st, "t9"));

	assert_true(token_exists(f->st, "other"));
}

static void test_kv(void **state)
{
	struct fx *f = fx(state);
	char *v = NULL;
	assert_int_equal(store_kv_get(f->st, "signing_key_fingerprint", &v), STORE_NOT_FOUND);
	assert_null(v);
	assert_int_equal(store_kv_set(f->st, "signing_key_fingerprint", "abc"), STORE_OK);
	assert_int_equal(store_kv_set(f->st, "signing_key_fingerprint", "def"), STORE_OK);
	assert_int_equal(store_kv_get(f->st, "signing_key_fingerprint", &v), STORE_OK);
	assert_string_equal(v, "def");
	free(v);
	assert_int_equal(store_kv_set(f->st, "empty", ""), STORE_OK);
	assert_int_equal(store_kv_get(f->st, "empty", &v), STORE_OK);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(store_kv_delete(f->st, "signing_key_fingerprint"), STORE_OK);
	assert_int_equal(store_kv_delete(f->st, "signing_key_fingerprint"), STORE_NOT_FOUND);
}

/* ---- concurrency ---------------------------------------------------- */

#define THREADS 4
#define USERS_PER_THREAD 15

struct worker {
	struct store *st;
	int id;
	int failures;
	int regtoken_uses;
	int dup_conflicts;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char user[64], tok[64];
	struct store_access a;
	for (int i = 0; i < USERS_PER_THREAD; i++) {
		struct store_login l;
		snprintf(user, sizeof(user), "@t%d_%d:x", w->id, i);
		snprintf(tok, sizeof(tok), "tok-%d-%d", w->id, i);
		l = login_of("DEV", tok, NULL);
		if (store_user_create(w->st, user, "h", 0, i, &l) != STORE_OK)
			w->failures++;
		if (store_access_token_lookup(w->st, tok, &a) != STORE_OK ||
		    strcmp(a.user_id, user) != 0)
			w->failures++;
		store_access_clear(&a);
		/* Every thread races for the same user ID and token uses. */
		snprintf(user, sizeof(user), "@shared%d:x", i);
		switch (store_user_create(w->st, user, "h", 0, i, NULL)) {
		case STORE_OK: break;
		case STORE_CONFLICT: w->dup_conflicts++; break;
		default: w->failures++;
		}
		switch (store_regtoken_use_pending(w->st, "limited", 1)) {
		case STORE_OK: w->regtoken_uses++; break;
		case STORE_NOT_FOUND: break;
		default: w->failures++;
		}
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	struct fx *f = fx(state);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	int uses = 0, conflicts = 0;
	int64_t n;

	assert_int_equal(store_regtoken_create(f->st, "limited", 10, 0), STORE_OK);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ f->st, i, 0, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
		uses += w[i].regtoken_uses;
		conflicts += w[i].dup_conflicts;
	}
	assert_int_equal(uses, 10);
	assert_int_equal(conflicts, (THREADS - 1) * USERS_PER_THREAD);
	assert_int_equal(store_user_count(f->st, 1, &n), STORE_OK);
	assert_int_equal(n, (THREADS + 1) * USERS_PER_THREAD);
}

/* A database left at version 1 by an older scopd is brought up to date. */
static void test_upgrade_from_version_1(void **state)
{
	struct fx *f = fx(state);
	const char *v1 = NULL;
	int v = 0;
	int64_t pos = 0;

	for (size_t i = 0; i < schema_migrations_count; i++)
		if (schema_migrations[i].version == 1 && strcmp(schema_migrations[i].backend, f->backend) == 0)
			v1 = schema_migrations[i].sql;
	assert_non_null(v1);
	store_close(f->st);
	f->st = NULL;
	wipe_database(f);
	assert_int_equal(raw_exec(f, v1), 0);
	assert_int_equal(raw_exec(f, "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY,"
				  " name TEXT NOT NULL, applied_ts BIGINT NOT NULL);"
				  "INSERT INTO schema_version VALUES (1, 'accounts', 0);"
				  "INSERT INTO users (user_id, created_ts) VALUES ('@old:x', 1)"), 0);
	assert_int_equal(fx_open(f), 0);
	assert_int_equal(store_schema_version(f->st, &v), STORE_OK);
	assert_int_equal(v, newest_version(f->backend));
	{
		struct store_user u;
		assert_int_equal(store_user_get(f->st, "@old:x", &u), STORE_OK);
		store_user_clear(&u);
	}
	assert_int_equal(store_stream_max(f->st, &pos), STORE_OK);
	assert_int_equal(pos, 0);
}

static struct store_event ev_of(const char *id, const char *room, const char *state_key)
{
	struct store_event e = { 0 };
	e.event_id = (char *)id;
	e.room_id = (char *)room;
	e.type = (char *)(state_key ? "m.room.member" : "m.room.message");
	e.state_key = (char *)state_key;
	e.sender = (char *)"@u:x";
	e.origin_server_ts = 42;
	e.json = (char *)"{\"content\":{}}";
	return e;
}

static void test_events_stream(void **state)
{
	struct fx *f = fx(state);
	struct store_event e, *list = NULL;
	int64_t p1, p2, p3, p, max;
	size_t n;

	assert_int_equal(store_stream_max(f->st, &max), STORE_OK);
	assert_int_equal(max, 0);
	e = ev_of("$a", "!r1:x", "@u:x");
	assert_int_equal(store_event_append(f->st, &e, &p1), STORE_OK);
	e = ev_of("$b", "!r2:x", NULL);
	assert_int_equal(store_event_append(f->st, &e, &p2), STORE_OK);
	e = ev_of("$c", "!r1:x", NULL);
	assert_int_equal(store_event_append(f->st, &e, &p3), STORE_OK);
	assert_true(p1 > 0 && p2 > p1 && p3 > p2);
	e = ev_of("$b", "!r1:x", NULL);
	assert_int_equal(store_event_append(f->st, &e, &p), STORE_CONFLICT);
	assert_int_equal(p, p2);
	assert_int_equal(store_stream_max(f->st, &max), STORE_OK);
	assert_int_equal(max, p3);

	assert_int_equal(store_event_get(f->st, "$a", &e), STORE_OK);
	assert_int_equal(e.stream_pos, p1);
	assert_string_equal(e.room_id, "!r1:x");
	assert_string_equal(e.type, "m.room.member");
	assert_string_equal(e.state_key, "@u:x");
	assert_string_equal(e.sender, "@u:x");
	assert_int_equal(e.origin_server_ts, 42);
	assert_string_equal(e.json, "{\"content\":{}}");
	store_event_clear(&e);
	assert_int_equal(store_event_get(f->st, "$c", &e), STORE_OK);
	assert_null(e.state_key);
	store_event_clear(&e);
	assert_int_equal(store_event_get(f->st, "$zz", &e), STORE_NOT_FOUND);

	assert_int_equal(store_events_after(f->st, NULL, 0, 10, &list, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].event_id, "$a");
	assert_string_equal(list[2].event_id, "$c");
	store_event_list_free(list, n);
	assert_int_equal(store_events_after(f->st, "!r1:x", p1, 10, &list, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].event_id, "$c");
	store_event_list_free(list, n);
	assert_int_equal(store_events_after(f->st, NULL, 0, 2, &list, &n), STORE_OK);
	assert_int_equal(n, 2);
	store_event_list_free(list, n);
	assert_int_equal(store_events_after(f->st, NULL, p3, 10, &list, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_null(list);
	assert_int_equal(store_events_after(f->st, NULL, 0, 0, &list, &n), STORE_ERROR);
}

struct appender {
	struct store *st;
	int id;
	int failures;
	int64_t last;
};

static void *append_main(void *arg)
{
	struct appender *a = arg;
	char id[32];
	for (int i = 0; i < 20; i++) {
		struct store_event e;
		int64_t pos;
		snprintf(id, sizeof(id), "$t%d_%d", a->id, i);
		e = ev_of(id, "!r:x", NULL);
		if (store_event_append(a->st, &e, &pos) != STORE_OK || pos <= a->last)
			a->failures++;
		a->last = pos;
	}
	return NULL;
}

static void test_events_concurrent_append(void **state)
{
	struct fx *f = fx(state);
	struct appender a[THREADS];
	pthread_t th[THREADS];
	struct store_event *list;
	size_t n;

	for (int i = 0; i < THREADS; i++) {
		a[i] = (struct appender){ f->st, i, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, append_main, &a[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}
	assert_int_equal(store_events_after(f->st, "!r:x", 0, 1000, &list, &n), STORE_OK);
	assert_int_equal(n, THREADS * 20);
	for (size_t i = 1; i < n; i++)
		assert_true(list[i].stream_pos > list[i - 1].stream_pos);
	store_event_list_free(list, n);
}

/* PostgreSQL: connections the server dropped (restart, terminated session)
 * are replaced without failing the caller. */
static void test_pg_reconnects(void **state)
{
	struct fx *f = fx(state);
	const char *dsn = getenv("SCOP_TEST_PG_DSN");
	char sql[256];
	struct store_user u;

	assert_int_equal(store_user_create(f->st, "@r:x", "h", 0, 1, NULL), STORE_OK);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		 " WHERE datname = '%s' AND pid <> pg_backend_pid()", f->dbname);
	{
		PGconn *c = PQconnectdb(dsn);
		PGresult *r = PQexec(c, sql);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		PQclear(r);
		/* Wait (bounded) until the sessions are really gone. */
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'",
			 f->dbname);
		for (int i = 0; i < 200; i++) {
			int left;
			r = PQexec(c, sql);
			left = atoi(PQgetvalue(r, 0, 0));
			PQclear(r);
			if (left == 0)
				break;
			usleep(50000);
		}
		PQfinish(c);
	}
	/* The pool holds one connection here.  Normally the loss shows before
	 * the next call; if the hang-up is still in flight that call may fail,
	 * but then the next one must work. */
	if (store_user_get(f->st, "@r:x", &u) != STORE_OK)
		assert_int_equal(store_user_get(f->st, "@r:x", &u), STORE_OK);
	store_user_clear(&u);
	assert_int_equal(store_user_create(f->st, "@r2:x", "h", 0, 1, NULL), STORE_OK);
}

/* A writer that dies without closing the store (crash, kill -9) loses
 * nothing it was told was stored. */
static void test_crash_keeps_acknowledged_writes(void **state)
{
	struct fx *f = fx(state);
	struct store_user u;
	int status = 0;
	pid_t pid;

	store_close(f->st); /* the child opens its own, as a new process would */
	f->st = NULL;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *st;
		char err[256];
		struct store_login l = login_of("D", "t-crash", NULL);
		int ok = store_open(f->backend, f->conninfo, &st, err, sizeof(err)) == STORE_OK &&
			 store_user_create(st, "@crash:x", "h", 0, 1, &l) == STORE_OK &&
			 store_kv_set(st, "last", "written") == STORE_OK;
		_exit(ok ? 0 : 1); /* no store_close, no atexit handlers */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(fx_open(f), 0);
	assert_int_equal(store_user_get(f->st, "@crash:x", &u), STORE_OK);
	store_user_clear(&u);
	assert_true(token_exists(f->st, "t-crash"));
	{
		char *v = NULL;
		assert_int_equal(store_kv_get(f->st, "last", &v), STORE_OK);
		assert_string_equal(v, "written");
		free(v);
	}
	if (strcmp(f->backend, "sqlite") == 0) {
		struct stat sb;
		assert_int_equal(stat(f->conninfo, &sb), 0);
		assert_int_equal(sb.st_mode & 077, 0);
	}
}

/* Empties the test database (the fixture's store must be closed). */
static void wipe_database(struct fx *f)
{
	if (strcmp(f->backend, "sqlite") == 0) {
		char p[1100];
		static const char *suffix[] = { "", "-wal", "-shm" };
		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s%s", f->conninfo, suffix[i]);
			unlink(p);
		}
	} else {
		assert_int_equal(raw_exec(f, "SET client_min_messages = warning;"
					  " DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
	}
}

struct opener {
	struct fx *f;
	enum store_rc rc;
	int version;
};

static void *open_main(void *arg)
{
	struct opener *o = arg;
	struct store *st = NULL;
	char err[256];
	o->rc = store_open(o->f->backend, o->f->conninfo, &st, err, sizeof(err));
	if (o->rc == STORE_OK)
		o->rc = store_schema_version(st, &o->version);
	store_close(st);
	return NULL;
}

/* Several scopd processes starting at once on an empty database: one
 * applies each migration, the others wait and find it done. */
static void test_concurrent_first_open(void **state)
{
	struct fx *f = fx(state);
	struct opener o[THREADS];
	pthread_t th[THREADS];

	store_close(f->st);
	f->st = NULL;
	wipe_database(f);
	for (int i = 0; i < THREADS; i++) {
		o[i] = (struct opener){ f, STORE_ERROR, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, open_main, &o[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(o[i].rc, STORE_OK);
		assert_int_equal(o[i].version, newest_version(f->backend));
	}
	assert_int_equal(fx_open(f), 0);
}

#define BOTH(t)                                                                \
	{ #t " (sqlite)", t, setup_sqlite, teardown, NULL },                   \
	{ #t " (postgres)", t, setup_pg, teardown, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_migrations_idempotent_and_durable),
		BOTH(test_open_rejects_bad_arguments),
		BOTH(test_user_create_conflict_lookup),
		BOTH(test_user_create_with_login_is_atomic),
		BOTH(test_devices),
		BOTH(test_access_tokens),
		BOTH(test_refresh_rotation),
		BOTH(test_registration_tokens),
		BOTH(test_deactivation_and_password_cascades),
		BOTH(test_kv),
		BOTH(test_concurrent_writers),
		BOTH(test_upgrade_from_version_1),
		BOTH(test_events_stream),
		BOTH(test_events_concurrent_append),
		BOTH(test_crash_keeps_acknowledged_writes),
		BOTH(test_concurrent_first_open),
		{ "test_pg_reconnects (postgres)", test_pg_reconnects, setup_pg, teardown, NULL },
	};
	srand((unsigned)getpid());
	/* Expected failures (a refused newer schema) would log; keep TAP clean. */
	scop_log_init("test_store", getenv("SCOP_TEST_LOG") ? SCOP_LOG_DEBUG : SCOP_LOG_OFF);
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
