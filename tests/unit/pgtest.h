/* Private PostgreSQL databases for unit tests that run on both backends.
 * The cluster is the one named by SCOP_TEST_PG_DSN (scripts/test.sh
 * starts one); each test gets a database of its own and drops it.
 */
#ifndef SCOP_PGTEST_H
#define SCOP_PGTEST_H

#include <stddef.h>

/* Creates a uniquely named database <prefix>_<pid>_<time>.  Returns
 *   0  with its name in name[namecap] and a conninfo for it (the cluster's
 *      conninfo plus dbname=; later keywords win in libpq) in conninfo[cap];
 *   1  when the test should be skipped: SCOP_TEST_PG_DSN is unset and
 *      SCOP_REQUIRE_PG is not 1;
 *  -1  on failure (a '#' line on stderr says why); name is left empty. */
int pgtest_create(const char *prefix, char *name, size_t namecap, char *conninfo, size_t cap);

/* Drops a database made by pgtest_create, closing its sessions; does
 * nothing for an empty name. */
void pgtest_drop(const char *name);

/* Runs one command on the cluster's maintenance database: 0 or -1. */
int pgtest_admin(const char *sql);

/* A scratch database on either backend for one test: a file test.db in a
 * fresh /tmp/scop-<tag>-XXXXXX directory for SQLite, or a database
 * scop_<tag>_... made by pgtest_create for PostgreSQL. */
struct testdb {
	int skip;              /* PostgreSQL wanted but not configured */
	char dir[64];
	char dbname[64];
	char conninfo[1024];   /* for store_open(), db_connect(), ... */
};

/* Returns 0 (conninfo set), 1 (skip: see pgtest_create) or -1; on -1 or 1
 * testdb_drop() is still safe. */
int testdb_create(struct testdb *db, int postgres, const char *tag);

/* Removes the SQLite file (with its -wal, -shm, -journal) and directory, or
 * drops the PostgreSQL database; safe on a zeroed or half-made testdb. */
void testdb_drop(struct testdb *db);

#endif
