/* Fuzzes the server-name parser and the well-known body parser with the
 * same input, and runs discovery on it as a server name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "federation/discovery.h"
#include "federation/server_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int no_wk(void *ctx, const char *h, char **b, size_t *l)
{
	(void)ctx, (void)h, (void)b, (void)l;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fed_discovery_ops ops = { no_wk, NULL };
	struct server_name sn;
	struct fed_target t;
	char out[256], err[64];
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)server_name_parse(s, &sn);
	(void)fed_discover(s, &ops, NULL, &t, err, sizeof(err));
	(void)fed_well_known_parse(s, size, out, sizeof(out));
	free(s);
	return 0;
}
