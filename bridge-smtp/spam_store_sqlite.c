/* SQLite backend of the spam token store (WAL mode). */
#include "bridge-smtp/spam_store_int.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

enum { ST_LOOKUP, ST_UPSERT, ST_DELETE0, ST_TOTAL_ADD, ST_TOTALS, ST_N };

static const char *const sql_text[ST_N] = {
	[ST_LOOKUP] = "SELECT spam, ham FROM spam_tokens WHERE h = ?1",
	[ST_UPSERT] = "INSERT INTO spam_tokens(h, spam, ham, day) VALUES (?1, max(?2, 0), max(?3, 0), ?4) "
		      "ON CONFLICT(h) DO UPDATE SET spam = max(spam + ?2, 0), ham = max(ham + ?3, 0), "
		      "day = max(day, ?4)",
	[ST_DELETE0] = "DELETE FROM spam_tokens WHERE h = ?1 AND spam = 0 AND ham = 0",
	[ST_TOTAL_ADD] = "UPDATE spam_meta SET v = max(v + ?2, 0) WHERE k = ?1",
	[ST_TOTALS] = "SELECT k, v FROM spam_meta WHERE k IN ('nspam', 'nham')",
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS spam_tokens ("
	" h INTEGER PRIMARY KEY, spam INTEGER NOT NULL, ham INTEGER NOT NULL, day INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS spam_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO spam_meta(k, v) VALUES ('nspam', 0), ('nham', 0);";

static sqlite3 *db_of(struct spam_store *s)
{
	return s->db;
}

static sqlite3_stmt *st(struct spam_store *s, int i)
{
	return ((sqlite3_stmt **)s->stmts)[i];
}

static int fail(struct spam_store *s, const char *what)
{
	return spam_store_fail(s, "sqlite %s: %s", what, sqlite3_errmsg(db_of(s)));
}

static int sq_exec(struct spam_store *s, const char *sql)
{
	if (sqlite3_exec(db_of(s), sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(s, sql);
	return 0;
}

static int sq_totals(struct spam_store *s, uint32_t *nspam, uint32_t *nham)
{
	sqlite3_stmt *q = st(s, ST_TOTALS);
	int rc;

	*nspam = *nham = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(q, 0);
		sqlite3_int64 v = sqlite3_column_int64(q, 1);
		uint32_t v32 = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		if (k && strcmp(k, "nspam") == 0)
			*nspam = v32;
		else if (k && strcmp(k, "nham") == 0)
			*nham = v32;
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : fail(s, "totals");
}

static uint32_t col_u32(sqlite3_stmt *q, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(q, i);
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int sq_lookup(struct spam_store *s, const uint64_t *h, size_t n, struct spam_count *out)
{
	sqlite3_stmt *q = st(s, ST_LOOKUP);

	for (size_t i = 0; i < n; i++) {
		int rc;
		out[i].spam = out[i].ham = 0;
		sqlite3_bind_int64(q, 1, (sqlite3_int64)h[i]);
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			out[i].spam = col_u32(q, 0);
			out[i].ham = col_u32(q, 1);
		}
		sqlite3_reset(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return fail(s, "lookup");
	}
	return 0;
}

static int step_done(struct spam_store *s, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : fail(s, what);
}

static int sq_update(struct spam_store *s, const uint64_t *h, size_t n, int dspam, int dham, uint32_t day)
{
	sqlite3_stmt *up = st(s, ST_UPSERT), *del = st(s, ST_DELETE0), *tot = st(s, ST_TOTAL_ADD);

	sqlite3_bind_int(up, 2, dspam);
	sqlite3_bind_int(up, 3, dham);
	sqlite3_bind_int64(up, 4, day);
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(up, 1, (sqlite3_int64)h[i]);
		if (step_done(s, up, "upsert") < 0)
			return -1;
		if (dspam < 0 || dham < 0) {
			sqlite3_bind_int64(del, 1, (sqlite3_int64)h[i]);
			if (step_done(s, del, "delete") < 0)
				return -1;
		}
	}
	sqlite3_bind_text(tot, 1, "nspam", -1, SQLITE_STATIC);
	sqlite3_bind_int(tot, 2, dspam);
	if (step_done(s, tot, "totals") < 0)
		return -1;
	sqlite3_bind_text(tot, 1, "nham", -1, SQLITE_STATIC);
	sqlite3_bind_int(tot, 2, dham);
	return step_done(s, tot, "totals");
}

static int sq_prune(struct spam_store *s, uint32_t max_total, uint32_t before_day, uint64_t *removed)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(db_of(s), "DELETE FROM spam_tokens WHERE spam + ham <= ?1 AND day < ?2", -1, &q,
			       NULL) != SQLITE_OK)
		return fail(s, "prune");
	sqlite3_bind_int64(q, 1, max_total);
	sqlite3_bind_int64(q, 2, before_day);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return fail(s, "prune");
	*removed = (uint64_t)sqlite3_changes(db_of(s));
	return 0;
}

static int sq_size(struct spam_store *s, uint64_t *tokens)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(db_of(s), "SELECT count(*) FROM spam_tokens", -1, &q, NULL) != SQLITE_OK)
		return fail(s, "size");
	rc = sqlite3_step(q);
	*tokens = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : fail(s, "size");
}

