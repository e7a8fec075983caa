/* Unit tests for dkim_rsa: the Montgomery verification must accept and
 * refuse exactly what OpenSSL's EVP_PKEY_verify does (PKCS#1 v1.5,
 * SHA-256) — on good signatures, damaged ones, hand-built encodings that
 * are almost right, and numbers at the edges — and refuse keys it must
 * not take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "bridge-smtp/dkim_rsa.h"

static const unsigned char sha256_prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
						 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

struct key {
	EVP_PKEY *pk;
	EVP_PKEY_CTX *vctx, *sctx, *raw; /* EVP verify, EVP sign, private op without padding */
	struct dkim_rsa_pub *pub;
	size_t k;
};

static EVP_PKEY *gen(int bits, unsigned long e)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	EVP_PKEY *pk = NULL;
	BIGNUM *be = BN_new();

	assert_non_null(c);
	assert_non_null(be);
	assert_int_equal(BN_set_word(be, e), 1);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, be), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &pk), 1);
	BN_free(be);
	EVP_PKEY_CTX_free(c);
	return pk;
}

static void key_init(struct key *k, int bits, unsigned long e)
{
	k->pk = gen(bits, e);
	k->k = (size_t)EVP_PKEY_get_size(k->pk);
	assert_non_null(k->vctx = EVP_PKEY_CTX_new(k->pk, NULL));
	assert_int_equal(EVP_PKEY_verify_init(k->vctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(k->vctx, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(k->vctx, EVP_sha256()), 1);
	assert_non_null(k->sctx = EVP_PKEY_CTX_new(k->pk, NULL));
	assert_int_equal(EVP_PKEY_sign_init(k->sctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(k->sctx, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(k->sctx, EVP_sha256()), 1);
	assert_non_null(k->raw = EVP_PKEY_CTX_new(k->pk, NULL));
	assert_int_equal(EVP_PKEY_sign_init(k->raw), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(k->raw, RSA_NO_PADDING), 1);
	assert_non_null(k->pub = dkim_rsa_pub_new(k->pk));
}

static void key_free(struct key *k)
{
	dkim_rsa_pub_free(k->pub);
	EVP_PKEY_CTX_free(k->vctx);
	EVP_PKEY_CTX_free(k->sctx);
	EVP_PKEY_CTX_free(k->raw);
	EVP_PKEY_free(k->pk);
}

/* Both verifiers on the same input; they must agree.  Returns the verdict. */
static int both(struct key *k, const unsigned char d[32], const unsigned char *sig, size_t len)
{
	int evp = EVP_PKEY_verify(k->vctx, sig, len, d, 32) == 1;
	int ours = dkim_rsa_verify(k->pub, d, sig, len) == 0;

	assert_int_equal(ours, evp);
	return ours;
}

static size_t sign(struct key *k, const unsigned char d[32], unsigned char *sig)
{
	size_t len = k->k;
	assert_int_equal(EVP_PKEY_sign(k->sctx, sig, &len, d, 32), 1);
	assert_int_equal(len, k->k);
	return len;
}

/* The private operation on a k-byte block: a "signature" of any encoding. */
static void raw_sign(struct key *k, const unsigned char *em, unsigned char *sig)
{
	size_t len = k->k;
	assert_int_equal(EVP_PKEY_sign(k->raw, sig, &len, em, k->k), 1);
}

static void good_em(const struct key *k, const unsigned char d[32], unsigned char *em)
{
	em[0] = 0;
	em[1] = 1;
	memset(em + 2, 0xff, k->k - 3 - 19 - 32);
	em[k->k - 52] = 0;
	memcpy(em + k->k - 51, sha256_prefix, 19);
	memcpy(em + k->k - 32, d, 32);
}

static void check_key(int bits, unsigned long e)
{
	struct key k;
	unsigned char d[32], d2[32], sig[1024], em[1024], bad[1024];

	key_init(&k, bits, e);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(RAND_bytes(d, 32), 1);
		sign(&k, d, sig);
		assert_true(both(&k, d, sig, k.k));
		/* Every bit flipped somewhere: refused. */
		for (int b = 0; b < 8; b++) {
			size_t at = (size_t)(i * 37 + b * 101) % k.k;
			memcpy(bad, sig, k.k);
			bad[at] ^= (unsigned char)(1u << b);
			assert_false(both(&k, d, bad, k.k));
		}
		memcpy(d2, d, 32);
		d2[i % 32] ^= 0x40;
		assert_false(both(&k, d2, sig, k.k));
		/* Too long, empty, one byte short (another integer). */
		memcpy(bad, sig, k.k);
		bad[k.k] = 0;
		assert_false(both(&k, d, bad, k.k + 1));
		assert_false(both(&k, d, sig, 0));
		assert_false(both(&k, d, sig + 1, k.k - 1));
	}

	/* A signature with a leading zero byte must keep it: the length is
	 * k bytes (RFC 8017 §8.2.2 step 1), as in OpenSSL. */
	for (int tries = 0; tries < 5000; tries++) {
		assert_int_equal(RAND_bytes(d, 32), 1);
		sign(&k, d, sig);
		if (sig[0] == 0) {
			assert_true(both(&k, d, sig, k.k));
			assert_false(both(&k, d, sig + 1, k.k - 1));
			break;
		}
	}

	/* Hand-built encodings: the right one passes, near misses do not. */
	assert_int_equal(RAND_bytes(d, 32), 1);
	good_em(&k, d, em);
	raw_sign(&k, em, sig);
	assert_true(both(&k, d, sig, k.k));
	struct {
		size_t at;
		unsigned char v;
	} near[] = {
		{ 1, 2 },		    /* block type 2 */
		{ 0, 1 },		    /* leading byte not zero */
		{ 2, 0xfe },		    /* padding not all FF */
		{ k.k - 52, 0xff },	    /* no separator */
		{ k.k - 51 + 15, 0x06 },   /* parameters not NULL */
		{ k.k - 51 + 14, 0x04 },   /* SHA-224's OID */
		{ k.k - 51 + 18, 0x1f },   /* digest length 31 */
	};
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		memcpy(bad, em, k.k);
		bad[near[i].at] = near[i].v;
		raw_sign(&k, bad, sig);
		assert_false(both(&k, d, sig, k.k));
	}
	/* DigestInfo without the NULL parameters (an encoding some accept):
	 * the padding grows by the two bytes left out. */
	memset(bad, 0xff, k.k);
	bad[0] = 0;
	bad[1] = 1;
	bad[k.k - 50] = 0;
	memcpy(bad + k.k - 49, "\x30\x2f\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x04\x20", 17);
	memcpy(bad + k.k - 32, d, 32);
	raw_sign(&k, bad, sig);
	assert_false(both(&k, d, sig, k.k));

	/* n itself, n - 1, all ones, zero: refused (the first two and the
	 * third as out of range or wrong padding). */
	BIGNUM *n = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(k.pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(BN_bn2binpad(n, sig, (int)k.k), (int)k.k);
	assert_false(both(&k, d, sig, k.k));
	assert_int_equal(BN_sub_word(n, 1), 1);
	assert_int_equal(BN_bn2binpad(n, sig, (int)k.k), (int)k.k);
	assert_false(both(&k, d, sig, k.k));
	BN_free(n);
	memset(sig, 0xff, k.k);
	assert_false(both(&k, d, sig, k.k));
	memset(sig, 0, k.k);
	assert_false(both(&k, d, sig, k.k));
	/* Random numbers: refused alike. */
	for (int i = 0; i < 50; i++) {
		assert_int_equal(RAND_bytes(sig, (int)k.k), 1);
		sig[0] &= 0x7f;
		assert_false(both(&k, d, sig, k.k));
	}
	key_free(&k);
}

static void test_rsa1024_f4(void **state)
{
	(void)state;
	check_key(1024, 65537);
}

static void test_rsa2048_f4(void **state)
{
	(void)state;
	check_key(2048, 65537);
}

/* Exponents other than 65537 take BN_mod_exp_mont. */
static void test_rsa1024_e3(void **state)
{
	(void)state;
	check_key(1024, 3);
}

static void test_rsa1536_e17(void **state)
{
	(void)state;
	check_key(1536, 17);
}

/* A public key from raw numbers (EVP takes any). */
static EVP_PKEY *pub_from(const BIGNUM *n, const BIGNUM *e)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;

	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e), 1);
	assert_non_null(p = OSSL_PARAM_BLD_to_param(b));
	assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
	assert_int_equal(EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, p), 1);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(c);
	return pk;
}

