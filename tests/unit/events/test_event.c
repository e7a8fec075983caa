/* Unit tests for homeserver/events/event.c and event_sign.c: the spec's
 * signing test vectors, redaction per room version, hashes, IDs and
 * validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/base64.h"
#include "common/canonjson.h"
#include "common/crypto.h"
#include "homeserver/events/event.h"
#include "homeserver/events/event_sign.h"
#include "homeserver/events/room_version.h"

static json_t *J(const char *s)
{
	char err[128];
	json_t *v = canonjson_parse(s, strlen(s), 0, err, sizeof(err));
	if (!v)
		fail_msg("bad test JSON: %s: %s", err, s);
	return v;
}

static const struct room_version *V(const char *id)
{
	const struct room_version *rv = room_version_get(id);
	assert_non_null(rv);
	return rv;
}

/* The appendix key.  Its seed as printed ends in '1', which leaves
 * non-zero trailing bits that our strict decoder refuses; '0' is the same
 * 32 bytes with those bits cleared. */
static void spec_key(struct scop_ed25519 *key)
{
	unsigned char seed[33];
	const char *b64 = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0";
	assert_int_equal(base64_decode(b64, strlen(b64), seed, sizeof(seed), 0), 32);
	assert_int_equal(scop_ed25519_from_seed(key, seed, "1"), 0);
	assert_string_equal(key->key_id, "ed25519:1");
}

static const char *sig_of(const json_t *obj)
{
	return json_string_value(json_object_get(
		json_object_get(json_object_get(obj, "signatures"), "domain"), "ed25519:1"));
}

static void test_json_signing_vectors(void **state)
{
	struct scop_ed25519 key;
	json_t *o;
	(void)state;
	spec_key(&key);
	o = json_object();
	assert_int_equal(json_sign(o, "domain", &key), 0);
	assert_string_equal(sig_of(o), "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ");
	assert_int_equal(json_verify(o, "domain", "ed25519:1", key.pub), 0);
	json_decref(o);
	o = J("{\"one\":1,\"two\":\"Two\"}");
	assert_int_equal(json_sign(o, "domain", &key), 0);
	assert_string_equal(sig_of(o), "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw");
	assert_int_equal(json_verify(o, "domain", "ed25519:1", key.pub), 0);
	/* Tampering breaks it; unsigned does not. */
	json_object_set_new(o, "unsigned", json_pack("{si}", "age", 5));
	assert_int_equal(json_verify(o, "domain", "ed25519:1", key.pub), 0);
	json_object_set_new(o, "one", json_integer(2));
	assert_int_equal(json_verify(o, "domain", "ed25519:1", key.pub), -1);
	assert_int_equal(json_verify(o, "other", "ed25519:1", key.pub), -1);
	assert_int_equal(json_verify(o, "domain", "ed25519:2", key.pub), -1);
	json_decref(o);
	scop_ed25519_clear(&key);
}

