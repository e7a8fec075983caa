/* RSA PKCS#1 v1.5 verification of SHA-256 digests, done with OpenSSL's
 * Montgomery arithmetic instead of EVP_PKEY_verify.
 *
 * Why: on OpenSSL 3.0 an RSA-2048 verification through EVP costs ~2 µs
 * more than the public operation itself (provider dispatch, a BN_CTX and
 * buffers allocated per call, a general modular exponentiation for
 * e = 65537), about a tenth of the whole DKIM verification.  Here the
 * per-key work (modulus, Montgomery context, the expected encoding up to
 * the digest) is done once, and e = 65537 is 16 squarings and one
 * multiplication.  Everything is public, so nothing needs constant time.
 *
 * The check is the one RFC 8017 §8.2.2 recommends: the signature's
 * integer s must be below n, s^e mod n is encoded to k bytes and compared
 * with the whole expected EMSA-PKCS1-v1_5 encoding (00 01 FF.. 00
 * DigestInfo(SHA-256) H); nothing of the decrypted block is parsed.  The
 * signature must be exactly k bytes long, as OpenSSL's RSA_verify and
 * RFC 8017 require.
 *
 * Contract: a context is used by one thread at a time (it keeps a BN_CTX
 * and scratch numbers); it holds its own copies, not the EVP_PKEY.
 */
#ifndef SCOP_DKIM_RSA_H
#define SCOP_DKIM_RSA_H

#include <stddef.h>

#include <openssl/evp.h>

struct dkim_rsa_pub;

/* NULL if pkey is not RSA, or its modulus is not 1024..8192 bits and odd,
 * or e is even, under 3, over 64 bits or not below n (keys no signer
 * makes, and a large e would make each verification arbitrarily slow),
 * or out of memory. */
struct dkim_rsa_pub *dkim_rsa_pub_new(EVP_PKEY *pkey);
void dkim_rsa_pub_free(struct dkim_rsa_pub *pub);

/* 0 when sig is a valid signature of digest; -1 otherwise (a bad
 * signature and an internal failure alike). */
int dkim_rsa_verify(struct dkim_rsa_pub *pub, const unsigned char digest[32], const unsigned char *sig,
		    size_t siglen);

#endif
