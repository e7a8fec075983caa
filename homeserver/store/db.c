/* One database connection, SQLite or PostgreSQL.  See db.h. */
#include "homeserver/store/db.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "common/log.h"

/* Prepared statements kept per connection.  The store has a few dozen
 * distinct statements; past the cap they are prepared per call. */
#define STMT_CACHE 128
/* How long an SQLite writer waits for another connection's write lock. */
#define SQLITE_BUSY_MS 30000

struct stmt_slot {
	const char *sql; /* key: address of the static SQL string */
	sqlite3_stmt *sq;
	char pgname[16];
};

struct db_conn {
	enum db_kind kind;
	int broken;
	sqlite3 *sq;
	PGconn *pg;
	int nstmt;
	struct stmt_slot stmt[STMT_CACHE];
};

enum db_kind db_kind(const struct db_conn *c) { return c->kind; }
int db_broken(const struct db_conn *c) { return c->broken; }

int db_alive(struct db_conn *c)
{
	struct pollfd pfd;
	if (c->kind == DB_SQLITE)
		return !c->broken;
	/* An idle session gets no input unless the server is ending it (a
	 * FATAL error, then hang-up: restart, pg_terminate_backend, idle
	 * timeout).  Rare harmless input (a parameter change) only costs a
	 * reconnect. */
	pfd.fd = PQsocket(c->pg);
	pfd.events = POLLIN | POLLRDHUP;
	pfd.revents = 0;
	if (pfd.fd < 0 || PQstatus(c->pg) != CONNECTION_OK || poll(&pfd, 1, 0) != 0)
		c->broken = 1;
	return !c->broken;
}

/* ---- results -------------------------------------------------------- */

void db_res_free(struct db_res *res)
{
	if (!res)
		return;
	if (res->pg)
		PQclear(res->pg);
	if (res->cells) {
		for (int i = 0; i < res->nrows * res->ncols; i++)
			free(res->cells[i]);
		free(res->cells);
	}
	memset(res, 0, sizeof(*res));
}

const char *db_get(const struct db_res *res, int row, int col)
{
	if (row < 0 || row >= res->nrows || col < 0 || col >= res->ncols)
		return NULL;
	if (res->pg) {
		if (PQgetisnull(res->pg, row, col))
			return NULL;
		return PQgetvalue(res->pg, row, col);
	}
	return res->cells[row * res->ncols + col];
}

int db_is_null(const struct db_res *res, int row, int col)
{
	return db_get(res, row, col) == NULL;
}

int64_t db_get_int(const struct db_res *res, int row, int col)
{
	const char *s = db_get(res, row, col);
	return s ? strtoll(s, NULL, 10) : 0;
}

char *db_dup(const struct db_res *res, int row, int col, int *oom)
{
	const char *s = db_get(res, row, col);
	char *d;
	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = 1;
	return d;
}

/* ---- SQLite --------------------------------------------------------- */

static enum store_rc sq_rc(struct db_conn *c, int rc, const char *what)
{
	int ext = sqlite3_extended_errcode(c->sq);
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return STORE_CONFLICT;
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		return STORE_NOT_FOUND;
	log_error("sqlite: %s: %s (%d)", what, sqlite3_errmsg(c->sq), rc);
	return STORE_ERROR;
}

static enum store_rc sq_connect(struct db_conn *c, const char *path, char *err, size_t errlen)
{
	static const char setup[] =
		/* FULL: a commit is on disk before we acknowledge it. */
		"PRAGMA synchronous=FULL;"
		"PRAGMA foreign_keys=ON;";
	sqlite3_stmt *wal = NULL;
	char *msg = NULL;
	int rc, fd;

