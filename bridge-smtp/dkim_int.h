/* Internal to the DKIM modules: what signing and verifying share. */
#ifndef SCOP_DKIM_INT_H
#define SCOP_DKIM_INT_H

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dkim_arena.h"
#include "bridge-smtp/dkim_rsa.h"
#include "bridge-smtp/mailhdr.h"

#include <string.h>

/* Copies the string src into dst[size], cut short if need be.  Plain
 * copies rather than snprintf("%s"): five of them per signature were a
 * visible part of verifying a small message. */
static inline void dkim_copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n > size - 1)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* SHA-256 over the canonical forms of the fields named in names (each
 * name takes the last not yet used instance, bottom-up; a name with none
 * left adds nothing), then of sigfield (the DKIM-Signature field being
 * signed or verified, its b= value removed) without its final CRLF. */
int dkim_header_hash(enum dkim_canon c, const struct mailhdr *h, const char *const *names,
		     size_t nnames, const char *sigfield, size_t siglen, unsigned char digest[32]);
/* The same with a SHA-256 fetched beforehand (NULL: EVP_sha256()), which
 * spares OpenSSL 3's implicit fetch per call. */
int dkim_header_hash_md(enum dkim_canon c, const struct mailhdr *h, const char *const *names, size_t nnames,
			const char *sigfield, size_t siglen, const EVP_MD *sha256, unsigned char digest[32]);

/* dkim_sig_parse with h= and b= allocated from arena (NULL: malloc):
 * then dkim_sig_free must not be called, the arena's reset frees them. */
int dkim_sig_parse_arena(const char *value, size_t len, struct dkim_sig *sig, struct dkim_arena *arena, char *err,
			 size_t errlen);

/* Decodes base64 with FWS anywhere in it (folded tag values) into
 * out[outmax]: the length, -1 when it is not base64, -2 when it might not
 * fit (base64_decoded_max of its length without FWS exceeds outmax). */
long dkim_b64_fws_decode(const char *s, size_t n, unsigned char *out, size_t outmax);

/* The same as dkim_header_hash_md with what a signer or verifier keeps
 * between messages: md, a digest context (initialized here with sha256,
 * NULL meaning EVP_sha256()), and scratch, a buffer for the canonical
 * fields (reset here; its memory is kept). */
int dkim_header_hash_ctx(enum dkim_canon c, const struct mailhdr *h, const char *const *names, size_t nnames,
			 const char *sigfield, size_t siglen, const EVP_MD *sha256, EVP_MD_CTX *md,
			 struct buf *scratch, unsigned char digest[32]);

/* Copies the DKIM-Signature field raw[len] into out with the b= tag's
 * value (and the white space around it) removed.  -1 when there is no b=.
 * The verifier cuts the same span with struct dkim_sig's b_start/b_end
 * (kept from the one parse); the tests hold the two to agreement. */
int dkim_strip_b(const char *raw, size_t len, struct buf *out);

/* Sign / verify the 32-byte header hash: RSA PKCS#1 v1.5 with SHA-256, or
 * Ed25519 over the hash itself (RFC 8463 section 3). */
/* The same into sig[*siglen] (64 bytes for Ed25519, EVP_PKEY_get_size
 * for RSA); *siglen gets the length. */
int dkim_crypto_sign_buf(struct dkim_privkey *key, const unsigned char digest[32], unsigned char *sig,
			 size_t *siglen);
int dkim_crypto_sign(struct dkim_privkey *key, const unsigned char digest[32], unsigned char **sig, size_t *siglen);
int dkim_crypto_verify(struct dkim_key *key, const unsigned char digest[32], const unsigned char *sig, size_t siglen);

/* ---- What ARC (arc*.c) shares with DKIM ---- */

#define DKIM_ARC_MAX_INSTANCE 50

/* An ARC-Message-Signature value: the same as dkim_sig_parse_arena but
 * with no v= and with i= the instance (1..50) into *instance; identity
 * is "@" d=. */
int dkim_sig_parse_ams(const char *value, size_t len, struct dkim_sig *sig, struct dkim_arena *arena, int *instance,
		       char *err, size_t errlen);

struct dkim_tag;
/* A tag value that is a domain name or selector into out[outsz]
 * (lower-cased when lower), without a final root dot; -1 when malformed. */
int dkim_tag_copy_name(const struct dkim_tag *t, char *out, size_t outsz, int lower);

/* The key for selector and domain under the verifier options o (fixed
 * record, key cache, DNS), parsed into local unless cached; NULL with r's
 * status and reason set when there is none (temperror/permerror). */
struct dkim_key *dkim_key_lookup(const struct dkim_verify_opts *o, const char *selector, const char *domain,
				 struct dkim_key *local, struct dkim_result *r);
/* 0 when key may verify a signature with algo, else -1 with r set
 * (revoked, wrong type, h= without sha256, s= without email). */
int dkim_key_usable(const struct dkim_key *key, enum dkim_algo algo, struct dkim_result *r);

/* A signer that makes ARC-Message-Signature fields of the given
 * instance instead of DKIM-Signature fields (o->identity must be NULL). */
struct dkim_signer *dkim_signer_new_ams(const struct dkim_sign_opts *o, struct dkim_privkey *key, int instance,
					char *err, size_t errlen);

struct dkim_privkey {
	EVP_PKEY *pkey;
	EVP_MD *sha256;     /* fetched once for the body and header hashes; NULL if that failed */
	EVP_PKEY_CTX *pctx; /* RSA, ready for EVP_PKEY_sign */
	EVP_MD_CTX *mctx;   /* Ed25519, ready for EVP_DigestSign */
};

/* The cached key for record rec[len], or NULL. */
struct dkim_key *dkim_keycache_get(struct dkim_keycache *c, const char *rec, size_t len);
/* Moves *key into the cache (leaving *key empty) and returns the cached
 * copy; NULL when memory runs out (then *key is untouched). */
struct dkim_key *dkim_keycache_put(struct dkim_keycache *c, const char *rec, size_t len, struct dkim_key *key);
/* The cache's SHA-256, fetched once for every message verified with it
 * (NULL if that failed: callers fall back to EVP_sha256()). */
const EVP_MD *dkim_keycache_sha256(const struct dkim_keycache *c);

#endif
