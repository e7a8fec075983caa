/* Presence timeouts: the rules (presence_timeout.c) with a made-up clock,
 * their config, and the sweep over a rooms context (rooms.c) with the
 * clock moved forward by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/yamljson.h"
#include "homeserver/config.h"
#include "homeserver/presence_timeout.h"
#include "homeserver/rooms.h"
#include "tests/unit/room_fixture.h"

#define S 1000
#define MIN (60 * S)
#define T0 1000000000000LL

static struct presence_timeouts defaults(void)
{
	struct presence_timeouts t;
	presence_timeouts_default(&t);
	return t;
}

static struct presence_state local_online(void)
{
	struct presence_state s = { "online", 1, 0, 0, T0, T0, T0, T0 };
	return s;
}

static void test_local_sync_timeout(void **state)
{
	struct presence_timeouts t = defaults();
	struct presence_state s = local_online();
	(void)state;
	assert_int_equal(presence_timeout_check(&s, T0 + 30 * S, &t), PRESENCE_KEEP);
	assert_int_equal(presence_timeout_check(&s, T0 + 30 * S + 1, &t), PRESENCE_GO_OFFLINE);
	/* A /sync in flight keeps the user on, however long it lasts... */
	s.syncing = 1;
	assert_int_equal(presence_timeout_check(&s, T0 + 2 * MIN, &t), PRESENCE_KEEP);
	/* ...and the 30 s count from its end. */
	s.syncing = 0;
	s.last_sync = T0 + 2 * MIN;
	assert_int_equal(presence_timeout_check(&s, T0 + 2 * MIN + 30 * S, &t), PRESENCE_KEEP);
	assert_int_equal(presence_timeout_check(&s, T0 + 2 * MIN + 31 * S, &t), PRESENCE_GO_OFFLINE);
	/* Activity without /sync counts as much as a /sync. */
	s.last_sync = 0;
	s.last_active = T0 + 10 * S;
	assert_int_equal(presence_timeout_check(&s, T0 + 40 * S, &t), PRESENCE_KEEP);
	assert_int_equal(presence_timeout_check(&s, T0 + 41 * S, &t), PRESENCE_GO_OFFLINE);
}

static void test_local_idle(void **state)
{
	struct presence_timeouts t = defaults();
	struct presence_state s = local_online();
	(void)state;
	s.syncing = 1;
	assert_int_equal(presence_timeout_check(&s, T0 + 5 * MIN, &t), PRESENCE_KEEP);
	assert_int_equal(presence_timeout_check(&s, T0 + 5 * MIN + 1, &t), PRESENCE_GO_UNAVAILABLE);
	/* Unavailable already: no idle change, offline once syncs stop. */
	s.presence = "unavailable";
	assert_int_equal(presence_timeout_check(&s, T0 + 6 * MIN, &t), PRESENCE_KEEP);
	s.syncing = 0;
	s.last_sync = T0 + 6 * MIN;
	assert_int_equal(presence_timeout_check(&s, T0 + 7 * MIN, &t), PRESENCE_GO_OFFLINE);
	/* Not syncing and idle both: offline wins. */
	s.presence = "online";
	assert_int_equal(presence_timeout_check(&s, T0 + 7 * MIN, &t), PRESENCE_GO_OFFLINE);
}

