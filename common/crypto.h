/* Small wrappers over OpenSSL for what several parts need: CSPRNG tokens,
 * SHA-256, HMAC, constant-time comparison, and Ed25519 keys as Matrix
 * writes them (unpadded base64, key ids "ed25519:<version>").
 *
 * Contract: functions return 0 on success and -1 on failure (OpenSSL
 * error or bad input); they never abort.  Secret material lives only in
 * caller-provided buffers or in a struct scop_ed25519 which
 * scop_ed25519_clear() wipes.
 */
#ifndef SCOP_CRYPTO_H
#define SCOP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

int scop_random_bytes(void *out, size_t n);
/* Writes len random characters from [A-Za-z0-9] plus NUL into out[len+1]. */
int scop_random_token(char *out, size_t len);

int scop_sha256(const void *data, size_t n, unsigned char out[32]);
/* Lower-case hex SHA-256 of data into out[65]. */
int scop_sha256_hex(const void *data, size_t n, char out[65]);
/* HMAC with "sha1" or "sha256" (any OpenSSL digest name); *outlen gets the
 * MAC length (out must hold 64 bytes). */
int scop_hmac(const char *digest, const void *key, size_t keylen,
	      const void *data, size_t n, unsigned char *out, size_t *outlen);
void scop_hex(const unsigned char *in, size_t n, char *out);
/* Constant-time: 1 when equal (same length and bytes), else 0. */
int scop_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

struct scop_ed25519 {
	unsigned char seed[32];
	unsigned char pub[32];
	char key_id[64]; /* "ed25519:<version>" */
};

int scop_ed25519_generate(struct scop_ed25519 *key, const char *version);
int scop_ed25519_from_seed(struct scop_ed25519 *key, const unsigned char seed[32], const char *version);
/* Signature into sig[64]. */
int scop_ed25519_sign(const struct scop_ed25519 *key, const void *msg, size_t n, unsigned char sig[64]);
/* 0 when sig is a valid signature of msg under pub, -1 otherwise. */
int scop_ed25519_verify(const unsigned char pub[32], const void *msg, size_t n, const unsigned char sig[64]);
void scop_ed25519_clear(struct scop_ed25519 *key);

/* Signing-key files in Synapse's format: one line "ed25519 <version> <seed
 * in unpadded base64>".  Load returns -1 when the file is missing or
 * malformed; save writes with mode 0600 (atomically, via rename). */
int scop_ed25519_load(const char *path, struct scop_ed25519 *key);
int scop_ed25519_save(const char *path, const struct scop_ed25519 *key);

#endif