static void test_event_signing_vectors(void **state)
{
	struct scop_ed25519 key;
	const struct room_version *rv = V("1");
	json_t *ev;
	(void)state;
	spec_key(&key);
	ev = J("{\"room_id\":\"!x:domain\",\"sender\":\"@a:domain\",\"origin\":\"domain\","
	       "\"origin_server_ts\":1000000,\"signatures\":{},\"hashes\":{},\"type\":\"X\","
	       "\"content\":{},\"prev_events\":[],\"auth_events\":[],\"depth\":3,"
	       "\"unsigned\":{\"age_ts\":1000000}}");
	assert_int_equal(event_hash_and_sign(rv, ev, "domain", &key), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "hashes"), "sha256")),
			    "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos");
	assert_string_equal(sig_of(ev), "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg");
	assert_int_equal(event_check_content_hash(rv, ev), 0);
	assert_int_equal(event_verify_signature(rv, ev, "domain", "ed25519:1", key.pub), 0);
	json_decref(ev);

	ev = J("{\"content\":{\"body\":\"Here is the message content\"},\"event_id\":\"$0:domain\","
	       "\"origin\":\"domain\",\"origin_server_ts\":1000000,\"type\":\"m.room.message\","
	       "\"room_id\":\"!r:domain\",\"sender\":\"@u:domain\",\"signatures\":{},"
	       "\"unsigned\":{\"age_ts\":1000000}}");
	assert_int_equal(event_hash_and_sign(rv, ev, "domain", &key), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "hashes"), "sha256")),
			    "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g");
	assert_string_equal(sig_of(ev), "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA");
	/* The signature survives redaction; the content hash does not. */
	json_t *red = event_redact(rv, ev);
	assert_int_equal(event_verify_signature(rv, red, "domain", "ed25519:1", key.pub), 0);
	assert_int_equal(event_check_content_hash(rv, red), -1);
	assert_int_equal(event_check_content_hash(rv, ev), 0);
	json_decref(red);
	/* Changing a protected key breaks the signature. */
	json_object_set_new(ev, "origin_server_ts", json_integer(1000001));
	assert_int_equal(event_verify_signature(rv, ev, "domain", "ed25519:1", key.pub), -1);
	json_decref(ev);
	scop_ed25519_clear(&key);
}


static char *dump(const json_t *v)
{
	char *s = canonjson_dumps(v, NULL, CANONJSON_LAX);
	assert_non_null(s);
	return s;
}

static void expect_redacted(const char *ver, const char *in, const char *want)
{
	json_t *ev = J(in), *red = event_redact(V(ver), ev), *w = J(want);
	int same;
	char *got;
	assert_non_null(red);
	got = dump(red);
	same = json_equal(red, w);
	json_decref(red);
	json_decref(ev);
	json_decref(w);
	if (!same)
		print_error("v%s redaction\n got  %s\n want %s\n", ver, got, want);
	free(got);
	assert_true(same);
}

#define TOP "\"auth_events\":[],\"depth\":1,\"event_id\":\"$e\",\"hashes\":{\"sha256\":\"h\"}," \
	"\"membership\":\"join\",\"origin\":\"o\",\"origin_server_ts\":1,\"prev_events\":[]," \
	"\"prev_state\":[],\"room_id\":\"!r\",\"sender\":\"@u:o\",\"signatures\":{},\"unsigned\":{\"age\":1},\"extra\":1"
#define TOP_V1 "\"auth_events\":[],\"depth\":1,\"event_id\":\"$e\",\"hashes\":{\"sha256\":\"h\"}," \
	"\"membership\":\"join\",\"origin\":\"o\",\"origin_server_ts\":1,\"prev_events\":[]," \
	"\"prev_state\":[],\"room_id\":\"!r\",\"sender\":\"@u:o\",\"signatures\":{}"
#define TOP_V11 "\"auth_events\":[],\"depth\":1,\"event_id\":\"$e\",\"hashes\":{\"sha256\":\"h\"}," \
	"\"origin_server_ts\":1,\"prev_events\":[],\"room_id\":\"!r\",\"sender\":\"@u:o\",\"signatures\":{}"

