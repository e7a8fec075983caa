/* Unit tests for federation/edu_parse.c (the shape of inbound EDUs) and
 * federation/edu.c (applying them to the rooms, over SQLite in a temp
 * dir with a remote user joined to a local room). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "federation/edu.h"
#include "federation/edu_parse.h"
#include "federation/read_params.h"
#include "homeserver/rooms.h"
#include "tests/unit/room_fixture.h"

#define ORIGIN "remote.test:8448"
#define BOB "@bob:remote.test:8448"

static json_t *edu(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static void parse_ok(const char *text, enum fed_edu_kind kind, size_t n, size_t skipped, struct fed_edu *out,
		     json_t **keep)
{
	char err[128];
	*keep = edu(text);
	assert_int_equal(fed_edu_parse(*keep, ORIGIN, out, err, sizeof(err)), 0);
	assert_int_equal(out->kind, kind);
	assert_int_equal(out->n, n);
	assert_int_equal(out->skipped, skipped);
}

static void test_typing(void **state)
{
	struct fed_edu e;
	json_t *j;
	(void)state;
	parse_ok("{\"edu_type\":\"m.typing\",\"content\":{\"room_id\":\"!r:x\",\"user_id\":\"" BOB
		 "\",\"typing\":true}}", FED_EDU_TYPING, 1, 0, &e, &j);
	assert_string_equal(e.items[0].room_id, "!r:x");
	assert_string_equal(e.items[0].user_id, BOB);
	assert_int_equal(e.items[0].typing, 1);
	fed_edu_clear(&e);
	json_decref(j);
	/* Another server's user, a bad room ID, a non-boolean typing. */
	parse_ok("{\"edu_type\":\"m.typing\",\"content\":{\"room_id\":\"!r:x\",\"user_id\":\"@bob:other.test\","
		 "\"typing\":true}}", FED_EDU_TYPING, 0, 1, &e, &j);
	fed_edu_clear(&e);
	json_decref(j);
	parse_ok("{\"edu_type\":\"m.typing\",\"content\":{\"room_id\":\"r\",\"user_id\":\"" BOB "\",\"typing\":1}}",
		 FED_EDU_TYPING, 0, 1, &e, &j);
	fed_edu_clear(&e);
	json_decref(j);
	/* A user ID on the origin's host but another port is not the origin's. */
	parse_ok("{\"edu_type\":\"m.typing\",\"content\":{\"room_id\":\"!r:x\",\"user_id\":\"@bob:remote.test\","
		 "\"typing\":false}}", FED_EDU_TYPING, 0, 1, &e, &j);
	fed_edu_clear(&e);
	json_decref(j);
}

static void test_receipt(void **state)
{
	struct fed_edu e;
	json_t *j;
	(void)state;
	parse_ok("{\"edu_type\":\"m.receipt\",\"content\":{"
		 "\"!a:x\":{\"m.read\":{\"" BOB "\":{\"event_ids\":[\"$1\",\"$2\"],\"data\":{\"ts\":1}},"
		 "\"@eve:evil.test\":{\"event_ids\":[\"$3\"]}},\"m.read.private\":{\"" BOB "\":{\"event_ids\":[\"$4\"]}}},"
		 "\"bad\":{},\"!b:x\":{\"m.read\":{\"" BOB "\":{\"event_ids\":[5,\"$6\"],"
		 "\"data\":{\"thread_id\":\"main\"}}}},"
		 "\"!c:x\":{\"m.read\":{\"" BOB "\":{\"event_ids\":[\"$7\"],\"data\":{\"thread_id\":5}}}}}}",
		 FED_EDU_RECEIPT, 3, 5, &e, &j);
	assert_string_equal(e.items[0].event_id, "$1");
	assert_string_equal(e.items[1].event_id, "$2");
	assert_string_equal(e.items[2].room_id, "!b:x");
	assert_string_equal(e.items[2].event_id, "$6");
	assert_string_equal(e.items[2].thread_id, "main");
	assert_null(e.items[0].thread_id);
	fed_edu_clear(&e);
	json_decref(j);
}

