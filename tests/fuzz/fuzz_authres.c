/* Fuzzes the Authentication-Results parser.  Whatever parses must write
 * out and parse back to the same results. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge-smtp/authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct authres *a, const struct authres *b)
{
	if (strcmp(a->authserv_id, b->authserv_id) || a->version != b->version || a->count != b->count)
		return 0;
	for (size_t i = 0; i < a->count; i++) {
		const struct authres_result *x = &a->results[i], *y = &b->results[i];
		if (strcmp(x->method, y->method) || strcmp(x->version, y->version) ||
		    strcmp(x->result, y->result) || strcmp(x->reason, y->reason) || x->nprops != y->nprops)
			return 0;
		for (size_t k = 0; k < x->nprops; k++) {
			if (strcmp(x->props[k].ptype, y->props[k].ptype) ||
			    strcmp(x->props[k].property, y->props[k].property) ||
			    strcmp(x->props[k].value, y->props[k].value))
				return 0;
		}
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct authres a, b;
	struct buf out = BUF_INIT;
	const char *prefix = "Authentication-Results:";

	if (size > 16384)
		return 0;
	(void)authres_claims((const char *)data, size, "mx.example.com");
	if (authres_parse((const char *)data, size, &a) != 0)
		return 0;
	if (authres_write(&a, &out) != 0)
		abort();
	if (authres_parse(out.data + strlen(prefix), out.len - strlen(prefix) - 2, &b) != 0 || !same(&a, &b))
		abort();
	buf_free(&out);
	return 0;
}
