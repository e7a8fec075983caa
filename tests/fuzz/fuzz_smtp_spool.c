/* Fuzzes the queue-file parser (files are ours, but a damaged disk or a
 * bug elsewhere must not crash start-up). */
#include <stddef.h>
#include <stdint.h>

#include "bridge-smtp/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_message m;
	if (spool_parse((const char *)data, size, &m) == 0)
		spool_message_free(&m);
	return 0;
}
