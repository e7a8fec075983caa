/* Fuzzes the SRV RDATA parser (answers come from any DNS server). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "federation/resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fed_srv s;
	if (fed_srv_parse_rdata(data, size, &s) == 0 && strlen(s.target) >= sizeof(s.target))
		abort();
	return 0;
}
