/* Fuzzes the X-Matrix Authorization header parser, and checks a parsed
 * header against a fixed request (signature checking must fail cleanly). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "federation/xmatrix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char pub[32] = { 1 };
	struct xmatrix_auth a;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (xmatrix_parse(s, &a) == XMATRIX_OK)
		(void)xmatrix_verify(&a, "dest.example", "GET", "/_matrix/federation/v1/version", NULL, pub);
	free(s);
	return 0;
}