static void test_redaction_algorithms(void **state)
{
	(void)state;
	/* Top-level keys: v1-v10 keep origin, membership, prev_state; v11 drops them. */
	expect_redacted("1", "{" TOP ",\"type\":\"m.room.message\",\"content\":{\"body\":\"x\"}}",
			"{" TOP_V1 ",\"content\":{},\"type\":\"m.room.message\"}");
	expect_redacted("10", "{" TOP ",\"type\":\"m.room.message\",\"content\":{\"body\":\"x\"}}",
			"{" TOP_V1 ",\"content\":{},\"type\":\"m.room.message\"}");
	expect_redacted("11", "{" TOP ",\"type\":\"m.room.message\",\"content\":{\"body\":\"x\"}}",
			"{" TOP_V11 ",\"content\":{},\"type\":\"m.room.message\"}");
	/* m.room.member. */
	const char *mem = "{\"type\":\"m.room.member\",\"state_key\":\"@u:o\",\"content\":{\"membership\":\"join\","
			  "\"displayname\":\"U\",\"join_authorised_via_users_server\":\"@a:o\","
			  "\"third_party_invite\":{\"display_name\":\"d\",\"signed\":{\"mxid\":\"@u:o\"}}}}";
	expect_redacted("8", mem, "{\"content\":{\"membership\":\"join\"},\"state_key\":\"@u:o\",\"type\":\"m.room.member\"}");
	expect_redacted("9", mem, "{\"content\":{\"join_authorised_via_users_server\":\"@a:o\",\"membership\":\"join\"},"
			"\"state_key\":\"@u:o\",\"type\":\"m.room.member\"}");
	expect_redacted("11", mem, "{\"content\":{\"join_authorised_via_users_server\":\"@a:o\",\"membership\":\"join\","
			"\"third_party_invite\":{\"signed\":{\"mxid\":\"@u:o\"}}},\"state_key\":\"@u:o\",\"type\":\"m.room.member\"}");
	/* m.room.create: creator only before v11, everything from v11. */
	const char *cr = "{\"type\":\"m.room.create\",\"content\":{\"creator\":\"@u:o\",\"room_version\":\"5\",\"m.federate\":false}}";
	expect_redacted("10", cr, "{\"content\":{\"creator\":\"@u:o\"},\"type\":\"m.room.create\"}");
	expect_redacted("11", cr, "{\"content\":{\"creator\":\"@u:o\",\"m.federate\":false,\"room_version\":\"5\"},\"type\":\"m.room.create\"}");
	expect_redacted("12", cr, "{\"content\":{\"creator\":\"@u:o\",\"m.federate\":false,\"room_version\":\"5\"},\"type\":\"m.room.create\"}");
	/* m.room.join_rules: allow kept from v8. */
	const char *jr = "{\"type\":\"m.room.join_rules\",\"content\":{\"join_rule\":\"restricted\",\"allow\":[],\"x\":1}}";
	expect_redacted("7", jr, "{\"content\":{\"join_rule\":\"restricted\"},\"type\":\"m.room.join_rules\"}");
	expect_redacted("8", jr, "{\"content\":{\"allow\":[],\"join_rule\":\"restricted\"},\"type\":\"m.room.join_rules\"}");
	/* m.room.power_levels: invite kept from v11. */
	const char *pl = "{\"type\":\"m.room.power_levels\",\"content\":{\"ban\":1,\"events\":{},\"events_default\":2,"
			 "\"invite\":3,\"kick\":4,\"notifications\":{\"room\":5},\"redact\":6,\"state_default\":7,"
			 "\"users\":{},\"users_default\":8}}";
	expect_redacted("10", pl, "{\"content\":{\"ban\":1,\"events\":{},\"events_default\":2,\"kick\":4,\"redact\":6,"
			"\"state_default\":7,\"users\":{},\"users_default\":8},\"type\":\"m.room.power_levels\"}");
	expect_redacted("11", pl, "{\"content\":{\"ban\":1,\"events\":{},\"events_default\":2,\"invite\":3,\"kick\":4,\"redact\":6,"
			"\"state_default\":7,\"users\":{},\"users_default\":8},\"type\":\"m.room.power_levels\"}");
	/* m.room.aliases: special only in v1-v5. */
	const char *al = "{\"type\":\"m.room.aliases\",\"state_key\":\"o\",\"content\":{\"aliases\":[\"#a:o\"]}}";
	expect_redacted("5", al, "{\"content\":{\"aliases\":[\"#a:o\"]},\"state_key\":\"o\",\"type\":\"m.room.aliases\"}");
	expect_redacted("6", al, "{\"content\":{},\"state_key\":\"o\",\"type\":\"m.room.aliases\"}");
	/* history_visibility everywhere; redaction's redacts only from v11. */
	expect_redacted("1", "{\"type\":\"m.room.history_visibility\",\"content\":{\"history_visibility\":\"shared\",\"x\":1}}",
			"{\"content\":{\"history_visibility\":\"shared\"},\"type\":\"m.room.history_visibility\"}");
	const char *rd = "{\"type\":\"m.room.redaction\",\"redacts\":\"$a\",\"content\":{\"redacts\":\"$a\",\"reason\":\"r\"}}";
	expect_redacted("10", rd, "{\"content\":{},\"type\":\"m.room.redaction\"}");
	expect_redacted("11", rd, "{\"content\":{\"redacts\":\"$a\"},\"type\":\"m.room.redaction\"}");
	/* Not an object: no result. */
	json_t *s = json_string("x");
	assert_null(event_redact(V("1"), s));
	json_decref(s);
}