static int sq_trim(struct spam_store *s, uint64_t n, uint64_t *removed)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(db_of(s),
			       "DELETE FROM spam_tokens WHERE h IN "
			       "(SELECT h FROM spam_tokens ORDER BY spam + ham, day LIMIT ?1)",
			       -1, &q, NULL) != SQLITE_OK)
		return fail(s, "trim");
	sqlite3_bind_int64(q, 1, n > INT64_MAX ? INT64_MAX : (sqlite3_int64)n);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return fail(s, "trim");
	*removed = (uint64_t)sqlite3_changes(db_of(s));
	return 0;
}

static int sq_scan(struct spam_store *s, int (*fn)(void *, uint64_t, struct spam_count), void *arg)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(db_of(s), "SELECT h, spam, ham FROM spam_tokens", -1, &q, NULL) != SQLITE_OK)
		return fail(s, "scan");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct spam_count c = { col_u32(q, 1), col_u32(q, 2) };
		if (fn(arg, (uint64_t)sqlite3_column_int64(q, 0), c) < 0) {
			sqlite3_finalize(q);
			return spam_store_fail(s, "out of memory");
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : fail(s, "scan");
}

static void sq_close(struct spam_store *s)
{
	sqlite3_stmt **q = s->stmts;
	if (q)
		for (int i = 0; i < ST_N; i++)
			sqlite3_finalize(q[i]);
	free(q);
	sqlite3_close(db_of(s));
}

static const struct spam_store_ops sqlite_ops = {
	"sqlite", sq_totals, sq_lookup, sq_update, sq_exec, sq_prune, sq_size, sq_trim, sq_scan, sq_close,
};

int spam_store_sqlite_open(struct spam_store *s, const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt **q;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		spam_store_fail(s, "sqlite open: %s", db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	s->db = db;
	s->ops = &sqlite_ops;
	if (!(s->stmts = q = calloc(ST_N, sizeof(*q))))
		return spam_store_fail(s, "out of memory");
	sqlite3_busy_timeout(db, 5000);
	if (strcmp(path, ":memory:") != 0 && sq_exec(s, "PRAGMA journal_mode=WAL") < 0)
		return -1;
	if (sq_exec(s, "PRAGMA synchronous=NORMAL") < 0 || sq_exec(s, schema) < 0)
		return -1;
	for (int i = 0; i < ST_N; i++)
		if (sqlite3_prepare_v3(db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &q[i], NULL) != SQLITE_OK)
			return fail(s, "prepare");
	return 0;
}
