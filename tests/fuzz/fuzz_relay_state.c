/* Fuzzes the relay's delivery-record parser: a record damaged on disk
 * must be refused, never misread past its bounds.  The first byte picks
 * the expected recipient count. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bridge-smtp/relay_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = data[0] % 8;
	struct relay_state st;
	if (relay_state_parse((const char *)data + 1, size - 1, n, &st) == 0) {
		if (st.n != n)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (st.rcpts[i].state > RELAY_BOUNCED || strlen(st.rcpts[i].text) >= sizeof(st.rcpts[i].text))
				__builtin_trap();
		relay_state_free(&st);
	}
	return 0;
}
