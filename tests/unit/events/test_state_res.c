/* Unit tests for homeserver/events/state_res.c: small rooms whose forks
 * exercise the conflicted set, power ordering, mainline ordering, auth
 * difference and the v12 changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/canonjson.h"
#include "homeserver/events/event.h"
#include "homeserver/events/room_version.h"
#include "homeserver/events/state_res.h"

struct store {
	const struct room_version *rv;
	json_t *events; /* id -> event */
	char room_id[EVENT_ID_BUF];
	json_t *rejected;
};

static const json_t *store_get(void *arg, const char *id)
{
	struct store *s = arg;
	return json_object_get(s->events, id);
}

static int store_rejected(void *arg, const char *id)
{
	struct store *s = arg;
	return json_object_get(s->rejected, id) != NULL;
}

static json_t *Jq(const char *src)
{
	char *t = strdup(src), err[128];
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_t *v = canonjson_parse(t, strlen(t), 0, err, sizeof(err));
	if (!v)
		fail_msg("bad JSON %s: %s", err, t);
	free(t);
	return v;
}

/* auth is a space-separated list of IDs. */
static void add(struct store *s, const char *id, const char *type, const char *sk, const char *sender,
		const char *content, int ts, const char *auth)
{
	json_t *ev = json_pack("{s:s,s:s,s:o,s:i,s:i,s:[],s:[s],s:{s:s},s:{}}", "type", type, "sender", sender,
			       "content", Jq(content), "origin_server_ts", ts, "depth", ts, "auth_events",
			       "prev_events", "$prev", "hashes", "sha256", "x", "signatures");
	char *list = strdup(auth), *save = NULL;
	if (sk)
		json_object_set_new(ev, "state_key", json_string(sk));
	for (char *tok = strtok_r(list, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		json_array_append_new(json_object_get(ev, "auth_events"), json_string(tok));
	free(list);
	if (strcmp(type, "m.room.create") == 0) {
		if (s->rv->room_id_is_create_hash)
			assert_int_equal(event_create_room_id(s->rv, ev, s->room_id), 0);
		else
			strcpy(s->room_id, "!r:a");
		if (!s->rv->room_id_is_create_hash)
			json_object_set_new(ev, "room_id", json_string(s->room_id));
	} else {
		json_object_set_new(ev, "room_id", json_string(s->room_id));
	}
	json_object_set_new(s->events, id, ev);
}

/* The common start of every room: alice creates it (PL 100; bob 50) and
 * makes it public; bob and carol join. */
static void base_room(struct store *s, const char *ver)
{
	int v12;
	s->rv = room_version_get(ver);
	assert_non_null(s->rv);
	v12 = s->rv->room_id_is_create_hash;
	s->events = json_object();
	s->rejected = json_object();
	add(s, "$create", "m.room.create", "", "@alice:a", v12 ? "{}" : "{'creator':'@alice:a'}", 1, "");
	const char *c = v12 ? "" : "$create ";
	char auth[200];
	snprintf(auth, sizeof(auth), "%s", c);
	add(s, "$ima", "m.room.member", "@alice:a", "@alice:a", "{'membership':'join'}", 2, auth);
	snprintf(auth, sizeof(auth), "%s$ima", c);
	add(s, "$ipower", "m.room.power_levels", "", "@alice:a",
	    v12 ? "{'users':{'@bob:b':50}}" : "{'users':{'@alice:a':100,'@bob:b':50}}", 3, auth);
	snprintf(auth, sizeof(auth), "%s$ima $ipower", c);
	add(s, "$ijr", "m.room.join_rules", "", "@alice:a", "{'join_rule':'public'}", 4, auth);
	snprintf(auth, sizeof(auth), "%s$ijr $ipower", c);
	add(s, "$imb", "m.room.member", "@bob:b", "@bob:b", "{'membership':'join'}", 5, auth);
	add(s, "$imc", "m.room.member", "@carol:c", "@carol:c", "{'membership':'join'}", 6, auth);
}

static json_t *base_state(void)
{
	json_t *m = json_object();
	state_map_set(m, "m.room.create", "", "$create");
	state_map_set(m, "m.room.member", "@alice:a", "$ima");
	state_map_set(m, "m.room.power_levels", "", "$ipower");
	state_map_set(m, "m.room.join_rules", "", "$ijr");
	state_map_set(m, "m.room.member", "@bob:b", "$imb");
	state_map_set(m, "m.room.member", "@carol:c", "$imc");
	return m;
}

static json_t *resolve2(struct store *s, json_t *a, json_t *b)
{
	struct state_res_ctx ctx = { s->rv, store_get, store_rejected, NULL, s };
	const json_t *sets[2] = { a, b };
	char err[128];
	json_t *r = state_res_resolve(&ctx, sets, 2, err, sizeof(err));
	if (!r)
		fail_msg("state_res: %s", err);
	return r;
}

static void done(struct store *s, json_t *a, json_t *b, json_t *r)
{
	json_decref(a);
	json_decref(b);
	json_decref(r);
	json_decref(s->events);
	json_decref(s->rejected);
}

static void test_identical_and_unconflicted(void **state)
{
	static const char *vers[] = { "2", "10", "11", "12" };
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct store s;
		base_room(&s, vers[i]);
		json_t *a = base_state(), *b = base_state();
		add(&s, "$topic", "m.room.topic", "", "@alice:a", "{'topic':'x'}", 10,
		    s.rv->room_id_is_create_hash ? "$ipower $ima" : "$create $ipower $ima");
		state_map_set(b, "m.room.topic", "", "$topic"); /* only in b: conflicted, but valid */
		json_t *r = resolve2(&s, a, b);
		json_t *want = base_state();
		state_map_set(want, "m.room.topic", "", "$topic");
		assert_true(json_equal(r, want));
		json_decref(want);
		done(&s, a, b, r);
	}
}

static void test_topic_by_mainline_then_timestamp(void **state)
{
	static const char *vers[] = { "4", "10", "12" };
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		for (int later_first = 0; later_first < 2; later_first++) {
			struct store s;
			base_room(&s, vers[i]);
			const char *auth = s.rv->room_id_is_create_hash ? "$ipower $ima" : "$create $ipower $ima";
			add(&s, "$t1", "m.room.topic", "", "@alice:a", "{'topic':'one'}", later_first ? 20 : 10, auth);
			add(&s, "$t2", "m.room.topic", "", "@alice:a", "{'topic':'two'}", later_first ? 10 : 20, auth);
			json_t *a = base_state(), *b = base_state();
			state_map_set(a, "m.room.topic", "", "$t1");
			state_map_set(b, "m.room.topic", "", "$t2");
			json_t *r = resolve2(&s, a, b);
			/* Same mainline position: the later timestamp is applied last. */
			assert_string_equal(state_map_get(r, "m.room.topic", ""), later_first ? "$t1" : "$t2");
			done(&s, a, b, r);
		}
	}
}