static void test_presence(void **state)
{
	struct fed_edu e;
	json_t *j;
	char err[128];
	(void)state;
	parse_ok("{\"edu_type\":\"m.presence\",\"content\":{\"push\":[{\"user_id\":\"" BOB "\",\"presence\":\"online\","
		 "\"status_msg\":\"hi\",\"last_active_ago\":5},{\"user_id\":\"" BOB "\",\"presence\":\"busy\"},"
		 "{\"user_id\":\"@c:remote.test:8448\",\"presence\":\"offline\",\"status_msg\":null},null,7]}}",
		 FED_EDU_PRESENCE, 2, 3, &e, &j);
	assert_string_equal(e.items[0].status_msg, "hi");
	assert_null(e.items[1].status_msg);
	fed_edu_clear(&e);
	json_decref(j);
	j = edu("{\"edu_type\":\"m.presence\",\"content\":{\"push\":{}}}");
	assert_int_equal(fed_edu_parse(j, ORIGIN, &e, err, sizeof(err)), -1);
	json_decref(j);
}

static void test_other_and_malformed(void **state)
{
	struct fed_edu e;
	json_t *j;
	char err[128];
	(void)state;
	parse_ok("{\"edu_type\":\"m.device_list_update\",\"content\":{}}", FED_EDU_DEVICE_LIST, 0, 0, &e, &j);
	assert_int_equal(fed_edu_apply(NULL, &e), 0);
	fed_edu_clear(&e);
	json_decref(j);
	parse_ok("{\"edu_type\":\"m.direct_to_device\",\"content\":{}}", FED_EDU_TO_DEVICE, 0, 0, &e, &j);
	fed_edu_clear(&e);
	json_decref(j);
	parse_ok("{\"edu_type\":\"org.example\",\"content\":{}}", FED_EDU_UNKNOWN, 0, 0, &e, &j);
	assert_int_equal(fed_edu_apply(NULL, &e), -1);
	fed_edu_clear(&e);
	json_decref(j);
	const char *bad[] = { "[]", "{\"edu_type\":1,\"content\":{}}", "{\"edu_type\":\"m.typing\"}",
			      "{\"edu_type\":\"m.typing\",\"content\":[]}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = edu(bad[i]);
		assert_int_equal(fed_edu_parse(j, ORIGIN, &e, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		json_decref(j);
	}
}

static void test_item_cap(void **state)
{
	struct fed_edu e;
	char err[128];
	json_t *push = json_array(), *j;
	(void)state;
	for (int i = 0; i < FED_EDU_MAX_ITEMS + 5; i++)
		json_array_append_new(push, json_pack("{s:s,s:s}", "user_id", BOB, "presence", "online"));
	j = json_pack("{s:s,s:{s:o}}", "edu_type", "m.presence", "content", "push", push);
	assert_int_equal(fed_edu_parse(j, ORIGIN, &e, err, sizeof(err)), 0);
	assert_int_equal(e.n, FED_EDU_MAX_ITEMS);
	assert_int_equal(e.skipped, 5);
	fed_edu_clear(&e);
	json_decref(j);
}

static void test_params(void **state)
{
	int64_t v;
	(void)state;
	assert_int_equal(read_parse_int("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(read_parse_int("-7", &v), 0);
	assert_int_equal(v, -7);
	assert_int_equal(read_parse_int("9007199254740991", &v), 0);
	assert_int_equal(read_parse_int("9007199254740992", &v), -1);
	assert_int_equal(read_parse_int("", &v), -1);
	assert_int_equal(read_parse_int("-", &v), -1);
	assert_int_equal(read_parse_int(" 1", &v), -1);
	assert_int_equal(read_parse_int("1e3", &v), -1);
	assert_int_equal(read_page_token("o10", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(read_page_token("o-1", &v), -1);
	assert_int_equal(read_page_token("10", &v), -1);
	assert_int_equal(read_page_token("o1000000001", &v), -1);
}

/* What this server sends parses back as what it meant. */
static void test_build_roundtrip(void **state)
{
	struct fed_edu e;
	char err[128];
	json_t *j;
	(void)state;
	j = fed_edu_build("!r:x", BOB, "m.typing", NULL, NULL, 1, 5);
	assert_int_equal(fed_edu_parse(j, ORIGIN, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kind, FED_EDU_TYPING);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.items[0].typing, 1);
	fed_edu_clear(&e);
	json_decref(j);
	j = fed_edu_build("!r:x", BOB, "m.receipt", "$ev", NULL, 0, 5);
	assert_int_equal(fed_edu_parse(j, ORIGIN, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kind, FED_EDU_RECEIPT);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.items[0].event_id, "$ev");
	assert_string_equal(e.items[0].room_id, "!r:x");
	assert_null(e.items[0].thread_id);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(json_object_get(
		json_object_get(json_object_get(j, "content"), "!r:x"), "m.read"), BOB), "data"), "ts")), 5);
	fed_edu_clear(&e);
	json_decref(j);
	assert_null(fed_edu_build("!r:x", BOB, "m.receipt", NULL, NULL, 0, 5));
	j = fed_edu_build("!r:x", BOB, "m.receipt", "$ev", "$root", 0, 5);
	assert_int_equal(fed_edu_parse(j, ORIGIN, &e, err, sizeof(err)), 0);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.items[0].thread_id, "$root");
	fed_edu_clear(&e);
	json_decref(j);
	{
		json_t *content = json_pack("{s:s,s:i,s:b,s:s}", "presence", "unavailable", "last_active_ago", 7,
					    "currently_active", 0, "status_msg", "away");
		j = fed_edu_build_presence(BOB, content);
		assert_int_equal(fed_edu_parse(j, ORIGIN, &e, err, sizeof(err)), 0);
		assert_int_equal(e.kind, FED_EDU_PRESENCE);
		assert_int_equal(e.n, 1);
		assert_string_equal(e.items[0].presence, "unavailable");
		assert_string_equal(e.items[0].status_msg, "away");
		fed_edu_clear(&e);
		json_decref(j);
		json_object_del(content, "presence");
		assert_null(fed_edu_build_presence(BOB, content));
		json_decref(content);
	}
	assert_null(fed_edu_build("!r:x", BOB, "m.other", NULL, NULL, 0, 5));
}

/* ---- applying, over a real rooms on SQLite ---- */

struct fx {
	struct room_fixture rf;
	char room_id[EVENT_ID_BUF];
	char other_room[EVENT_ID_BUF];
	char msg_id[EVENT_ID_BUF];
};

static int teardown(void **state);

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct room_result res;
	json_t *content;
	if (!f)
		return -1;
	*state = f;
	if (room_fixture_open(&f->rf, "edu", "local.test") < 0 ||
	    room_fixture_public_room(&f->rf, "@alice:local.test", f->room_id, sizeof(f->room_id)) < 0)
		goto fail;
	/* The origin_server_ts differs, so the second create is another room. */
	usleep(2000);
	if (room_fixture_public_room(&f->rf, "@alice:local.test", f->other_room, sizeof(f->other_room)) < 0)
		goto fail;
	/* The remote user joins the first room (this test signs the join as
	 * the local server: only the membership matters here). */
	content = json_pack("{s:s}", "membership", "join");
	struct room_send s = { f->room_id, BOB, "m.room.member", BOB, content, NULL, NULL, NULL };
	if (rooms_send(f->rf.rooms, &s, &res) != ROOM_OK) {
		json_decref(content);
		goto fail;
	}
	snprintf(f->msg_id, sizeof(f->msg_id), "%s", res.event_id);
	json_decref(content);
	return 0;
fail:
	teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	room_fixture_close(&f->rf);
	free(f);
	return 0;
}