static void test_local_explicit_and_offline(void **state)
{
	struct presence_timeouts t = defaults();
	struct presence_state s = local_online();
	(void)state;
	/* Set to unavailable by the user: it stays, pinged to other
	 * servers now and then. */
	s.presence = "unavailable";
	s.explicit_set = 1;
	assert_int_equal(presence_timeout_check(&s, T0 + 10 * MIN, &t), PRESENCE_KEEP);
	assert_int_equal(presence_timeout_check(&s, T0 + 25 * MIN + 1, &t), PRESENCE_PING);
	s.last_fed = T0 + 25 * MIN + 1;
	assert_int_equal(presence_timeout_check(&s, T0 + 40 * MIN, &t), PRESENCE_KEEP);
	/* An explicit online times out as any other. */
	s.presence = "online";
	assert_int_equal(presence_timeout_check(&s, T0 + 31 * S, &t), PRESENCE_GO_OFFLINE);
	/* Offline never changes, nor pings. */
	s.presence = "offline";
	s.explicit_set = 0;
	assert_int_equal(presence_timeout_check(&s, T0 + 2 * 60 * MIN, &t), PRESENCE_KEEP);
	s.presence = NULL;
	assert_int_equal(presence_timeout_check(&s, T0 + 2 * 60 * MIN, &t), PRESENCE_KEEP);
}

static void test_remote(void **state)
{
	struct presence_timeouts t = defaults();
	struct presence_state s = local_online();
	(void)state;
	s.local = 0;
	s.last_active = s.last_sync = s.last_fed = 0;
	/* Neither the sync nor the idle rule: only their server's silence. */
	assert_int_equal(presence_timeout_check(&s, T0 + 29 * MIN, &t), PRESENCE_KEEP);
	assert_int_equal(presence_timeout_check(&s, T0 + 30 * MIN, &t), PRESENCE_KEEP);
	assert_int_equal(presence_timeout_check(&s, T0 + 30 * MIN + 1, &t), PRESENCE_GO_OFFLINE);
	s.presence = "unavailable";
	assert_int_equal(presence_timeout_check(&s, T0 + 31 * MIN, &t), PRESENCE_GO_OFFLINE);
	s.presence = "offline";
	assert_int_equal(presence_timeout_check(&s, T0 + 31 * MIN, &t), PRESENCE_KEEP);
}

static void test_config(void **state)
{
	struct presence_timeouts t = defaults();
	char err[128];
	json_t *j;
	(void)state;
	j = json_pack("{s:i,s:i,s:i}", "sync_online", 500, "federation", 2000, "sweep", 100);
	assert_int_equal(presence_timeouts_parse(&t, j, err, sizeof(err)), 0);
	json_decref(j);
	assert_int_equal(t.sync_online_ms, 500);
	assert_int_equal(t.federation_ms, 2000);
	assert_int_equal(t.sweep_ms, 100);
	assert_int_equal(t.idle_ms, PRESENCE_IDLE_MS);
	assert_int_equal(t.federation_ping_ms, PRESENCE_FEDERATION_PING_MS);
	/* Bad input leaves t as it was. */
	j = json_pack("{s:i,s:i}", "idle", 5, "sync_online", 0);
	assert_int_equal(presence_timeouts_parse(&t, j, err, sizeof(err)), -1);
	json_decref(j);
	j = json_pack("{s:i,s:s}", "idle", 5, "sweep", "1");
	assert_int_equal(presence_timeouts_parse(&t, j, err, sizeof(err)), -1);
	json_decref(j);
	j = json_pack("{s:i}", "idel", 5);
	assert_int_equal(presence_timeouts_parse(&t, j, err, sizeof(err)), -1);
	json_decref(j);
	j = json_pack("[i]", 5);
	assert_int_equal(presence_timeouts_parse(&t, j, err, sizeof(err)), -1);
	json_decref(j);
	assert_int_equal(t.idle_ms, PRESENCE_IDLE_MS);
	assert_int_equal(t.sync_online_ms, 500);
}

static int parse_config(struct hs_config *c, const char *yaml)
{
	char err[256];
	json_t *root = yaml_load_string(yaml, strlen(yaml), err, sizeof(err));
	int rc;
	assert_non_null(root);
	hs_config_init(c);
	rc = hs_config_parse(c, root, "/base", err, sizeof(err));
	json_decref(root);
	return rc;
}