static void test_ban_beats_join(void **state)
{
	static const char *vers[] = { "2", "9", "11", "12" };
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct store s;
		base_room(&s, vers[i]);
		const char *c = s.rv->room_id_is_create_hash ? "" : "$create ";
		char auth[128];
		snprintf(auth, sizeof(auth), "%s$ipower $ima $imc", c);
		add(&s, "$ban", "m.room.member", "@carol:c", "@alice:a", "{'membership':'ban'}", 10, auth);
		snprintf(auth, sizeof(auth), "%s$ipower $ijr $imc", c);
		add(&s, "$rename", "m.room.member", "@carol:c", "@carol:c", "{'membership':'join','displayname':'C'}", 20, auth);
		json_t *a = base_state(), *b = base_state();
		state_map_set(a, "m.room.member", "@carol:c", "$ban");
		state_map_set(b, "m.room.member", "@carol:c", "$rename");
		json_t *r = resolve2(&s, a, b);
		assert_string_equal(state_map_get(r, "m.room.member", "@carol:c"), "$ban");
		done(&s, a, b, r);
	}
}

static void test_higher_power_applies_first(void **state)
{
	static const char *vers[] = { "3", "10", "12" };
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct store s;
		base_room(&s, vers[i]);
		int v12 = s.rv->room_id_is_create_hash;
		const char *c = v12 ? "" : "$create ";
		char auth[128];
		/* Alice demotes bob (later), bob promotes carol (earlier). */
		snprintf(auth, sizeof(auth), "%s$ipower $ima", c);
		add(&s, "$pa", "m.room.power_levels", "", "@alice:a",
		    v12 ? "{'users':{'@bob:b':0}}" : "{'users':{'@alice:a':100,'@bob:b':0}}", 30, auth);
		snprintf(auth, sizeof(auth), "%s$ipower $imb", c);
		add(&s, "$pb", "m.room.power_levels", "", "@bob:b",
		    v12 ? "{'users':{'@bob:b':50,'@carol:c':50}}" : "{'users':{'@alice:a':100,'@bob:b':50,'@carol:c':50}}",
		    20, auth);
		json_t *a = base_state(), *b = base_state();
		state_map_set(a, "m.room.power_levels", "", "$pa");
		state_map_set(b, "m.room.power_levels", "", "$pb");
		json_t *r = resolve2(&s, a, b);
		/* $pa sorts first (alice outranks bob) and then $pb fails auth. */
		assert_string_equal(state_map_get(r, "m.room.power_levels", ""), "$pa");
		done(&s, a, b, r);
	}
}


