/* pdu_check: the checks on receipt of a PDU, with rooms built and signed
 * here by two test servers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/crypto.h"
#include "federation/pdu_check.h"
#include "homeserver/events/event.h"
#include "homeserver/events/event_sign.h"

#define MAXEV 16
#define T0 1700000000000LL

struct fixture {
	const struct room_version *rv;
	struct scop_ed25519 k1, k2;   /* hs1.test, hs2.test */
	int64_t k1_valid_until;       /* valid_until_ts of hs1's key */
	int k2_known;
	char room[EVENT_ID_BUF];
	/* the "store" */
	json_t *ev[MAXEV];
	char id[MAXEV][EVENT_ID_BUF];
	int rejected[MAXEV];
	size_t n;
	size_t create, join, msg;
};

static int key_cb(void *arg, const char *server, const char *key_id, int64_t ts, unsigned char pub[32])
{
	struct fixture *f = arg;
	if (strcmp(server, "hs1.test") == 0 && strcmp(key_id, f->k1.key_id) == 0) {
		if (ts && ts > f->k1_valid_until)
			return -1;
		memcpy(pub, f->k1.pub, 32);
		return 0;
	}
	if (strcmp(server, "hs2.test") == 0 && f->k2_known && strcmp(key_id, f->k2.key_id) == 0) {
		memcpy(pub, f->k2.pub, 32);
		return 0;
	}
	return -1;
}

static const json_t *event_cb(void *arg, const char *id, int *rejected)
{
	struct fixture *f = arg;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->id[i], id) == 0) {
			*rejected = f->rejected[i];
			return f->ev[i];
		}
	return NULL;
}

/* A signed event (not stored). */
static json_t *make(struct fixture *f, const char *sender, const char *type, const char *sk, json_t *content,
		    const size_t *prev, size_t np, const size_t *auth, size_t na, int64_t depth)
{
	const char *p[4], *a[8];
	const struct scop_ed25519 *key = strstr(sender, ":hs1.test") ? &f->k1 : &f->k2;
	const char *server = key == &f->k1 ? "hs1.test" : "hs2.test";
	for (size_t i = 0; i < np; i++)
		p[i] = f->id[prev[i]];
	for (size_t i = 0; i < na; i++)
		a[i] = f->id[auth[i]];
	json_t *ev = event_new(f->rv, f->room[0] ? f->room : NULL, sender, type, sk, content, p, np, a, na, depth,
			       T0 + depth);
	json_decref(content);
	assert_non_null(ev);
	assert_int_equal(event_hash_and_sign(f->rv, ev, server, key), 0);
	return ev;
}

static size_t store(struct fixture *f, json_t *ev)
{
	size_t i = f->n++;
	assert_true(i < MAXEV);
	f->ev[i] = ev;
	assert_int_equal(event_compute_id(f->rv, ev, f->id[i]), 0);
	return i;
}

/* create, alice's join, alice's message. */
static void build_room(struct fixture *f, const char *version)
{
	unsigned char seed[32];
	memset(f, 0, sizeof(*f));
	f->rv = room_version_get(version);
	assert_non_null(f->rv);
	memset(seed, 1, sizeof(seed));
	assert_int_equal(scop_ed25519_from_seed(&f->k1, seed, "k1"), 0);
	memset(seed, 2, sizeof(seed));
	assert_int_equal(scop_ed25519_from_seed(&f->k2, seed, "k2"), 0);
	f->k1_valid_until = INT64_MAX;
	f->k2_known = 1;
	json_t *cc = f->rv->creator_in_content
		? json_pack("{s:s,s:s}", "creator", "@alice:hs1.test", "room_version", version)
		: json_pack("{s:s}", "room_version", version);
	if (f->rv->room_id_is_create_hash) {
		f->create = store(f, make(f, "@alice:hs1.test", "m.room.create", "", cc, NULL, 0, NULL, 0, 1));
		assert_int_equal(event_create_room_id(f->rv, f->ev[f->create], f->room), 0);
	} else {
		strcpy(f->room, "!room:hs1.test");
		f->create = store(f, make(f, "@alice:hs1.test", "m.room.create", "", cc, NULL, 0, NULL, 0, 1));
	}
	size_t a1[] = { f->create };
	size_t na = f->rv->room_id_is_create_hash ? 0 : 1;
	f->join = store(f, make(f, "@alice:hs1.test", "m.room.member", "@alice:hs1.test",
				json_pack("{s:s}", "membership", "join"), a1, 1, a1, na, 2));
	size_t p2[] = { f->join }, a2[] = { f->create, f->join };
	f->msg = store(f, make(f, "@alice:hs1.test", "m.room.message", NULL,
			       json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "hello"), p2, 1,
			       f->rv->room_id_is_create_hash ? a2 + 1 : a2, f->rv->room_id_is_create_hash ? 1 : 2, 3));
}

