#include "tests/unit/pgtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

int pgtest_admin(const char *sql)
{
	const char *dsn = getenv("SCOP_TEST_PG_DSN");
	PGconn *c;
	PGresult *r;
	int ok;

	if (!dsn || !*dsn)
		return -1;
	c = PQconnectdb(dsn);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "# cannot connect to SCOP_TEST_PG_DSN: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "# %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

int pgtest_create(const char *prefix, char *name, size_t namecap, char *conninfo, size_t cap)
{
	const char *dsn = getenv("SCOP_TEST_PG_DSN");
	const char *req = getenv("SCOP_REQUIRE_PG");
	struct timespec ts;
	char sql[160];

	name[0] = '\0';
	if (!dsn || !*dsn) {
		if (req && strcmp(req, "1") == 0) {
			fprintf(stderr, "# SCOP_REQUIRE_PG=1 but SCOP_TEST_PG_DSN is unset\n");
			return -1;
		}
		return 1;
	}
	/* pid and a nanosecond clock keep names apart across parallel test
	 * programs and across the setups of one program. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((size_t)snprintf(name, namecap, "%s_%ld_%lld%09ld", prefix, (long)getpid(),
			     (long long)ts.tv_sec, ts.tv_nsec) >= namecap) {
		name[0] = '\0';
		return -1;
	}
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (pgtest_admin(sql) != 0) {
		name[0] = '\0';
		return -1;
	}
	snprintf(conninfo, cap, "%s dbname=%s", dsn, name);
	return 0;
}

void pgtest_drop(const char *name)
{
	char sql[160];

	if (!name || !name[0])
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	pgtest_admin(sql);
}

int testdb_create(struct testdb *db, int postgres, const char *tag)
{
	char prefix[48];
	int rc;

	memset(db, 0, sizeof(*db));
	if (!postgres) {
		snprintf(db->dir, sizeof(db->dir), "/tmp/scop-%s-XXXXXX", tag);
		if (!mkdtemp(db->dir)) {
			db->dir[0] = '\0';
			return -1;
		}
		snprintf(db->conninfo, sizeof(db->conninfo), "%s/test.db", db->dir);
		return 0;
	}
	snprintf(prefix, sizeof(prefix), "scop_%s", tag);
	rc = pgtest_create(prefix, db->dbname, sizeof(db->dbname), db->conninfo,
			   sizeof(db->conninfo));
	db->skip = rc > 0;
	return rc;
}

void testdb_drop(struct testdb *db)
{
	if (db->dir[0]) {
		static const char *suffix[] = { "", "-wal", "-shm", "-journal" };
		char p[1100];
		for (int i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s%s", db->conninfo, suffix[i]);
			unlink(p);
		}
		rmdir(db->dir);
	}
	pgtest_drop(db->dbname);
}