/* The power ordering puts alice's (PL 100) event before bob's (PL 50) even
 * though hers is later; both pass, so bob's, applied last, wins.  Ordering
 * by timestamp alone would pick alice's. */
static void test_power_order_beats_timestamp(void **state)
{
	static const char *vers[] = { "2", "10", "12" };
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct store s;
		base_room(&s, vers[i]);
		int v12 = s.rv->room_id_is_create_hash;
		const char *c = v12 ? "" : "$create ";
		char auth[128];
		snprintf(auth, sizeof(auth), "%s$ipower $ima", c);
		add(&s, "$pa", "m.room.power_levels", "", "@alice:a",
		    v12 ? "{'users':{'@bob:b':50,'@dave:d':10}}" : "{'users':{'@alice:a':100,'@bob:b':50,'@dave:d':10}}", 20, auth);
		snprintf(auth, sizeof(auth), "%s$ipower $imb", c);
		add(&s, "$pb", "m.room.power_levels", "", "@bob:b",
		    v12 ? "{'users':{'@bob:b':50,'@carol:c':40}}" : "{'users':{'@alice:a':100,'@bob:b':50,'@carol:c':40}}", 10, auth);
		json_t *a = base_state(), *b = base_state();
		state_map_set(a, "m.room.power_levels", "", "$pa");
		state_map_set(b, "m.room.power_levels", "", "$pb");
		json_t *r = resolve2(&s, a, b);
		assert_string_equal(state_map_get(r, "m.room.power_levels", ""), "$pb");
		done(&s, a, b, r);
	}
}

/* A topic citing an older power levels event sorts before one citing the
 * resolved one, whatever the timestamps say. */
static void test_mainline_beats_timestamp(void **state)
{
	struct store s;
	(void)state;
	base_room(&s, "10");
	add(&s, "$pa", "m.room.power_levels", "", "@alice:a", "{'users':{'@alice:a':100,'@bob:b':50}}", 8, "$create $ipower $ima");
	add(&s, "$told", "m.room.topic", "", "@alice:a", "{'topic':'old'}", 30, "$create $ipower $ima");
	add(&s, "$tnew", "m.room.topic", "", "@alice:a", "{'topic':'new'}", 10, "$create $pa $ima");
	json_t *a = base_state(), *b = base_state();
	state_map_set(a, "m.room.power_levels", "", "$pa");
	state_map_set(b, "m.room.power_levels", "", "$pa");
	state_map_set(a, "m.room.topic", "", "$told");
	state_map_set(b, "m.room.topic", "", "$tnew");
	json_t *r = resolve2(&s, a, b);
	assert_string_equal(state_map_get(r, "m.room.topic", ""), "$tnew");
	done(&s, a, b, r);
}