static void free_room(struct fixture *f)
{
	for (size_t i = 0; i < f->n; i++)
		json_decref(f->ev[i]);
}

static struct pdu_check_ctx ctx_for(struct fixture *f)
{
	struct pdu_check_ctx c = { key_cb, f, event_cb, f, NULL, NULL };
	return c;
}

static void expect(struct fixture *f, const json_t *pdu, const struct pdu_check_ctx *c, enum pdu_verdict v,
		   enum pdu_stage st)
{
	struct pdu_check_result res;
	enum pdu_verdict got = pdu_check(f->rv, pdu, c, &res);
	if (got != v || res.stage != st)
		print_error("verdict %s stage %d (%s)\n", pdu_verdict_str(got), res.stage, res.reason);
	assert_int_equal(got, v);
	assert_int_equal(res.stage, st);
	assert_true(v == PDU_DROP ? res.event == NULL : res.event != NULL);
	pdu_check_result_clear(&res);
}

static void test_valid_chain(void **state)
{
	static const char *const versions[] = { "3", "4", "5", "6", "9", "10", "11", "12" };
	(void)state;
	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		struct fixture f;
		build_room(&f, versions[v]);
		struct pdu_check_ctx c = ctx_for(&f);
		for (size_t i = 0; i < f.n; i++) {
			struct pdu_check_result res;
			assert_int_equal(pdu_check(f.rv, f.ev[i], &c, &res), PDU_ACCEPT);
			assert_string_equal(res.event_id, f.id[i]);
			assert_true(json_equal(res.event, f.ev[i]));
			assert_int_equal(res.redacted, 0);
			pdu_check_result_clear(&res);
		}
		free_room(&f);
	}
}

static void test_format(void **state)
{
	struct fixture f;
	(void)state;
	build_room(&f, "10");
	struct pdu_check_ctx c = ctx_for(&f);
	json_t *bad[] = {
		json_string("x"), json_object(), json_pack("{s:i}", "type", 1),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect(&f, bad[i], &c, PDU_DROP, PDU_STAGE_FORMAT);
		json_decref(bad[i]);
	}
	json_t *ev = json_deep_copy(f.ev[f.msg]);
	json_object_set_new(ev, "depth", json_string("3"));
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_FORMAT);
	json_object_set_new(ev, "depth", json_integer(3));
	json_object_set_new(ev, "sender", json_string("not a user"));
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_FORMAT);
	json_decref(ev);
	/* Oversized. */
	ev = json_deep_copy(f.ev[f.msg]);
	char *big = malloc(70000);
	memset(big, 'a', 69999);
	big[69999] = '\0';
	json_object_set_new(json_object_get(ev, "content"), "body", json_string(big));
	free(big);
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_FORMAT);
	json_decref(ev);
	struct pdu_check_result res;
	assert_int_equal(pdu_check(f.rv, NULL, &c, &res), PDU_DROP);
	assert_int_equal(pdu_check(NULL, f.ev[0], &c, &res), PDU_DROP);
	free_room(&f);
}

