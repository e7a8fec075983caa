/* Fuzzes the notary query body parser (POST /_matrix/key/v2/query) and
 * the answer built from it, with an empty cache and no network. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "federation/keyring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scop_ed25519 key;
	static int have_key;
	if (!have_key) {
		static const unsigned char seed[32] = { 1 };
		if (scop_ed25519_from_seed(&key, seed, "fuzz") != 0)
			return 0;
		have_key = 1;
	}
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (body == NULL)
		return 0;
	struct keyring_query_item items[8];
	size_t n = 0;
	char err[128];
	if (keyring_query_parse(body, items, 8, &n, err, sizeof(err)) == 0) {
		struct keyring_options opt = { .server_name = "fuzz.test", .key = &key };
		struct keyring *kr = keyring_new(&opt);
		if (kr != NULL) {
			json_decref(keyring_handle_query(kr, items, n));
			keyring_free(kr);
		}
	}
	json_decref(body);
	return 0;
}
