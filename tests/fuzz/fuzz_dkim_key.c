/* Fuzzes the DKIM key record parser (tag list, flags, base64, DER). */
#include <stddef.h>
#include <stdint.h>

#include "bridge-smtp/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_key key;
	char err[128];

	if (size > 16384)
		return 0;
	if (dkim_key_parse((const char *)data, size, &key, err, sizeof(err)) == 0)
		dkim_key_free(&key);
	return 0;
}
