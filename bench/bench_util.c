#include "bench/bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pg_exec(const char *pg, const char *sql, const char *prog)
{
	PGconn *c = PQconnectdb(pg);
	PGresult *r = PQexec(c, sql);
	int rc = 0;

	if (prog && PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "%s: %s", prog, PQerrorMessage(c));
		rc = -1;
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

int bench_db_create(struct bench_db *db, const char *pg, const char *prog, const char *tag)
{
	memset(db, 0, sizeof(*db));
	db->pg = pg && *pg ? pg : NULL;
	db->backend = db->pg ? "postgres" : "sqlite";
	if (!db->pg) {
		snprintf(db->dir, sizeof(db->dir), "/tmp/scop-bench-%s-XXXXXX", tag);
		if (!mkdtemp(db->dir)) {
			perror("mkdtemp");
			db->dir[0] = '\0';
			return -1;
		}
		snprintf(db->conninfo, sizeof(db->conninfo), "%s/bench.db", db->dir);
	} else {
		char sql[128];
		snprintf(db->dbname, sizeof(db->dbname), "scop_bench_%s_%ld", tag, (long)getpid());
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db->dbname);
		if (pg_exec(db->pg, sql, prog) < 0) {
			db->dbname[0] = '\0';
			return -1;
		}
		snprintf(db->conninfo, sizeof(db->conninfo), "%s dbname=%s", db->pg, db->dbname);
	}
	return 0;
}

void bench_db_drop(struct bench_db *db)
{
	if (db->dbname[0]) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db->dbname);
		pg_exec(db->pg, sql, NULL);
	} else if (db->dir[0]) {
		static const char *suffix[] = { "", "-wal", "-shm", "-journal" };
		for (int i = 0; i < 4; i++) {
			char p[1300];
			snprintf(p, sizeof(p), "%s%s", db->conninfo, suffix[i]);
			unlink(p);
		}
		rmdir(db->dir);
	}
}

void bench_worker_init(struct bench_worker *b, int run_no, int id, int threads, int total,
		       double *lat)
{
	b->run = run_no;
	b->id = id;
	b->n = total / threads;
	b->lat = lat + (size_t)id * (size_t)b->n;
}

int bench_count(const char *env, int dflt)
{
	const char *v = getenv(env);
	int n = v ? atoi(v) : dflt;
	return n < 64 ? 64 : n;
}

double bench_run_threads(void *workers, size_t stride, int threads,
			 void *(*fn)(void *), int *failed, int *done)
{
	char *base = workers;
	double t0 = bench_now();

	for (int i = 0; i < threads; i++) {
		struct bench_worker *w = (struct bench_worker *)(base + (size_t)i * stride);
		pthread_create(&w->th, NULL, fn, w);
	}
	for (int i = 0; i < threads; i++) {
		struct bench_worker *w = (struct bench_worker *)(base + (size_t)i * stride);
		pthread_join(w->th, NULL);
		*failed += w->failed;
		*done += w->n;
	}
	return bench_now() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void bench_report(const char *label, int done, double dt, double *lat, int failed)
{
	qsort(lat, (size_t)done, sizeof(*lat), cmp_double);
	printf("%s %6d events in %6.2f s: %8.0f events/s;"
	       " latency p50 %.2f / p99 %.2f / max %.2f ms%s\n",
	       label, done, dt, done / dt,
	       lat[done / 2] * 1e3, lat[done * 99 / 100] * 1e3, lat[done - 1] * 1e3,
	       failed ? " (SOME FAILED)" : "");
	fflush(stdout);
}
