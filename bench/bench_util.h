/* bench_util: what the room benchmarks (bench_rooms_append, bench_rooms_send)
 * share: a clock, a scratch database on either backend, running a set of
 * worker threads and printing one line of throughput and latency figures.
 */
#ifndef SCOP_BENCH_UTIL_H
#define SCOP_BENCH_UTIL_H

#include <pthread.h>

/* Seconds on the monotonic clock. */
double bench_now(void);

/* A scratch database: SQLite in a fresh temp dir, or, when pg names a
 * PostgreSQL cluster, a database "scop_bench_<tag>_<pid>" created there. */
struct bench_db {
	const char *backend;   /* "sqlite" or "postgres" */
	const char *pg;        /* the cluster's DSN, or NULL */
	char dir[64];
	char dbname[64];
	char conninfo[1200];   /* what store_open() and room_store_open() take */
};

/* Sets up db; prog names the program in error messages.  0 or -1 (said on
 * stderr). */
int bench_db_create(struct bench_db *db, const char *pg, const char *prog, const char *tag);
/* Removes the database and its files. */
void bench_db_drop(struct bench_db *db);

/* Every worker struct starts with this; fn fills lat[0..n-1] (seconds per
 * operation) and counts its failures. */
struct bench_worker {
	int run, id, n;
	int failed;
	double *lat;
	pthread_t th;
};

/* Worker id of threads in run run_no, with its share of total operations
 * and its slice of lat (total of them). */
void bench_worker_init(struct bench_worker *b, int run_no, int id, int threads, int total,
		       double *lat);

/* The operation count from the environment variable env: dflt when unset,
 * at least 64 (one per thread of the largest run). */
int bench_count(const char *env, int dflt);

/* Runs fn on each of the threads workers (an array of structs of stride
 * bytes, each starting with struct bench_worker), waits for all, adds their
 * failures to *failed and their operations to *done; returns the seconds
 * taken. */
double bench_run_threads(void *workers, size_t stride, int threads,
			 void *(*fn)(void *), int *failed, int *done);

/* Sorts lat (done of them) and prints "<label> N events in S s: R events/s;
 * latency p50 / p99 / max" on stdout. */
void bench_report(const char *label, int done, double dt, double *lat, int failed);

#endif
