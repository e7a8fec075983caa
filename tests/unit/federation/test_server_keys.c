/* Server key documents: building ours and checking fetched ones.  The
 * fixed document was signed by Synapse's signedjson library (Debian
 * python3-signedjson) with the RFC 8032 test-1 seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "federation/server_keys.h"
#include "homeserver/events/event_sign.h"

static const unsigned char seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };

static const char synapse_doc[] =
	"{\"server_name\": \"origin.example\", \"valid_until_ts\": 1700086400000, \"verify_keys\": "
	"{\"ed25519:a_test\": {\"key\": \"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}}, "
	"\"old_verify_keys\": {}, \"signatures\": {\"origin.example\": {\"ed25519:a_test\": "
	"\"KNbNLMG3EUTUaD1yyvbXTFWOjChUFX3BQgGjGcPco5bz79l8J9t9jE6AssD3aROjSrlEMVPGElfTr68NKi9IBw\"}}}";

static void test_build_matches_signedjson(void **state)
{
	struct scop_ed25519 key;
	json_t *doc, *ref;
	(void)state;
	assert_int_equal(scop_ed25519_from_seed(&key, seed, "a_test"), 0);
	doc = server_keys_build("origin.example", &key, 1700086400000LL, NULL, 0);
	ref = json_loads(synapse_doc, 0, NULL);
	assert_non_null(doc);
	assert_non_null(ref);
	assert_true(json_equal(doc, ref));
	json_decref(doc);
	json_decref(ref);
}

static void test_verify_accepts_and_returns_keys(void **state)
{
	struct scop_ed25519 key, old;
	struct server_key keys[4];
	struct server_old_key o = { "ed25519:old", { 0 }, 1600000000000LL };
	size_t n;
	char err[128];
	json_t *doc;
	(void)state;
	assert_int_equal(scop_ed25519_from_seed(&key, seed, "a_test"), 0);
	assert_int_equal(scop_ed25519_generate(&old, "old"), 0);
	memcpy(o.pub, old.pub, 32);
	doc = server_keys_build("origin.example", &key, 1700086400000LL, &o, 1);
	assert_int_equal(server_keys_verify(doc, "origin.example", NULL, NULL, NULL, keys, 4, &n,
					    err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0].key_id, "ed25519:a_test");
	assert_memory_equal(keys[0].pub, key.pub, 32);
	assert_int_equal(keys[0].valid_until_ts, 1700086400000LL);
	assert_true(keys[1].old);
	assert_int_equal(keys[1].expired_ts, 1600000000000LL);
	/* Room for one key only: refused rather than silently cut. */
	assert_int_equal(server_keys_verify(doc, "origin.example", NULL, NULL, NULL, keys, 1, &n,
					    err, sizeof(err)), -1);
	json_decref(doc);
}

static void test_verify_rejects(void **state)
{
	struct scop_ed25519 key, other;
	struct server_key keys[4];
	size_t n;
	char err[128];
	json_t *doc;
	(void)state;
	assert_int_equal(scop_ed25519_from_seed(&key, seed, "a_test"), 0);
	assert_int_equal(scop_ed25519_generate(&other, "other"), 0);

	doc = json_loads(synapse_doc, 0, NULL);
	assert_int_equal(server_keys_verify(doc, "evil.example", NULL, NULL, NULL, keys, 4, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "server_name"));
	/* Changing anything after signing breaks the signature. */
	json_object_set_new(doc, "valid_until_ts", json_integer(1900000000000LL));
	assert_int_equal(server_keys_verify(doc, "origin.example", NULL, NULL, NULL, keys, 4, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not verify"));
	json_decref(doc);

	/* Signed by a key the document does not list. */
	doc = server_keys_build("origin.example", &key, 1700086400000LL, NULL, 0);
	json_sign(doc, "origin.example", &other);
	assert_int_equal(server_keys_verify(doc, "origin.example", NULL, NULL, NULL, keys, 4, &n, err, sizeof(err)), -1);
	json_decref(doc);

	/* Not signed at all. */
	doc = server_keys_build("origin.example", &key, 1700086400000LL, NULL, 0);
	json_object_del(doc, "signatures");
	assert_int_equal(server_keys_verify(doc, "origin.example", NULL, NULL, NULL, keys, 4, &n, err, sizeof(err)), -1);
	json_decref(doc);

	/* Wrong key length, wrong types. */
	doc = json_pack("{s:s, s:I, s:{s:{s:s}}}", "server_name", "origin.example", "valid_until_ts",
			(json_int_t)1, "verify_keys", "ed25519:a", "key", "AAAA");
	assert_int_equal(server_keys_verify(doc, "origin.example", NULL, NULL, NULL, keys, 4, &n, err, sizeof(err)), -1);
	json_decref(doc);
	/* A key string longer than 32 bytes' worth (found by fuzz_server_keys:
	 * it used to be decoded straight past the 32-byte field). */
	doc = json_pack("{s:s, s:I, s:{s:{s:s}}}", "server_name", "origin.example", "valid_until_ts",
			(json_int_t)1, "verify_keys", "ed25519:a", "key",
			"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo");
	assert_int_equal(server_keys_verify(doc, "origin.example", NULL, NULL, NULL, keys, 4, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "32-byte"));
	json_decref(doc);
	doc = json_pack("{s:s, s:s}", "server_name", "origin.example", "valid_until_ts", "soon");
	assert_int_equal(server_keys_verify(doc, "origin.example", NULL, NULL, NULL, keys, 4, &n, err, sizeof(err)), -1);
	json_decref(doc);
}

static void test_notary_signature(void **state)
{
	struct scop_ed25519 key, notary;
	struct server_key keys[4];
	size_t n;
	char err[128];
	json_t *doc;
	(void)state;
	assert_int_equal(scop_ed25519_from_seed(&key, seed, "a_test"), 0);
	assert_int_equal(scop_ed25519_generate(&notary, "n1"), 0);
	doc = server_keys_build("origin.example", &key, 1700086400000LL, NULL, 0);
	assert_int_equal(server_keys_verify(doc, "origin.example", "notary.example", notary.key_id,
					    notary.pub, keys, 4, &n, err, sizeof(err)), -1);
	assert_int_equal(json_sign(doc, "notary.example", &notary), 0);
	assert_int_equal(server_keys_verify(doc, "origin.example", "notary.example", notary.key_id,
					    notary.pub, keys, 4, &n, err, sizeof(err)), 0);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_matches_signedjson),
		cmocka_unit_test(test_verify_accepts_and_returns_keys),
		cmocka_unit_test(test_verify_rejects),
		cmocka_unit_test(test_notary_signature),
	};
	return cmocka_run_group_tests_name("server_keys", tests, NULL, NULL);
}