static void test_signatures(void **state)
{
	struct fixture f;
	(void)state;
	build_room(&f, "10");
	struct pdu_check_ctx c = ctx_for(&f);

	/* Unsigned: no signatures at all is a format error, none by hs1 a signature one. */
	json_t *ev = json_deep_copy(f.ev[f.msg]);
	json_object_del(ev, "signatures");
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_FORMAT);
	json_object_set_new(ev, "signatures", json_object());
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_SIGNATURES);
	json_decref(ev);

	/* Signed by hs2 only, for a sender on hs1. */
	ev = json_deep_copy(f.ev[f.msg]);
	json_object_del(ev, "signatures");
	assert_int_equal(event_hash_and_sign(f.rv, ev, "hs2.test", &f.k2), 0);
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_SIGNATURES);
	json_decref(ev);

	/* hs1's key id, but made with hs2's key: forged. */
	ev = json_deep_copy(f.ev[f.msg]);
	json_object_del(ev, "signatures");
	struct scop_ed25519 rogue = f.k2;
	strcpy(rogue.key_id, f.k1.key_id);
	assert_int_equal(event_hash_and_sign(f.rv, ev, "hs1.test", &rogue), 0);
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_SIGNATURES);
	json_decref(ev);

	/* A signature changed after the fact: the signed content differs. */
	ev = json_deep_copy(f.ev[f.msg]);
	json_object_set_new(ev, "origin_server_ts", json_integer(T0 + 99));
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_SIGNATURES);
	json_decref(ev);

	/* An extra signature by an unknown key is ignored when a known one verifies;
	 * unknown algorithms too. */
	ev = json_deep_copy(f.ev[f.msg]);
	json_t *s1 = json_object_get(json_object_get(ev, "signatures"), "hs1.test");
	json_object_set_new(s1, "ed25519:gone", json_string("AAAA"));
	json_object_set_new(s1, "curve:x", json_string("AAAA"));
	expect(&f, ev, &c, PDU_ACCEPT, PDU_STAGE_NONE);
	json_decref(ev);

	/* Key unknown. */
	f.k2_known = 0;
	size_t a[] = { f.create, f.join };
	ev = make(&f, "@bob:hs2.test", "m.room.message", NULL, json_pack("{s:s}", "body", "x"), &f.msg, 1, a, 2, 4);
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_SIGNATURES);
	json_decref(ev);
	free_room(&f);
}

/* From room version 5 a key verifies only events from its validity period. */
static void test_key_validity(void **state)
{
	(void)state;
	struct fixture f;
	build_room(&f, "10");
	struct pdu_check_ctx c = ctx_for(&f);
	f.k1_valid_until = T0 + 2; /* covers create and join, not the message */
	expect(&f, f.ev[f.join], &c, PDU_ACCEPT, PDU_STAGE_NONE);
	expect(&f, f.ev[f.msg], &c, PDU_DROP, PDU_STAGE_SIGNATURES);
	free_room(&f);

	build_room(&f, "4");
	c = ctx_for(&f);
	f.k1_valid_until = T0 + 2;
	expect(&f, f.ev[f.msg], &c, PDU_ACCEPT, PDU_STAGE_NONE);
	free_room(&f);
}

static void test_content_hash(void **state)
{
	(void)state;
	struct fixture f;
	build_room(&f, "10");
	struct pdu_check_ctx c = ctx_for(&f);
	json_t *ev = json_deep_copy(f.ev[f.msg]);
	json_object_set_new(json_object_get(ev, "content"), "body", json_string("tampered"));
	struct pdu_check_result res;
	assert_int_equal(pdu_check(f.rv, ev, &c, &res), PDU_ACCEPT_REDACTED);
	assert_int_equal(res.redacted, 1);
	assert_string_equal(res.event_id, f.id[f.msg]);
	assert_null(json_object_get(json_object_get(res.event, "content"), "body"));
	assert_string_equal(event_type(res.event), "m.room.message");
	pdu_check_result_clear(&res);
	/* A redacted copy still soft-fails like any other event. */
	struct auth_list none = { NULL, 0 };
	struct auth_state empty = { auth_list_lookup, NULL, &none };
	c.current_state = &empty;
	assert_int_equal(pdu_check(f.rv, ev, &c, &res), PDU_SOFT_FAIL);
	assert_int_equal(res.redacted, 1);
	assert_non_null(res.event);
	pdu_check_result_clear(&res);
	json_decref(ev);
	free_room(&f);
}

