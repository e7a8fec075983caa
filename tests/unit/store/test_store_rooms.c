/* Unit tests for homeserver/store/store_rooms.c on SQLite (a temp file) and
 * PostgreSQL (a private database through SCOP_TEST_PG_DSN, skipped when it
 * is unset unless SCOP_REQUIRE_PG=1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>

#include "common/log.h"
#include "tests/unit/pgtest.h"
#include "homeserver/store/store.h"
#include "homeserver/store/store_rooms.h"

struct fx {
	const char *backend;
	struct testdb db;
	struct store *st;
	struct room_store *rs;
};

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	room_store_close(f->rs);
	store_close(f->st);
	testdb_drop(&f->db);
	free(f);
	*state = NULL;
	return 0;
}

static int setup(void **state, const char *backend)
{
	char err[256] = "";
	struct fx *f = calloc(1, sizeof(*f));
	int rc;
	if (!f)
		return -1;
	f->backend = backend;
	*state = f;
	rc = testdb_create(&f->db, strcmp(backend, "sqlite") != 0, "rooms");
	if (rc > 0)
		return 0;
	if (rc < 0)
		goto fail;
	if (store_open(backend, f->db.conninfo, &f->st, err, sizeof(err)) != STORE_OK ||
	    room_store_open(backend, f->db.conninfo, &f->rs, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "# open: %s\n", err);
		goto fail;
	}
	return 0;
fail:
	teardown(state);
	return -1;
}

static int setup_sqlite(void **state) { return setup(state, "sqlite"); }
static int setup_pg(void **state) { return setup(state, "postgres"); }

static struct fx *fx(void **state)
{
	struct fx *f = *state;
	if (f->db.skip)
		skip();
	return f;
}

#define ROOM "!r:test"
#define ALICE "@alice:test"
#define BOB "@bob:test"

/* Appends one event; returns its position.  sa: new state snapshot JSON. */
static int64_t add(struct fx *f, const char *id, const char *type, const char *sk,
		   const char *membership, const char *prev, int64_t depth, int64_t before,
		   const char *sa, enum store_rc want, int64_t *group)
{
	const char *prevs[1] = { prev };
	struct room_append a = { 0 };
	int64_t pos = 0, g = 0;
	a.event_id = id;
	a.room_id = ROOM;
	a.type = type;
	a.state_key = sk;
	a.sender = ALICE;
	a.origin_server_ts = 1000 + depth;
	a.depth = depth;
	a.json = "{\"type\":\"x\"}";
	a.prev_events = prevs;
	a.nprev = prev ? 1 : 0;
	a.state_before = before;
	a.state_after_json = sa;
	a.membership = membership;
	a.room_version = strcmp(type, "m.room.create") == 0 ? "12" : NULL;
	assert_int_equal(room_store_append(f->rs, &a, &pos, &g), want);
	if (group)
		*group = g;
	return pos;
}

