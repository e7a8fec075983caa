/* What signing and verifying share: the header hash and the crypto. */
#include "bridge-smtp/dkim_int.h"
#include "bridge-smtp/dkim_tags.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rsa.h>

/* ASCII case-insensitive, inline: names are short, and strncasecmp is a
 * call and a locale table per byte. */
static int same_name(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x != y && ((x | 0x20) != (y | 0x20) || (unsigned char)((x | 0x20) - 'a') > 'z' - 'a'))
			return 0;
	}
	return 1;
}

int dkim_header_hash(enum dkim_canon c, const struct mailhdr *h, const char *const *names,
		     size_t nnames, const char *sigfield, size_t siglen, unsigned char digest[32])
{
	return dkim_header_hash_md(c, h, names, nnames, sigfield, siglen, NULL, digest);
}

int dkim_header_hash_md(enum dkim_canon c, const struct mailhdr *h, const char *const *names, size_t nnames,
			const char *sigfield, size_t siglen, const EVP_MD *sha256, unsigned char digest[32])
{
	struct buf b = BUF_INIT;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = md ? dkim_header_hash_ctx(c, h, names, nnames, sigfield, siglen, sha256, md, &b, digest) : -1;

	buf_free(&b);
	EVP_MD_CTX_free(md);
	return rc;
}

/* The first 8 bytes of a name, ASCII lower-cased, packed: one compare
 * settles most name pairs.  Never all ones (names are bytes 33..126),
 * which marks a field already taken. */
#define KEY_USED UINT64_MAX
static uint64_t name_key(const char *s, size_t n)
{
	uint64_t key = 0;

	for (size_t i = 0; i < n && i < 8; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		key |= (uint64_t)c << (8 * i);
	}
	return key;
}

int dkim_header_hash_ctx(enum dkim_canon c, const struct mailhdr *h, const char *const *names, size_t nnames,
			 const char *sigfield, size_t siglen, const EVP_MD *sha256, EVP_MD_CTX *md,
			 struct buf *b, unsigned char digest[32])
{
	uint64_t keys_small[64];
	uint64_t *keys = h->count <= 64 ? keys_small : malloc(h->count * sizeof(*keys));
	unsigned int dl = 0;
	int rc = -1;

	if (!keys)
		return -1;
	for (size_t k = 0; k < h->count; k++)
		keys[k] = name_key(h->fields[k].name, h->fields[k].name_len);
	buf_reset(b);
	for (size_t i = 0, from = 0, prev_nl = 0; i < nnames; i++) {
		size_t nl = strlen(names[i]), k;
		uint64_t nk = name_key(names[i], nl);
		/* The same name again (oversigning lists each name once more
		 * than it occurs): its next instance can only be above the one
		 * taken last, and when none was found none is left. */
		if (i == 0 || nl != prev_nl || !same_name(names[i - 1], names[i], nl))
			from = h->count;
		prev_nl = nl;
		/* Bottom-up, the first instance not taken yet.  (A name
		 * whose key is KEY_USED has bytes no field name has.) */
		for (k = nk == KEY_USED ? 0 : from; k-- > 0;) {
			const struct mailhdr_field *f = &h->fields[k];
			if (keys[k] != nk || f->name_len != nl || (nl > 8 && !same_name(f->name + 8, names[i] + 8, nl - 8)))
				continue;
			keys[k] = KEY_USED;
			/* All fields go to one buffer and the hash in one call. */
			if (dkim_canon_header(c, f->raw, f->raw_len, b) < 0)
				goto out;
			break;
		}
		from = k == (size_t)-1 ? 0 : k;
	}
	if (dkim_canon_header(c, sigfield, siglen, b) < 0 || b->len < 2 ||
	    EVP_DigestInit_ex(md, sha256 ? sha256 : EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, b->data, b->len - 2) != 1 ||
	    EVP_DigestFinal_ex(md, digest, &dl) != 1 || dl != 32)
		goto out;
	rc = 0;
out:
	if (keys != keys_small)
		free(keys);
	return rc;
}

