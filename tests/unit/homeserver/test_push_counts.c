/* Unit tests for homeserver/push_counts.c over a real room store (SQLite in
 * a temp dir): counts after receipts and own events, the per-(room, user)
 * cache and its incremental updates, rule changes, threads, the scan bound,
 * GET /notifications' list, and concurrent callers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <pthread.h>

#include "homeserver/push_counts.h"
#include "homeserver/push_rules.h"
#include "homeserver/rooms.h"
#include "tests/unit/room_fixture.h"

#define ALICE "@alice:test"
#define BOB "@bob:test"

struct fx {
	struct room_fixture rf;
	struct push_counts *pc;
	char room[EVENT_ID_BUF];
	int txn;
};

static void send_ev(struct fx *f, const char *sender, const char *type, const char *state_key,
		    json_t *content, char *event_id)
{
	struct room_result res;
	char txn[32];
	struct room_send s = { f->room, sender, type, state_key, content, NULL, "DEV", txn };
	snprintf(txn, sizeof(txn), "t%d", ++f->txn);
	assert_int_equal(rooms_send(f->rf.rooms, &s, &res), ROOM_OK);
	json_decref(content);
	if (event_id)
		strcpy(event_id, res.event_id);
}

static void say(struct fx *f, const char *sender, const char *body, char *event_id)
{
	send_ev(f, sender, "m.room.message", NULL,
		json_pack("{s:s,s:s}", "msgtype", "m.text", "body", body), event_id);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	push_counts_free(f->pc);
	room_fixture_close(&f->rf);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	*state = f;
	if (room_fixture_open(&f->rf, "pushc", "test") < 0 || !(f->pc = push_counts_new(f->rf.rooms)) ||
	    room_fixture_public_room(&f->rf, ALICE, f->room, sizeof(f->room)) < 0) {
		teardown(state);
		return -1;
	}
	send_ev(f, BOB, "m.room.member", BOB, json_pack("{s:s}", "membership", "join"), NULL);
	return 0;
}

static int64_t upto(struct fx *f)
{
	int64_t pos = 0;
	assert_int_equal(store_stream_max(f->rf.st, &pos), STORE_OK);
	return pos;
}

/* alice's counts now (threads: the main timeline's, with *th the thread
 * part when th is given). */
static void counts_at(struct fx *f, int64_t at, int64_t *n, int64_t *h, json_t **th)
{
	json_t *j = push_counts_sync(f->pc, f->room, ALICE, at, th != NULL);
	json_t *u = json_object_get(j, "unread_notifications");
	assert_non_null(u);
	*n = json_integer_value(json_object_get(u, "notification_count"));
	*h = json_integer_value(json_object_get(u, "highlight_count"));
	if (th)
		*th = json_incref(json_object_get(j, "unread_thread_notifications"));
	json_decref(j);
}

#define ASSERT_COUNTS(f, want_n, want_h)                              \
	do {                                                          \
		int64_t n_, h_;                                       \
		counts_at(f, upto(f), &n_, &h_, NULL);                \
		assert_int_equal(n_, want_n);                         \
		assert_int_equal(h_, want_h);                         \
	} while (0)

