/* Fuzzes the strict JSON parser and the canonical encoder: whatever parses
 * strictly must encode and re-parse to an equal tree; in either mode the
 * encoding is a fixed point (re-parse and re-encode gives the same bytes). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/canonjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int flags = 0; flags <= CANONJSON_LAX; flags++) {
		json_t *v = canonjson_parse((const char *)data, size, flags, NULL, 0), *w;
		size_t len, len2;
		char *a, *b;

		if (!v)
			continue;
		a = canonjson_dumps(v, &len, flags);
		if (!a) {
			/* Only the lax parse may yield something unencodable (reals). */
			if (!flags)
				__builtin_trap();
			json_decref(v);
			continue;
		}
		w = canonjson_parse(a, len, flags, NULL, 0);
		if (!w || (!flags && !json_equal(v, w)))
			__builtin_trap();
		b = canonjson_dumps(w, &len2, flags);
		if (!b || len != len2 || memcmp(a, b, len) != 0)
			__builtin_trap();
		free(a);
		free(b);
		json_decref(v);
		json_decref(w);
	}
	return 0;
}
