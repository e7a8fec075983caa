/* Fuzzes the ARC parsers: the input as an ARC-Seal value and an
 * ARC-Authentication-Results value, then as a whole message whose ARC
 * fields are collected into sets and whose chain is verified (against
 * the fixed RFC 8463 Ed25519 key, no DNS).  Then seals the input with
 * that key: a chain that was none or pass must pass once sealed.  A
 * verifier kept from input to input must agree with a fresh one. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bridge-smtp/arc.h"
#include "bridge-smtp/mailhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

static const struct arc_verify_opts opts = {
	.key_record = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
};

static void check_chain(const char *msg, size_t size)
{
	struct mailhdr h = { 0 };
	struct arc_chain c;

	if (mailhdr_split(msg, size, &h) == 0) {
		arc_chain_collect(&h, &c);
		if (c.count < 0 || c.count > ARC_MAX_INSTANCES)
			abort();
		for (int i = 1; i <= c.count && !c.malformed; i++) {
			if (!c.set[i][ARC_AAR] || !c.set[i][ARC_AMS] || !c.set[i][ARC_AS])
				abort();
		}
	}
	mailhdr_free(&h);
}

static void seal_then_verify(const char *msg, size_t size, enum arc_status before)
{
	static struct dkim_privkey *key;
	static struct arc_verifier *v;
	struct arc_seal_opts so = { .domain = "football.example.com", .selector = "brisbane", .timestamp = 1528637909 };
	const struct arc_result *r;
	struct authres ar;
	struct buf out = BUF_INIT;

	if (!key) {
		EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
		if (!pk || !(key = dkim_privkey_from_pkey(pk)))
			abort();
		EVP_PKEY_free(pk);
	}
	if (!v && !(v = arc_verifier_new(&opts)))
		abort();
	memset(&ar, 0, sizeof(ar));
	memcpy(ar.authserv_id, "mx.example", 11);
	authres_add(&ar, "arc", arc_status_name(before), NULL);
	if (arc_seal(&so, key, &ar, before, msg, size, &out, NULL, 0) == 0 && buf_append(&out, msg, size) == 0) {
		if (arc_verifier_message(v, out.data, out.len, &r) < 0)
			abort();
		/* none only when the new fields pushed the header past the
		 * splitter's field limit */
		if (r->status == ARC_FAIL)
			abort();
	}
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arc_verifier *kept;
	struct arc_verifier *fresh;
	const struct arc_result *a, *b;
	struct arc_seal_tags st;
	const char *msg = (const char *)data;
	char err[128];
	int ra, rb;

	if (size > 65536)
		return 0;
	(void)arc_seal_parse(msg, size, &st, err, sizeof(err));
	(void)arc_aar_instance(msg, size);
	check_chain(msg, size);
	if (!kept && !(kept = arc_verifier_new(&opts)))
		abort();
	if (!(fresh = arc_verifier_new(&opts)))
		abort();
	ra = arc_verifier_message(kept, msg, size, &a);
	rb = arc_verifier_message(fresh, msg, size, &b);
	if (ra != rb || (ra == 0 && (a->status != b->status || a->count != b->count ||
				     a->oldest_pass != b->oldest_pass || strcmp(a->reason, b->reason) != 0)))
		abort();
	if (ra == 0 && a->status != ARC_FAIL)
		seal_then_verify(msg, size, a->status);
	arc_verifier_free(fresh);
	return 0;
}
