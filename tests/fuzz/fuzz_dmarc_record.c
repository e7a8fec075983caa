/* Fuzzes the DMARC record parser, and the public suffix list's loader and
 * organizational-domain lookup (the input as a list, then as a name). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge-smtp/dmarc.h"
#include "bridge-smtp/pubsuffix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char rules[] = "com\nuk\nco.uk\n*.ck\n!www.ck\n";
	struct dmarc_record rec;
	struct psl *psl;
	char err[128], out[256], *name;

	if (size > 16384)
		return 0;
	(void)dmarc_record_parse((const char *)data, size, &rec, err, sizeof(err));
	if ((psl = psl_load_buffer((const char *)data, size, NULL, 0))) {
		(void)psl_org_domain(psl, "a.b.example.co.uk", out, sizeof(out));
		psl_free(psl);
	}
	if ((name = malloc(size + 1))) {
		memcpy(name, data, size);
		name[size] = '\0';
		if ((psl = psl_load_buffer(rules, sizeof(rules) - 1, NULL, 0))) {
			(void)psl_org_domain(psl, name, out, sizeof(out));
			(void)dmarc_aligned(psl, name, "example.co.uk", DMARC_ALIGN_RELAXED);
			psl_free(psl);
		}
		free(name);
	}
	return 0;
}
