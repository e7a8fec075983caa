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

#endif
