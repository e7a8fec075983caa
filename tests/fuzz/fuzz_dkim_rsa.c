/* Differential fuzzing of dkim_rsa against OpenSSL's EVP_PKEY_verify.
 * Input: a mode byte, then either a signature as is, or bytes XORed into
 * the right PKCS#1 v1.5 encoding of a fixed digest, which the private
 * key then "signs" without padding, so that near-misses of every part
 * of the encoding reach the comparison.  The verdicts must agree.  The
 * key is a fixed 1024-bit test key, so findings reproduce. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "bridge-smtp/dkim_rsa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Test key only: it signs nothing but this harness's inputs. */
static const char test_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAL6JGVoITIQT/y2+\n"
	"m0l8Mwwpa4ibWlUzb6l0tb/Wup9k1U7zgiIyq8wOX7fXFgFMbXn71ijyAKjj5EoO\n"
	"n8471wX0NZxKQnoIybpJxKchyd5+H0/UeF/IK48ondgqhesJRLTh2igECod4CY7k\n"
	"j/3kxPduWaVMTjMEFIeDkReSRZqLAgMBAAECgYACMewj2GKhRuWyrjZ1w0OHSVbe\n"
	"zQNeZehMaHbLjfq6aVv3u+Bs6m6GPEgoAwdS3oGIXTlbYWZWi8GOhNqccp4Ig2gc\n"
	"DY+OBbNEHghjWoQvZb/tiRrwDe52R0u01E8BFlOQuLFJYgWz/oZH+ll0t4THjt91\n"
	"is/ydnkMczTGyz6koQJBAPaO/z0CczbEJgn3kWe1pxrYAceAKT+tcMCITUwNYPIA\n"
	"g8VhIe58LDAGS4HrXyEzU3QQT8MveqfMfpEeOemh2HsCQQDF1OkdqJo7CV7p2CSt\n"
	"sI7kBBJc1I5lu2t1UCjfNJcz3caODzUcTvHAoRnN+2Z8iMxx+SwTooa2o/Mo9m0U\n"
	"URExAkB+QcvCWjbVnKw9/mCfUw43WNXQa3iz+wT6EtJCV7eFNW5E7PCLR1r5XL/d\n"
	"z8HvJnFdxdySfwW4V6eYeHn/gblxAkEAiPeVxmD7FzCvs/tfuZlp9NgU1oybYjfW\n"
	"eExdX9wLa296jtRckxLdMd7X/NK37DTSR36aU6XM2xq7uXqTnuNZoQJAaHEU1FNp\n"
	"K9iYUYA0YGYyDXJY/J2SWFgTRb81p2XQsUsj8cn5zB6dyIfh60q4OioXUBN4JKUB\n"
	"Zitam48dK9t9oA==\n"
	"-----END PRIVATE KEY-----\n";

static const unsigned char digest_info[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					       0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

struct fuzz_rsa {
	EVP_PKEY *pk;
	EVP_PKEY_CTX *verify, *raw;
	struct dkim_rsa_pub *pub;
	size_t k;
};

static struct fuzz_rsa *setup(void)
{
	static struct fuzz_rsa f;
	BIO *b;

	if (f.pub)
		return &f;
	if (!(b = BIO_new_mem_buf(test_key_pem, -1)) || !(f.pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)))
		abort();
	BIO_free(b);
	f.k = (size_t)EVP_PKEY_get_size(f.pk);
	if (!(f.verify = EVP_PKEY_CTX_new(f.pk, NULL)) || EVP_PKEY_verify_init(f.verify) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(f.verify, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(f.verify, EVP_sha256()) != 1 || !(f.raw = EVP_PKEY_CTX_new(f.pk, NULL)) ||
	    EVP_PKEY_sign_init(f.raw) != 1 || EVP_PKEY_CTX_set_rsa_padding(f.raw, RSA_NO_PADDING) != 1 ||
	    !(f.pub = dkim_rsa_pub_new(f.pk)))
		abort();
	return &f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_rsa *f = setup();
	unsigned char digest[32], em[128], sig[256];
	size_t siglen = sizeof(sig);

	if (size < 1 || f->k != sizeof(em))
		return 0;
	memset(digest, 0x5a, sizeof(digest));
	if (data[0] & 1) {
		/* The right encoding, disturbed. */
		em[0] = 0;
		em[1] = 1;
		memset(em + 2, 0xff, sizeof(em) - 54);
		em[sizeof(em) - 52] = 0;
		memcpy(em + sizeof(em) - 51, digest_info, sizeof(digest_info));
		memcpy(em + sizeof(em) - 32, digest, 32);
		for (size_t i = 1; i < size && i <= sizeof(em); i++)
			em[sizeof(em) - i] ^= data[i];
		em[0] = 0; /* stays below n */
		if (EVP_PKEY_sign(f->raw, sig, &siglen, em, sizeof(em)) != 1)
			return 0;
	} else {
		siglen = size - 1 < sizeof(sig) ? size - 1 : sizeof(sig);
		memcpy(sig, data + 1, siglen);
	}
	int evp = EVP_PKEY_verify(f->verify, sig, siglen, digest, 32) == 1;
	int ours = dkim_rsa_verify(f->pub, digest, sig, siglen) == 0;
	if (evp != ours)
		abort();
	return 0;
}
