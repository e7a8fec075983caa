/* Fuzzes the inbound transaction shape check. */
#include <stdint.h>
#include <stdlib.h>

#include "federation/fed_txn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fed_txn t;
	char err[256];
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);

	if (fed_txn_parse(j, "origin.test", &t, err, sizeof(err)) == 0 && t.edus)
		(void)json_array_size(t.edus);
	json_decref(j);
	return 0;
}
