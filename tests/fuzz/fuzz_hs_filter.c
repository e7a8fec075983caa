/* libFuzzer harness for the client input the room endpoints parse: event
 * filters (both shapes) and stream tokens.  Parsing must never crash, and
 * a parsed filter must be usable for matching. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct room_filter f;
	char *s = malloc(size + 1);
	int64_t pos;
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	room_filter_init(&f);
	for (int sync = 0; sync < 2; sync++) {
		if (room_filter_parse(&f, s, size, sync) == 0) {
			json_t *ev = json_pack("{s:s}", "type", "m.room.message");
			(void)room_filter_match(&f, ev);
			json_decref(ev);
			if (f.limit < 0 || f.limit > FILTER_MAX_LIMIT)
				abort();
		}
		room_filter_clear(&f);
	}
	if (sync_token_parse(s, &pos) == 0 && pos < 0)
		abort();
	{
		int64_t x;
		if (sync_token_parse2(s, &pos, &x) == 0 && (pos < 0 || x < 0))
			abort();
	}
	free(s);
	return 0;
}
