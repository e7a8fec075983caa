/* Fuzzes the parsing of client request bodies (JSON objects with a limit). */
#include <stddef.h>
#include <stdint.h>

#include "homeserver/jsonbody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;
	if (json_body_parse((const char *)data, size, 65536, size & 1, &j) == JSON_BODY_OK)
		json_decref(j);
	return 0;
}
