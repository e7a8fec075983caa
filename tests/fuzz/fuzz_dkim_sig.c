/* Fuzzes the DKIM-Signature parser, and, with the input taken as a whole
 * message, the header splitter, canonicalization, b= stripping and
 * verification (against the fixed RFC 8463 Ed25519 key, no DNS).  Then
 * signs the input with that key: whatever we sign must verify.  A
 * verifier and a signer kept from input to input (as a bridge keeps
 * them) must give exactly what fresh ones give. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dkim_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sign_then_verify(const char *msg, size_t size, const struct dkim_verify_opts *o, size_t canon)
{
	static const unsigned char seed[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
	};
	struct dkim_sign_opts so = { .domain = "football.example.com", .selector = "brisbane",
				     .hcanon = (enum dkim_canon)(canon >> 1), .bcanon = (enum dkim_canon)(canon & 1),
				     .timestamp = 1528637909 };
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	struct dkim_privkey *key = dkim_privkey_from_pkey(pk);
	struct buf out = BUF_INIT;
	struct dkim_result *res = NULL;
	size_t n = 0;

	if (!key)
		abort();
	static struct dkim_privkey *kept_key;
	static struct dkim_signer *kept[4];
	struct buf again = BUF_INIT;
	int rc;

	if (!kept_key && !(kept_key = dkim_privkey_from_pkey(pk)))
		abort();
	if (!kept[canon] && !(kept[canon] = dkim_signer_new(&so, kept_key, NULL, 0)))
		abort();
	rc = dkim_sign(&so, key, msg, size, &out, NULL, 0);
	if (dkim_signer_message(kept[canon], msg, size, &again, NULL, 0) != rc || again.len != out.len ||
	    (out.len && memcmp(again.data, out.data, out.len) != 0))
		abort();
	buf_free(&again);
	if (rc == 0 && buf_append(&out, msg, size) == 0 &&
	    dkim_verify(o, out.data, out.len, &res, &n) == 0) {
		/* n == 0 only when the extra field pushed the header past the
		 * splitter's field limit. */
		if (n > 0 && res[0].status != DKIM_PASS)
			abort();
		free(res);
	}
	buf_free(&out);
	dkim_privkey_free(key);
	EVP_PKEY_free(pk);
}

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
	static struct dkim_verifier *kept;
	const struct dkim_result *kres;
	size_t kn;
	int rc;

	if (!kept && !(kept = dkim_verifier_new(&o)))
		abort();
	rc = dkim_verify(&o, (const char *)data, size, &res, &n);
	if (dkim_verifier_message(kept, (const char *)data, size, &kres, &kn) != rc ||
	    (rc == 0 && (kn != n || (n && memcmp(kres, res, n * sizeof(*res)) != 0))))
		abort();
	if (rc == 0)
		free(res);
	sign_then_verify((const char *)data, size, &o, size % 4);
	return 0;
}
