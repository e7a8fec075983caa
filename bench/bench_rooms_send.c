/* bench_rooms_send: rooms_send() per second with 1, 4, 16 and 64 threads,
 * all into one room and each into a room of its own: the event pipeline of
 * rooms.c (build, auth, signing, txn-id check, store) without HTTP or a
 * client on top, so the figures show what overlapping sends in one room
 * gain from sharing a commit.
 *
 * SQLite in a temp dir; PostgreSQL when BENCH_PG_DSN names a cluster (a
 * database of its own is created there and dropped afterwards).
 * BENCH_SENDS (default 2000) messages per run.  Each run opens a fresh
 * room store, whose close logs "N appends in M transactions" (its room
 * creations included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "common/log.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store.h"
#include "homeserver/store/store_rooms.h"

#define SENDER "@bench:bench"

struct worker {
	struct bench_worker b;   /* lat: seconds per send */
	struct rooms *rooms;
	char room[EVENT_ID_BUF];
};

static int make_room(struct rooms *rooms, char *room_id)
{
	struct room_result res;
	json_t *init = json_pack("[{s:s,s:s,s:{s:s}}]", "type", "m.room.member", "state_key",
				 SENDER, "content", "membership", "join");
	enum room_rc rc = init ? rooms_create(rooms, SENDER, NULL, NULL, init, &res) : ROOM_ERROR;
	json_decref(init);
	if (rc != ROOM_OK)
		return -1;
	snprintf(room_id, EVENT_ID_BUF, "%s", res.room_id);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->b.n; i++) {
		struct room_result res;
		char txn[48], body[64];
		json_t *c;
		double t0 = bench_now();
		snprintf(txn, sizeof(txn), "r%d_w%d_%d", w->b.run, w->b.id, i);
		snprintf(body, sizeof(body), "bench message %d", i);
		c = json_pack("{s:s,s:s}", "msgtype", "m.text", "body", body);
		struct room_send s = { w->room, SENDER, "m.room.message", NULL, c, NULL, "DEV", txn };
		if (!c || rooms_send(w->rooms, &s, &res) != ROOM_OK)
			w->b.failed++;
		json_decref(c);
		w->b.lat[i] = bench_now() - t0;
	}
	return NULL;
}

static int run(const char *backend, const char *conninfo, const struct scop_ed25519 *key,
	       int run_no, int threads, int one_room, int total)
{
	struct room_store *rs;
	struct rooms *rooms;
	struct worker *w;
	char err[256];
	char label[128];
	double dt, *lat;
	int failed = 0, done = 0;

	if (room_store_open(backend, conninfo, &rs, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench_rooms_send: %s\n", err);
		return -1;
	}
	rooms = rooms_new(rs, "bench", key);
	w = calloc((size_t)threads, sizeof(*w));
	lat = calloc((size_t)total, sizeof(*lat));
	if (!rooms || !w || !lat) {
		free(w);
		free(lat);
		rooms_free(rooms);
		room_store_close(rs);
		return -1;
	}
	for (int i = 0; i < threads; i++) {
		w[i].rooms = rooms;
		bench_worker_init(&w[i].b, run_no, i, threads, total, lat);
		if (i > 0 && one_room)
			memcpy(w[i].room, w[0].room, sizeof(w[i].room));
		else if (make_room(rooms, w[i].room) < 0)
			failed++;
	}
	dt = bench_run_threads(w, sizeof(*w), threads, worker_main, &failed, &done);
	snprintf(label, sizeof(label), "send %-8s %2d thread%s %-10s",
		 backend, threads, threads == 1 ? " " : "s", one_room ? "one room:" : "own rooms:");
	bench_report(label, done, dt, lat, failed);
	free(w);
	free(lat);
	rooms_free(rooms);
	room_store_close(rs); /* logs the transactions of this run */
	return failed ? -1 : 0;
}

int main(void)
{
	const char *pg = getenv("BENCH_PG_DSN");
	int total = bench_count("BENCH_SENDS", 2000);
	static const int threads[] = { 1, 4, 16, 64 };
	struct bench_db db;
	char err[256];
	struct scop_ed25519 key;
	struct store *st = NULL;
	int rc = 0, run_no = 0;

	scop_log_init("bench_rooms_send", SCOP_LOG_INFO);
	if (scop_ed25519_generate(&key, "b1") < 0)
		return 1;
	if (bench_db_create(&db, pg, "bench_rooms_send", "send") < 0)
		return 1;
	if (store_open(db.backend, db.conninfo, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench_rooms_send: %s\n", err);
		rc = 1;
	}
	for (size_t i = 0; rc == 0 && i < sizeof(threads) / sizeof(threads[0]); i++)
		for (int one = 1; rc == 0 && one >= (threads[i] == 1 ? 1 : 0); one--)
			if (run(db.backend, db.conninfo, &key, run_no++, threads[i], one, total) < 0)
				rc = 1;
	store_close(st);
	scop_ed25519_clear(&key);
	bench_db_drop(&db);
	return rc;
}