static void test_auth_difference_and_rejected(void **state)
{
	struct store s;
	(void)state;
	base_room(&s, "10");
	/* Carol leaves and rejoins on one fork only; her events are in that
	 * fork's auth chain only, so they enter the full conflicted set. */
	add(&s, "$cl", "m.room.member", "@carol:c", "@carol:c", "{'membership':'leave'}", 10, "$create $ipower $imc");
	add(&s, "$cj", "m.room.member", "@carol:c", "@carol:c", "{'membership':'join'}", 11, "$create $ipower $ijr $cl");
	add(&s, "$ct", "m.room.topic", "", "@alice:a", "{'topic':'t'}", 12, "$create $ipower $ima");
	json_t *a = base_state(), *b = base_state();
	state_map_set(b, "m.room.member", "@carol:c", "$cj");
	state_map_set(b, "m.room.topic", "", "$ct");
	json_t *r = resolve2(&s, a, b);
	assert_string_equal(state_map_get(r, "m.room.member", "@carol:c"), "$cj");
	assert_string_equal(state_map_get(r, "m.room.topic", ""), "$ct");
	json_decref(r);
	/* A conflicted event the rules reject stays out. */
	add(&s, "$bad", "m.room.name", "", "@carol:c", "{'name':'n'}", 13, "$create $ipower $imc");
	state_map_set(b, "m.room.name", "", "$bad");
	r = resolve2(&s, a, b);
	assert_null(state_map_get(r, "m.room.name", ""));
	done(&s, a, b, r);
}

static void test_bad_input(void **state)
{
	struct store s;
	char err[128];
	(void)state;
	base_room(&s, "10");
	json_t *a = base_state(), *notmap = json_string("x");
	const json_t *sets[2] = { a, notmap };
	struct state_res_ctx ctx = { s.rv, store_get, NULL, NULL, &s };
	assert_null(state_res_resolve(&ctx, sets, 2, err, sizeof(err)));
	ctx.rv = room_version_get("1");
	sets[1] = a;
	assert_null(state_res_resolve(&ctx, sets, 2, err, sizeof(err)));
	assert_null(state_res_resolve(NULL, sets, 2, err, sizeof(err)));
	/* Unknown event IDs are skipped rather than trusted. */
	ctx.rv = s.rv;
	json_t *b = base_state();
	state_map_set(b, "m.room.topic", "", "$missing");
	sets[1] = b;
	json_t *r = state_res_resolve(&ctx, sets, 2, err, sizeof(err));
	assert_non_null(r);
	assert_null(state_map_get(r, "m.room.topic", ""));
	/* An auth cycle does not hang. */
	add(&s, "$x1", "m.room.power_levels", "", "@alice:a", "{}", 50, "$create $x2");
	add(&s, "$x2", "m.room.power_levels", "", "@alice:a", "{}", 51, "$create $x1");
	json_decref(r);
	state_map_set(b, "m.room.power_levels", "", "$x1");
	r = state_res_resolve(&ctx, sets, 2, err, sizeof(err));
	json_decref(r);
	json_decref(notmap);
	json_decref(b);
	json_decref(a);
	json_decref(s.events);
	json_decref(s.rejected);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical_and_unconflicted),
		cmocka_unit_test(test_topic_by_mainline_then_timestamp),
		cmocka_unit_test(test_ban_beats_join),
		cmocka_unit_test(test_higher_power_applies_first),
		cmocka_unit_test(test_power_order_beats_timestamp),
		cmocka_unit_test(test_mainline_beats_timestamp),
		cmocka_unit_test(test_auth_difference_and_rejected),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests_name("state_res", tests, NULL, NULL);
}