static int apply_json(struct fx *f, json_t *j)
{
	struct fed_edu e;
	char err[128];
	int rc;
	assert_non_null(j);
	assert_int_equal(fed_edu_parse(j, ORIGIN, &e, err, sizeof(err)), 0);
	rc = fed_edu_apply(f->rf.rooms, &e);
	fed_edu_clear(&e);
	json_decref(j);
	return rc;
}

static void test_apply_typing(void **state)
{
	struct fx *f = *state;
	json_t *ev;
	assert_int_equal(apply_json(f, json_pack("{s:s,s:{s:s,s:s,s:b}}", "edu_type", "m.typing", "content", "room_id",
						 f->room_id, "user_id", BOB, "typing", 1)), 0);
	ev = rooms_typing_event(f->rf.rooms, f->room_id, 0);
	assert_non_null(ev);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(ev, "content"),
									     "user_ids"), 0)), BOB);
	json_decref(ev);
	/* Not in the other room: nothing. */
	assert_int_equal(apply_json(f, json_pack("{s:s,s:{s:s,s:s,s:b}}", "edu_type", "m.typing", "content", "room_id",
						 f->other_room, "user_id", BOB, "typing", 1)), -1);
	assert_null(rooms_typing_event(f->rf.rooms, f->other_room, 0));
	assert_int_equal(apply_json(f, json_pack("{s:s,s:{s:s,s:s,s:b}}", "edu_type", "m.typing", "content", "room_id",
						 f->room_id, "user_id", BOB, "typing", 0)), 0);
	ev = rooms_typing_event(f->rf.rooms, f->room_id, 0);
	assert_true(!ev || json_array_size(json_object_get(json_object_get(ev, "content"), "user_ids")) == 0);
	json_decref(ev);
}

