/* Unit tests for homeserver/aggregations.c over a real SQLite store:
 * thread summaries, the newest valid edit, references, the latest thread
 * event's own edit, history visibility of bundled children, duplicates,
 * redacted parents, the /sync and /context entry points, children copied
 * from the page, the cap on references, and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"
#include "homeserver/aggregations.h"
#include "homeserver/rooms.h"
#include "tests/unit/room_fixture.h"
#include "homeserver/store/store.h"
#include "homeserver/store/store_relsearch.h"

struct fx {
	struct room_fixture rf;
	struct relsearch *q;
	char room[EVENT_ID_BUF];
	int txn;
};

#define ALICE "@alice:test"
#define CAROL "@carol:test"

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	relsearch_close(f->q);
	room_fixture_close(&f->rf);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct room_result res;
	char err[256];
	json_t *init;
	if (!f)
		return -1;
	*state = f;
	if (room_fixture_open(&f->rf, "aggr", "test") < 0 ||
	    relsearch_open("sqlite", f->rf.path, &f->q, err, sizeof(err)) != STORE_OK)
		return -1;
	init = json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:s}}]", "type", "m.room.member",
			 "state_key", ALICE, "content", "membership", "join", "type",
			 "m.room.join_rules", "state_key", "", "content", "join_rule", "public");
	if (rooms_create(f->rf.rooms, ALICE, NULL, NULL, init, &res) != ROOM_OK)
		return -1;
	json_decref(init);
	strcpy(f->room, res.room_id);
	return 0;
}

/* Sends a message from alice; content is a JSON text.  Returns its ID in id. */
static void send(struct fx *f, const char *content, char *id)
{
	struct room_result res;
	char txn[16];
	json_t *c = json_loads(content, 0, NULL);
	struct room_send s = { f->room, ALICE, "m.room.message", NULL, c, NULL, "DEV", txn };
	assert_non_null(c);
	snprintf(txn, sizeof(txn), "t%d", ++f->txn);
	assert_int_equal(rooms_send(f->rf.rooms, &s, &res), ROOM_OK);
	json_decref(c);
	strcpy(id, res.event_id);
}

/* Sends a relation of rel_type to target (an edit carries m.new_content). */
static void relate(struct fx *f, char *id, const char *rel_type, const char *target)
{
	json_t *c = json_pack("{s:s,s:{s:s,s:s}}", "body", "child", "m.relates_to", "rel_type",
			      rel_type, "event_id", target);
	char *text;
	assert_non_null(c);
	if (strcmp(rel_type, "m.replace") == 0)
		json_object_set_new(c, "m.new_content", json_pack("{s:s}", "body", "edited"));
	text = json_dumps(c, 0);
	json_decref(c);
	send(f, text, id);
	free(text);
}

/* The client event of id for viewer. */
static json_t *client(struct fx *f, const char *id, const char *viewer)
{
	struct room_event e;
	json_t *ce;
	assert_int_equal(room_store_event_get(f->rf.rs, id, &e), STORE_OK);
	ce = rooms_client_event(f->rf.rooms, &e, viewer, NULL);
	room_event_clear(&e);
	assert_non_null(ce);
	return ce;
}

/* Of two edits, the one the spec says wins: the later origin_server_ts,
 * then the greater event ID. */
static const char *newest(struct fx *f, const char *a, const char *b)
{
	json_t *ea = client(f, a, ALICE), *eb = client(f, b, ALICE);
	json_int_t ta = json_integer_value(json_object_get(ea, "origin_server_ts"));
	json_int_t tb = json_integer_value(json_object_get(eb, "origin_server_ts"));
	json_decref(ea);
	json_decref(eb);
	if (ta != tb)
		return ta > tb ? a : b;
	return strcmp(a, b) > 0 ? a : b;
}

static json_t *rel(json_t *ev, const char *type)
{
	return json_object_get(json_object_get(json_object_get(ev, "unsigned"), "m.relations"), type);
}