static void test_hs_config(void **state)
{
	struct hs_config c;
	(void)state;
	assert_int_equal(parse_config(&c, "server_name: a.test\n"), 0);
	assert_true(c.presence_enabled);
	assert_int_equal(c.presence_timeouts.sync_online_ms, PRESENCE_SYNC_ONLINE_MS);
	hs_config_free(&c);
	assert_int_equal(parse_config(&c, "server_name: a.test\npresence: {enabled: false}\n"
					  "presence_timeouts_ms: {idle: 700, sweep: 50}\n"), 0);
	assert_false(c.presence_enabled);
	assert_int_equal(c.presence_timeouts.idle_ms, 700);
	assert_int_equal(c.presence_timeouts.sweep_ms, 50);
	assert_int_equal(c.presence_timeouts.federation_ms, PRESENCE_FEDERATION_MS);
	hs_config_free(&c);
	assert_int_equal(parse_config(&c, "server_name: a.test\npresence: {enabled: maybe}\n"), -1);
	hs_config_free(&c);
	assert_int_equal(parse_config(&c, "server_name: a.test\npresence: true\n"), -1);
	hs_config_free(&c);
	assert_int_equal(parse_config(&c, "server_name: a.test\npresence_timeouts_ms: {idle: -1}\n"), -1);
	hs_config_free(&c);
}

/* ---- the sweep over a rooms context ---- */

#define ALICE "@alice:hs.test"
#define BOB "@bob:remote.test"
#define CAROL "@carol:hs.test"
#define DAVE "@dave:hs.test"

struct fx {
	struct room_fixture rf;
	int wakes;
	int64_t last_x;
	char fed[8][64]; /* users handed to the EDU hook */
	int nfed;
};

static void xlistener(void *arg, int64_t pos, const char *const *users, size_t n)
{
	struct fx *f = arg;
	(void)users;
	(void)n;
	f->wakes++;
	f->last_x = pos;
}

static void edu_hook(void *arg, const char *room_id, const char *user, const char *type,
		     const char *event_id, const char *thread_id, int typing)
{
	struct fx *f = arg;
	(void)room_id;
	(void)event_id;
	(void)thread_id;
	(void)typing;
	assert_string_equal(type, "m.presence");
	if (f->nfed < 8)
		strcpy(f->fed[f->nfed++], user);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || room_fixture_open(&f->rf, "presence", "hs.test") < 0) {
		free(f);
		return -1;
	}
	rooms_set_xlistener(f->rf.rooms, xlistener, f);
	rooms_set_edu_hook(f->rf.rooms, edu_hook, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rooms_set_edu_hook(f->rf.rooms, NULL, NULL);
	room_fixture_close(&f->rf);
	free(f);
	return 0;
}

static const char *presence_of(struct fx *f, const char *user, char *buf, size_t n)
{
	json_t *c = rooms_presence_get(f->rf.rooms, user);
	const char *p = json_string_value(json_object_get(c, "presence"));
	strncpy(buf, p ? p : "?", n - 1);
	buf[n - 1] = 0;
	json_decref(c);
	return buf;
}

static void reset(struct fx *f)
{
	f->wakes = 0;
	f->nfed = 0;
}