	/* The database holds password and token hashes: create it private.
	 * SQLite gives the -wal and -shm files the same mode. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	rc = sqlite3_open_v2(path, &c->sq,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: cannot open %s: %s", path,
			 c->sq ? sqlite3_errmsg(c->sq) : sqlite3_errstr(rc));
		return STORE_ERROR;
	}
	sqlite3_extended_result_codes(c->sq, 1);
	sqlite3_busy_timeout(c->sq, SQLITE_BUSY_MS);
	/* WAL lets readers run beside the writer.  Some file systems (network
	 * mounts) cannot do it; SQLite then answers with the old mode. */
	rc = sqlite3_prepare_v2(c->sq, "PRAGMA journal_mode=WAL", -1, &wal, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(wal)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(wal, 0);
		rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_OK : SQLITE_CANTOPEN;
	}
	sqlite3_finalize(wal);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: cannot use WAL mode on %s (%s)", path,
			 rc == SQLITE_CANTOPEN ? "not supported there" : sqlite3_errmsg(c->sq));
		return STORE_ERROR;
	}
	if (sqlite3_exec(c->sq, setup, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: setting up %s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static sqlite3_stmt *sq_prepare(struct db_conn *c, const char *sql, int *cached)
{
	sqlite3_stmt *st = NULL;
	for (int i = 0; i < c->nstmt; i++) {
		if (c->stmt[i].sql == sql) {
			*cached = 1;
			return c->stmt[i].sq;
		}
	}
	*cached = c->nstmt < STMT_CACHE;
	if (sqlite3_prepare_v3(c->sq, sql, -1, *cached ? SQLITE_PREPARE_PERSISTENT : 0,
			       &st, NULL) != SQLITE_OK)
		return NULL;
	if (*cached) {
		c->stmt[c->nstmt].sql = sql;
		c->stmt[c->nstmt].sq = st;
		c->nstmt++;
	}
	return st;
}

static enum store_rc sq_query(struct db_conn *c, const char *sql,
			      const struct db_param *p, int np, struct db_res *res)
{
	enum store_rc ret = STORE_OK;
	int cached = 0, rc, cap = 0;
	sqlite3_stmt *st = sq_prepare(c, sql, &cached);

	if (!st)
		return sq_rc(c, sqlite3_errcode(c->sq), "prepare");
	for (int i = 0; i < np && ret == STORE_OK; i++) {
		if (p[i].is_int)
			rc = sqlite3_bind_int64(st, i + 1, p[i].i);
		else if (p[i].s)
			rc = sqlite3_bind_text(st, i + 1, p[i].s, -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(st, i + 1);
		if (rc != SQLITE_OK)
			ret = sq_rc(c, rc, "bind");
	}
	if (ret == STORE_OK && res)
		res->ncols = sqlite3_column_count(st);
	while (ret == STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!res)
			continue;
		if (res->nrows == cap) {
			int ncap = cap ? cap * 2 : 4;
			char **cells = realloc(res->cells, sizeof(char *) * (size_t)ncap * (size_t)res->ncols + 1);
			if (!cells) {
				ret = STORE_ERROR;
				break;
			}
			res->cells = cells;
			cap = ncap;
		}
		for (int col = 0; col < res->ncols; col++) {
			const unsigned char *t = sqlite3_column_text(st, col);
			char **cell = &res->cells[res->nrows * res->ncols + col];
			*cell = NULL;
			if (t && !(*cell = strdup((const char *)t)))
				ret = STORE_ERROR;
		}
		res->nrows++;
	}
	if (ret == STORE_OK && rc != SQLITE_DONE)
		ret = sq_rc(c, rc, "step");
	if (ret == STORE_OK && res)
		res->changes = sqlite3_changes(c->sq);
	if (cached) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
	if (ret != STORE_OK && res)
		db_res_free(res);
	return ret;
}

/* ---- PostgreSQL ----------------------------------------------------- */

static enum store_rc pg_rc(struct db_conn *c, PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (state && strcmp(state, "23505") == 0)
		return STORE_CONFLICT;
	if (state && strcmp(state, "23503") == 0)
		return STORE_NOT_FOUND;
	if (PQstatus(c->pg) != CONNECTION_OK)
		c->broken = 1;
	/* Only the primary message: the DETAIL line may quote key values. */
	log_error("postgres: %s: %s", what, msg ? msg : PQerrorMessage(c->pg));
	return STORE_ERROR;
}

static void pg_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* "relation already exists, skipping" and the like */
}

static enum store_rc pg_connect(struct db_conn *c, const char *conninfo, char *err, size_t errlen)
{
	c->pg = PQconnectdb(conninfo);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		/* libpq's message names host and database, never the password. */
		snprintf(err, errlen, "postgres: %s",
			 c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return STORE_ERROR;
	}
	PQsetNoticeProcessor(c->pg, pg_notice, NULL);
	return STORE_OK;
}

/* Rewrites '?' placeholders to $1, $2, ... */
static char *pg_sql(const char *sql)
{
	size_t n = 0, len = strlen(sql);
	char *out, *o;
	for (const char *s = sql; *s; s++)
		n += *s == '?';
	out = o = malloc(len + n * 4 + 1);
	if (!out)
		return NULL;
	n = 0;
	for (const char *s = sql; *s; s++) {
		if (*s == '?')
			o += sprintf(o, "$%zu", ++n);
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

static enum store_rc pg_query(struct db_conn *c, const char *sql,
			      const struct db_param *p, int np, struct db_res *res)
{
	enum { MAXP = 16 };
	char ibuf[MAXP][24];
	const char *vals[MAXP];
	const char *name = NULL;
	PGresult *r;
	ExecStatusType st;
	int slot = -1;

	if (np > MAXP) {
		log_error("postgres: too many parameters");
		return STORE_ERROR;
	}
	for (int i = 0; i < np; i++) {
		if (p[i].is_int) {
			snprintf(ibuf[i], sizeof(ibuf[i]), "%" PRId64, p[i].i);
			vals[i] = ibuf[i];
		} else {
			vals[i] = p[i].s;
		}
	}
	for (int i = 0; i < c->nstmt; i++)
		if (c->stmt[i].sql == sql)
			slot = i;
	if (slot < 0 && c->nstmt < STMT_CACHE) {
		char *text = pg_sql(sql);
		if (!text)
			return STORE_ERROR;
		slot = c->nstmt;
		snprintf(c->stmt[slot].pgname, sizeof(c->stmt[slot].pgname), "s%d", slot);
		r = PQprepare(c->pg, c->stmt[slot].pgname, text, 0, NULL);
		free(text);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			enum store_rc rc = pg_rc(c, r, "prepare");
			PQclear(r);
			return rc;
		}
		PQclear(r);
		c->stmt[slot].sql = sql;
		c->nstmt++;
	}
	if (slot >= 0) {
		name = c->stmt[slot].pgname;
		r = PQexecPrepared(c->pg, name, np, vals, NULL, NULL, 0);
	} else {
		char *text = pg_sql(sql);
		if (!text)
			return STORE_ERROR;
		r = PQexecParams(c->pg, text, np, NULL, vals, NULL, NULL, 0);
		free(text);
	}
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		enum store_rc rc = pg_rc(c, r, "query");
		PQclear(r);
		return rc;
	}
	if (!res) {
		PQclear(r);
		return STORE_OK;
	}
	res->pg = r;
	res->nrows = PQntuples(r);
	res->ncols = PQnfields(r);
	res->changes = strtoll(PQcmdTuples(r), NULL, 10);
	return STORE_OK;
}

/* ---- dispatch ------------------------------------------------------- */

enum store_rc db_connect(enum db_kind kind, const char *conninfo,
			 struct db_conn **out, char *err, size_t errlen)
{
	struct db_conn *c = calloc(1, sizeof(*c));
	enum store_rc rc;
	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return STORE_ERROR;
	}
	c->kind = kind;
	rc = kind == DB_SQLITE ? sq_connect(c, conninfo, err, errlen)
			       : pg_connect(c, conninfo, err, errlen);
	if (rc != STORE_OK) {
		db_disconnect(c);
		return rc;
	}
	*out = c;
	return STORE_OK;
}

