/* Unit tests for the spam token store: each test runs on SQLite (a file in
 * a private temp dir) and on PostgreSQL (a database of its own created
 * through SCOP_TEST_PG_DSN, dropped afterwards).  Without SCOP_TEST_PG_DSN
 * the PostgreSQL runs are skipped, or fail when SCOP_REQUIRE_PG=1. */
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

#include <libpq-fe.h>

#include "bridge-smtp/spam_store.h"
#include "tests/unit/pgtest.h"

struct fx {
	int pg;
	int skip;
	char dir[64];
	char where[1100];
	char dbname[64];
	struct spam_store *st;
};

static int fx_open(struct fx *f)
{
	char err[256];
	if (spam_store_open(&f->st, f->where, err, sizeof(err)) < 0) {
		fprintf(stderr, "# spam_store_open: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	spam_store_close(f->st);
	if (f->dir[0]) {
		char path[128];
		static const char *const files[] = { "spam.db", "spam.db-wal", "spam.db-shm" };
		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
			unlink(path);
		}
		rmdir(f->dir);
	}
	pgtest_drop(f->dbname);
	free(f);
	return 0;
}

static int setup(void **state)
{
	int pg = *state != NULL;
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->pg = pg;
	*state = f;
	if (!pg) {
		snprintf(f->dir, sizeof(f->dir), "/tmp/scop-spam-XXXXXX");
		if (!mkdtemp(f->dir)) {
			f->dir[0] = '\0';
			goto fail;
		}
		snprintf(f->where, sizeof(f->where), "%s/spam.db", f->dir);
	} else {
		char conninfo[512];
		int rc = pgtest_create("scop_spam", f->dbname, sizeof(f->dbname), conninfo, sizeof(conninfo));
		if (rc > 0) {
			f->skip = 1;
			return 0;
		}
		if (rc < 0)
			goto fail;
		snprintf(f->where, sizeof(f->where), "pg:%s", conninfo);
	}
	if (fx_open(f) == 0)
		return 0;
fail:
	teardown(state);
	*state = NULL;
	return -1;
}

#define FX()                              \
	struct fx *f = *state;            \
	if (f->skip)                      \
		skip();                   \
	struct spam_store *st = f->st

static void test_update_lookup(void **state)
{
	FX();
	uint64_t h[] = { 11, 22, 0x7fffffffffffff00ULL };
	uint64_t q[] = { 22, 99, 0x7fffffffffffff00ULL, 11 };
	struct spam_count c[4];
	uint32_t ns, nh;
	uint64_t size;
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(ns + nh, 0);
	assert_int_equal(spam_store_update(st, h, 3, 1, 0, 100), 0);
	assert_int_equal(spam_store_update(st, h, 2, 0, 1, 101), 0);
	assert_int_equal(spam_store_update(st, h, 1, 1, 0, 102), 0);
	assert_int_equal(spam_store_lookup(st, q, 4, c), 0);
	assert_int_equal(c[0].spam, 1);
	assert_int_equal(c[0].ham, 1);
	assert_int_equal(c[1].spam + c[1].ham, 0);
	assert_int_equal(c[2].spam, 1);
	assert_int_equal(c[2].ham, 0);
	assert_int_equal(c[3].spam, 2);
	assert_int_equal(c[3].ham, 1);
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(ns, 2);
	assert_int_equal(nh, 1);
	assert_int_equal(spam_store_size(st, &size), 0);
	assert_int_equal(size, 3);
	assert_string_equal(spam_store_backend(st), f->pg ? "postgresql" : "sqlite");
}

static void test_untrain_clamps(void **state)
{
	FX();
	uint64_t h[] = { 5, 6 };
	struct spam_count c[2];
	uint32_t ns, nh;
	uint64_t size;
	assert_int_equal(spam_store_update(st, h, 1, 0, 1, 10), 0);
	/* Token 6 was never trained; 5 goes back to 0/0 and disappears. */
	assert_int_equal(spam_store_update(st, h, 2, 0, -1, 0), 0);
	assert_int_equal(spam_store_update(st, h, 2, -1, -1, 0), 0);
	assert_int_equal(spam_store_lookup(st, h, 2, c), 0);
	assert_int_equal(c[0].spam + c[0].ham + c[1].spam + c[1].ham, 0);
	assert_int_equal(spam_store_size(st, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(nh, 0);
}

static void test_transactions(void **state)
{
	FX();
	uint64_t h[] = { 1, 2, 3 };
	struct spam_count c[3];
	uint32_t ns, nh;
	assert_int_equal(spam_store_begin(st), 0);
	assert_int_equal(spam_store_begin(st), -1); /* no nesting */
	assert_int_equal(spam_store_update(st, h, 3, 1, 0, 1), 0);
	assert_int_equal(spam_store_rollback(st), 0);
	assert_int_equal(spam_store_lookup(st, h, 3, c), 0);
	assert_int_equal(c[0].spam + c[1].spam + c[2].spam, 0);
	assert_int_equal(spam_store_begin(st), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(spam_store_update(st, h, 3, 0, 1, 1), 0);
	assert_int_equal(spam_store_commit(st), 0);
	assert_int_equal(spam_store_commit(st), -1);
	assert_true(strlen(spam_store_error(st)) > 0);
	assert_int_equal(spam_store_lookup(st, h, 3, c), 0);
	assert_int_equal(c[2].ham, 10);
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(nh, 10);
}

static void test_prune(void **state)
{
	FX();
	uint64_t old1[] = { 100 }, old2[] = { 200 }, fresh[] = { 300 };
	uint64_t all[] = { 100, 200, 300 };
	struct spam_count c[3];
	uint64_t removed = 0, size;
	assert_int_equal(spam_store_update(st, old1, 1, 1, 0, 50), 0);  /* once, old */
	assert_int_equal(spam_store_update(st, old2, 1, 1, 0, 50), 0);
	assert_int_equal(spam_store_update(st, old2, 1, 0, 1, 60), 0);  /* twice, old */
	assert_int_equal(spam_store_update(st, fresh, 1, 0, 1, 500), 0); /* once, recent */
	assert_int_equal(spam_store_prune(st, 1, 400, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(spam_store_lookup(st, all, 3, c), 0);
	assert_int_equal(c[0].spam + c[0].ham, 0);
	assert_int_equal(c[1].spam + c[1].ham, 2);
	assert_int_equal(c[2].ham, 1);
	assert_int_equal(spam_store_prune(st, 2, 400, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(spam_store_size(st, &size), 0);
	assert_int_equal(size, 1);
}

static void test_trim(void **state)
{
	FX();
	uint64_t h[] = { 1, 2, 3, 4, 5 };
	struct spam_count c[5];
	uint64_t removed = 9, size;
	/* Counts 1,1,2,3,1 on days 10,20,10,10,30. */
	assert_int_equal(spam_store_update(st, h, 1, 1, 0, 10), 0);
	assert_int_equal(spam_store_update(st, h + 1, 1, 1, 0, 20), 0);
	assert_int_equal(spam_store_update(st, h + 2, 2, 1, 0, 10), 0);
	assert_int_equal(spam_store_update(st, h + 2, 2, 0, 1, 10), 0);
	assert_int_equal(spam_store_update(st, h + 3, 1, 1, 0, 10), 0);
	assert_int_equal(spam_store_update(st, h + 4, 1, 0, 1, 30), 0);
	assert_int_equal(spam_store_trim(st, 10, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(spam_store_cache_load(st), 0);
	/* Down to 3: the rarest go, oldest first among equals (1 then 2). */
	assert_int_equal(spam_store_trim(st, 3, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(spam_store_size(st, &size), 0);
	assert_int_equal(size, 3);
	assert_int_equal(spam_store_lookup(st, h, 5, c), 0); /* from the reloaded cache */
	assert_int_equal(c[0].spam + c[1].spam, 0);
	assert_int_equal(c[2].spam + c[2].ham, 2);
	assert_int_equal(c[3].spam + c[3].ham, 3);
	assert_int_equal(c[4].ham, 1);
	assert_int_equal(spam_store_trim(st, 0, NULL), 0);
	assert_int_equal(spam_store_size(st, &size), 0);
	assert_int_equal(size, 0);
}

static void test_cache(void **state)
{
	FX();
	enum { N = 3000 };
	uint64_t *h = malloc(N * sizeof(*h));
	struct spam_count *a = malloc(N * sizeof(*a)), *b = malloc(N * sizeof(*b));
	uint32_t ns, nh;
	assert_non_null(h);
	assert_non_null(a);
	assert_non_null(b);
	for (int i = 0; i < N; i++)
		h[i] = (uint64_t)i * 2654435761u + 1;
	assert_int_equal(spam_store_update(st, h, N, 1, 0, 7), 0);
	assert_int_equal(spam_store_cache_load(st), 0);
	/* Updates through the store reach the cache, deletions included. */
	assert_int_equal(spam_store_update(st, h, N / 2, 0, 1, 8), 0);
	assert_int_equal(spam_store_update(st, h + N / 2, N / 4, -1, 0, 0), 0);
	assert_int_equal(spam_store_lookup(st, h, N, a), 0);
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(nh, 1);
	spam_store_cache_drop(st);
	assert_int_equal(spam_store_lookup(st, h, N, b), 0);
	assert_memory_equal(a, b, N * sizeof(*a));
	assert_int_equal(a[0].spam, 1);
	assert_int_equal(a[0].ham, 1);
	assert_int_equal(a[N / 2].spam + a[N / 2].ham, 0);
	assert_int_equal(a[N - 1].spam, 1);
	free(h);
	free(a);
	free(b);
}

static void test_reopen(void **state)
{
	FX();
	uint64_t h[] = { 42 };
	struct spam_count c;
	assert_int_equal(spam_store_update(st, h, 1, 1, 0, 3), 0);
	if (!f->pg) {
		/* WAL mode leaves its log next to the database. */
		char wal[128];
		struct stat sb;
		snprintf(wal, sizeof(wal), "%s/spam.db-wal", f->dir);
		assert_int_equal(stat(wal, &sb), 0);
	}
	spam_store_close(st);
	f->st = NULL;
	assert_int_equal(fx_open(f), 0);
	assert_int_equal(spam_store_lookup(f->st, h, 1, &c), 0);
	assert_int_equal(c.spam, 1);
}

static void test_open_errors(void **state)
{
	struct spam_store *s = NULL;
	char err[256] = "";
	(void)state;
	assert_int_equal(spam_store_open(&s, "/nonexistent-dir/a/b.db", err, sizeof(err)), -1);
	assert_null(s);
	assert_true(strlen(err) > 0);
	/* A failed connection does not echo the password. */
	assert_int_equal(spam_store_open(&s, "pg:host=/nonexistent-dir port=1 password=hunter2 connect_timeout=1", err,
					 sizeof(err)),
			 -1);
	assert_null(strstr(err, "hunter2"));
}

/* Each test twice, named for its backend. */
#define BOTH(fn)                                                       \
	{ "sqlite: " #fn, fn, setup, teardown, NULL },                 \
	{ "postgresql: " #fn, fn, setup, teardown, (void *)"postgresql" }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_update_lookup),
		BOTH(test_untrain_clamps),
		BOTH(test_transactions),
		BOTH(test_prune),
		BOTH(test_trim),
		BOTH(test_cache),
		BOTH(test_reopen),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests_name("spam_store", tests, NULL, NULL);
}