static void test_apply_receipt_presence(void **state)
{
	struct fx *f = *state;
	struct room_extra *list = NULL;
	size_t n = 0;
	json_t *p;
	assert_int_equal(apply_json(f, json_pack("{s:s,s:{s:{s:{s:{s:[s]}}},s:{s:{s:{s:[s]}}}}}", "edu_type",
						 "m.receipt", "content", f->room_id, "m.read", BOB, "event_ids",
						 f->msg_id, f->other_room, "m.read", BOB, "event_ids", f->msg_id)), 0);
	assert_int_equal(room_store_receipts_since(f->rf.rs, f->room_id, 0, &list, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].user_id, BOB);
	assert_string_equal(list[0].value, f->msg_id);
	room_extra_list_free(list, n);
	assert_int_equal(room_store_receipts_since(f->rf.rs, f->other_room, 0, &list, &n), STORE_OK);
	assert_int_equal(n, 0);
	room_extra_list_free(list, n);

	assert_int_equal(apply_json(f, json_pack("{s:s,s:{s:[{s:s,s:s,s:s},{s:s,s:s}]}}", "edu_type", "m.presence",
						 "content", "push", "user_id", BOB, "presence", "unavailable",
						 "status_msg", "lunch", "user_id", "@nobody:remote.test:8448",
						 "presence", "online")), 0);
	p = rooms_presence_get(f->rf.rooms, BOB);
	assert_string_equal(json_string_value(json_object_get(p, "presence")), "unavailable");
	assert_string_equal(json_string_value(json_object_get(p, "status_msg")), "lunch");
	json_decref(p);
	/* A user in no room here is not remembered. */
	p = rooms_presence_get(f->rf.rooms, "@nobody:remote.test:8448");
	assert_string_equal(json_string_value(json_object_get(p, "presence")), "offline");
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typing),
		cmocka_unit_test(test_receipt),
		cmocka_unit_test(test_presence),
		cmocka_unit_test(test_other_and_malformed),
		cmocka_unit_test(test_item_cap),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test_setup_teardown(test_apply_typing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_receipt_presence, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