static const char *sample_event =
	"{\"auth_events\":[\"$a\",\"$b\"],\"content\":{\"body\":\"hello\",\"msgtype\":\"m.text\"},\"depth\":12,"
	"\"hashes\":{\"sha256\":\"AAAA\"},\"origin_server_ts\":1700000000000,\"prev_events\":[\"$c\"],"
	"\"room_id\":\"!room:example.org\",\"sender\":\"@alice:example.org\",\"signatures\":{},"
	"\"type\":\"m.room.message\",\"unsigned\":{\"age\":5}}";

static void test_ids_and_hashes(void **state)
{
	json_t *ev = J(sample_event);
	char id3[EVENT_ID_BUF], id4[EVENT_ID_BUF], id11[EVENT_ID_BUF], again[EVENT_ID_BUF];
	unsigned char h[32];
	char b64[48];
	(void)state;
	assert_int_equal(event_compute_id(V("3"), ev, id3), 0);
	assert_int_equal(event_compute_id(V("4"), ev, id4), 0);
	assert_int_equal(event_compute_id(V("11"), ev, id11), 0);
	assert_int_equal(strlen(id3), 44);
	assert_int_equal(id3[0], '$');
	assert_null(strpbrk(id4, "+/="));
	assert_string_equal(id4, id11); /* same redaction of a message event */
	/* v3 and v4 encode the same hash in two alphabets. */
	for (char *p = id3; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	assert_string_equal(id3, id4);
	/* The ID is the URL-safe reference hash. */
	assert_int_equal(event_reference_hash(V("4"), ev, h), 0);
	base64_encode(h, 32, b64, BASE64_URLSAFE);
	assert_string_equal(id4 + 1, b64);
	/* Unsigned, signatures and redactable content do not change it. */
	json_object_set_new(json_object_get(ev, "unsigned"), "age", json_integer(99));
	json_object_set_new(json_object_get(ev, "content"), "body", json_string("changed"));
	json_object_set_new(json_object_get(ev, "signatures"), "x", json_object());
	assert_int_equal(event_compute_id(V("4"), ev, again), 0);
	assert_string_equal(again, id4);
	/* The hashes do. */
	assert_int_equal(event_set_content_hash(V("4"), ev), 0);
	assert_int_equal(event_compute_id(V("4"), ev, again), 0);
	assert_string_not_equal(again, id4);
	assert_int_equal(event_check_content_hash(V("4"), ev), 0);
	json_object_set_new(json_object_get(ev, "content"), "body", json_string("tampered"));
	assert_int_equal(event_check_content_hash(V("4"), ev), -1);
	/* v1/v2 carry their own ID. */
	assert_int_equal(event_compute_id(V("1"), ev, again), -1);
	json_object_set_new(ev, "event_id", json_string("$abc:example.org"));
	assert_int_equal(event_compute_id(V("2"), ev, again), 0);
	assert_string_equal(again, "$abc:example.org");
	/* Only v12 derives room IDs, and only from create events. */
	assert_int_equal(event_create_room_id(V("12"), ev, again), -1);
	json_decref(ev);
	ev = J("{\"type\":\"m.room.create\",\"state_key\":\"\",\"sender\":\"@a:x\",\"content\":{\"room_version\":\"12\"},"
	       "\"depth\":1,\"origin_server_ts\":1,\"prev_events\":[],\"auth_events\":[],\"hashes\":{\"sha256\":\"x\"},"
	       "\"signatures\":{}}");
	assert_int_equal(event_create_room_id(V("11"), ev, again), -1);
	assert_int_equal(event_create_room_id(V("12"), ev, again), 0);
	assert_int_equal(again[0], '!');
	assert_int_equal(event_compute_id(V("12"), ev, id4), 0);
	assert_string_equal(again + 1, id4 + 1);
	json_decref(ev);
}

static void test_sign_roundtrip_all_versions(void **state)
{
	struct scop_ed25519 key, other;
	int n;
	const struct room_version *all = room_version_all(&n);
	(void)state;
	assert_int_equal(n, 12);
	assert_int_equal(scop_ed25519_generate(&key, "a1"), 0);
	assert_int_equal(scop_ed25519_generate(&other, "a1"), 0);
	for (int i = 0; i < n; i++) {
		const struct room_version *rv = &all[i];
		json_t *ev = J(sample_event);
		char err[128];
		if (rv->event_id == EVENT_ID_V1) {
			json_object_set_new(ev, "event_id", json_string("$1:example.org"));
			json_object_set_new(ev, "prev_events", json_pack("[[s,{}]]", "$c:x"));
			json_object_set_new(ev, "auth_events", json_pack("[[s,{}]]", "$a:x"));
		}
		assert_int_equal(event_hash_and_sign(rv, ev, "example.org", &key), 0);
		if (event_validate(rv, ev, err, sizeof(err)) != 0)
			fail_msg("v%s: %s", rv->id, err);
		assert_int_equal(event_verify_signature(rv, ev, "example.org", "ed25519:a1", key.pub), 0);
		assert_int_equal(event_verify_signature(rv, ev, "example.org", "ed25519:a1", other.pub), -1);
		assert_int_equal(event_check_content_hash(rv, ev), 0);
		json_decref(ev);
	}
	scop_ed25519_clear(&key);
	scop_ed25519_clear(&other);
}

/* Each mutation of a valid v10 event and whether validation accepts it. */
static void test_validation(void **state)
{
	static const struct {
		const char *ver, *key, *value; /* value is JSON; NULL deletes key */
		int ok;
	} cases[] = {
		{ "10", NULL, NULL, 1 },
		{ "10", "type", NULL, 0 },
		{ "10", "type", "5", 0 },
		{ "10", "sender", "\"alice\"", 0 },
		{ "10", "sender", "\"@alice\"", 0 },
		{ "10", "sender", NULL, 0 },
		{ "10", "room_id", NULL, 0 },
		{ "10", "room_id", "\"room\"", 0 },
		{ "10", "content", "[]", 0 },
		{ "10", "content", NULL, 0 },
		{ "10", "depth", "-1", 0 },
		{ "10", "depth", "\"1\"", 0 },
		{ "10", "depth", "9007199254740991", 1 },
		{ "10", "origin_server_ts", "\"1\"", 0 },
		{ "10", "origin_server_ts", NULL, 0 },
		{ "10", "hashes", "{}", 0 },
		{ "10", "signatures", NULL, 0 },
		{ "10", "unsigned", "[]", 0 },
		{ "10", "state_key", "5", 0 },
		{ "10", "state_key", "\"\"", 1 },
		{ "10", "prev_events", "[1]", 0 },
		{ "10", "prev_events", "{}", 0 },
		{ "10", "prev_events", "[[\"$a:b\",{}]]", 0 },
		{ "10", "prev_events", "[\"$1\",\"$2\",\"$3\",\"$4\",\"$5\",\"$6\",\"$7\",\"$8\",\"$9\",\"$10\",\"$11\","
				       "\"$12\",\"$13\",\"$14\",\"$15\",\"$16\",\"$17\",\"$18\",\"$19\",\"$20\"]", 1 },
		{ "10", "prev_events", "[\"$1\",\"$2\",\"$3\",\"$4\",\"$5\",\"$6\",\"$7\",\"$8\",\"$9\",\"$10\",\"$11\","
				       "\"$12\",\"$13\",\"$14\",\"$15\",\"$16\",\"$17\",\"$18\",\"$19\",\"$20\",\"$21\"]", 0 },
		{ "10", "auth_events", "[\"$1\",\"$2\",\"$3\",\"$4\",\"$5\",\"$6\",\"$7\",\"$8\",\"$9\",\"$10\",\"$11\"]", 0 },
		{ "10", "auth_events", "[\"a\"]", 0 },
		{ "1", NULL, NULL, 0 }, /* v1 needs an event_id and pair lists */
		{ "10", "type", "\"m.room.redaction\"", 0 },
		{ "12", NULL, NULL, 1 },
		{ "12", "room_id", NULL, 0 },
	};
	char err[160];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ev = J(sample_event);
		if (cases[i].key && cases[i].value)
			json_object_set_new(ev, cases[i].key, J(cases[i].value));
		else if (cases[i].key)
			json_object_del(ev, cases[i].key);
		err[0] = '\0';
		int rc = event_validate(V(cases[i].ver), ev, err, sizeof(err));
		if ((rc == 0) != cases[i].ok)
			fail_msg("case %zu (%s=%s): rc %d (%s)", i, cases[i].key ? cases[i].key : "-",
				 cases[i].value ? cases[i].value : "deleted", rc, err);
		if (rc)
			assert_true(strlen(err) > 0);
		json_decref(ev);
	}
}

