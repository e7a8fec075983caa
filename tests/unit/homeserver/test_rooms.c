/* Unit tests for homeserver/rooms.c, the event-creation pipeline, over
 * SQLite in a temp dir: room creation, auth checks, idempotent txn ids,
 * size limits, the listener, concurrent sends keeping the DAG linear, and
 * the message pipeline: a failed append fails the sends built on it, the
 * room's cache is reloaded, and a txn id in flight answers one event.
 * Sends are held in flight without timing: a second connection holds
 * SQLite's write lock, so the batch leader waits in BEGIN until the test
 * has seen every send queued.  Remote events (rooms_remote.c): soft-failed
 * ones stay in the DAG with their state, and gaps (rooms_receive_complete,
 * rooms_receive_with_states). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <pthread.h>

#include "common/log.h"
#include "homeserver/events/auth_rules.h"
#include "homeserver/events/event_sign.h"
#include "homeserver/rooms.h"
#include "homeserver/store/db.h"

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	struct room_store *rs;
	struct rooms *rooms;
	struct scop_ed25519 key;
	int woken;
	int64_t last_pos;
	pthread_mutex_t lock;
};

static void listener(void *arg, int64_t pos, const char *const *users, size_t n)
{
	struct fx *f = arg;
	pthread_mutex_lock(&f->lock);
	f->woken += (int)n;
	f->last_pos = pos;
	(void)users;
	pthread_mutex_unlock(&f->lock);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	if (!f)
		return -1;
	*state = f;
	pthread_mutex_init(&f->lock, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/scop-rooms-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (store_open("sqlite", f->path, &f->st, err, sizeof(err)) != STORE_OK ||
	    room_store_open("sqlite", f->path, &f->rs, err, sizeof(err)) != STORE_OK ||
	    scop_ed25519_generate(&f->key, "t1") < 0 ||
	    !(f->rooms = rooms_new(f->rs, "test", &f->key)))
		return -1;
	rooms_set_listener(f->rooms, listener, f);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[200];
	static const char *suffix[] = { "", "-wal", "-shm" };
	rooms_free(f->rooms);
	room_store_close(f->rs);
	store_close(f->st);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	scop_ed25519_clear(&f->key);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

#define ALICE "@alice:test"
#define BOB "@bob:test"

static json_t *initial_for(const char *creator, const char *join_rule)
{
	return json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:{},s:i,s:i}},{s:s,s:s,s:{s:s}}]",
			 "type", "m.room.member", "state_key", creator, "content", "membership", "join",
			 "type", "m.room.power_levels", "state_key", "", "content", "users",
			 "state_default", 50, "events_default", 0,
			 "type", "m.room.join_rules", "state_key", "", "content", "join_rule", join_rule);
}

static void create(struct fx *f, const char *version, const char *join_rule, char *room_id)
{
	struct room_result res;
	json_t *init = initial_for(ALICE, join_rule);
	if (version && strcmp(version, "12") != 0) {
		/* v1-v11 creators need a power level entry */
		json_object_set_new(json_object_get(json_object_get(json_array_get(init, 1), "content"),
						    "users"), ALICE, json_integer(100));
	}
	assert_int_equal(rooms_create(f->rooms, ALICE, version, NULL, init, &res), ROOM_OK);
	json_decref(init);
	strcpy(room_id, res.room_id);
}

static enum room_rc say(struct fx *f, const char *room, const char *sender, const char *body,
			const char *txn, struct room_result *res)
{
	json_t *c = json_pack("{s:s,s:s}", "msgtype", "m.text", "body", body);
	struct room_send s = { room, sender, "m.room.message", NULL, c, NULL, "DEV", txn };
	enum room_rc rc = rooms_send(f->rooms, &s, res);
	json_decref(c);
	return rc;
}

