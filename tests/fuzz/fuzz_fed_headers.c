/* Fuzzes what the well-known fetch reads from a remote answer's headers:
 * the header lookup and the Cache-Control / Expires lifetime. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/httpc.h"
#include "federation/resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpc_response resp;
	char cc[256], exp[128];
	memset(&resp, 0, sizeof(resp));
	buf_init(&resp.headers, 0);
	if (buf_append(&resp.headers, data, size) != 0 || resp.headers.data == NULL) {
		buf_free(&resp.headers);
		return 0;
	}
	int have_cc = httpc_response_header(&resp, "Cache-Control", cc, sizeof(cc)) == 0;
	int have_exp = httpc_response_header(&resp, "Expires", exp, sizeof(exp)) == 0;
	long ttl = fed_well_known_ttl(1, have_cc ? cc : NULL, have_exp ? exp : NULL, 1700000000);
	if (ttl < 0 || ttl > 48 * 3600)
		abort();
	/* The whole input as one header value, too. */
	ttl = fed_well_known_ttl(1, resp.headers.data, resp.headers.data, 1700000000);
	if (ttl < 0 || ttl > 48 * 3600)
		abort();
	buf_free(&resp.headers);
	return 0;
}