static void test_auth_events(void **state)
{
	(void)state;
	struct fixture f;
	build_room(&f, "10");
	struct pdu_check_ctx c = ctx_for(&f);
	struct pdu_check_result res;

	/* Bob never joined. */
	size_t a[] = { f.create };
	json_t *ev = make(&f, "@bob:hs2.test", "m.room.message", NULL, json_pack("{s:s}", "body", "x"), &f.msg, 1,
			  a, 1, 4);
	expect(&f, ev, &c, PDU_REJECT, PDU_STAGE_AUTH_EVENTS);
	json_decref(ev);

	/* Cites an event we do not have. */
	ev = json_deep_copy(f.ev[f.msg]);
	free_room(&f);
	build_room(&f, "10");
	f.n = 1; /* only the create event is known */
	json_t *join = f.ev[f.join], *msg = f.ev[f.msg];
	assert_int_equal(pdu_check(f.rv, ev, &c, &res), PDU_REJECT);
	assert_int_equal(res.stage, PDU_STAGE_AUTH_EVENTS);
	assert_int_equal(res.missing_auth_event, 1);
	pdu_check_result_clear(&res);
	f.n = 3;
	(void)join;
	(void)msg;

	/* Cites a rejected event. */
	f.rejected[f.join] = 1;
	expect(&f, ev, &c, PDU_REJECT, PDU_STAGE_AUTH_EVENTS);
	f.rejected[f.join] = 0;
	json_decref(ev);

	/* Cites an event the selection would not pick (a message). */
	size_t a2[] = { f.create, f.join, f.msg };
	ev = make(&f, "@alice:hs1.test", "m.room.message", NULL, json_pack("{s:s}", "body", "x"), &f.msg, 1, a2,
		  3, 4);
	expect(&f, ev, &c, PDU_REJECT, PDU_STAGE_AUTH_EVENTS);
	json_decref(ev);

	/* No create event cited (v10). */
	size_t a3[] = { f.join };
	ev = make(&f, "@alice:hs1.test", "m.room.message", NULL, json_pack("{s:s}", "body", "x"), &f.msg, 1, a3,
		  1, 4);
	expect(&f, ev, &c, PDU_REJECT, PDU_STAGE_AUTH_EVENTS);
	json_decref(ev);
	free_room(&f);
}

static void test_states(void **state)
{
	(void)state;
	struct fixture f;
	build_room(&f, "10");
	struct pdu_check_ctx c = ctx_for(&f);

	const json_t *before[] = { f.ev[f.create], f.ev[f.join] };
	struct auth_list lb = { before, 2 };
	struct auth_state sb = { auth_list_lookup, NULL, &lb };
	const json_t *nojoin[] = { f.ev[f.create] };
	struct auth_list ln = { nojoin, 1 };
	struct auth_state sn = { auth_list_lookup, NULL, &ln };

	c.state_before = &sb;
	c.current_state = &sb;
	expect(&f, f.ev[f.msg], &c, PDU_ACCEPT, PDU_STAGE_NONE);

	/* Not joined in the state before the event: rejected. */
	c.state_before = &sn;
	expect(&f, f.ev[f.msg], &c, PDU_REJECT, PDU_STAGE_STATE_BEFORE);

	/* Alice left since (current state): soft-fail. */
	size_t p[] = { f.msg }, a[] = { f.create, f.join };
	json_t *leave = make(&f, "@alice:hs1.test", "m.room.member", "@alice:hs1.test",
			     json_pack("{s:s}", "membership", "leave"), p, 1, a, 2, 4);
	const json_t *cur[] = { f.ev[f.create], leave };
	struct auth_list lc = { cur, 2 };
	struct auth_state sc = { auth_list_lookup, NULL, &lc };
	c.state_before = &sb;
	c.current_state = &sc;
	struct pdu_check_result res;
	assert_int_equal(pdu_check(f.rv, f.ev[f.msg], &c, &res), PDU_SOFT_FAIL);
	assert_int_equal(res.stage, PDU_STAGE_CURRENT_STATE);
	assert_int_equal(res.redacted, 0);
	assert_non_null(res.event);
	pdu_check_result_clear(&res);
	json_decref(leave);
	free_room(&f);
}

