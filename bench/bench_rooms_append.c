/* bench_rooms_append: room_store_append() per second with 1, 4, 16 and 64
 * threads, each appending m.room.message events to a room of its own, so
 * the figures show what group commit (commit_queue.c) does with concurrent
 * appends, without HTTP, signing or auth checks on top.
 *
 * SQLite in a temp dir; PostgreSQL when BENCH_PG_DSN names a cluster (a
 * database of its own is created there and dropped afterwards).
 * BENCH_APPENDS (default 2000) events per run; BENCH_OUTBOX=SERVER turns
 * on the federation outbox rows (room_store_set_outbox()).  Each run opens a fresh
 * room store, whose close logs "N appends in M transactions" (the batches).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common/log.h"
#include "homeserver/store/store.h"
#include "homeserver/store/store_rooms.h"

struct worker {
	struct room_store *rs;
	char room[64];
	char last[64];   /* the room's forward extremity */
	int64_t depth;
	int run, id, n;
	int failed;
	double *lat;     /* seconds per append, n of them */
	pthread_t th;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int append_one(struct worker *w, const char *type, const char *state_key,
		      const char *room_version, int i)
{
	char id[64], json[512];
	const char *prev[1] = { w->last };
	struct room_append a = { 0 };
	int64_t pos, group;

	snprintf(id, sizeof(id), "$r%d_w%d_%d:bench", w->run, w->id, i);
	snprintf(json, sizeof(json),
		 "{\"content\":{\"body\":\"bench message %d\",\"msgtype\":\"m.text\"},"
		 "\"depth\":%lld,\"event_id\":\"%s\",\"origin_server_ts\":1700000000000,"
		 "\"room_id\":\"%s\",\"sender\":\"@bench:bench\",\"type\":\"%s\"}",
		 i, (long long)w->depth + 1, id, w->room, type);
	a.event_id = id;
	a.room_id = w->room;
	a.type = type;
	a.state_key = state_key;
	a.sender = "@bench:bench";
	a.origin_server_ts = 1700000000000;
	a.depth = w->depth + 1;
	a.json = json;
	a.prev_events = w->last[0] ? prev : NULL;
	a.nprev = w->last[0] ? 1 : 0;
	a.state_after_json = state_key ? "{}" : NULL;
	a.room_version = room_version;
	if (room_store_append(w->rs, &a, &pos, &group) != STORE_OK)
		return -1;
	snprintf(w->last, sizeof(w->last), "%s", id);
	w->depth++;
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->n; i++) {
		double t0 = now_s();
		if (append_one(w, "m.room.message", NULL, NULL, i + 1) < 0)
			w->failed++;
		w->lat[i] = now_s() - t0;
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run(const char *backend, const char *conninfo, int run_no, int threads, int total)
{
	struct room_store *rs;
	struct worker *w;
	char err[256];
	double t0, dt, *lat;
	int failed = 0, done = 0;

	if (room_store_open(backend, conninfo, &rs, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench_rooms_append: %s\n", err);
		return -1;
	}
	/* BENCH_OUTBOX=SERVER: appends also write federation outbox rows, as
	 * in scopd with federation (the rooms have no members: the cost of
	 * finding no other server). */
	if (getenv("BENCH_OUTBOX"))
		room_store_set_outbox(rs, getenv("BENCH_OUTBOX"));
	w = calloc((size_t)threads, sizeof(*w));
	lat = calloc((size_t)total, sizeof(*lat));
	if (!w || !lat) {
		free(w);
		free(lat);
		room_store_close(rs);
		return -1;
	}
	for (int i = 0; i < threads; i++) {
		w[i].rs = rs;
		w[i].run = run_no;
		w[i].id = i;
		w[i].n = total / threads;
		w[i].lat = lat + (size_t)i * (size_t)w[i].n;
		snprintf(w[i].room, sizeof(w[i].room), "!r%d_%d:bench", run_no, i);
		if (append_one(&w[i], "m.room.create", "", "10", 0) < 0)
			failed++;
	}
	t0 = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		failed += w[i].failed;
		done += w[i].n;
	}
	dt = now_s() - t0;
	qsort(lat, (size_t)done, sizeof(*lat), cmp_double);
	printf("append %-8s %2d thread%s (own rooms): %6d events in %6.2f s: %8.0f events/s;"
	       " latency p50 %.2f / p99 %.2f / max %.2f ms%s\n",
	       backend, threads, threads == 1 ? " " : "s", done, dt, done / dt,
	       lat[done / 2] * 1e3, lat[done * 99 / 100] * 1e3, lat[done - 1] * 1e3,
	       failed ? " (SOME FAILED)" : "");
	fflush(stdout);
	free(w);
	free(lat);
	room_store_close(rs); /* logs the transactions of this run */
	return failed ? -1 : 0;
}

int main(void)
{
	const char *pg = getenv("BENCH_PG_DSN");
	const char *n_env = getenv("BENCH_APPENDS");
	int total = n_env ? atoi(n_env) : 2000;
	static const int threads[] = { 1, 4, 16, 64 };
	char dir[] = "/tmp/scop-bench-append-XXXXXX";
	char conninfo[1200], dbname[64] = "", err[256];
	const char *backend = pg && *pg ? "postgres" : "sqlite";
	struct store *st = NULL;
	int rc = 0;

	if (total < 64)
		total = 64;
	scop_log_init("bench_rooms_append", SCOP_LOG_INFO);
	if (strcmp(backend, "sqlite") == 0) {
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(conninfo, sizeof(conninfo), "%s/bench.db", dir);
	} else {
		PGconn *c = PQconnectdb(pg);
		PGresult *r;
		char sql[128];
		snprintf(dbname, sizeof(dbname), "scop_bench_append_%ld", (long)getpid());
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "bench_rooms_append: %s", PQerrorMessage(c));
			PQclear(r);
			PQfinish(c);
			return 1;
		}
		PQclear(r);
		PQfinish(c);
		snprintf(conninfo, sizeof(conninfo), "%s dbname=%s", pg, dbname);
	}
	if (store_open(backend, conninfo, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench_rooms_append: %s\n", err);
		rc = 1;
	}
	for (size_t i = 0; rc == 0 && i < sizeof(threads) / sizeof(threads[0]); i++)
		if (run(backend, conninfo, (int)i, threads[i], total) < 0)
			rc = 1;
	store_close(st);
	if (dbname[0]) {
		PGconn *c = PQconnectdb(pg);
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", dbname);
		PQclear(PQexec(c, sql));
		PQfinish(c);
	} else {
		static const char *suffix[] = { "", "-wal", "-shm", "-journal" };
		for (int i = 0; i < 4; i++) {
			char p[1300];
			snprintf(p, sizeof(p), "%s%s", conninfo, suffix[i]);
			unlink(p);
		}
		rmdir(dir);
	}
	return rc;
}
