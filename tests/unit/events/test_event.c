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
	assert_int_equal(base64_decode(b64, strlen(b64), seed, 0), 32);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_signing_vectors),
		cmocka_unit_test(test_event_signing_vectors),
	};
	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