static void test_sweep(void **state)
{
	struct fx *f = *state;
	struct rooms *r = f->rf.rooms;
	struct presence_timeouts t = defaults();
	int64_t now = rooms_now_ms(), x0;
	char buf[32];
	json_t *c;

	/* alice: one /sync that ended; bob: a remote user; carol: set
	 * unavailable herself; dave: a /sync still in flight. */
	assert_int_equal(rooms_presence_set(r, ALICE, "online", "here",
					    ROOMS_PRESENCE_KEEP_MSG | ROOMS_PRESENCE_QUIET), ROOM_OK);
	rooms_presence_set(r, ALICE, "online", "here", 0);
	assert_int_equal(rooms_presence_sync(r, ALICE, 1, 0), ROOM_OK);
	assert_int_equal(rooms_presence_sync(r, ALICE, 0, 0), ROOM_OK);
	assert_int_equal(rooms_presence_set(r, BOB, "online", NULL, 0), ROOM_OK);
	assert_int_equal(rooms_presence_set(r, CAROL, "unavailable", "lunch", ROOMS_PRESENCE_EXPLICIT),
			 ROOM_OK);
	rooms_presence_set(r, DAVE, "online", NULL, ROOMS_PRESENCE_QUIET);
	assert_int_equal(rooms_presence_sync(r, DAVE, 1, 10 * MIN), ROOM_OK);
	reset(f);

	assert_int_equal(rooms_presence_sweep(r, now + 10 * S, &t), 0);
	assert_int_equal(f->wakes, 0);
	assert_int_equal(f->nfed, 0);

	/* 31 s on: alice goes offline, here and at other servers, and keeps
	 * her status message; the others stay. */
	x0 = f->last_x;
	assert_int_equal(rooms_presence_sweep(r, now + 31 * S + 100, &t), 1);
	assert_string_equal(presence_of(f, ALICE, buf, sizeof(buf)), "offline");
	c = rooms_presence_get(r, ALICE);
	assert_string_equal(json_string_value(json_object_get(c, "status_msg")), "here");
	json_decref(c);
	assert_int_equal(f->wakes, 1);
	assert_true(f->last_x > x0);
	assert_int_equal(f->nfed, 1);
	assert_string_equal(f->fed[0], ALICE);
	assert_string_equal(presence_of(f, BOB, buf, sizeof(buf)), "online");
	assert_string_equal(presence_of(f, CAROL, buf, sizeof(buf)), "unavailable");
	assert_string_equal(presence_of(f, DAVE, buf, sizeof(buf)), "online");
	/* The change is in the presence stream of her peers (herself). */
	c = rooms_presence_events(r, ALICE, x0, f->last_x);
	assert_int_equal(json_array_size(c), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(c, 0), "content"), "presence")),
			    "offline");
	json_decref(c);

	/* Nothing more to do at the same time. */
	reset(f);
	assert_int_equal(rooms_presence_sweep(r, now + 32 * S, &t), 0);
	assert_int_equal(f->wakes, 0);

	/* 6 min on, dave's /sync still in flight: idle, so unavailable. */
	assert_int_equal(rooms_presence_sweep(r, now + 6 * MIN, &t), 1);
	assert_string_equal(presence_of(f, DAVE, buf, sizeof(buf)), "unavailable");
	assert_int_equal(f->nfed, 1);
	assert_string_equal(f->fed[0], DAVE);

	/* dave's /sync counts no longer than its timeout and a grace:
	 * without its end he is offline all the same. */
	reset(f);
	assert_int_equal(rooms_presence_sweep(r, now + 12 * MIN, &t), 1);
	assert_string_equal(presence_of(f, DAVE, buf, sizeof(buf)), "offline");
	assert_int_equal(f->nfed, 1);
	assert_string_equal(f->fed[0], DAVE);

	/* 26 min: carol is pinged to other servers, unchanged. */
	reset(f);
	assert_int_equal(rooms_presence_sweep(r, now + 26 * MIN, &t), 1);
	assert_int_equal(f->wakes, 0);
	assert_int_equal(f->nfed, 1);
	assert_string_equal(f->fed[0], CAROL);

	/* 31 min: bob's server has been silent too long: offline here, not
	 * sent anywhere.  carol stays. */
	reset(f);
	assert_int_equal(rooms_presence_sweep(r, now + 31 * MIN, &t), 1);
	assert_string_equal(presence_of(f, BOB, buf, sizeof(buf)), "offline");
	assert_int_equal(f->wakes, 1);
	assert_int_equal(f->nfed, 0);
	assert_string_equal(presence_of(f, CAROL, buf, sizeof(buf)), "unavailable");
}