static void test_counts_and_receipts(void **state)
{
	struct fx *f = *state;
	char e1[EVENT_ID_BUF], e3[EVENT_ID_BUF];
	int64_t at, n, h;
	json_t *j;

	/* no counter: zeros */
	j = push_counts_sync(NULL, f->room, ALICE, 1, 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
		"unread_notifications"), "notification_count")), 0);
	json_decref(j);
	ASSERT_COUNTS(f, 0, 0);
	say(f, BOB, "one", e1);
	say(f, BOB, "two alice", NULL);
	at = upto(f);
	say(f, BOB, "three", e3);
	ASSERT_COUNTS(f, 3, 1);
	/* an older position, after a newer one is cached: still right */
	counts_at(f, at, &n, &h, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(h, 1);
	ASSERT_COUNTS(f, 3, 1);
	/* receipts: m.read.private half-way, then m.read at the end */
	assert_int_equal(rooms_receipt_put(f->rf.rooms, f->room, ALICE, "m.read.private", e1), ROOM_OK);
	ASSERT_COUNTS(f, 2, 1);
	assert_int_equal(rooms_receipt_put(f->rf.rooms, f->room, ALICE, "m.read", e3), ROOM_OK);
	ASSERT_COUNTS(f, 0, 0);
	/* a receipt behind the other changes nothing */
	assert_int_equal(rooms_receipt_put(f->rf.rooms, f->room, ALICE, "m.read.private", e1), ROOM_OK);
	ASSERT_COUNTS(f, 0, 0);
	/* incremental: new events add to the cached counts; an own event resets */
	say(f, BOB, "four", NULL);
	ASSERT_COUNTS(f, 1, 0);
	say(f, BOB, "five", NULL);
	ASSERT_COUNTS(f, 2, 0);
	say(f, ALICE, "mine", NULL);
	ASSERT_COUNTS(f, 0, 0);
	say(f, BOB, "six", NULL);
	ASSERT_COUNTS(f, 1, 0);
	/* bob's view: his own "six" read "mine"; alice's next message counts */
	j = push_counts_sync(f->pc, f->room, BOB, upto(f), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
		"unread_notifications"), "notification_count")), 0);
	json_decref(j);
	say(f, ALICE, "mine again", NULL);
	j = push_counts_sync(f->pc, f->room, BOB, upto(f), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
		"unread_notifications"), "notification_count")), 1);
	json_decref(j);
}

static void test_rules_change(void **state)
{
	struct fx *f = *state;
	json_t *rs = push_rules_defaults(ALICE);
	say(f, BOB, "hello", NULL);
	ASSERT_COUNTS(f, 1, 0);
	assert_int_equal(push_rules_set_enabled(rs, PUSH_OVERRIDE, ".m.rule.master", 1), PUSH_OK);
	assert_int_equal(rooms_account_data_put(f->rf.rooms, ALICE, "", "m.push_rules", rs), ROOM_OK);
	/* the cache holds until the endpoints say the rules changed */
	ASSERT_COUNTS(f, 1, 0);
	push_counts_rules_changed(f->pc, ALICE);
	ASSERT_COUNTS(f, 0, 0);
	say(f, BOB, "quiet", NULL);
	ASSERT_COUNTS(f, 0, 0);
	json_decref(rs);
	push_counts_rules_changed(NULL, ALICE); /* harmless */
}

static void test_threads(void **state)
{
	struct fx *f = *state;
	char root[EVENT_ID_BUF], r1[EVENT_ID_BUF];
	int64_t n, h;
	json_t *th;

	say(f, BOB, "root", root);
	send_ev(f, BOB, "m.room.message", NULL,
		json_pack("{s:s,s:s,s:{s:s,s:s}}", "msgtype", "m.text", "body", "reply alice",
			  "m.relates_to", "rel_type", "m.thread", "event_id", root), r1);
	send_ev(f, BOB, "m.room.message", NULL,
		json_pack("{s:s,s:s,s:{s:s,s:s}}", "msgtype", "m.text", "body", "reply 2",
			  "m.relates_to", "rel_type", "m.thread", "event_id", root), NULL);
	counts_at(f, upto(f), &n, &h, &th);
	assert_int_equal(n, 1);
	assert_int_equal(h, 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(th, root),
							    "notification_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(th, root),
							    "highlight_count")), 1);
	json_decref(th);
	ASSERT_COUNTS(f, 3, 1);
	/* a receipt in the thread reads up to its event there only */
	assert_int_equal(rooms_receipt_put_thread(f->rf.rooms, f->room, ALICE, "m.read", root, r1),
			 ROOM_OK);
	counts_at(f, upto(f), &n, &h, &th);
	assert_int_equal(n, 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(th, root),
							    "notification_count")), 1);
	json_decref(th);
	/* "main" reads the main timeline */
	assert_int_equal(rooms_receipt_put_thread(f->rf.rooms, f->room, ALICE, "m.read", "main", root),
			 ROOM_OK);
	counts_at(f, upto(f), &n, &h, &th);
	assert_int_equal(n, 0);
	assert_int_equal(json_object_size(th), 1);
	json_decref(th);
	/* reactions to thread events are in the thread (up to 3 hops), here
	 * with a rule that makes reactions notify */
	{
		json_t *rs = push_rules_defaults(ALICE), *body;
		char err[128], re[EVENT_ID_BUF];
		body = json_pack("{s:[{s:s,s:s,s:s}],s:[s]}", "conditions", "kind", "event_match",
				 "key", "type", "pattern", "m.reaction", "actions", "notify");
		assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "reactions", body, NULL, NULL, err,
						sizeof(err)), PUSH_OK);
		assert_int_equal(rooms_account_data_put(f->rf.rooms, ALICE, "", "m.push_rules", rs),
				 ROOM_OK);
		push_counts_rules_changed(f->pc, ALICE);
		json_decref(body);
		json_decref(rs);
		send_ev(f, BOB, "m.reaction", NULL,
			json_pack("{s:{s:s,s:s,s:s}}", "m.relates_to", "rel_type", "m.annotation",
				  "event_id", r1, "key", "+1"), re);
		send_ev(f, BOB, "m.reaction", NULL,
			json_pack("{s:{s:s,s:s,s:s}}", "m.relates_to", "rel_type", "m.annotation",
				  "event_id", re, "key", "+2"), NULL);
		send_ev(f, BOB, "m.reaction", NULL,
			json_pack("{s:{s:s,s:s,s:s}}", "m.relates_to", "rel_type", "m.annotation",
				  "event_id", root, "key", "+3"), NULL);
		counts_at(f, upto(f), &n, &h, &th);
		assert_int_equal(n, 1); /* the reaction to the root: main timeline */
		assert_int_equal(json_integer_value(json_object_get(json_object_get(th, root),
								    "notification_count")), 3);
		json_decref(th);
	}
}