static void test_append_state_and_reads(void **state)
{
	struct fx *f = fx(state);
	struct room_head h;
	struct room_event *evs;
	struct room_membership *ms;
	size_t n;
	char *v, *c;
	json_t *snap;
	int64_t g1, g2, g3, p1, p3;

	p1 = add(f, "$c", "m.room.create", "", NULL, NULL, 1, 0,
		 "{\"m.room.create\":{\"\":\"$c\"}}", STORE_OK, &g1);
	assert_true(p1 > 0);
	assert_int_equal(g1, p1);
	add(f, "$m", "m.room.member", ALICE, "join", "$c", 2, g1,
	    "{\"m.room.create\":{\"\":\"$c\"},\"m.room.member\":{\"@alice:test\":\"$m\"}}",
	    STORE_OK, &g2);
	p3 = add(f, "$t", "m.room.message", NULL, NULL, "$m", 3, g2, NULL, STORE_OK, &g3);
	assert_int_equal(g3, g2); /* a message does not change the state */

	assert_int_equal(room_store_room(f->rs, ROOM, &v, &c), STORE_OK);
	assert_string_equal(v, "12");
	assert_string_equal(c, ALICE);
	free(v);
	free(c);
	assert_int_equal(room_store_room(f->rs, "!none:test", &v, &c), STORE_NOT_FOUND);

	assert_int_equal(room_store_head(f->rs, ROOM, &h), STORE_OK);
	assert_int_equal(h.nextrem, 1);
	assert_string_equal(h.extremities[0], "$t");
	assert_int_equal(h.depth, 3);
	assert_int_equal(h.state_group, g2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(h.state,
		"m.room.member"), ALICE)), "$m");
	room_head_clear(&h);

	assert_int_equal(room_store_state_group(f->rs, g1, &snap), STORE_OK);
	assert_null(json_object_get(snap, "m.room.member"));
	json_decref(snap);
	assert_int_equal(room_store_state_group(f->rs, 0, &snap), STORE_OK);
	assert_int_equal(json_object_size(snap), 0);
	json_decref(snap);

	assert_int_equal(room_store_events(f->rs, ROOM, 'b', p3, 0, 2, &evs, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(evs[0].event_id, "$t");
	assert_string_equal(evs[1].event_id, "$m");
	assert_int_equal(evs[1].state_before, g1);
	room_event_list_free(evs, n);
	assert_int_equal(room_store_events(f->rs, ROOM, 'f', p1, -1, 10, &evs, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(evs[0].event_id, "$m");
	room_event_list_free(evs, n);

	assert_int_equal(room_store_user_rooms(f->rs, ALICE, &ms, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ms[0].membership, "join");
	assert_string_equal(ms[0].room_id, ROOM);
	room_membership_list_free(ms, n);
	assert_int_equal(room_store_forget(f->rs, ROOM, ALICE), STORE_CONFLICT);
	assert_int_equal(room_store_forget(f->rs, ROOM, BOB), STORE_NOT_FOUND);
}

static void test_failed_append_leaves_nothing(void **state)
{
	struct fx *f = fx(state);
	struct room_head h;
	struct room_membership *ms;
	struct room_append a = { 0 };
	struct room_event e;
	size_t n;
	int64_t g, pos, g2;
	const char *prev[1] = { "$c" };

	add(f, "$c", "m.room.create", "", NULL, NULL, 1, 0, "{\"m.room.create\":{\"\":\"$c\"}}",
	    STORE_OK, &g);
	/* The same event ID again, as a member event: nothing of it may stay. */
	add(f, "$c", "m.room.member", BOB, "join", "$c", 2, g, "{}", STORE_CONFLICT, NULL);
	assert_int_equal(room_store_user_rooms(f->rs, BOB, &ms, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(room_store_head(f->rs, ROOM, &h), STORE_OK);
	assert_int_equal(h.nextrem, 1);
	assert_string_equal(h.extremities[0], "$c");
	assert_null(json_object_get(h.state, "m.room.member"));
	room_head_clear(&h);

	/* A transaction id used twice: the second event is rolled back. */
	a.event_id = "$e1";
	a.room_id = ROOM;
	a.type = "m.room.message";
	a.sender = ALICE;
	a.depth = 2;
	a.json = "{}";
	a.prev_events = prev;
	a.nprev = 1;
	a.state_before = g;
	a.device_id = "DEV";
	a.txn_id = "txn1";
	assert_int_equal(room_store_append(f->rs, &a, &pos, &g2), STORE_OK);
	a.event_id = "$e2";
	assert_int_equal(room_store_append(f->rs, &a, &pos, &g2), STORE_CONFLICT);
	assert_int_equal(room_store_event_get(f->rs, "$e2", &e), STORE_NOT_FOUND);
	assert_int_equal(room_store_event_get(f->rs, "$e1", &e), STORE_OK);
	assert_string_equal(e.txn_id, "txn1");
	assert_string_equal(e.device_id, "DEV");
	room_event_clear(&e);
	{
		char *id;
		assert_int_equal(room_store_txn_get(f->rs, ALICE, "DEV", "txn1", &id), STORE_OK);
		assert_string_equal(id, "$e1");
		free(id);
		assert_int_equal(room_store_txn_get(f->rs, ALICE, "OTHER", "txn1", &id), STORE_NOT_FOUND);
	}
}

static void test_redaction_forget_filters(void **state)
{
	struct fx *f = fx(state);
	struct room_append a = { 0 };
	struct room_event e;
	int64_t g, pos, g2, id0, id1;
	char *json;
	const char *prev[1] = { "$m" };

	add(f, "$c", "m.room.create", "", NULL, NULL, 1, 0, "{}", STORE_OK, &g);
	add(f, "$m", "m.room.member", BOB, "leave", "$c", 2, g, "{}", STORE_OK, &g);
	a.event_id = "$r";
	a.room_id = ROOM;
	a.type = "m.room.redaction";
	a.sender = ALICE;
	a.depth = 3;
	a.json = "{}";
	a.prev_events = prev;
	a.nprev = 1;
	a.state_before = g;
	a.redacts = "$m";
	assert_int_equal(room_store_append(f->rs, &a, &pos, &g2), STORE_OK);
	assert_int_equal(room_store_event_get(f->rs, "$m", &e), STORE_OK);
	assert_string_equal(e.redacted_by, "$r");
	room_event_clear(&e);

	assert_int_equal(room_store_forget(f->rs, ROOM, BOB), STORE_OK);

	assert_int_equal(room_store_filter_add(f->rs, ALICE, "{\"a\":1}", &id0), STORE_OK);
	assert_int_equal(room_store_filter_add(f->rs, ALICE, "{\"a\":2}", &id1), STORE_OK);
	assert_int_equal(id0, 0);
	assert_int_equal(id1, 1);
	assert_int_equal(room_store_filter_get(f->rs, ALICE, 1, &json), STORE_OK);
	assert_string_equal(json, "{\"a\":2}");
	free(json);
	assert_int_equal(room_store_filter_get(f->rs, BOB, 1, &json), STORE_NOT_FOUND);
}

static void test_extras(void **state)
{
	struct fx *f = fx(state);
	struct room_extra *list;
	size_t n;
	char *c, *room, *creator;
	int64_t max;
	json_t *arr;
	int pub;

	assert_int_equal(room_store_max_xpos(f->rs, &max), STORE_OK);
	assert_int_equal(max, 0);
	assert_int_equal(room_store_account_data_put(f->rs, ALICE, "", "t", "{\"a\":1}", 10), STORE_OK);
	assert_int_equal(room_store_account_data_put(f->rs, ALICE, ROOM, "m.tag", "{}", 11), STORE_OK);
	assert_int_equal(room_store_account_data_put(f->rs, ALICE, "", "t", "{\"a\":2}", 12), STORE_OK);
	assert_int_equal(room_store_account_data_get(f->rs, ALICE, "", "t", &c), STORE_OK);
	assert_string_equal(c, "{\"a\":2}");
	free(c);
	assert_int_equal(room_store_account_data_get(f->rs, BOB, "", "t", &c), STORE_NOT_FOUND);
	assert_int_equal(room_store_account_data_since(f->rs, ALICE, 10, &list, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].room_id, ROOM);
	assert_string_equal(list[1].value, "{\"a\":2}");
	room_extra_list_free(list, n);

	assert_int_equal(room_store_receipt_put(f->rs, ROOM, BOB, "m.read", "$e1", 5, 13), STORE_OK);
	assert_int_equal(room_store_receipt_put(f->rs, ROOM, BOB, "m.read", "$e2", 6, 14), STORE_OK);
	assert_int_equal(room_store_receipts_since(f->rs, ROOM, 0, &list, &n), STORE_OK);
	assert_int_equal(n, 1); /* one receipt per user and type */
	assert_string_equal(list[0].value, "$e2");
	assert_int_equal(list[0].ts, 6);
	room_extra_list_free(list, n);
	assert_int_equal(room_store_max_xpos(f->rs, &max), STORE_OK);
	assert_int_equal(max, 14);

	assert_int_equal(room_store_alias_put(f->rs, "#a:test", ROOM, ALICE), STORE_OK);
	assert_int_equal(room_store_alias_put(f->rs, "#a:test", "!x:test", BOB), STORE_CONFLICT);
	assert_int_equal(room_store_alias_get(f->rs, "#a:test", &room, &creator), STORE_OK);
	assert_string_equal(room, ROOM);
	assert_string_equal(creator, ALICE);
	free(room);
	free(creator);
	assert_int_equal(room_store_aliases_of(f->rs, ROOM, &arr), STORE_OK);
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	assert_int_equal(room_store_alias_delete(f->rs, "#a:test"), STORE_OK);
	assert_int_equal(room_store_alias_delete(f->rs, "#a:test"), STORE_NOT_FOUND);

	assert_int_equal(room_store_directory_set(f->rs, ROOM, 1), STORE_OK);
	assert_int_equal(room_store_directory_set(f->rs, ROOM, 1), STORE_OK);
	assert_int_equal(room_store_directory_get(f->rs, ROOM, &pub), STORE_OK);
	assert_int_equal(pub, 1);
	assert_int_equal(room_store_directory_list(f->rs, &arr), STORE_OK);
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	assert_int_equal(room_store_directory_set(f->rs, ROOM, 0), STORE_OK);
	assert_int_equal(room_store_directory_get(f->rs, ROOM, &pub), STORE_OK);
	assert_int_equal(pub, 0);
}

#define THREADS 4
#define PER_THREAD 25

struct worker {
	struct fx *f;
	int idx;
	int64_t pos[PER_THREAD];
	int fails;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		char id[32];
		struct room_append a = { 0 };
		int64_t g;
		snprintf(id, sizeof(id), "$w%d_%d", w->idx, i);
		a.event_id = id;
		a.room_id = ROOM;
		a.type = "m.room.message";
		a.sender = ALICE;
		a.depth = 2;
		a.json = "{}";
		if (room_store_append(w->f->rs, &a, &w->pos[i], &g) != STORE_OK)
			w->fails++;
	}
	return NULL;
}

static void test_concurrent_appends(void **state)
{
	struct fx *f = fx(state);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct room_event *evs;
	size_t n;

	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].f = f;
		w[i].idx = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].fails, 0);
		for (int j = 1; j < PER_THREAD; j++)
			assert_true(w[i].pos[j] > w[i].pos[j - 1]);
	}
	assert_int_equal(room_store_events(f->rs, ROOM, 'f', 0, -1, 1000, &evs, &n), STORE_OK);
	assert_int_equal(n, THREADS * PER_THREAD);
	for (size_t i = 1; i < n; i++)
		assert_true(evs[i].stream_pos > evs[i - 1].stream_pos);
	room_event_list_free(evs, n);
}

/* Remote events: outliers found by event_get, a resolved current state
 * set explicitly, negative groups, and the federation outbox. */
static void test_remote_events(void **state)
{
	struct fx *f = fx(state);
	struct room_event e, *evs;
	struct room_head h;
	struct room_membership *ms;
	struct room_state_set cur[2];
	struct room_append a = { 0 };
	const char *prevs[1] = { "$m" };
	char **dests, **pdus;
	size_t n;
	int64_t g1, g2, grp, pos, after;
	json_t *snap;

	add(f, "$c", "m.room.create", "", NULL, NULL, 1, 0, "{\"m.room.create\":{\"\":\"$c\"}}", STORE_OK, &g1);
	add(f, "$m", "m.room.member", ALICE, "join", "$c", 2, g1,
	    "{\"m.room.create\":{\"\":\"$c\"},\"m.room.member\":{\"@alice:test\":\"$m\"}}", STORE_OK, &g2);

	assert_int_equal(room_store_outlier_put(f->rs, "$o", ROOM, ROOM_EVENT_REJECTED,
						"{\"depth\":7,\"type\":\"m.room.message\"}"), STORE_OK);
	/* First verdict wins; a timeline event never becomes an outlier. */
	assert_int_equal(room_store_outlier_put(f->rs, "$o", ROOM, ROOM_EVENT_OUTLIER, "{}"), STORE_OK);
	assert_int_equal(room_store_outlier_put(f->rs, "$m", ROOM, ROOM_EVENT_OUTLIER, "{}"), STORE_OK);
	assert_int_equal(room_store_outlier_put(f->rs, "$x", ROOM, 9, "{}"), STORE_ERROR);
	assert_int_equal(room_store_event_get(f->rs, "$o", &e), STORE_OK);
	assert_int_equal(e.kind, ROOM_EVENT_REJECTED);
	assert_int_equal(e.stream_pos, 0);
	assert_int_equal(e.depth, 7);
	assert_int_equal(e.state_before, 0); /* no state groups */
	assert_int_equal(e.state_after, 0);
	room_event_clear(&e);
	/* A soft-failed event keeps its state groups (it stays in the DAG). */
	assert_int_equal(room_store_soft_failed_put(f->rs, "$s", ROOM, "{\"depth\":3}", g1, g2), STORE_OK);
	assert_int_equal(room_store_soft_failed_put(f->rs, "$s2", ROOM, "{}", 0, g2), STORE_ERROR);
	assert_int_equal(room_store_soft_failed_put(f->rs, "$o", ROOM, "{}", g1, g1), STORE_OK); /* first wins */
	assert_int_equal(room_store_event_get(f->rs, "$s", &e), STORE_OK);
	assert_int_equal(e.kind, ROOM_EVENT_SOFT_FAILED);
	assert_int_equal(e.stream_pos, 0);
	assert_int_equal(e.state_before, g1);
	assert_int_equal(e.state_after, g2);
	room_event_clear(&e);
	assert_int_equal(room_store_event_get(f->rs, "$o", &e), STORE_OK);
	assert_int_equal(e.kind, ROOM_EVENT_REJECTED);
	assert_int_equal(e.state_after, 0);
	room_event_clear(&e);
	assert_int_equal(room_store_event_get(f->rs, "$m", &e), STORE_OK);
	assert_int_equal(e.kind, ROOM_EVENT_TIMELINE);
	room_event_clear(&e);
	assert_int_equal(room_store_event_known(f->rs, "$o"), 1);
	assert_int_equal(room_store_event_known(f->rs, "$m"), 1);
	assert_int_equal(room_store_event_known(f->rs, "$none"), 0);
	assert_int_equal(room_store_events(f->rs, ROOM, 'f', 0, -1, 10, &evs, &n), STORE_OK);
	assert_int_equal(n, 2); /* outliers are not in the timeline */
	room_event_list_free(evs, n);

	/* Two snapshots under new negative ids. */
	assert_int_equal(room_store_group_put(f->rs, ROOM, "{\"a\":{\"\":\"$1\"}}", &grp), STORE_OK);
	assert_true(grp < 0);
	assert_int_equal(room_store_group_put(f->rs, ROOM, "{\"b\":{\"\":\"$2\"}}", &g1), STORE_OK);
	assert_true(g1 < grp);
	assert_int_equal(room_store_state_group(f->rs, grp, &snap), STORE_OK);
	assert_non_null(json_object_get(snap, "a"));
	json_decref(snap);

	/* A remote member event whose current-state changes are given
	 * explicitly: bob's join is set, and the event's own entry (a
	 * second member event) only where cur says so. */
	cur[0] = (struct room_state_set){ "m.room.member", BOB, "$b", "join" };
	cur[1] = (struct room_state_set){ "m.room.topic", "", "$t0", NULL };
	a.event_id = "$b";
	a.room_id = ROOM;
	a.type = "m.room.member";
	a.state_key = BOB;
	a.sender = BOB;
	a.origin_server_ts = 5;
	a.depth = 3;
	a.json = "{}";
	a.prev_events = prevs;
	a.nprev = 1;
	a.state_before = g2;
	a.state_after_json = "{}";
	a.membership = "join";
	a.explicit_current = 1;
	a.cur = cur;
	a.ncur = 2;
	a.current_group = grp;
	assert_int_equal(room_store_append(f->rs, &a, &pos, &after), STORE_OK);
	assert_int_equal(after, pos);
	assert_int_equal(room_store_head(f->rs, ROOM, &h), STORE_OK);
	assert_int_equal(h.state_group, grp); /* the recorded current group */
	assert_string_equal(json_string_value(json_object_get(json_object_get(h.state, "m.room.topic"), "")), "$t0");
	assert_string_equal(json_string_value(json_object_get(json_object_get(h.state, "m.room.member"), BOB)), "$b");
	assert_int_equal(h.nextrem, 1);
	room_head_clear(&h);
	assert_int_equal(room_store_members(f->rs, ROOM, &ms, &n), STORE_OK);
	assert_int_equal(n, 2);
	room_membership_list_free(ms, n);
	/* A later local event makes its own group current again. */
	add(f, "$n", "m.room.message", NULL, NULL, "$b", 4, grp, NULL, STORE_OK, &g2);
	assert_int_equal(room_store_head(f->rs, ROOM, &h), STORE_OK);
	assert_int_equal(h.state_group, grp);
	room_head_clear(&h);

	/* The outbox keeps order per destination. */
	assert_int_equal(room_store_outbox_add(f->rs, "a.test", "{\"n\":1}"), STORE_OK);
	assert_int_equal(room_store_outbox_add(f->rs, "b.test", "{\"n\":2}"), STORE_OK);
	assert_int_equal(room_store_outbox_add(f->rs, "a.test", "{\"n\":3}"), STORE_OK);
	assert_int_equal(room_store_outbox_delivered(f->rs, "a.test", 1), STORE_OK);
	assert_int_equal(room_store_outbox_list(f->rs, &dests, &pdus, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(dests[0], "b.test");
	assert_string_equal(pdus[1], "{\"n\":3}");
	for (size_t i = 0; i < n; i++) {
		free(dests[i]);
		free(pdus[i]);
	}
	free(dests);
	free(pdus);
	/* Per destination, a bounded batch from the oldest. */
	assert_int_equal(room_store_outbox_add(f->rs, "a.test", "{\"n\":4}"), STORE_OK);
	assert_int_equal(room_store_outbox_load(f->rs, "a.test", 1, &pdus, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(pdus[0], "{\"n\":3}");
	free(pdus[0]);
	free(pdus);
	assert_int_equal(room_store_outbox_load(f->rs, "c.test", 10, &pdus, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(room_store_outbox_dests(f->rs, &dests, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(dests[0], "a.test");
	assert_string_equal(dests[1], "b.test");
	for (size_t i = 0; i < n; i++)
		free(dests[i]);
	free(dests);
}

/* State groups are deltas with a full snapshot every so often: 200 state
 * events (state_change, no full JSON given) read back as whole maps. */
static void test_state_deltas(void **state)
{
	struct fx *f = fx(state);
	char id[32], prev[32], sk[32];
	int64_t g = 0, g1, pos;
	json_t *snap;

	add(f, "$c", "m.room.create", "", NULL, NULL, 1, 0, "{\"m.room.create\":{\"\":\"$c\"}}", STORE_OK, &g1);
	g = g1;
	snprintf(prev, sizeof(prev), "$c");
	for (int i = 0; i < 200; i++) {
		struct room_append a = { 0 };
		const char *prevs[1] = { prev };
		snprintf(id, sizeof(id), "$m%d", i);
		snprintf(sk, sizeof(sk), "@u%d:test", i % 150); /* the last 50 replace earlier ones */
		a.event_id = id;
		a.room_id = ROOM;
		a.type = "m.room.member";
		a.state_key = sk;
		a.sender = sk;
		a.origin_server_ts = 1;
		a.depth = i + 2;
		a.json = "{}";
		a.prev_events = prevs;
		a.nprev = 1;
		a.state_before = g;
		a.state_change = 1;
		a.membership = "join";
		assert_int_equal(room_store_append(f->rs, &a, &pos, &g), STORE_OK);
		assert_int_equal(g, pos);
		snprintf(prev, sizeof(prev), "%s", id);
	}
	assert_int_equal(room_store_state_group(f->rs, g, &snap), STORE_OK);
	assert_int_equal(json_object_size(json_object_get(snap, "m.room.member")), 150);
	assert_string_equal(json_string_value(json_object_get(json_object_get(snap, "m.room.member"), "@u0:test")),
			    "$m150");
	assert_string_equal(json_string_value(json_object_get(json_object_get(snap, "m.room.member"), "@u149:test")),
			    "$m149");
	assert_string_equal(json_string_value(json_object_get(json_object_get(snap, "m.room.create"), "")), "$c");
	json_decref(snap);
	assert_int_equal(room_store_state_group(f->rs, g1, &snap), STORE_OK);
	assert_null(json_object_get(snap, "m.room.member"));
	json_decref(snap);
	assert_int_equal(room_store_state_group(f->rs, 987654321, &snap), STORE_NOT_FOUND);
}

/* One event of the outbox test; json names the event. */
static void app(struct fx *f, const char *id, const char *type, const char *sk, const char *membership,
		int64_t depth, int remote, int64_t *group)
{
	char json[64];
	struct room_append a = { 0 };
	int64_t pos = 0;
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", id);
	a.event_id = id;
	a.room_id = ROOM;
	a.type = type;
	a.state_key = sk;
	a.sender = remote ? "@x:other.test" : ALICE;
	a.origin_server_ts = 1000 + depth;
	a.depth = depth;
	a.json = json;
	a.state_before = *group;
	a.state_change = sk != NULL;
	a.membership = membership;
	a.explicit_current = remote;
	a.room_version = strcmp(type, "m.room.create") == 0 ? "12" : NULL;
	assert_int_equal(room_store_append(f->rs, &a, &pos, group), STORE_OK);
}

/* With the outbox on, a local event's append writes its outbox rows: per
 * server with a joined member before it, plus an invitee's server. */
static void test_outbox_in_append(void **state)
{
	struct fx *f = fx(state);
	int64_t g = 0;
	char **dests, **pdus;
	size_t n;

	app(f, "$c", "m.room.create", "", NULL, 1, 0, &g);
	app(f, "$a", "m.room.member", ALICE, "join", 2, 0, &g);
	app(f, "$b", "m.room.member", "@bob:other.test", "join", 3, 0, &g);
	app(f, "$k", "m.room.member", "@carol:third.test", "invite", 4, 0, &g);
	app(f, "$d", "m.room.member", "@dave:other.test", "join", 5, 0, &g);
	room_store_set_outbox(f->rs, "test");
	app(f, "$m1", "m.room.message", NULL, NULL, 6, 0, &g);
	app(f, "$i1", "m.room.member", "@erin:fourth.test", "invite", 7, 0, &g);
	app(f, "$i2", "m.room.member", "@frank:other.test", "invite", 8, 0, &g);
	app(f, "$r", "m.room.message", NULL, NULL, 9, 1, &g); /* remote: not ours to send */
	{
		/* A failed append leaves no outbox rows either. */
		struct room_append dup = { .event_id = "$m1", .room_id = ROOM, .type = "m.room.message",
					   .sender = ALICE, .depth = 10, .json = "{\"id\":\"dup\"}",
					   .state_before = g };
		int64_t pos, g2;
		assert_int_equal(room_store_append(f->rs, &dup, &pos, &g2), STORE_CONFLICT);
	}
	room_store_set_outbox(f->rs, NULL);
	app(f, "$m2", "m.room.message", NULL, NULL, 10, 0, &g);

	assert_int_equal(room_store_outbox_list(f->rs, &dests, &pdus, &n), STORE_OK);
	const char *want[][2] = {
		{ "other.test", "$m1" }, { "fourth.test", "$i1" }, { "other.test", "$i1" }, { "other.test", "$i2" },
	};
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(dests[i], want[i][0]);
		assert_non_null(strstr(pdus[i], want[i][1]));
		free(dests[i]);
		free(pdus[i]);
	}
	free(dests);
	free(pdus);
}

#define BOTH(t)                                                                \
	{ #t " (sqlite)", t, setup_sqlite, teardown, NULL },                   \
	{ #t " (postgres)", t, setup_pg, teardown, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_append_state_and_reads),
		BOTH(test_failed_append_leaves_nothing),
		BOTH(test_redaction_forget_filters),
		BOTH(test_concurrent_appends),
		BOTH(test_extras),
		BOTH(test_remote_events),
		BOTH(test_state_deltas),
		BOTH(test_outbox_in_append),
	};
	scop_log_init("test_store_rooms", getenv("SCOP_TEST_LOG") ? SCOP_LOG_DEBUG : SCOP_LOG_OFF);
	return cmocka_run_group_tests_name("store_rooms", tests, NULL, NULL);
}
