/* bench_store: user registrations (user + device + access token, one
 * transaction each), access-token lookups and event appends per second
 * through store.h,
 * on SQLite (a temp file) and, when SCOP_TEST_PG_DSN is set, on PostgreSQL
 * (a database of its own, dropped afterwards).
 *
 * Each phase runs for at most BENCH_SECONDS (default 3) or its operation
 * cap, whichever comes first, and prints one line of figures.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common/crypto.h"
#include "common/log.h"
#include "homeserver/store/store.h"

#define MAX_USERS 5000
#define MAX_LOOKUPS 200000
#define THREADS 4

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void token_hash(int i, char out[65])
{
	char tok[32];
	snprintf(tok, sizeof(tok), "syt_bench_%d", i);
	scop_sha256_hex(tok, strlen(tok), out);
}

struct lookers {
	struct store *st;
	int users;
	double deadline;
	long done;
	long failed;
	unsigned seed;
};

static void *lookup_loop(void *arg)
{
	struct lookers *l = arg;
	char h[65];
	struct store_access a;
	while (l->done < MAX_LOOKUPS / THREADS) {
		if ((l->done & 63) == 0 && now_s() > l->deadline)
			break;
		token_hash(rand_r(&l->seed) % l->users, h);
		if (store_access_token_lookup(l->st, h, &a) != STORE_OK)
			l->failed++;
		store_access_clear(&a);
		l->done++;
	}
	return NULL;
}

static int run(const char *backend, const char *conninfo, double secs)
{
	struct store *st;
	char err[256], user[64], h[65];
	double t0, t;
	int users = 0;
	long lookups = 0, failed = 0;

	if (store_open(backend, conninfo, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench_store: %s\n", err);
		return -1;
	}
	t0 = now_s();
	while (users < MAX_USERS && now_s() - t0 < secs) {
		struct store_login l = { 0 };
		snprintf(user, sizeof(user), "@bench%d:bench.test", users);
		token_hash(users, h);
		l.device_id = "BENCHDEV";
		l.now_ms = 1;
		l.access_token_hash = h;
		if (store_user_create(st, user, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
				      0, 1, &l) != STORE_OK) {
			fprintf(stderr, "bench_store: user creation failed\n");
			store_close(st);
			return -1;
		}
		users++;
	}
	t = now_s() - t0;
	printf("%-8s register (user+device+token, 1 txn): %6d in %.2f s = %8.0f ops/s\n",
	       backend, users, t, users / t);

	{
		struct lookers one = { st, users, now_s() + secs, 0, 0, 1 };
		t0 = now_s();
		/* Single thread: the per-request cost of authenticating. */
		one.deadline = t0 + secs;
		lookup_loop(&one);
		t = now_s() - t0;
		printf("%-8s token lookup, 1 thread:              %6ld in %.2f s = %8.0f ops/s\n",
		       backend, one.done, t, one.done / t);
		failed += one.failed;
	}
	{
		struct lookers l[THREADS];
		pthread_t th[THREADS];
		t0 = now_s();
		for (int i = 0; i < THREADS; i++) {
			l[i] = (struct lookers){ st, users, t0 + secs, 0, 0, (unsigned)i + 7 };
			pthread_create(&th[i], NULL, lookup_loop, &l[i]);
		}
		for (int i = 0; i < THREADS; i++) {
			pthread_join(th[i], NULL);
			lookups += l[i].done;
			failed += l[i].failed;
		}
		t = now_s() - t0;
		printf("%-8s token lookup, %d threads:             %6ld in %.2f s = %8.0f ops/s\n",
		       backend, THREADS, lookups, t, lookups / t);
	}
	{
		/* Event appends: one transaction each, serialised for ordering. */
		char id[64];
		static const char body[] =
			"{\"type\":\"m.room.message\",\"sender\":\"@bench0:bench.test\","
			"\"content\":{\"msgtype\":\"m.text\",\"body\":\"hello\"}}";
		long events = 0;
		t0 = now_s();
		while (events < MAX_USERS && now_s() - t0 < secs) {
			struct store_event e = { 0 };
			int64_t pos;
			snprintf(id, sizeof(id), "$bench%ld", events);
			e.event_id = id;
			e.room_id = (char *)"!bench:bench.test";
			e.type = (char *)"m.room.message";
			e.sender = (char *)"@bench0:bench.test";
			e.origin_server_ts = 1;
			e.json = (char *)body;
			if (store_event_append(st, &e, &pos) != STORE_OK) {
				failed++;
				break;
			}
			events++;
		}
		t = now_s() - t0;
		printf("%-8s event append (1 txn each):           %6ld in %.2f s = %8.0f ops/s\n",
		       backend, events, t, events / t);
	}
	store_close(st);
	if (failed) {
		fprintf(stderr, "bench_store: %ld operations failed\n", failed);
		return -1;
	}
	return 0;
}

static int pg_admin(const char *dsn, const char *sql)
{
	PGconn *c = PQconnectdb(dsn);
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "bench_store: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

int main(void)
{
	const char *dsn = getenv("SCOP_TEST_PG_DSN");
	const char *s = getenv("BENCH_SECONDS");
	double secs = s ? atof(s) : 3.0;
	char dir[] = "/tmp/scop-bench-store-XXXXXX";
	char path[128];
	int rc = 0;

	if (secs <= 0)
		secs = 3.0;
	scop_log_init("bench_store", SCOP_LOG_WARN);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bench.db", dir);
	rc |= run("sqlite", path, secs);
	{
		static const char *suffix[] = { "", "-wal", "-shm" };
		char p[160];
		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
			unlink(p);
		}
		rmdir(dir);
	}

	if (dsn && *dsn) {
		char db[64], sql[128], conninfo[1024];
		snprintf(db, sizeof(db), "scop_bench_%ld", (long)getpid());
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
		if (pg_admin(dsn, sql) == 0) {
			snprintf(conninfo, sizeof(conninfo), "%s dbname=%s", dsn, db);
			rc |= run("postgres", conninfo, secs);
			snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
			pg_admin(dsn, sql);
		} else {
			rc = -1;
		}
	} else {
		printf("postgres skipped (SCOP_TEST_PG_DSN unset)\n");
	}
	return rc ? 1 : 0;
}