/* v12: the create event is found through the room ID. */
static void test_v12_create_lookup(void **state)
{
	(void)state;
	struct fixture f;
	build_room(&f, "12");
	struct pdu_check_ctx c = ctx_for(&f);
	expect(&f, f.ev[f.msg], &c, PDU_ACCEPT, PDU_STAGE_NONE);
	/* Without the create event in the store the check cannot run. */
	json_t *create = f.ev[f.create];
	strcpy(f.id[f.create], "$unknown");
	struct pdu_check_result res;
	assert_int_equal(pdu_check(f.rv, f.ev[f.msg], &c, &res), PDU_REJECT);
	assert_int_equal(res.missing_auth_event, 1);
	pdu_check_result_clear(&res);
	(void)create;
	free_room(&f);
}

/* Room version 1: IDs carried in the events, [id, hashes] pairs, and the
 * event ID's server must sign too. */
static json_t *v1_event(struct fixture *f, const char *id, const char *type, const char *sk, json_t *content,
			const char *prev, int64_t depth, const char *signer, const struct scop_ed25519 *key)
{
	json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:o,s:[],s:[],s:I,s:I}", "event_id", id, "room_id", "!r:hs1.test",
			       "sender", "@alice:hs1.test", "type", type, "content", content, "prev_events",
			       "auth_events", "depth", (json_int_t)depth, "origin_server_ts", (json_int_t)(T0 + depth));
	if (sk)
		json_object_set_new(ev, "state_key", json_string(sk));
	if (prev) {
		json_array_append_new(json_object_get(ev, "prev_events"), json_pack("[s,{}]", prev));
		json_array_append_new(json_object_get(ev, "auth_events"), json_pack("[s,{}]", prev));
	}
	assert_int_equal(event_hash_and_sign(f->rv, ev, signer, key), 0);
	return ev;
}

static void test_room_v1(void **state)
{
	struct fixture f;
	(void)state;
	build_room(&f, "10"); /* for the keys */
	free_room(&f);
	f.n = 0;
	f.rv = room_version_get("1");
	f.create = store(&f, v1_event(&f, "$c:hs1.test", "m.room.create", "",
				      json_pack("{s:s}", "creator", "@alice:hs1.test"), NULL, 1, "hs1.test", &f.k1));
	f.join = store(&f, v1_event(&f, "$j:hs1.test", "m.room.member", "@alice:hs1.test",
				    json_pack("{s:s}", "membership", "join"), "$c:hs1.test", 2, "hs1.test", &f.k1));
	assert_string_equal(f.id[f.join], "$j:hs1.test");
	struct pdu_check_ctx c = ctx_for(&f);
	expect(&f, f.ev[f.create], &c, PDU_ACCEPT, PDU_STAGE_NONE);
	expect(&f, f.ev[f.join], &c, PDU_ACCEPT, PDU_STAGE_NONE);

	/* An event ID on hs2.test needs hs2's signature as well. */
	json_t *ev = v1_event(&f, "$x:hs2.test", "m.room.member", "@alice:hs1.test",
			      json_pack("{s:s}", "membership", "join"), "$c:hs1.test", 2, "hs1.test", &f.k1);
	expect(&f, ev, &c, PDU_DROP, PDU_STAGE_SIGNATURES);
	assert_int_equal(event_hash_and_sign(f.rv, ev, "hs2.test", &f.k2), 0);
	expect(&f, ev, &c, PDU_ACCEPT, PDU_STAGE_NONE);
	json_decref(ev);

	/* v1-v4 ignore key validity. */
	f.k1_valid_until = T0;
	expect(&f, f.ev[f.join], &c, PDU_ACCEPT, PDU_STAGE_NONE);
	free_room(&f);
}