/* \u0000 (which federation bodies may carry: Synapse passes it on) is
 * refused in IDs and in the content the auth rules read, allowed elsewhere. */
static void test_validation_nul(void **state)
{
	static const struct {
		const char *type, *state_key, *key, *value; /* value is JSON for key */
		int ok;
	} cases[] = {
		{ NULL, NULL, "content", "{\"body\":\"a\\u0000b\",\"msgtype\":\"m.text\"}", 1 },
		{ NULL, NULL, "sender", "\"@alice:example.org\\u0000x\"", 0 },
		{ NULL, NULL, "room_id", "\"!room:example.org\\u0000\"", 0 },
		{ NULL, NULL, "type", "\"m.room.message\\u0000\"", 0 },
		{ NULL, NULL, "prev_events", "[\"$c\\u0000\"]", 0 },
		{ NULL, NULL, "auth_events", "[\"$a\\u0000\"]", 0 },
		{ "m.room.topic", "", "content", "{\"topic\":\"a\\u0000b\"}", 1 },
		{ "m.room.topic", "", "state_key", "\"a\\u0000b\"", 0 },
		{ "m.room.member", "@alice:example.org", "content", "{\"membership\":\"join\\u0000\"}", 0 },
		{ "m.room.member", "@alice:example.org", "content",
		  "{\"membership\":\"join\",\"displayname\":\"A\\u0000\"}", 1 },
		{ "m.room.join_rules", "", "content", "{\"join_rule\":\"public\\u0000\"}", 0 },
		{ "m.room.power_levels", "", "content", "{\"users\":{\"@a:b\":100},\"x\":[\"\\u0000\"]}", 0 },
		{ "m.room.create", "", "content", "{\"room_version\":\"10\\u0000\"}", 0 },
	};
	char err[160];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ev = J(sample_event);
		if (cases[i].type)
			json_object_set_new(ev, "type", json_string(cases[i].type));
		if (cases[i].state_key)
			json_object_set_new(ev, "state_key", json_string(cases[i].state_key));
		json_object_set_new(ev, cases[i].key, J(cases[i].value));
		int rc = event_validate(V("10"), ev, err, sizeof(err));
		if ((rc == 0) != cases[i].ok)
			fail_msg("case %zu: rc %d (%s)", i, rc, err);
		json_decref(ev);
	}
}

