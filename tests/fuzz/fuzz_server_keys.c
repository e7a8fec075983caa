/* Fuzzes the checks on a fetched server key document. */
#include <stdint.h>

#include "common/canonjson.h"
#include "federation/server_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_key keys[8];
	size_t n;
	char err[128];
	json_t *doc = canonjson_parse((const char *)data, size, 0, NULL, 0);

	if (doc) {
		(void)server_keys_verify(doc, "origin.example", NULL, NULL, NULL, keys, 8, &n, err, sizeof(err));
		json_decref(doc);
	}
	return 0;
}
