#include "common/crypto.h"
#include "common/base64.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

int scop_random_bytes(void *out, size_t n)
{
	if (n > (size_t)0x7fffffff)
		return -1;
	return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

int scop_random_token(char *out, size_t len)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t i = 0;

	while (i < len) {
		unsigned char r[64];
		if (scop_random_bytes(r, sizeof(r)) < 0)
			return -1;
		/* Rejection sampling keeps the characters uniform (62 does not divide 256). */
		for (size_t j = 0; j < sizeof(r) && i < len; j++)
			if (r[j] < 248)
				out[i++] = alpha[r[j] % 62];
	}
	out[len] = '\0';
	return 0;
}

int scop_sha256(const void *data, size_t n, unsigned char out[32])
{
	unsigned int len = 0;
	return EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

void scop_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int scop_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[32];
	if (scop_sha256(data, n, md) < 0)
		return -1;
	scop_hex(md, 32, out);
	return 0;
}

int scop_hmac(const char *digest, const void *key, size_t keylen,
	      const void *data, size_t n, unsigned char *out, size_t *outlen)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	int rc = -1;

	if (!mac)
		return -1;
	ctx = EVP_MAC_CTX_new(mac);
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	    EVP_MAC_update(ctx, data, n) == 1 &&
	    EVP_MAC_final(ctx, out, outlen, 64) == 1)
		rc = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int scop_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

int scop_ed25519_from_seed(struct scop_ed25519 *key, const unsigned char seed[32], const char *version)
{
	EVP_PKEY *pk;
	size_t publen = 32;
	int rc = -1;

	if (!version || strlen(version) > 48)
		return -1;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (!pk)
		return -1;
	if (EVP_PKEY_get_raw_public_key(pk, key->pub, &publen) == 1 && publen == 32) {
		memcpy(key->seed, seed, 32);
		snprintf(key->key_id, sizeof(key->key_id), "ed25519:%s", version);
		rc = 0;
	}
	EVP_PKEY_free(pk);
	return rc;
}

int scop_ed25519_generate(struct scop_ed25519 *key, const char *version)
{
	unsigned char seed[32];
	int rc;

	if (scop_random_bytes(seed, sizeof(seed)) < 0)
		return -1;
	rc = scop_ed25519_from_seed(key, seed, version);
	OPENSSL_cleanse(seed, sizeof(seed));
	return rc;
}

int scop_ed25519_sign(const struct scop_ed25519 *key, const void *msg, size_t n, unsigned char sig[64])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, key->seed, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = 64;
	int rc = -1;

	if (pk && md && EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, msg, n) == 1 && siglen == 64)
		rc = 0;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

int scop_ed25519_verify(const unsigned char pub[32], const void *msg, size_t n, const unsigned char sig[64])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = -1;

	if (pk && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestVerify(md, sig, 64, msg, n) == 1)
		rc = 0;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

void scop_ed25519_clear(struct scop_ed25519 *key)
{
	OPENSSL_cleanse(key, sizeof(*key));
}

int scop_ed25519_load(const char *path, struct scop_ed25519 *key)
{
	char line[256], alg[16], version[64], b64[128];
	unsigned char seed[40];
	FILE *f = fopen(path, "r");
	long n;
	int rc = -1;

	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line, "%15s %63s %127s", alg, version, b64) == 3 &&
	    strcmp(alg, "ed25519") == 0) {
		n = base64_decode(b64, strlen(b64), seed, sizeof(seed), BASE64_PAD_OPTIONAL);
		if (n == 32)
			rc = scop_ed25519_from_seed(key, seed, version);
	}
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(b64, sizeof(b64));
	OPENSSL_cleanse(seed, sizeof(seed));
	fclose(f);
	return rc;
}

int scop_ed25519_save(const char *path, const struct scop_ed25519 *key)
{
	char tmp[4096], b64[64], line[160];
	const char *version = strchr(key->key_id, ':');
	int fd, len, rc = -1;

	if (!version || snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	base64_encode(key->seed, 32, b64, 0);
	len = snprintf(line, sizeof(line), "ed25519 %s %s\n", version + 1, b64);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		int ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
		if (close(fd) == 0 && ok && rename(tmp, path) == 0)
			rc = 0;
		else
			unlink(tmp);
	}
	OPENSSL_cleanse(b64, sizeof(b64));
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}
