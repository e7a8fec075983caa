/* dkim_rsa.h: RSA PKCS#1 v1.5 / SHA-256 verification from Montgomery
 * multiplications. */
#include "bridge-smtp/dkim_rsa.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>

/* DER of DigestInfo { AlgorithmIdentifier { sha256, NULL }, OCTET STRING(32) }
 * up to the digest (RFC 8017 §9.2, note 1). */
static const unsigned char sha256_prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
						 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

struct dkim_rsa_pub {
	BIGNUM *n, *e;
	int e65537;
	size_t k; /* modulus length in bytes */
	BN_MONT_CTX *mont;
	BN_CTX *bn;
	BIGNUM *fix;          /* R^65537 mod n (R the Montgomery radix), see public_op */
	BIGNUM *s, *r;        /* scratch: the signature, the power */
	unsigned char *em;    /* the expected encoding, k bytes; the digest goes in its tail */
	unsigned char *got;   /* s^e mod n, k bytes */
};

void dkim_rsa_pub_free(struct dkim_rsa_pub *pub)
{
	if (!pub)
		return;
	BN_free(pub->n);
	BN_free(pub->e);
	BN_MONT_CTX_free(pub->mont);
	BN_CTX_free(pub->bn);
	BN_free(pub->fix);
	BN_free(pub->s);
	BN_free(pub->r);
	free(pub->em);
	free(pub->got);
	free(pub);
}

static int exponent_ok(const BIGNUM *e, const BIGNUM *n)
{
	return BN_is_odd(e) && BN_num_bits(e) >= 2 && BN_num_bits(e) <= 64 && BN_ucmp(e, n) < 0;
}

struct dkim_rsa_pub *dkim_rsa_pub_new(EVP_PKEY *pkey)
{
	struct dkim_rsa_pub *pub;
	int bits;

	if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA || !(pub = calloc(1, sizeof(*pub))))
		return NULL;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &pub->n) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &pub->e) != 1)
		goto fail;
	bits = BN_num_bits(pub->n);
	if (bits < 1024 || bits > 8192 || !BN_is_odd(pub->n) || !exponent_ok(pub->e, pub->n))
		goto fail;
	pub->e65537 = BN_is_word(pub->e, 65537);
	pub->k = (size_t)BN_num_bytes(pub->n);
	if (!(pub->bn = BN_CTX_new()) || !(pub->mont = BN_MONT_CTX_new()) ||
	    BN_MONT_CTX_set(pub->mont, pub->n, pub->bn) != 1 || !(pub->s = BN_new()) || !(pub->r = BN_new()) ||
	    !(pub->fix = BN_new()) || !(pub->em = malloc(pub->k)) || !(pub->got = malloc(pub->k)))
		goto fail;
	/* R mod n is 1 in Montgomery form; then R^65537. */
	if (pub->e65537 && (BN_set_word(pub->r, 1) != 1 || BN_to_montgomery(pub->r, pub->r, pub->mont, pub->bn) != 1 ||
			    BN_mod_exp(pub->fix, pub->r, pub->e, pub->n, pub->bn) != 1))
		goto fail;
	/* 00 01 FF..FF 00 DigestInfo-prefix [digest]: k >= 128 leaves far more
	 * than the 8 bytes of FF that RFC 8017 requires. */
	pub->em[0] = 0x00;
	pub->em[1] = 0x01;
	memset(pub->em + 2, 0xff, pub->k - 3 - sizeof(sha256_prefix) - 32);
	pub->em[pub->k - 33 - sizeof(sha256_prefix)] = 0x00;
	memcpy(pub->em + pub->k - 32 - sizeof(sha256_prefix), sha256_prefix, sizeof(sha256_prefix));
	return pub;
fail:
	dkim_rsa_pub_free(pub);
	return NULL;
}

/* r = s^e mod n.  For e = 65537 the signature is not converted to
 * Montgomery form: with MM(x, y) = x y R^-1 mod n, sixteen squarings of s
 * give s^65536 R^-65535, one MM by s gives s^65537 R^-65536, and one MM by
 * the per-key constant R^65537 leaves s^65537.  That is 18 products where
 * conversion in and out costs 19. */
static int public_op(struct dkim_rsa_pub *pub)
{
	if (!pub->e65537)
		return BN_mod_exp_mont(pub->r, pub->s, pub->e, pub->n, pub->bn, pub->mont) == 1 ? 0 : -1;
	if (BN_mod_mul_montgomery(pub->r, pub->s, pub->s, pub->mont, pub->bn) != 1)
		return -1;
	for (int i = 1; i < 16; i++) {
		if (BN_mod_mul_montgomery(pub->r, pub->r, pub->r, pub->mont, pub->bn) != 1)
			return -1;
	}
	if (BN_mod_mul_montgomery(pub->r, pub->r, pub->s, pub->mont, pub->bn) != 1 ||
	    BN_mod_mul_montgomery(pub->r, pub->r, pub->fix, pub->mont, pub->bn) != 1)
		return -1;
	return 0;
}

int dkim_rsa_verify(struct dkim_rsa_pub *pub, const unsigned char digest[32], const unsigned char *sig,
		    size_t siglen)
{
	if (!pub || siglen != pub->k || !BN_bin2bn(sig, (int)siglen, pub->s) ||
	    BN_ucmp(pub->s, pub->n) >= 0 || public_op(pub) < 0 ||
	    BN_bn2binpad(pub->r, pub->got, (int)pub->k) != (int)pub->k)
		return -1;
	memcpy(pub->em + pub->k - 32, digest, 32);
	return memcmp(pub->got, pub->em, pub->k) == 0 ? 0 : -1;
}