static void test_sweep_sync_end(void **state)
{
	struct fx *f = *state;
	struct rooms *r = f->rf.rooms;
	struct presence_timeouts t = defaults();
	int64_t now = rooms_now_ms();
	char buf[32];

	rooms_presence_set(r, DAVE, "online", NULL, ROOMS_PRESENCE_QUIET);
	rooms_presence_sync(r, DAVE, 1, 30 * S);
	rooms_presence_sync(r, DAVE, 1, 30 * S); /* two clients */
	rooms_presence_sync(r, DAVE, 0, 0);
	assert_int_equal(rooms_presence_sweep(r, now + 40 * S, &t), 0);
	rooms_presence_sync(r, DAVE, 0, 0);
	rooms_presence_sync(r, DAVE, 0, 0); /* one end too many: harmless */
	assert_int_equal(rooms_presence_sweep(r, now + 40 * S, &t), 1);
	assert_string_equal(presence_of(f, DAVE, buf, sizeof(buf)), "offline");
	/* A /sync brings him back; the timed-out state was no choice of his.
	 * Quiet as a plain /sync is, a new presence wakes his peers. */
	reset(f);
	rooms_presence_set(r, DAVE, "online", NULL, ROOMS_PRESENCE_QUIET);
	assert_string_equal(presence_of(f, DAVE, buf, sizeof(buf)), "online");
	assert_int_equal(f->wakes, 1);
	assert_int_equal(f->nfed, 1);
	/* The next plain /sync changes nothing: no one is woken. */
	rooms_presence_set(r, DAVE, "online", NULL, ROOMS_PRESENCE_QUIET);
	assert_int_equal(f->wakes, 1);
	assert_int_equal(f->nfed, 1);
}

static void test_sweep_capped(void **state)
{
	struct fx *f = *state;
	struct rooms *r = f->rf.rooms;
	struct presence_timeouts t = defaults();
	int64_t now = rooms_now_ms();
	int n = ROOMS_PRESENCE_SWEEP_MAX + ROOMS_PRESENCE_SWEEP_MAX / 2;
	char id[64], buf[32];

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "@u%d:remote.test", i);
		assert_int_equal(rooms_presence_set(r, id, "online", NULL, 0), ROOM_OK);
	}
	reset(f);
	/* One pass does at most the cap; the next ones the rest. */
	assert_int_equal(rooms_presence_sweep(r, now + 31 * MIN, &t), ROOMS_PRESENCE_SWEEP_MAX);
	assert_int_equal(rooms_presence_sweep(r, now + 31 * MIN, &t), n - ROOMS_PRESENCE_SWEEP_MAX);
	assert_int_equal(rooms_presence_sweep(r, now + 31 * MIN, &t), 0);
	assert_int_equal(f->wakes, n);
	assert_string_equal(presence_of(f, "@u7:remote.test", buf, sizeof(buf)), "offline");
}

static void test_disabled(void **state)
{
	struct fx *f = *state;
	struct rooms *r = f->rf.rooms;
	struct presence_timeouts t = defaults();
	char buf[32];

	rooms_set_presence_enabled(r, 0);
	assert_int_equal(rooms_presence_set(r, ALICE, "online", NULL, 0), ROOM_OK);
	assert_int_equal(rooms_presence_set(r, ALICE, "busy", NULL, 0), ROOM_BAD_JSON);
	assert_int_equal(rooms_presence_sync(r, ALICE, 1, 0), ROOM_OK);
	assert_string_equal(presence_of(f, ALICE, buf, sizeof(buf)), "offline");
	assert_int_equal(rooms_presence_sweep(r, rooms_now_ms() + 60 * MIN, &t), 0);
	assert_int_equal(f->wakes + f->nfed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_sync_timeout),
		cmocka_unit_test(test_local_idle),
		cmocka_unit_test(test_local_explicit_and_offline),
		cmocka_unit_test(test_remote),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_hs_config),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_sync_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