static int takes(int nbits, int odd_n, const char *e_hex)
{
	BIGNUM *n = BN_new(), *e = NULL;
	EVP_PKEY *pk;
	struct dkim_rsa_pub *pub;

	assert_non_null(n);
	assert_int_equal(BN_rand(n, nbits, BN_RAND_TOP_ONE, odd_n ? BN_RAND_BOTTOM_ODD : BN_RAND_BOTTOM_ANY), 1);
	if (!odd_n)
		BN_clear_bit(n, 0);
	assert_true(BN_hex2bn(&e, e_hex) > 0);
	pk = pub_from(n, e);
	pub = dkim_rsa_pub_new(pk);
	dkim_rsa_pub_free(pub);
	EVP_PKEY_free(pk);
	BN_free(n);
	BN_free(e);
	return pub != NULL;
}

static void test_key_limits(void **state)
{
	(void)state;
	assert_true(takes(1024, 1, "10001"));
	assert_true(takes(8192, 1, "10001"));
	assert_true(takes(2048, 1, "3"));
	assert_true(takes(2048, 1, "FFFFFFFFFFFFFFFF"));  /* 64 bits */
	assert_false(takes(1023, 1, "10001"));
	assert_false(takes(8193, 1, "10001"));
	assert_false(takes(2048, 0, "10001"));            /* even modulus: no Montgomery form */
	assert_false(takes(2048, 1, "10000"));            /* even exponent */
	assert_false(takes(2048, 1, "1"));
	assert_false(takes(2048, 1, "10000000000000001")); /* 65 bits */
	assert_null(dkim_rsa_pub_new(NULL));
	unsigned char zero[32] = { 0 };
	assert_int_equal(dkim_rsa_verify(NULL, zero, zero, sizeof(zero)), -1);

	/* Not RSA. */
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *pk = NULL;
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &pk), 1);
	assert_null(dkim_rsa_pub_new(pk));
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa1024_f4),  cmocka_unit_test(test_rsa2048_f4),
		cmocka_unit_test(test_rsa1024_e3),  cmocka_unit_test(test_rsa1536_e17),
		cmocka_unit_test(test_key_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