static void test_validation_limits(void **state)
{
	json_t *ev = J(sample_event);
	char err[160], *big;
	(void)state;
	/* Strings of 255 bytes pass, 256 fail. */
	big = malloc(70000);
	memset(big, 'a', 70000);
	big[0] = '@';
	big[253] = ':';
	big[254] = 'x';
	big[255] = '\0';
	json_object_set_new(ev, "sender", json_string(big));
	assert_int_equal(event_validate(V("10"), ev, err, sizeof(err)), 0);
	big[255] = 'y';
	big[256] = '\0';
	json_object_set_new(ev, "sender", json_string(big));
	assert_int_equal(event_validate(V("10"), ev, err, sizeof(err)), -1);
	json_object_set_new(ev, "sender", json_string("@alice:example.org"));
	memset(big, 'a', 256);
	big[256] = '\0';
	json_object_set_new(ev, "type", json_string(big));
	assert_int_equal(event_validate(V("10"), ev, err, sizeof(err)), -1);
	json_object_set_new(ev, "type", json_string("m.room.message"));
	json_object_set_new(ev, "state_key", json_string(big));
	assert_int_equal(event_validate(V("10"), ev, err, sizeof(err)), -1);
	json_object_del(ev, "state_key");
	/* The whole event is limited to 65536 bytes of canonical JSON. */
	size_t base = strlen(sample_event) - strlen(",\"unsigned\":{\"age\":5}") - strlen("hello");
	size_t fill = 65536 - base;
	memset(big, 'b', fill);
	big[fill] = '\0';
	json_object_del(ev, "unsigned");
	json_object_set_new(json_object_get(ev, "content"), "body", json_string(big));
	char *enc = canonjson_dumps(ev, NULL, 0);
	assert_int_equal(strlen(enc), 65536);
	free(enc);
	assert_int_equal(event_validate(V("10"), ev, err, sizeof(err)), 0);
	big[fill] = 'b';
	big[fill + 1] = '\0';
	json_object_set_new(json_object_get(ev, "content"), "body", json_string(big));
	assert_int_equal(event_validate(V("10"), ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "65536"));
	/* Integers beyond 2^53 are rejected from v6 but tolerated before. */
	json_object_set_new(json_object_get(ev, "content"), "body", json_string("x"));
	json_object_set_new(json_object_get(ev, "content"), "n", json_integer(9007199254740992LL));
	assert_int_equal(event_validate(V("6"), ev, err, sizeof(err)), -1);
	json_object_set_new(ev, "event_id", json_string("$e:x"));
	json_object_set_new(ev, "prev_events", json_pack("[[s,{}]]", "$c:x"));
	json_object_set_new(ev, "auth_events", json_pack("[]"));
	assert_int_equal(event_validate(V("5"), ev, err, sizeof(err)), -1); /* v5 uses plain IDs */
	json_object_set_new(ev, "prev_events", json_pack("[s]", "$c"));
	assert_int_equal(event_validate(V("5"), ev, err, sizeof(err)), 0);
	/* Depth beyond 2^53 only before v6. */
	json_object_del(json_object_get(ev, "content"), "n");
	json_object_set_new(ev, "depth", json_integer(9007199254740992LL));
	assert_int_equal(event_validate(V("5"), ev, err, sizeof(err)), 0);
	assert_int_equal(event_validate(V("6"), ev, err, sizeof(err)), -1);
	free(big);
	json_decref(ev);
}