/* Mutated copies of valid events: any verdict, no crash, no leak. */
static void test_mutations(void **state)
{
	(void)state;
	struct fixture f;
	build_room(&f, "10");
	struct pdu_check_ctx c = ctx_for(&f);
	char *text = json_dumps(f.ev[f.msg], JSON_COMPACT | JSON_SORT_KEYS);
	size_t len = strlen(text);
	uint32_t x = 12345;
	size_t accepted = 0;
	for (int i = 0; i < 3000; i++) {
		char *m = strdup(text);
		for (int k = 0; k < 1 + i % 3; k++) {
			x = x * 1103515245u + 12345u;
			m[(x >> 8) % len] = (char)(32 + (x >> 20) % 95);
		}
		json_t *j = json_loads(m, 0, NULL);
		if (j) {
			struct pdu_check_result res;
			if (pdu_check(f.rv, j, &c, &res) == PDU_ACCEPT)
				accepted++;
			pdu_check_result_clear(&res);
			json_decref(j);
		}
		free(m);
	}
	/* Only mutations of unsigned and other unprotected bytes can pass. */
	assert_true(accepted < 3000);
	free(text);
	free_room(&f);
}

/* ---- a room built and signed in Python by Synapse's signedjson and
 * canonicaljson (tests/federation/make_pdu_vectors.py) ---- */
/* public key (unpadded base64): A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg */
static const char py_create[] = "{\"auth_events\": [], \"content\": {\"creator\": \"@py:py.test\", \"room_version\": \"10\"}, \"depth\": 1, \"hashes\": {\"sha256\": \"5rmmB7K/bp2GCyns1GspeM2xzm7WC5hMZLp8/uK2sB4\"}, \"origin_server_ts\": 1700000000001, \"prev_events\": [], \"room_id\": \"!py:py.test\", \"sender\": \"@py:py.test\", \"signatures\": {\"py.test\": {\"ed25519:py1\": \"LVhz3TU8tujF3TBDn0c4iadkHXjQQzMxwEVkzILQuIyRvgMd4jNy3t2AIaJSPDIlYMWE6JJPqWITqQu4SJpGBA\"}}, \"state_key\": \"\", \"type\": \"m.room.create\"}";
static const char py_create_id[] = "$WU9IEmpO_bG9dPfd5AnyHoervj8eDSZQmAF4YWIKFQw";
static const char py_join[] = "{\"auth_events\": [\"$WU9IEmpO_bG9dPfd5AnyHoervj8eDSZQmAF4YWIKFQw\"], \"content\": {\"displayname\": \"Py\", \"membership\": \"join\"}, \"depth\": 2, \"hashes\": {\"sha256\": \"pYQdB9kec+bomMCGPDf2UiTHqjnrsThGmuc/2VFpKYc\"}, \"origin_server_ts\": 1700000000002, \"prev_events\": [\"$WU9IEmpO_bG9dPfd5AnyHoervj8eDSZQmAF4YWIKFQw\"], \"room_id\": \"!py:py.test\", \"sender\": \"@py:py.test\", \"signatures\": {\"py.test\": {\"ed25519:py1\": \"XgGvTn7CVy4bjCFE6PhPatqMsikw8leXvoQJlGc5Zp+RBHa/APAPwSuiR9a0+fr+1pjKf0j6USpqEzSXwAMcDw\"}}, \"state_key\": \"@py:py.test\", \"type\": \"m.room.member\"}";
static const char py_join_id[] = "$wSWCgB-aqjRuj2jQe4Gr_RKMmNtPqPrag9mBCxh0YL4";
static const char py_msg[] = "{\"auth_events\": [\"$WU9IEmpO_bG9dPfd5AnyHoervj8eDSZQmAF4YWIKFQw\", \"$wSWCgB-aqjRuj2jQe4Gr_RKMmNtPqPrag9mBCxh0YL4\"], \"content\": {\"body\": \"signed by signedjson\", \"msgtype\": \"m.text\"}, \"depth\": 3, \"hashes\": {\"sha256\": \"jU2BvRsOdA2tV08SyNzNPbJsbTvFeVFFnvHzpbzFpnM\"}, \"origin_server_ts\": 1700000000003, \"prev_events\": [\"$wSWCgB-aqjRuj2jQe4Gr_RKMmNtPqPrag9mBCxh0YL4\"], \"room_id\": \"!py:py.test\", \"sender\": \"@py:py.test\", \"signatures\": {\"py.test\": {\"ed25519:py1\": \"ec2WhGYzcb/n1kizcdXBMbRgpI0cdi0xoCpIClQ7oZHiJPXBYMPuX9VAUvRY0Bc2r3z9xzIyOkcJNHxn5pk3DA\"}}, \"type\": \"m.room.message\"}";
static const char py_msg_id[] = "$s-4M57yB5Ziuj2y7KLxmm3HTlC0Eg4gUCb9GXppoXEo";