static void test_create_and_send(void **state)
{
	struct fx *f = *state;
	char room[EVENT_ID_BUF], m[16];
	struct room_result res, res2;
	const struct room_version *rv;
	json_t *ev;

	create(f, NULL, "invite", room);
	assert_int_equal(room[0], '!');
	assert_int_equal(rooms_version(f->rooms, room, &rv), ROOM_OK);
	assert_string_equal(rv->id, ROOM_VERSION_DEFAULT);
	assert_int_equal(rooms_membership(f->rooms, room, ALICE, m), ROOM_OK);
	assert_string_equal(m, "join");
	assert_true(f->woken > 0);

	assert_int_equal(say(f, room, ALICE, "hi", "t1", &res), ROOM_OK);
	assert_int_equal(res.event_id[0], '$');
	assert_int_equal(say(f, room, ALICE, "hi", "t1", &res2), ROOM_OK);
	assert_string_equal(res.event_id, res2.event_id);

	/* a stranger may not speak; an unknown room is not found */
	assert_int_equal(say(f, room, BOB, "hi", NULL, &res), ROOM_FORBIDDEN);
	assert_int_equal(say(f, "!nope:test", ALICE, "hi", NULL, &res), ROOM_NOT_FOUND);

	/* the stored event is signed by the server and verifies */
	{
		struct room_event e;
		json_t *pdu;
		assert_int_equal(room_store_event_get(f->rs, res2.event_id, &e), STORE_OK);
		pdu = json_loads(e.json, 0, NULL);
		assert_non_null(pdu);
		assert_int_equal(event_verify_signature(rv, pdu, "test", f->key.key_id, f->key.pub), 0);
		json_decref(pdu);
		room_event_clear(&e);
	}
	ev = rooms_state_event(f->rooms, room, "m.room.join_rules", "");
	assert_non_null(ev);
	json_decref(ev);
}

static void test_limits_and_versions(void **state)
{
	struct fx *f = *state;
	char room[EVENT_ID_BUF];
	struct room_result res;
	char *big = malloc(70001);
	json_t *init = initial_for(ALICE, "public");

	assert_int_equal(rooms_create(f->rooms, ALICE, "99", NULL, init, &res), ROOM_UNSUPPORTED);
	assert_int_equal(rooms_create(f->rooms, ALICE, "1", NULL, init, &res), ROOM_UNSUPPORTED);
	json_decref(init);
	create(f, "10", "public", room);
	memset(big, 'x', 70000);
	big[70000] = '\0';
	assert_int_equal(say(f, room, ALICE, big, NULL, &res), ROOM_TOO_LARGE);
	free(big);
	/* public room: bob may join, then speak */
	{
		json_t *c = json_pack("{s:s}", "membership", "join");
		struct room_send s = { room, BOB, "m.room.member", BOB, c, NULL, NULL, NULL };
		assert_int_equal(rooms_send(f->rooms, &s, &res), ROOM_OK);
		/* but not join on alice's behalf */
		s.state_key = ALICE;
		s.sender = BOB;
		assert_int_equal(rooms_send(f->rooms, &s, &res), ROOM_FORBIDDEN);
		json_decref(c);
	}
	assert_int_equal(say(f, room, BOB, "hello", NULL, &res), ROOM_OK);
}

struct sender {
	struct fx *f;
	const char *room;
	int fails;
};

static void *send_main(void *arg)
{
	struct sender *s = arg;
	for (int i = 0; i < 20; i++) {
		struct room_result res;
		if (say(s->f, s->room, ALICE, "c", NULL, &res) != ROOM_OK)
			s->fails++;
	}
	return NULL;
}