static void test_bundles(void **state)
{
	struct fx *f = *state;
	char root[EVENT_ID_BUF], r1[EVENT_ID_BUF], r2[EVENT_ID_BUF], e1[EVENT_ID_BUF];
	char e2[EVENT_ID_BUF], re[EVENT_ID_BUF], plain[EVENT_ID_BUF], ref[EVENT_ID_BUF];
	json_t *evs, *th, *le;

	send(f, "{\"body\":\"root\"}", root);
	send(f, "{\"body\":\"plain\"}", plain);
	relate(f, r1, "m.thread", root);
	relate(f, r2, "m.thread", root);
	relate(f, e1, "m.replace", root);
	relate(f, e2, "m.replace", root);
	relate(f, re, "m.replace", r2);
	relate(f, ref, "m.reference", root);

	evs = json_pack("[o,o,o]", client(f, root, ALICE), client(f, plain, ALICE),
			client(f, root, ALICE));
	assert_int_equal(aggr_bundle(f->q, f->rf.rooms, evs, ALICE, NULL), 0);
	for (size_t i = 0; i < 3; i += 2) { /* both copies of root */
		json_t *ev = json_array_get(evs, i);
		th = rel(ev, "m.thread");
		assert_int_equal(json_integer_value(json_object_get(th, "count")), 2);
		assert_true(json_is_true(json_object_get(th, "current_user_participated")));
		le = json_object_get(th, "latest_event");
		assert_string_equal(json_string_value(json_object_get(le, "event_id")), r2);
		/* The latest event's own edit. */
		assert_string_equal(json_string_value(json_object_get(rel(le, "m.replace"),
								      "event_id")), re);
		assert_string_equal(json_string_value(json_object_get(rel(ev, "m.replace"),
								      "event_id")), newest(f, e1, e2));
		/* The original's content stays. */
		assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "content"),
								      "body")), "root");
		assert_int_equal(json_array_size(json_object_get(rel(ev, "m.reference"), "chunk")), 1);
	}
	assert_null(json_object_get(json_object_get(json_array_get(evs, 1), "unsigned"),
				    "m.relations"));
	json_decref(evs);

	/* Carol is not in the room: counts, but no event she may not see. */
	evs = json_pack("[o]", client(f, root, CAROL));
	assert_int_equal(aggr_bundle(f->q, f->rf.rooms, evs, CAROL, NULL), 0);
	th = rel(json_array_get(evs, 0), "m.thread");
	assert_int_equal(json_integer_value(json_object_get(th, "count")), 2);
	assert_true(json_is_false(json_object_get(th, "current_user_participated")));
	assert_null(json_object_get(th, "latest_event"));
	assert_null(rel(json_array_get(evs, 0), "m.replace"));
	json_decref(evs);
}

static void test_entry_points(void **state)
{
	struct fx *f = *state;
	char root[EVENT_ID_BUF], r1[EVENT_ID_BUF];
	json_t *ev, *sync, *before, *after;

	send(f, "{\"body\":\"root\"}", root);
	relate(f, r1, "m.thread", root);

	ev = client(f, root, ALICE);
	assert_int_equal(aggr_bundle_one(f->q, f->rf.rooms, ev, ALICE, NULL), 0);
	assert_non_null(rel(ev, "m.thread"));
	json_decref(ev);

	sync = json_pack("{s:{s:{s:{s:{s:[o]}}},s:{s:{s:{s:[o]}}}}}", "rooms", "join", f->room,
			 "timeline", "events", client(f, root, ALICE), "leave", "!gone:test",
			 "timeline", "events", client(f, root, ALICE));
	assert_int_equal(aggr_bundle_sync(f->q, f->rf.rooms, sync, ALICE, NULL), 0);
	assert_non_null(rel(json_array_get(json_object_get(json_object_get(json_object_get(
		json_object_get(json_object_get(sync, "rooms"), "join"), f->room), "timeline"),
		"events"), 0), "m.thread"));
	assert_non_null(rel(json_array_get(json_object_get(json_object_get(json_object_get(
		json_object_get(json_object_get(sync, "rooms"), "leave"), "!gone:test"), "timeline"),
		"events"), 0), "m.thread"));
	json_decref(sync);

	before = json_pack("[o]", client(f, root, ALICE));
	after = json_array();
	ev = client(f, r1, ALICE);
	assert_int_equal(aggr_bundle_context(f->q, f->rf.rooms, before, ev, after, ALICE, NULL), 0);
	assert_non_null(rel(json_array_get(before, 0), "m.thread"));
	assert_null(rel(ev, "m.thread"));
	json_decref(before);
	json_decref(after);
	json_decref(ev);
}

/* A child that is among the events bundled is a copy of that rendering,
 * without the bundle the original gets (the second round gives it its own,
 * once). */
