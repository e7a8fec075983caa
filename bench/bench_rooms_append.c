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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "common/log.h"
#include "homeserver/store/store.h"
#include "homeserver/store/store_rooms.h"

struct worker {
	struct bench_worker b;   /* lat: seconds per append */
	struct room_store *rs;
	char room[64];
	char last[64];   /* the room's forward extremity */
	int64_t depth;
};

static int append_one(struct worker *w, const char *type, const char *state_key,
		      const char *room_version, int i)
{
	char id[64], json[512];
	const char *prev[1] = { w->last };
	struct room_append a = { 0 };
	int64_t pos, group;

	snprintf(id, sizeof(id), "$r%d_w%d_%d:bench", w->b.run, w->b.id, i);
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
	for (int i = 0; i < w->b.n; i++) {
		double t0 = bench_now();
		if (append_one(w, "m.room.message", NULL, NULL, i + 1) < 0)
			w->b.failed++;
		w->b.lat[i] = bench_now() - t0;
	}
	return NULL;
}

static int run(const char *backend, const char *conninfo, int run_no, int threads, int total)
{
	struct room_store *rs;
	struct worker *w;
	char err[256];
	char label[128];
	double dt, *lat;
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
		bench_worker_init(&w[i].b, run_no, i, threads, total, lat);
		snprintf(w[i].room, sizeof(w[i].room), "!r%d_%d:bench", run_no, i);
		if (append_one(&w[i], "m.room.create", "", "10", 0) < 0)
			failed++;
	}
	dt = bench_run_threads(w, sizeof(*w), threads, worker_main, &failed, &done);
	snprintf(label, sizeof(label), "append %-8s %2d thread%s (own rooms):",
		 backend, threads, threads == 1 ? " " : "s");
	bench_report(label, done, dt, lat, failed);
	free(w);
	free(lat);
	room_store_close(rs); /* logs the transactions of this run */
	return failed ? -1 : 0;
}

int main(void)
{
	const char *pg = getenv("BENCH_PG_DSN");
	int total = bench_count("BENCH_APPENDS", 2000);
	static const int threads[] = { 1, 4, 16, 64 };
	struct bench_db db;
	char err[256];
	struct store *st = NULL;
	int rc = 0;

	scop_log_init("bench_rooms_append", SCOP_LOG_INFO);
	if (bench_db_create(&db, pg, "bench_rooms_append", "append") < 0)
		return 1;
	if (store_open(db.backend, db.conninfo, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench_rooms_append: %s\n", err);
		rc = 1;
	}
	for (size_t i = 0; rc == 0 && i < sizeof(threads) / sizeof(threads[0]); i++)
		if (run(db.backend, db.conninfo, (int)i, threads[i], total) < 0)
			rc = 1;
	store_close(st);
	bench_db_drop(&db);
	return rc;
}
