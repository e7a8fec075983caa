/* The thin layer under the store: one database connection of either
 * backend, parameterised queries, transactions.  Internal to
 * homeserver/store/; the rest of scopd uses store.h.
 *
 * SQL is written once, with '?' placeholders, in the dialect both SQLite
 * and PostgreSQL accept; the PostgreSQL side rewrites '?' to $n when it
 * prepares.  So '?' must not appear inside a literal in the SQL.  Every
 * sql string must have static storage: statements are prepared once per
 * connection and cached by the string's address.
 *
 * A connection is used by one thread at a time (the store's pool sees to
 * that).  Errors are logged with the database's message but never the
 * parameters, which may be token hashes or password hashes.
 */
#ifndef SCOP_STORE_DB_H
#define SCOP_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "homeserver/store/store.h"

enum db_kind { DB_SQLITE, DB_POSTGRES };

/* A query parameter: text (s, NULL being SQL NULL) or a 64-bit integer. */
struct db_param {
	int is_int;
	const char *s;
	int64_t i;
};
#define DB_TEXT(x) ((struct db_param){ 0, (x), 0 })
#define DB_INT(x) ((struct db_param){ 1, NULL, (int64_t)(x) })
/* An integer that is SQL NULL when it equals none (e.g. -1 for unlimited). */
#define DB_INT_OR_NULL(x, none) ((x) == (none) ? DB_TEXT(NULL) : DB_INT(x))

/* The rows of one statement, all in memory (results here are small). */
struct db_res {
	int nrows;
	int ncols;
	int64_t changes; /* rows inserted, updated or deleted */
	void *pg;        /* PGresult *, PostgreSQL only */
	char **cells;    /* nrows * ncols, NULL for SQL NULL; SQLite only */
};

struct db_conn;

/* Opens one connection and sets it up (SQLite: WAL, synchronous=FULL,
 * foreign keys, busy timeout).  On failure returns STORE_ERROR with a
 * message in err. */
enum store_rc db_connect(enum db_kind kind, const char *conninfo,
			 struct db_conn **out, char *err, size_t errlen);
void db_disconnect(struct db_conn *c);
enum db_kind db_kind(const struct db_conn *c);
/* 1 when the connection is unusable (PostgreSQL link lost): the pool then
 * replaces it instead of reusing it. */
int db_broken(const struct db_conn *c);
/* Cheap liveness check of an idle connection (no round trip): reads what
 * the server sent meanwhile, which shows a terminated session or a server
 * restart.  0 when the connection must be replaced. */
int db_alive(struct db_conn *c);

/* Runs sql with np parameters.  res may be NULL when the rows are not
 * wanted; otherwise release it with db_res_free (also after an error,
 * which leaves it empty).  STORE_CONFLICT: unique key violated;
 * STORE_NOT_FOUND: foreign key violated (the row referred to is missing);
 * STORE_ERROR: anything else. */
enum store_rc db_query(struct db_conn *c, const char *sql,
		       const struct db_param *p, int np, struct db_res *res);
void db_res_free(struct db_res *res);
/* Cell text, NULL for SQL NULL. */
const char *db_get(const struct db_res *res, int row, int col);
/* Cell as an integer; 0 for SQL NULL. */
int64_t db_get_int(const struct db_res *res, int row, int col);
int db_is_null(const struct db_res *res, int row, int col);
/* strdup of the cell, NULL for SQL NULL.  *oom is set to 1 if memory ran
 * out (and left alone otherwise). */
char *db_dup(const struct db_res *res, int row, int col, int *oom);

/* Runs several ';'-separated statements without parameters (migrations). */
enum store_rc db_exec_script(struct db_conn *c, const char *sql);

/* Transactions.  SQLite takes the write lock at BEGIN (BEGIN IMMEDIATE) so
 * two writers never deadlock upgrading a read lock. */
enum store_rc db_begin(struct db_conn *c);
enum store_rc db_commit(struct db_conn *c);
void db_rollback(struct db_conn *c);

/* Query helper: DBQ(c, res, sql, DB_TEXT(a), DB_INT(b)) */
#define DBQ(c, res, sql, ...)                                                  \
	db_query((c), (sql), (const struct db_param[]){ __VA_ARGS__ },         \
		 (int)(sizeof((const struct db_param[]){ __VA_ARGS__ }) /      \
		       sizeof(struct db_param)),                               \
		 (res))

#endif
