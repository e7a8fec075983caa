/* Fuzzes the query-string integer parser (?limit=). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	long v;
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (query_uint(s, size > 0 ? (long)data[0] * 7 : 0, &v) == QUERY_INT_OK &&
	    (v < 0 || v > (size > 0 ? (long)data[0] * 7 : 0)))
		abort();
	free(s);
	return 0;
}
