#include "federation/server_keys.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

#include "common/base64.h"
#include "homeserver/events/event_sign.h"

static json_t *key_object(const unsigned char pub[32])
{
	char b64[48];
	base64_encode(pub, 32, b64, 0);
	return json_pack("{s:s}", "key", b64);
}

json_t *server_keys_build(const char *server_name, const struct scop_ed25519 *key,
			  int64_t valid_until_ts, const struct server_old_key *old, size_t n_old)
{
	json_t *doc = json_pack("{s:s, s:I, s:{s:o}, s:{}}", "server_name", server_name,
				"valid_until_ts", (json_int_t)valid_until_ts,
				"verify_keys", key->key_id, key_object(key->pub),
				"old_verify_keys");
	json_t *olds;

	if (!doc)
		return NULL;
	olds = json_object_get(doc, "old_verify_keys");
	for (size_t i = 0; i < n_old; i++) {
		json_t *k = key_object(old[i].pub);
		if (!k || json_object_set_new(k, "expired_ts", json_integer(old[i].expired_ts)) < 0 ||
		    json_object_set_new(olds, old[i].key_id, k) < 0) {
			json_decref(doc);
			return NULL;
		}
	}
	if (json_sign(doc, server_name, key) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

#define FAIL(...) return scop_err(err, errlen, __VA_ARGS__)

/* Adds the keys of one section (verify_keys or old_verify_keys). */
static int take_keys(json_t *section, int old, int64_t valid_until, struct server_key *keys,
		     size_t max, size_t *count, char *err, size_t errlen)
{
	const char *id;
	json_t *v;

	if (!section)
		return 0;
	if (!json_is_object(section))
		FAIL("%s is not an object", old ? "old_verify_keys" : "verify_keys");
	json_object_foreach(section, id, v) {
		const char *b64 = json_string_value(json_object_get(v, "key"));
		struct server_key *k;
		long n;

		if (*count >= max)
			FAIL("too many keys");
		k = &keys[*count];
		memset(k, 0, sizeof(*k));
		if (strncmp(id, "ed25519:", 8) != 0 || strlen(id) >= sizeof(k->key_id))
			continue; /* other algorithms: not ours to use */
		if (!b64)
			FAIL("key %s has no key string", id);
		n = base64_decode(b64, strlen(b64), k->pub, sizeof(k->pub), BASE64_PAD_OPTIONAL);
		if (n != 32)
			FAIL("key %s is not a 32-byte Ed25519 key", id);
		strcpy(k->key_id, id);
		k->old = old;
		if (old) {
			json_t *e = json_object_get(v, "expired_ts");
			if (!json_is_integer(e))
				FAIL("old key %s has no expired_ts", id);
			k->expired_ts = json_integer_value(e);
		} else {
			k->valid_until_ts = valid_until;
		}
		(*count)++;
	}
	return 0;
}

int server_keys_verify(const json_t *doc, const char *expected_server,
		       const char *notary, const char *notary_key_id, const unsigned char *notary_pub,
		       struct server_key *keys, size_t max, size_t *count, char *err, size_t errlen)
{
	json_t *vu = json_object_get(doc, "valid_until_ts");
	json_t *sigs, *mine;
	const char *sname = json_string_value(json_object_get(doc, "server_name"));
	const char *id;
	json_t *v;
	size_t n_current;
	int signed_by_self = 0;

	*count = 0;
	if (!json_is_object(doc))
		FAIL("key document is not an object");
	if (!sname || strcmp(sname, expected_server) != 0)
		FAIL("server_name does not match %s", expected_server);
	if (!json_is_integer(vu))
		FAIL("valid_until_ts is missing or not an integer");
	if (take_keys(json_object_get(doc, "verify_keys"), 0, json_integer_value(vu), keys, max,
		      count, err, errlen) < 0)
		return -1;
	n_current = *count;
	if (take_keys(json_object_get(doc, "old_verify_keys"), 1, 0, keys, max, count, err, errlen) < 0)
		return -1;
	sigs = json_object_get(doc, "signatures");
	mine = json_object_get(sigs, expected_server);
	if (!json_is_object(mine))
		FAIL("not signed by %s", expected_server);
	/* Every signature the server put on its own document must be by one
	 * of its current keys and must verify: a document partly signed by
	 * an unknown key is not accepted. */
	json_object_foreach(mine, id, v) {
		size_t i;
		if (strncmp(id, "ed25519:", 8) != 0)
			continue;
		for (i = 0; i < n_current; i++)
			if (strcmp(keys[i].key_id, id) == 0)
				break;
		if (i == n_current)
			FAIL("signed with %s, which is not among its verify_keys", id);
		if (json_verify(doc, expected_server, id, keys[i].pub) < 0)
			FAIL("signature by %s does not verify", id);
		signed_by_self = 1;
	}
	if (!signed_by_self)
		FAIL("no Ed25519 signature by %s", expected_server);
	if (notary && strcmp(notary, expected_server) != 0 &&
	    (!notary_key_id || !notary_pub || json_verify(doc, notary, notary_key_id, notary_pub) < 0))
		FAIL("notary signature by %s does not verify", notary);
	return 0;
}