static void test_event_new(void **state)
{
	struct scop_ed25519 key;
	const char *prev[] = { "$p" }, *auth[] = { "$a", "$b" };
	json_t *content = J("{\"body\":\"hi\"}");
	char id[EVENT_ID_BUF], err[128];
	(void)state;
	assert_int_equal(scop_ed25519_generate(&key, "k"), 0);
	assert_null(event_new(V("2"), "!r:x", "@a:x", "m.room.message", NULL, content, prev, 1, auth, 2, 1, 1));
	assert_null(event_new(V("10"), NULL, "@a:x", "m.room.message", NULL, content, prev, 1, auth, 2, 1, 1));
	json_t *ev = event_new(V("10"), "!r:x", "@a:x", "m.room.message", NULL, content, prev, 1, auth, 2, 7, 1234);
	assert_non_null(ev);
	assert_int_equal(event_hash_and_sign(V("10"), ev, "x", &key), 0);
	assert_int_equal(event_validate(V("10"), ev, err, sizeof(err)), 0);
	assert_int_equal(event_compute_id(V("10"), ev, id), 0);
	assert_int_equal(json_array_size(json_object_get(ev, "auth_events")), 2);
	assert_null(event_state_key(ev));
	json_decref(ev);
	/* A v12 create event has no room_id; its hash names the room. */
	ev = event_new(V("12"), NULL, "@a:x", "m.room.create", "", content, NULL, 0, NULL, 0, 1, 1);
	assert_non_null(ev);
	assert_null(json_object_get(ev, "room_id"));
	assert_int_equal(event_hash_and_sign(V("12"), ev, "x", &key), 0);
	assert_int_equal(event_validate(V("12"), ev, err, sizeof(err)), 0);
	json_decref(ev);
	json_decref(content);
	scop_ed25519_clear(&key);
}