static void test_child_in_page(void **state)
{
	struct fx *f = *state;
	char root[EVENT_ID_BUF], r1[EVENT_ID_BUF], ed[EVENT_ID_BUF], ref[EVENT_ID_BUF];
	json_t *evs, *page_r1, *le;

	send(f, "{\"body\":\"root\"}", root);
	relate(f, r1, "m.thread", root);
	relate(f, ed, "m.replace", r1);
	relate(f, ref, "m.reference", r1);
	page_r1 = client(f, r1, ALICE);
	json_object_set_new(json_object_get(page_r1, "unsigned"), "shown", json_true());
	evs = json_pack("[o,o]", client(f, root, ALICE), page_r1);
	assert_int_equal(aggr_bundle_room(f->q, f->rf.rooms, NULL, f->room, evs, ALICE, NULL), 0);
	le = json_object_get(rel(json_array_get(evs, 0), "m.thread"), "latest_event");
	assert_non_null(le);
	assert_ptr_not_equal(le, page_r1);
	assert_true(json_is_true(json_object_get(json_object_get(le, "unsigned"), "shown")));
	assert_string_equal(json_string_value(json_object_get(le, "event_id")), r1);
	assert_string_equal(json_string_value(json_object_get(rel(le, "m.replace"), "event_id")), ed);
	assert_int_equal(json_array_size(json_object_get(rel(le, "m.reference"), "chunk")), 1);
	/* The page's own rendering has its bundle, once. */
	assert_string_equal(json_string_value(json_object_get(rel(page_r1, "m.replace"), "event_id")),
			    ed);
	assert_int_equal(json_array_size(json_object_get(rel(page_r1, "m.reference"), "chunk")), 1);
	json_decref(evs);
}

/* Every reference, oldest first, as the spec says ("lists all the
 * events"); no token. */
#define MANY_REFS 7
static void test_reference_all(void **state)
{
	struct fx *f = *state;
	char root[EVENT_ID_BUF], refs[MANY_REFS][EVENT_ID_BUF];
	json_t *ev, *ref, *chunk;
	size_t i;

	send(f, "{\"body\":\"root\"}", root);
	for (i = 0; i < MANY_REFS; i++)
		relate(f, refs[i], "m.reference", root);
	ev = client(f, root, ALICE);
	assert_int_equal(aggr_bundle_one(f->q, f->rf.rooms, ev, ALICE, NULL), 0);
	ref = rel(ev, "m.reference");
	chunk = json_object_get(ref, "chunk");
	assert_int_equal(json_array_size(chunk), MANY_REFS);
	for (i = 0; i < MANY_REFS; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(chunk, i),
								      "event_id")), refs[i]);
	assert_null(json_object_get(ref, "next_batch"));
	json_decref(ev);
}

static void test_bad_input(void **state)
{
	struct fx *f = *state;
	char root[EVENT_ID_BUF], r1[EVENT_ID_BUF];
	json_t *evs, *ev;

	send(f, "{\"body\":\"root\"}", root);
	relate(f, r1, "m.thread", root);
	/* Not events, no event_id, a number for an ID, an ID never stored. */
	evs = json_pack("[i,s,{},{s:i},{s:s},n]", 3, "x", "event_id", 4, "event_id", "$nope");
	assert_int_equal(aggr_bundle(f->q, f->rf.rooms, evs, ALICE, NULL), 0);
	assert_null(json_object_get(json_array_get(evs, 2), "unsigned"));
	json_decref(evs);
	/* A redacted parent bundles nothing. */
	ev = client(f, root, ALICE);
	json_object_set_new(json_object_get(ev, "unsigned"), "redacted_because", json_object());
	assert_int_equal(aggr_bundle_one(f->q, f->rf.rooms, ev, ALICE, NULL), 0);
	assert_null(rel(ev, "m.thread"));
	/* No store, no viewer, not an array: nothing happens. */
	assert_int_equal(aggr_bundle_one(NULL, f->rf.rooms, ev, ALICE, NULL), 0);
	assert_int_equal(aggr_bundle_one(f->q, f->rf.rooms, ev, NULL, NULL), 0);
	assert_int_equal(aggr_bundle(f->q, f->rf.rooms, ev, ALICE, NULL), 0);
	assert_int_equal(aggr_bundle_sync(f->q, f->rf.rooms, ev, ALICE, NULL), 0);
	assert_int_equal(aggr_bundle_context(f->q, f->rf.rooms, NULL, NULL, NULL, ALICE, NULL), 0);
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bundles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_points, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_in_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reference_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	};
	scop_log_init("test_aggregations", getenv("SCOP_TEST_LOG") ? SCOP_LOG_DEBUG : SCOP_LOG_OFF);
	return cmocka_run_group_tests_name("aggregations", tests, NULL, NULL);
}