struct py_store {
	json_t *ev[3];
	const char *id[3];
	unsigned char pub[32];
};

static int py_key(void *arg, const char *server, const char *key_id, int64_t ts, unsigned char pub[32])
{
	struct py_store *p = arg;
	(void)ts;
	if (strcmp(server, "py.test") != 0 || strcmp(key_id, "ed25519:py1") != 0)
		return -1;
	memcpy(pub, p->pub, 32);
	return 0;
}

static const json_t *py_event(void *arg, const char *id, int *rejected)
{
	struct py_store *p = arg;
	*rejected = 0;
	for (size_t i = 0; i < 3; i++)
		if (strcmp(p->id[i], id) == 0)
			return p->ev[i];
	return NULL;
}

static void test_signedjson_vectors(void **state)
{
	struct py_store p;
	const char *texts[3] = { py_create, py_join, py_msg };
	const struct room_version *rv = room_version_get("10");
	unsigned char seed[32];
	struct scop_ed25519 k;
	(void)state;
	for (int i = 0; i < 32; i++)
		seed[i] = (unsigned char)i;
	assert_int_equal(scop_ed25519_from_seed(&k, seed, "py1"), 0);
	memcpy(p.pub, k.pub, 32);
	p.id[0] = py_create_id;
	p.id[1] = py_join_id;
	p.id[2] = py_msg_id;
	for (size_t i = 0; i < 3; i++)
		assert_non_null(p.ev[i] = json_loads(texts[i], 0, NULL));
	struct pdu_check_ctx c = { py_key, &p, py_event, &p, NULL, NULL };
	for (size_t i = 0; i < 3; i++) {
		struct pdu_check_result res;
		assert_int_equal(pdu_check(rv, p.ev[i], &c, &res), PDU_ACCEPT);
		assert_string_equal(res.event_id, p.id[i]);
		pdu_check_result_clear(&res);
	}
	/* The same content hash and reference hash as Synapse's libraries. */
	json_t *mine = json_deep_copy(p.ev[2]);
	json_object_del(mine, "hashes");
	json_object_del(mine, "signatures");
	assert_int_equal(event_hash_and_sign(rv, mine, "py.test", &k), 0);
	assert_true(json_equal(mine, p.ev[2]));
	json_decref(mine);
	/* Tampered in Python's copy: redacted and accepted. */
	json_object_set_new(json_object_get(p.ev[2], "content"), "body", json_string("changed"));
	struct pdu_check_result res;
	assert_int_equal(pdu_check(rv, p.ev[2], &c, &res), PDU_ACCEPT_REDACTED);
	pdu_check_result_clear(&res);
	for (size_t i = 0; i < 3; i++)
		json_decref(p.ev[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_chain),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_key_validity),
		cmocka_unit_test(test_content_hash),
		cmocka_unit_test(test_auth_events),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_v12_create_lookup),
		cmocka_unit_test(test_room_v1),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_signedjson_vectors),
	};
	return cmocka_run_group_tests_name("pdu_check", tests, NULL, NULL);
}
