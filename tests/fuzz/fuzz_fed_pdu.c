/* Fuzzes the checks on receipt of a PDU.  Input: a version byte, then a
 * JSON array [pdu, other events...].  The other events serve as the store
 * (looked up by their computed IDs) and as both room states; every server
 * signs with one fixed key, so seeds made with it reach the auth rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "federation/pdu_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_EVENTS 12

struct store {
	const struct room_version *rv;
	const json_t *ev[FUZZ_MAX_EVENTS];
	char id[FUZZ_MAX_EVENTS][EVENT_ID_BUF];
	size_t n;
	unsigned char pub[32];
};

static int key_cb(void *arg, const char *server, const char *key_id, int64_t ts, unsigned char pub[32])
{
	struct store *s = arg;
	(void)server;
	(void)ts;
	if (strcmp(key_id, "ed25519:fuzz") != 0)
		return -1;
	memcpy(pub, s->pub, 32);
	return 0;
}

static const json_t *event_cb(void *arg, const char *id, int *rejected)
{
	struct store *s = arg;
	*rejected = 0;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->id[i], id) == 0)
			return s->ev[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const versions[] = { "1", "3", "4", "5", "6", "10", "11", "12" };
	struct store s;
	struct scop_ed25519 key;
	unsigned char seed[32];
	struct pdu_check_result res;
	json_t *arr;

	if (size < 1)
		return 0;
	memset(&s, 0, sizeof(s));
	s.rv = room_version_get(versions[data[0] % 8]);
	memset(seed, 7, sizeof(seed));
	if (!s.rv || scop_ed25519_from_seed(&key, seed, "fuzz") < 0)
		return 0;
	memcpy(s.pub, key.pub, 32);
	arr = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		json_decref(arr);
		return 0;
	}
	for (size_t i = 1; i < json_array_size(arr) && s.n < FUZZ_MAX_EVENTS; i++) {
		const json_t *e = json_array_get(arr, i);
		if (event_compute_id(s.rv, e, s.id[s.n]) == 0)
			s.ev[s.n++] = e;
	}
	struct auth_list al = { s.ev, s.n };
	struct auth_state st = { auth_list_lookup, NULL, &al };
	struct pdu_check_ctx ctx = { key_cb, &s, event_cb, &s, &st, data[0] & 0x80 ? &st : NULL };
	(void)pdu_check(s.rv, json_array_get(arr, 0), &ctx, &res);
	pdu_check_result_clear(&res);
	json_decref(arr);
	return 0;
}