static void test_concurrent_sends_keep_one_extremity(void **state)
{
	struct fx *f = *state;
	char room[EVENT_ID_BUF];
	pthread_t th[4];
	struct sender s[4];
	struct room_head h;

	create(f, NULL, "invite", room);
	for (int i = 0; i < 4; i++) {
		s[i] = (struct sender){ f, room, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, send_main, &s[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(s[i].fails, 0);
	}
	assert_int_equal(room_store_head(f->rs, room, &h), STORE_OK);
	assert_int_equal(h.nextrem, 1);
	assert_int_equal(h.depth, 4 + 80); /* create, member, power, join rules + 80 */
	room_head_clear(&h);
}

static void *topic_main(void *arg)
{
	struct sender *s = arg;
	for (int i = 0; i < 10; i++) {
		struct room_result res;
		char topic[32];
		json_t *c;
		snprintf(topic, sizeof(topic), "topic %d", i);
		c = json_pack("{s:s}", "topic", topic);
		struct room_send st = { s->room, ALICE, "m.room.topic", "", c, NULL, NULL, NULL };
		if (rooms_send(s->f->rooms, &st, &res) != ROOM_OK)
			s->fails++;
		json_decref(c);
	}
	return NULL;
}

/* State events (which wait out the messages in flight) among a stream of
 * pipelined messages: every send succeeds and the DAG stays linear. */
static void test_state_among_messages(void **state)
{
	struct fx *f = *state;
	char room[EVENT_ID_BUF];
	pthread_t th[5];
	struct sender s[5];
	struct room_head h;
	json_t *topic;

	create(f, NULL, "invite", room);
	for (int i = 0; i < 5; i++) {
		s[i] = (struct sender){ f, room, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, i == 4 ? topic_main : send_main, &s[i]), 0);
	}
	for (int i = 0; i < 5; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(s[i].fails, 0);
	}
	assert_int_equal(room_store_head(f->rs, room, &h), STORE_OK);
	assert_int_equal(h.nextrem, 1);
	assert_int_equal(h.depth, 4 + 4 * 20 + 10);
	room_head_clear(&h);
	topic = rooms_state_event(f->rooms, room, "m.room.topic", "");
	assert_non_null(topic);
	assert_string_equal(json_string_value(json_object_get(json_object_get(topic, "content"), "topic")),
			    "topic 9");
	json_decref(topic);
}

struct async_send {
	struct fx *f;
	const char *room;
	const char *body;
	const char *txn;
	struct room_result res;
	enum room_rc rc;
	pthread_t th;
};

static void *async_main(void *arg)
{
	struct async_send *a = arg;
	a->rc = say(a->f, a->room, ALICE, a->body, a->txn, &a->res);
	return NULL;
}

/* Starts a send and returns once it is in the commit queue (pending
 * appends reach want). */
static void start_send(struct fx *f, struct async_send *a, const char *room, const char *body,
		       const char *txn, size_t want)
{
	memset(a, 0, sizeof(*a));
	*a = (struct async_send){ .f = f, .room = room, .body = body, .txn = txn, .rc = ROOM_ERROR };
	assert_int_equal(pthread_create(&a->th, NULL, async_main, a), 0);
	/* Not a timed wait: the bound only keeps a broken queue from hanging. */
	for (int i = 0; room_store_appends_pending(f->rs) < want && i < 60000; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	assert_true(room_store_appends_pending(f->rs) >= want);
}

/* A connection holding SQLite's write lock: appends queue behind it. */
static struct db_conn *hold_writes(struct fx *f)
{
	struct db_conn *c = NULL;
	char err[256];
	assert_int_equal(db_connect(DB_SQLITE, f->path, &c, err, sizeof(err)), STORE_OK);
	assert_int_equal(db_begin(c), STORE_OK);
	return c;
}

static void release_writes(struct db_conn *c)
{
	db_rollback(c);
	db_disconnect(c);
}

/* The prev_events of a stored event, as a new array. */
static json_t *prevs_of(struct fx *f, const char *event_id)
{
	struct room_event e;
	json_t *ev, *prev;
	assert_int_equal(room_store_event_get(f->rs, event_id, &e), STORE_OK);
	ev = json_loads(e.json, 0, NULL);
	room_event_clear(&e);
	assert_non_null(ev);
	prev = json_incref(json_object_get(ev, "prev_events"));
	json_decref(ev);
	return prev;
}

static void test_pipeline_failure(void **state)
{
	struct fx *f = *state;
	char room[EVENT_ID_BUF];
	struct async_send a[3];
	struct room_result res;
	struct room_head h;
	struct db_conn *c;
	json_t *prev;
	char err[256];

	create(f, NULL, "invite", room);
	assert_int_equal(db_connect(DB_SQLITE, f->path, &c, err, sizeof(err)), STORE_OK);
	assert_int_equal(db_exec_script(c, "CREATE TRIGGER poison BEFORE INSERT ON events"
				   " WHEN NEW.event_json LIKE '%poison%'"
				   " BEGIN SELECT RAISE(ABORT, 'poisoned'); END;"), STORE_OK);
	db_disconnect(c);

	c = hold_writes(f);
	start_send(f, &a[0], room, "first", NULL, 1);  /* its leader waits in BEGIN */
	start_send(f, &a[1], room, "poison", NULL, 2); /* built on first */
	start_send(f, &a[2], room, "third", NULL, 3);  /* built on poison */
	release_writes(c);
	for (int i = 0; i < 3; i++)
		pthread_join(a[i].th, NULL);
	assert_int_equal(a[0].rc, ROOM_OK);
	assert_int_equal(a[1].rc, ROOM_ERROR);
	assert_int_equal(a[2].rc, ROOM_ERROR);
	assert_int_equal(room_store_event_known(f->rs, a[1].res.event_id), 0);
	assert_int_equal(room_store_event_known(f->rs, a[2].res.event_id), 0);

	/* The cache was built on the failed events: the next send reloads it
	 * and cites the last stored event. */
	assert_int_equal(say(f, room, ALICE, "after", NULL, &res), ROOM_OK);
	prev = prevs_of(f, res.event_id);
	assert_int_equal(json_array_size(prev), 1);
	assert_string_equal(json_string_value(json_array_get(prev, 0)), a[0].res.event_id);
	json_decref(prev);
	assert_int_equal(room_store_head(f->rs, room, &h), STORE_OK);
	assert_int_equal(h.nextrem, 1);
	assert_string_equal(h.extremities[0], res.event_id);
	assert_int_equal(h.depth, 4 + 2);
	room_head_clear(&h);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->last_pos, res.stream_pos);
	pthread_mutex_unlock(&f->lock);
}

/* Two sends with one txn id while the first is in flight: one event. */
static void test_pipeline_txn_in_flight(void **state)
{
	struct fx *f = *state;
	char room[EVENT_ID_BUF];
	struct async_send a[3];
	struct room_head h;
	struct db_conn *c;

	create(f, NULL, "invite", room);
	c = hold_writes(f);
	start_send(f, &a[0], room, "first", NULL, 1);
	start_send(f, &a[1], room, "once", "t1", 2);
	/* The second finds the first in flight (or, if it runs late, stored). */
	memset(&a[2], 0, sizeof(a[2]));
	a[2] = (struct async_send){ .f = f, .room = room, .body = "once again", .txn = "t1",
				    .rc = ROOM_ERROR };
	assert_int_equal(pthread_create(&a[2].th, NULL, async_main, &a[2]), 0);
	release_writes(c);
	for (int i = 0; i < 3; i++) {
		pthread_join(a[i].th, NULL);
		assert_int_equal(a[i].rc, ROOM_OK);
	}
	assert_string_equal(a[1].res.event_id, a[2].res.event_id);
	assert_int_equal(room_store_head(f->rs, room, &h), STORE_OK);
	assert_int_equal(h.depth, 4 + 2);
	room_head_clear(&h);
}

/* ---- remote events: the DAG (rooms_remote.c) ----
 * Unsigned events and a check that answers the verdict the test wants
 * (signatures and auth rules are pdu_check's, tested in federation/). */
struct verdicts {
	enum room_remote_verdict next;
	char topic_before[EVENT_ID_BUF]; /* the topic in the state before the last event checked */
};

static enum room_remote_verdict fixed_check(void *arg, const struct room_version *rv, const json_t *pdu,
					    const struct auth_state *before, const struct auth_state *current,
					    json_t **event, char event_id[EVENT_ID_BUF], char *why, size_t whylen)
{
	struct verdicts *v = arg;
	const json_t *topic = before->lookup(before->arg, "m.room.topic", "");
	char id[EVENT_ID_BUF] = "";
	(void)current;
	if (topic)
		event_compute_id(rv, topic, id);
	snprintf(v->topic_before, sizeof(v->topic_before), "%s", id);
	event_compute_id(rv, pdu, event_id);
	*event = json_incref((json_t *)pdu);
	snprintf(why, whylen, "test");
	return v->next;
}

static json_t *remote_event(const char *room, const char *type, const char *sk, const char *const *prevs,
			    size_t nprev, int64_t depth, char *id)
{
	const struct room_version *rv = room_version_get("10");
	json_t *c = sk ? json_pack("{s:s}", "topic", "remote") : json_pack("{s:s,s:s}", "msgtype", "m.text",
									       "body", "remote");
	json_t *ev = event_new(rv, room, "@r:remote", type, sk, c, prevs, nprev, NULL, 0, depth, 1700000000000);
	json_decref(c);
	assert_non_null(ev);
	assert_int_equal(event_compute_id(rv, ev, id), 0);
	return ev;
}

static void test_remote_dag(void **state)
{
	struct fx *f = *state;
	struct verdicts v = { ROOM_REMOTE_ACCEPT, "" };
	struct room_result res;
	enum room_remote_verdict verdict;
	struct room_event e;
	struct room_head h;
	char room[EVENT_ID_BUF], head[EVENT_ID_BUF], x1[EVENT_ID_BUF], s1[EVENT_ID_BUF], y[EVENT_ID_BUF];
	char z[EVENT_ID_BUF], w[EVENT_ID_BUF];
	const char *prevs[2];
	json_t *ev, *map;
	int64_t group;

	create(f, "10", "public", room);
	assert_int_equal(room_store_head(f->rs, room, &h), STORE_OK);
	assert_int_equal(h.nextrem, 1);
	snprintf(head, sizeof(head), "%s", h.extremities[0]);
	group = h.state_group;
	room_head_clear(&h);

	/* A soft-failed message and a soft-failed topic: kept with their
	 * state groups, out of the timeline and the extremities. */
	v.next = ROOM_REMOTE_SOFT_FAIL;
	prevs[0] = head;
	ev = remote_event(room, "m.room.message", NULL, prevs, 1, 10, x1);
	assert_int_equal(rooms_receive(f->rooms, room, ev, fixed_check, &v, &res, &verdict), ROOM_OK);
	assert_int_equal(verdict, ROOM_REMOTE_SOFT_FAIL);
	json_decref(ev);
	assert_int_equal(room_store_event_get(f->rs, x1, &e), STORE_OK);
	assert_int_equal(e.kind, ROOM_EVENT_SOFT_FAILED);
	assert_int_equal(e.state_before, group);
	assert_int_equal(e.state_after, group);
	room_event_clear(&e);
	ev = remote_event(room, "m.room.topic", "", prevs, 1, 10, s1);
	assert_int_equal(rooms_receive(f->rooms, room, ev, fixed_check, &v, &res, &verdict), ROOM_OK);
	json_decref(ev);
	assert_int_equal(room_store_event_get(f->rs, s1, &e), STORE_OK);
	assert_int_equal(e.kind, ROOM_EVENT_SOFT_FAILED);
	assert_int_equal(e.state_before, group);
	assert_true(e.state_after != group && e.state_after != 0);
	assert_int_equal(room_store_state_group(f->rs, e.state_after, &map), STORE_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(map, "m.room.topic"), "")), s1);
	json_decref(map);
	room_event_clear(&e);
	assert_int_equal(room_store_head(f->rs, room, &h), STORE_OK);
	assert_int_equal(h.nextrem, 1);
	assert_string_equal(h.extremities[0], head);
	assert_null(json_object_get(h.state, "m.room.topic"));
	room_head_clear(&h);

	/* An event citing the soft-failed topic: no gap, the state before it
	 * has the topic; it opens a fork beside the old extremity. */
	v.next = ROOM_REMOTE_ACCEPT;
	prevs[0] = s1;
	ev = remote_event(room, "m.room.message", NULL, prevs, 1, 11, y);
	assert_int_equal(rooms_receive(f->rooms, room, ev, fixed_check, &v, &res, &verdict), ROOM_OK);
	assert_int_equal(verdict, ROOM_REMOTE_ACCEPT);
	assert_string_equal(v.topic_before, s1);
	assert_true(res.stream_pos > 0);
	json_decref(ev);
	assert_int_equal(room_store_head(f->rs, room, &h), STORE_OK);
	assert_int_equal(h.nextrem, 2);
	room_head_clear(&h);

	/* One prev known, one not: rooms_receive goes on with the known one,
	 * rooms_receive_complete calls it a gap. */
	prevs[0] = y;
	prevs[1] = "$unknownunknownunknownunknownunknownunknownu";
	ev = remote_event(room, "m.room.message", NULL, prevs, 2, 12, z);
	assert_int_equal(rooms_receive_complete(f->rooms, room, ev, fixed_check, &v, &res, &verdict),
			 ROOM_NOT_FOUND);
	assert_int_equal(room_store_event_known(f->rs, z), 0);
	assert_int_equal(rooms_receive(f->rooms, room, ev, fixed_check, &v, &res, &verdict), ROOM_OK);
	assert_int_equal(verdict, ROOM_REMOTE_ACCEPT);
	json_decref(ev);

	/* The state after a missing prev given (the topic's): taken. */
	prevs[0] = "$missingmissingmissingmissingmissingmissingm";
	ev = remote_event(room, "m.room.message", NULL, prevs, 1, 13, w);
	assert_int_equal(rooms_receive(f->rooms, room, ev, fixed_check, &v, &res, &verdict), ROOM_NOT_FOUND);
	assert_int_equal(room_store_event_get(f->rs, s1, &e), STORE_OK);
	assert_int_equal(room_store_state_group(f->rs, e.state_after, &map), STORE_OK);
	room_event_clear(&e);
	{
		const json_t *given[1] = { map };
		assert_int_equal(rooms_receive_with_states(f->rooms, room, ev, given, 0, fixed_check, &v, &res,
							   &verdict), ROOM_BAD_JSON);
		assert_int_equal(rooms_receive_with_states(f->rooms, room, ev, given, 1, fixed_check, &v, &res,
							   &verdict), ROOM_OK);
	}
	assert_int_equal(verdict, ROOM_REMOTE_ACCEPT);
	assert_string_equal(v.topic_before, s1);
	json_decref(map);
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_sends_keep_one_extremity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_among_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipeline_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipeline_txn_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_dag, setup, teardown),
	};
	scop_log_init("test_rooms", getenv("SCOP_TEST_LOG") ? SCOP_LOG_DEBUG : SCOP_LOG_OFF);
	return cmocka_run_group_tests_name("rooms", tests, NULL, NULL);
}
