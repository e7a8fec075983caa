/* PostgreSQL backend of the spam token store (libpq).  Token sets travel
 * as one bigint[] parameter, so a lookup or a training update is one round
 * trip whatever the number of tokens. */
#include "bridge-smtp/spam_store_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS spam_tokens ("
	" h BIGINT PRIMARY KEY, spam INTEGER NOT NULL, ham INTEGER NOT NULL, day INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS spam_meta (k TEXT PRIMARY KEY, v BIGINT NOT NULL);"
	"INSERT INTO spam_meta(k, v) VALUES ('nspam', 0), ('nham', 0) ON CONFLICT (k) DO NOTHING;";

static PGconn *conn(struct spam_store *s)
{
	return s->db;
}

/* Runs a statement; keeps the result in *out (may be NULL) on success. */
static int run(struct spam_store *s, const char *what, const char *sql, int nparams, const char *const *params,
	       PGresult **out)
{
	PGresult *r = nparams ? PQexecParams(conn(s), sql, nparams, NULL, params, NULL, NULL, 0)
			      : PQexec(conn(s), sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *msg = PQresultErrorMessage(r);
		spam_store_fail(s, "postgresql %s: %.*s", what, (int)strcspn(msg, "\n"), msg);
		PQclear(r);
		return -1;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

static uint32_t to_u32(const char *v)
{
	long long x = strtoll(v, NULL, 10);
	return x < 0 ? 0 : x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
}

static int pg_exec(struct spam_store *s, const char *sql)
{
	return run(s, sql, sql, 0, NULL, NULL);
}

static int pg_totals(struct spam_store *s, uint32_t *nspam, uint32_t *nham)
{
	PGresult *r;

	*nspam = *nham = 0;
	if (run(s, "totals", "SELECT k, v FROM spam_meta WHERE k IN ('nspam', 'nham')", 0, NULL, &r) < 0)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		if (strcmp(PQgetvalue(r, i, 0), "nspam") == 0)
			*nspam = to_u32(PQgetvalue(r, i, 1));
		else
			*nham = to_u32(PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return 0;
}

/* "{h1,h2,...}" as a bigint[] literal. */
static int array_lit(struct spam_store *s, const uint64_t *h, size_t n, struct buf *b)
{
	buf_init(b, 0);
	if (buf_putc(b, '{') < 0)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (buf_printf(b, i ? ",%lld" : "%lld", (long long)h[i]) < 0)
			goto oom;
	if (buf_putc(b, '}') < 0)
		goto oom;
	return 0;
oom:
	buf_free(b);
	return spam_store_fail(s, "out of memory");
}

/* Position of h in the sorted-by-caller index, for mapping rows back. */
struct idx {
	uint64_t h;
	size_t i;
};

static int by_hash(const void *a, const void *b)
{
	uint64_t x = ((const struct idx *)a)->h, y = ((const struct idx *)b)->h;
	return x < y ? -1 : x > y;
}

static int pg_lookup(struct spam_store *s, const uint64_t *h, size_t n, struct spam_count *out)
{
	struct buf arr;
	struct idx *ix;
	PGresult *r;
	const char *p[1];
	int rc;

	memset(out, 0, n * sizeof(*out));
	if (n == 0)
		return 0;
	if (array_lit(s, h, n, &arr) < 0)
		return -1;
	p[0] = arr.data;
	rc = run(s, "lookup", "SELECT h, spam, ham FROM spam_tokens WHERE h = ANY($1::bigint[])", 1, p, &r);
	buf_free(&arr);
	if (rc < 0)
		return -1;
	if (!(ix = malloc(n * sizeof(*ix)))) {
		PQclear(r);
		return spam_store_fail(s, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		ix[i] = (struct idx){ h[i], i };
	qsort(ix, n, sizeof(*ix), by_hash);
	for (int row = 0; row < PQntuples(r); row++) {
		struct idx key = { (uint64_t)strtoll(PQgetvalue(r, row, 0), NULL, 10), 0 };
		struct idx *hit = bsearch(&key, ix, n, sizeof(*ix), by_hash);
		if (hit) {
			out[hit->i].spam = to_u32(PQgetvalue(r, row, 1));
			out[hit->i].ham = to_u32(PQgetvalue(r, row, 2));
		}
	}
	free(ix);
	PQclear(r);
	return 0;
}

static int pg_update(struct spam_store *s, const uint64_t *h, size_t n, int dspam, int dham, uint32_t day)
{
	char ds[16], dh[16], dd[16];
	const char *p[4];
	struct buf arr;
	int rc = 0;

	snprintf(ds, sizeof(ds), "%d", dspam);
	snprintf(dh, sizeof(dh), "%d", dham);
	snprintf(dd, sizeof(dd), "%u", day);
	if (n) {
		if (array_lit(s, h, n, &arr) < 0)
			return -1;
		p[0] = arr.data;
		p[1] = ds;
		p[2] = dh;
		p[3] = dd;
		rc = run(s, "update",
			 "INSERT INTO spam_tokens(h, spam, ham, day) "
			 "SELECT u, GREATEST($2::int, 0), GREATEST($3::int, 0), $4::int FROM unnest($1::bigint[]) u "
			 "ON CONFLICT (h) DO UPDATE SET spam = GREATEST(spam_tokens.spam + $2::int, 0), "
			 "ham = GREATEST(spam_tokens.ham + $3::int, 0), day = GREATEST(spam_tokens.day, $4::int)",
			 4, p, NULL);
		if (rc == 0 && (dspam < 0 || dham < 0))
			rc = run(s, "delete",
				 "DELETE FROM spam_tokens WHERE h = ANY($1::bigint[]) AND spam = 0 AND ham = 0", 1, p,
				 NULL);
		buf_free(&arr);
		if (rc < 0)
			return -1;
	}
	p[0] = ds;
	p[1] = dh;
	return run(s, "totals",
		   "UPDATE spam_meta SET v = GREATEST(v + CASE k WHEN 'nspam' THEN $1::bigint ELSE $2::bigint END, 0) "
		   "WHERE k IN ('nspam', 'nham')",
		   2, p, NULL);
}

static int pg_prune(struct spam_store *s, uint32_t max_total, uint32_t before_day, uint64_t *removed)
{
	char a[16], b[16];
	const char *p[2] = { a, b };
	PGresult *r;

	snprintf(a, sizeof(a), "%u", max_total);
	snprintf(b, sizeof(b), "%u", before_day);
	if (run(s, "prune", "DELETE FROM spam_tokens WHERE spam + ham <= $1::int AND day < $2::int", 2, p, &r) < 0)
		return -1;
	*removed = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

static int pg_size(struct spam_store *s, uint64_t *tokens)
{
	PGresult *r;

	if (run(s, "size", "SELECT count(*) FROM spam_tokens", 0, NULL, &r) < 0)
		return -1;
	*tokens = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

static int pg_trim(struct spam_store *s, uint64_t n, uint64_t *removed)
{
	char a[24];
	const char *p[1] = { a };
	PGresult *r;

	snprintf(a, sizeof(a), "%llu", (unsigned long long)n);
	if (run(s, "trim",
		"DELETE FROM spam_tokens WHERE h IN "
		"(SELECT h FROM spam_tokens ORDER BY spam + ham, day LIMIT $1::bigint)",
		1, p, &r) < 0)
		return -1;
	*removed = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

static int pg_scan(struct spam_store *s, int (*fn)(void *, uint64_t, struct spam_count), void *arg)
{
	PGresult *r;

	if (run(s, "scan", "SELECT h, spam, ham FROM spam_tokens", 0, NULL, &r) < 0)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		struct spam_count c = { to_u32(PQgetvalue(r, i, 1)), to_u32(PQgetvalue(r, i, 2)) };
		if (fn(arg, (uint64_t)strtoll(PQgetvalue(r, i, 0), NULL, 10), c) < 0) {
			PQclear(r);
			return spam_store_fail(s, "out of memory");
		}
	}
	PQclear(r);
	return 0;
}

/* "relation already exists" notices from the schema are expected. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void pg_close(struct spam_store *s)
{
	PQfinish(conn(s));
}

static const struct spam_store_ops pg_ops = {
	"postgresql", pg_totals, pg_lookup, pg_update, pg_exec, pg_prune, pg_size, pg_trim, pg_scan, pg_close,
};

int spam_store_pg_open(struct spam_store *s, const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);

	s->db = c;
	s->ops = &pg_ops;
	if (!c)
		return spam_store_fail(s, "postgresql: out of memory");
	if (PQstatus(c) != CONNECTION_OK) {
		const char *msg = PQerrorMessage(c);
		return spam_store_fail(s, "postgresql connect: %.*s", (int)strcspn(msg, "\n"), msg);
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	return pg_exec(s, schema);
}
