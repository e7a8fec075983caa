/* Fuzzes the DKIM-Signature parser, and, with the input taken as a whole
 * message, the header splitter, canonicalization, b= stripping and
 * verification (against the fixed RFC 8463 Ed25519 key, no DNS). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dkim_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_sig sig;
	struct dkim_taglist tl;
	struct dkim_verify_opts o = {
		.key_record = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		.now = 1528637909,
	};
	struct dkim_result *res = NULL;
	size_t n = 0;
	char err[128];

	if (size > 65536)
		return 0;
	(void)dkim_tags_parse((const char *)data, size, &tl, err, sizeof(err));
	if (dkim_sig_parse((const char *)data, size, &sig, err, sizeof(err)) == 0)
		dkim_sig_free(&sig);
	if (dkim_verify(&o, (const char *)data, size, &res, &n) == 0)
		free(res);
	return 0;
}