int dkim_strip_b(const char *raw, size_t len, struct buf *out)
{
	const char *colon = memchr(raw, ':', len);
	struct dkim_taglist tl;
	const struct dkim_tag *t;
	size_t voff, start, end;

	if (!colon)
		return -1;
	voff = (size_t)(colon + 1 - raw);
	if (dkim_tags_parse(colon + 1, len - voff, &tl, NULL, 0) < 0 || !(t = dkim_tags_get(&tl, "b")))
		return -1;
	/* From just after "b=" to the end of the tag-spec: the value and all
	 * white space around it. */
	start = voff + t->value_off;
	while (start > 0 && raw[start - 1] != '=')
		start--;
	end = voff + t->end_off;
	/* end_off stops at ';' or the end of the value, which for the last tag
	 * includes the field's CRLF: keep that. */
	if (end == len && len >= 2 && raw[len - 2] == '\r' && raw[len - 1] == '\n')
		end = len - 2;
	buf_reset(out);
	if (buf_append(out, raw, start) < 0 || buf_append(out, raw + end, len - end) < 0)
		return -1;
	return 0;
}

/* The contexts are set up once per key: with OpenSSL 3 that setup (a
 * provider fetch) costs about as much as an Ed25519 signature. */
int dkim_crypto_sign_buf(struct dkim_privkey *key, const unsigned char digest[32], unsigned char *sig,
			 size_t *siglen)
{
	int ed = EVP_PKEY_get_base_id(key->pkey) == EVP_PKEY_ED25519;

	if (ed && !key->mctx) {
		if (!(key->mctx = EVP_MD_CTX_new()) || EVP_DigestSignInit(key->mctx, NULL, NULL, NULL, key->pkey) != 1)
			goto reset;
	} else if (!ed && !key->pctx) {
		if (!(key->pctx = EVP_PKEY_CTX_new(key->pkey, NULL)) || EVP_PKEY_sign_init(key->pctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(key->pctx, RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(key->pctx, EVP_sha256()) != 1)
			goto reset;
	}
	if (*siglen < (ed ? 64 : (size_t)EVP_PKEY_get_size(key->pkey)))
		return -1;
	if (ed ? EVP_DigestSign(key->mctx, sig, siglen, digest, 32) == 1
	       : EVP_PKEY_sign(key->pctx, sig, siglen, digest, 32) == 1)
		return 0;
reset:
	/* Start afresh next time rather than trust a context in error. */
	EVP_MD_CTX_free(key->mctx);
	EVP_PKEY_CTX_free(key->pctx);
	key->mctx = NULL;
	key->pctx = NULL;
	return -1;
}

int dkim_crypto_sign(struct dkim_privkey *key, const unsigned char digest[32], unsigned char **sig, size_t *siglen)
{
	int ed = EVP_PKEY_get_base_id(key->pkey) == EVP_PKEY_ED25519;

	*siglen = ed ? 64 : (size_t)EVP_PKEY_get_size(key->pkey);
	if (!(*sig = malloc(*siglen)))
		return -1;
	if (dkim_crypto_sign_buf(key, digest, *sig, siglen) == 0)
		return 0;
	free(*sig);
	*sig = NULL;
	return -1;
}

int dkim_crypto_verify(struct dkim_key *key, const unsigned char digest[32], const unsigned char *sig, size_t siglen)
{
	if (EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_ED25519)
		return dkim_rsa_verify(key->rsa, digest, sig, siglen);
	if (!key->vmd &&
	    (!(key->vmd = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(key->vmd, NULL, NULL, NULL, key->pkey) != 1)) {
		EVP_MD_CTX_free(key->vmd);
		key->vmd = NULL;
		return -1;
	}
	return EVP_DigestVerify(key->vmd, sig, siglen, digest, 32) == 1 ? 0 : -1;
}
