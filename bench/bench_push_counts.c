/* Benchmarks the unread counts /sync computes per joined room it sends
 * (homeserver/push_counts.c) over a real SQLite room store in a temp dir:
 * a room of two, BENCH_UNREAD (default 1000) unread messages from the other
 * member, then the time of one push_counts_sync() call
 *   - from scratch (the rules just changed: every unread event read from
 *     the store, parsed and evaluated, up to PUSH_COUNT_SCAN),
 *   - with nothing new since the cached position (a room sent again for a
 *     receipt or typing of someone else),
 *   - with one new event since the cached position (the common wake-up).
 * Each figure is the mean over repeated calls for about half a second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "homeserver/push_counts.h"
#include "homeserver/rooms.h"

#define ALICE "@alice:bench"
#define BOB "@bob:bench"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_msg(struct rooms *rooms, const char *room, const char *sender, int i)
{
	struct room_result res;
	char txn[32], body[64];
	json_t *c;
	struct room_send s = { room, sender, "m.room.message", NULL, NULL, NULL, "DEV", txn };
	int rc;
	snprintf(txn, sizeof(txn), "t%d", i);
	snprintf(body, sizeof(body), "message number %d, nothing special in it", i);
	c = json_pack("{s:s,s:s}", "msgtype", "m.text", "body", body);
	s.content = c;
	rc = rooms_send(rooms, &s, &res) == ROOM_OK ? 0 : -1;
	json_decref(c);
	return rc;
}

int main(void)
{
	const char *env = getenv("BENCH_UNREAD");
	int unread = env ? atoi(env) : 1000, txn = 0;
	char dir[] = "/tmp/scop-bench-pushc-XXXXXX", path[128], err[256], room[EVENT_ID_BUF];
	struct store *st = NULL;
	struct room_store *rs = NULL;
	struct rooms *rooms = NULL;
	struct push_counts *pc = NULL;
	struct scop_ed25519 key;
	struct room_result res;
	json_t *init, *j;
	int64_t upto = 0;
	double t0, t;
	long n;

	scop_log_init("bench_push_counts", SCOP_LOG_WARN);
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/b.db", dir);
	if (store_open("sqlite", path, &st, err, sizeof(err)) != STORE_OK ||
	    room_store_open("sqlite", path, &rs, err, sizeof(err)) != STORE_OK ||
	    scop_ed25519_generate(&key, "b1") < 0 || !(rooms = rooms_new(rs, "bench", &key)) ||
	    !(pc = push_counts_new(rooms))) {
		fprintf(stderr, "bench_push_counts: setup failed: %s\n", err);
		return 1;
	}
	init = json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:s}}]", "type", "m.room.member",
			 "state_key", ALICE, "content", "membership", "join", "type",
			 "m.room.join_rules", "state_key", "", "content", "join_rule", "public");
	if (rooms_create(rooms, ALICE, NULL, NULL, init, &res) != ROOM_OK)
		return 1;
	json_decref(init);
	strcpy(room, res.room_id);
	{
		json_t *c = json_pack("{s:s}", "membership", "join");
		struct room_send s = { room, BOB, "m.room.member", BOB, c, NULL, "DEV", "join" };
		if (rooms_send(rooms, &s, &res) != ROOM_OK)
			return 1;
		json_decref(c);
	}
	for (int i = 0; i < unread; i++)
		if (send_msg(rooms, room, BOB, ++txn) < 0)
			return 1;
	store_stream_max(st, &upto);

	t0 = now();
	n = 0;
	do {
		push_counts_rules_changed(pc, ALICE);
		j = push_counts_sync(pc, room, ALICE, upto, 0);
		json_decref(j);
		n++;
	} while ((t = now() - t0) < 0.5);
	j = push_counts_sync(pc, room, ALICE, upto, 0);
	printf("%d unread, from scratch:             %9.1f us per room (count %lld)\n", unread,
	       t / (double)n * 1e6,
	       (long long)json_integer_value(json_object_get(json_object_get(j,
		       "unread_notifications"), "notification_count")));
	json_decref(j);

	t0 = now();
	n = 0;
	do {
		j = push_counts_sync(pc, room, ALICE, upto, 0);
		json_decref(j);
		n++;
	} while ((t = now() - t0) < 0.5);
	printf("%d unread, cached, nothing new:      %9.1f us per room\n", unread, t / (double)n * 1e6);

	t0 = now();
	n = 0;
	t = 0;
	do {
		double t1;
		if (send_msg(rooms, room, BOB, ++txn) < 0)
			return 1;
		store_stream_max(st, &upto);
		t1 = now();
		j = push_counts_sync(pc, room, ALICE, upto, 0);
		t += now() - t1;
		json_decref(j);
		n++;
	} while (now() - t0 < 1.0);
	printf("%d unread, cached, one new event:    %9.1f us per room (%ld rounds)\n", unread,
	       t / (double)n * 1e6, n);

	push_counts_free(pc);
	rooms_free(rooms);
	room_store_close(rs);
	store_close(st);
	scop_ed25519_clear(&key);
	for (int i = 0; i < 3; i++) {
		static const char *sfx[] = { "", "-wal", "-shm" };
		snprintf(path, sizeof(path), "%s/b.db%s", dir, sfx[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}