static void test_scan_bound_and_notifications(void **state)
{
	struct fx *f = *state;
	struct push_counts *fresh;
	json_t *list, *j;
	int64_t next = 0, n1;
	char first[EVENT_ID_BUF];

	say(f, BOB, "first alice", first);
	for (int i = 0; i < PUSH_COUNT_SCAN + 4; i++) {
		char b[32];
		snprintf(b, sizeof(b), "m%d", i);
		say(f, BOB, b, NULL);
	}
	/* a fresh counter looks at the newest PUSH_COUNT_SCAN events only */
	fresh = push_counts_new(f->rf.rooms);
	j = push_counts_sync(fresh, f->room, ALICE, upto(f), 0);
	n1 = json_integer_value(json_object_get(json_object_get(j, "unread_notifications"),
						"notification_count"));
	assert_int_equal(n1, PUSH_COUNT_SCAN);
	json_decref(j);
	push_counts_free(fresh);
	/* notifications: newest first, pages continue below next */
	list = push_counts_notifications(f->pc, ALICE, 0, 3, 0, &next);
	assert_int_equal(json_array_size(list), 3);
	assert_true(next > 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		json_array_get(list, 0), "event"), "content"), "body")), "m1003");
	json_decref(list);
	list = push_counts_notifications(f->pc, ALICE, next, 2, 0, &next);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		json_array_get(list, 0), "event"), "content"), "body")), "m1000");
	assert_false(json_is_true(json_object_get(json_array_get(list, 0), "read")));
	json_decref(list);
	/* highlights only: "first alice" is beyond the per-room scan bound */
	list = push_counts_notifications(f->pc, ALICE, 0, 10, 1, &next);
	assert_int_equal(json_array_size(list), 0);
	assert_int_equal(next, 0);
	json_decref(list);
	assert_null(push_counts_notifications(NULL, ALICE, 0, 10, 0, &next));
}

struct worker {
	struct fx *f;
	int64_t at;
	int bad;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 40; i++) {
		json_t *j = push_counts_sync(w->f->pc, w->f->room, (i & 1) ? ALICE : BOB, w->at, i & 2);
		if (!j)
			w->bad++;
		json_decref(j);
		if (i % 10 == 0)
			push_counts_rules_changed(w->f->pc, ALICE);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fx *f = *state;
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 5; i++)
		say(f, BOB, "x", NULL);
	for (int i = 0; i < 4; i++) {
		w[i].f = f;
		w[i].at = upto(f);
		w[i].bad = 0;
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	ASSERT_COUNTS(f, 5, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts_and_receipts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_bound_and_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