void db_disconnect(struct db_conn *c)
{
	if (!c)
		return;
	if (c->sq) {
		for (int i = 0; i < c->nstmt; i++)
			sqlite3_finalize(c->stmt[i].sq);
		sqlite3_close(c->sq);
	}
	if (c->pg)
		PQfinish(c->pg);
	free(c);
}

enum store_rc db_query(struct db_conn *c, const char *sql,
		       const struct db_param *p, int np, struct db_res *res)
{
	if (res)
		memset(res, 0, sizeof(*res));
	return c->kind == DB_SQLITE ? sq_query(c, sql, p, np, res)
				    : pg_query(c, sql, p, np, res);
}

enum store_rc db_exec_script(struct db_conn *c, const char *sql)
{
	if (c->kind == DB_SQLITE) {
		char *msg = NULL;
		int rc = sqlite3_exec(c->sq, sql, NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			log_error("sqlite: script: %s", msg ? msg : sqlite3_errstr(rc));
			sqlite3_free(msg);
			return STORE_ERROR;
		}
		return STORE_OK;
	} else {
		PGresult *r = PQexec(c->pg, sql);
		enum store_rc rc = STORE_OK;
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
			rc = pg_rc(c, r, "script");
		PQclear(r);
		return rc;
	}
}

enum store_rc db_begin(struct db_conn *c)
{
	return db_query(c, c->kind == DB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN",
			NULL, 0, NULL);
}

enum store_rc db_commit(struct db_conn *c)
{
	enum store_rc rc = db_query(c, "COMMIT", NULL, 0, NULL);
	if (rc != STORE_OK)
		db_rollback(c);
	/* A deferred-constraint failure at COMMIT is still a failure, not a
	 * "not found" or "conflict" the caller could act on. */
	return rc == STORE_OK ? STORE_OK : STORE_ERROR;
}

void db_rollback(struct db_conn *c)
{
	if (c->kind == DB_SQLITE) {
		if (!sqlite3_get_autocommit(c->sq))
			sqlite3_exec(c->sq, "ROLLBACK", NULL, NULL, NULL);
	} else if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		PGresult *r = PQexec(c->pg, "ROLLBACK");
		PQclear(r);
	}
}