static void test_required_signers(void **state)
{
	const char *sv[EVENT_MAX_SIGNERS];
	json_t *ev = J("{\"type\":\"m.room.message\",\"sender\":\"@a:one\",\"event_id\":\"$e:two\",\"content\":{}}");
	(void)state;
	assert_int_equal(event_required_signers(V("1"), ev, sv), 2);
	assert_string_equal(sv[0], "one");
	assert_string_equal(sv[1], "two");
	assert_int_equal(event_required_signers(V("3"), ev, sv), 1);
	json_decref(ev);
	ev = J("{\"type\":\"m.room.member\",\"sender\":\"@a:one\",\"state_key\":\"@a:one\",\"content\":"
	       "{\"membership\":\"join\",\"join_authorised_via_users_server\":\"@m:three\"}}");
	assert_int_equal(event_required_signers(V("7"), ev, sv), 1);
	assert_int_equal(event_required_signers(V("8"), ev, sv), 2);
	assert_string_equal(sv[1], "three");
	json_decref(ev);
	ev = J("{\"type\":\"m.room.member\",\"sender\":\"@a:one\",\"state_key\":\"@b:x\",\"content\":"
	       "{\"membership\":\"invite\",\"third_party_invite\":{}}}");
	assert_int_equal(event_required_signers(V("10"), ev, sv), 0);
	json_decref(ev);
}

static void test_helpers(void **state)
{
	json_t *ev = J("{\"type\":\"m.room.member\",\"state_key\":\"@b:c\",\"sender\":\"@a:b\",\"content\":{\"membership\":\"ban\"}}");
	(void)state;
	assert_string_equal(event_membership(ev), "ban");
	assert_string_equal(event_state_key(ev), "@b:c");
	assert_null(event_room_id(ev));
	assert_null(event_redacts(V("1"), ev));
	assert_string_equal(matrix_id_domain("@a:b.c:8448"), "b.c:8448");
	assert_null(matrix_id_domain("nodomain"));
	assert_null(matrix_id_domain(NULL));
	assert_true(matrix_user_id_valid("@a:b"));
	assert_true(matrix_user_id_valid("@:b")); /* historical: empty localpart */
	assert_false(matrix_user_id_valid("@a:"));
	assert_false(matrix_user_id_valid("a:b"));
	assert_false(matrix_user_id_valid(NULL));
	json_decref(ev);
	ev = J("{\"type\":\"m.room.redaction\",\"redacts\":\"$old\",\"content\":{\"redacts\":\"$new\"}}");
	assert_string_equal(event_redacts(V("10"), ev), "$old");
	assert_string_equal(event_redacts(V("11"), ev), "$new");
	json_decref(ev);
	assert_null(room_version_get("13"));
	assert_null(room_version_get(NULL));
	assert_non_null(room_version_get(ROOM_VERSION_DEFAULT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_signing_vectors),
		cmocka_unit_test(test_event_signing_vectors),
		cmocka_unit_test(test_redaction_algorithms),
		cmocka_unit_test(test_ids_and_hashes),
		cmocka_unit_test(test_sign_roundtrip_all_versions),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_validation_nul),
		cmocka_unit_test(test_validation_limits),
		cmocka_unit_test(test_event_new),
		cmocka_unit_test(test_required_signers),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
