/* Unit tests for common/: buffer, base64, crypto helpers, YAML loader, logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/yamljson.h"

static void test_buf_grows_and_limits(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "hello"), 0);
	assert_int_equal(buf_printf(&b, "%d", 1234), 0);
	assert_string_equal(b.data, "hello1234");
	assert_int_equal(buf_puts(&b, "xy"), -1); /* would pass max */
	assert_string_equal(b.data, "hello1234");
	assert_int_equal(buf_putc(&b, '!'), 0);
	size_t len;
	char *s = buf_detach(&b, &len);
	assert_int_equal(len, 10);
	assert_string_equal(s, "hello1234!");
	free(s);
	assert_null(b.data);
	buf_free(&b);
}

static void test_base64_vectors(void **state)
{
	/* RFC 4648 section 10 vectors, padded and unpadded. */
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *padded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	static const char *unpadded[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	char out[32];
	unsigned char dec[32];
	(void)state;
	for (int i = 0; i < 7; i++) {
		base64_encode(plain[i], strlen(plain[i]), out, BASE64_PAD);
		assert_string_equal(out, padded[i]);
		base64_encode(plain[i], strlen(plain[i]), out, 0);
		assert_string_equal(out, unpadded[i]);
		long n = base64_decode(unpadded[i], strlen(unpadded[i]), dec, sizeof(dec), 0);
		assert_int_equal(n, (long)strlen(plain[i]));
		assert_memory_equal(dec, plain[i], (size_t)n);
		n = base64_decode(padded[i], strlen(padded[i]), dec, sizeof(dec), BASE64_PAD);
		assert_int_equal(n, (long)strlen(plain[i]));
	}
}

static void test_base64_rejects_bad_input(void **state)
{
	unsigned char dec[32];
	(void)state;
	assert_int_equal(base64_decode("Zg==", 4, dec, sizeof(dec), 0), -1);        /* padding not allowed */
	assert_int_equal(base64_decode("Zg", 2, dec, sizeof(dec), BASE64_PAD), -1); /* padding required */
	assert_int_equal(base64_decode("Zh", 2, dec, sizeof(dec), 0), -1);          /* non-zero trailing bits */
	assert_int_equal(base64_decode("Z", 1, dec, sizeof(dec), 0), -1);           /* impossible length */
	assert_int_equal(base64_decode("Zm9v!", 5, dec, sizeof(dec), 0), -1);
	assert_int_equal(base64_decode("-_8", 3, dec, sizeof(dec), 0), -1);         /* URL-safe chars in standard */
	assert_int_equal(base64_decode("-_8", 3, dec, sizeof(dec), BASE64_URLSAFE), 2);
	assert_int_equal(base64_decode("Zg==", 4, dec, sizeof(dec), BASE64_PAD_OPTIONAL), 1);
	assert_int_equal(base64_decode("Zg", 2, dec, sizeof(dec), BASE64_PAD_OPTIONAL), 1);
}

static void test_base64_alphabet_exact(void **state)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char out[4];
	(void)state;
	/* "cA" decodes to one byte exactly when c is in the alphabet, and that
	 * byte is c's value shifted left by two. */
	for (int c = 0; c < 256; c++) {
		char in[2] = { (char)c, 'A' };
		const char *ps = c ? memchr(std, c, 64) : NULL;
		const char *pu = c ? memchr(url, c, 64) : NULL;
		long n = base64_decode(in, 2, out, sizeof(out), 0);
		assert_int_equal(n, ps ? 1 : -1);
		if (ps)
			assert_int_equal(out[0], (unsigned)(ps - std) << 2);
		n = base64_decode(in, 2, out, sizeof(out), BASE64_URLSAFE);
		assert_int_equal(n, pu ? 1 : -1);
		if (pu)
			assert_int_equal(out[0], (unsigned)(pu - url) << 2);
	}
}

static void test_base64_respects_capacity(void **state)
{
	/* Untrusted text decodes straight into fixed fields: a longer input
	 * must be refused before any byte past the field is written. */
	unsigned char field[4] = { 0 };
	struct { unsigned char f[3]; unsigned char g; } packed = { { 0 }, 0xAA };
	(void)state;
	assert_int_equal(base64_decode("Zm9v", 4, field, 3, 0), 3);          /* exactly fits */
	assert_int_equal(base64_decode("Zm9vYg", 6, field, 3, 0), -1);      /* one byte over */
	assert_int_equal(base64_decode("Zm9vYg==", 8, field, 3, BASE64_PAD), -1);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, packed.f, sizeof(packed.f), 0), -1);
	assert_int_equal(packed.g, 0xAA);
	assert_int_equal(base64_decode("", 0, field, 0, 0), 0);
}

static void test_random_token(void **state)
{
	char a[33], b[33];
	(void)state;
	assert_int_equal(scop_random_token(a, 32), 0);
	assert_int_equal(scop_random_token(b, 32), 0);
	assert_int_equal(strlen(a), 32);
	assert_string_not_equal(a, b);
	for (int i = 0; i < 32; i++)
		assert_true((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' && a[i] <= 'Z') ||
			    (a[i] >= '0' && a[i] <= '9'));
}

static void test_sha256_and_hmac(void **state)
{
	char hex[65];
	unsigned char mac[64];
	size_t maclen = 0;
	(void)state;
	assert_int_equal(scop_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* RFC 4231 test case 2. */
	assert_int_equal(scop_hmac("sha256", "Jefe", 4, "what do ya want for nothing?", 28, mac, &maclen), 0);
	assert_int_equal(maclen, 32);
	scop_hex(mac, maclen, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_true(scop_ct_equal("abc", 3, "abc", 3));
	assert_false(scop_ct_equal("abc", 3, "abd", 3));
	assert_false(scop_ct_equal("abc", 3, "abcd", 4));
}

static void test_ed25519_rfc8032(void **state)
{
	/* RFC 8032 section 7.1, test 1 (empty message). */
	static const unsigned char seed[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };
	static const char pub_hex[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
	static const char sig_hex[] = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
				      "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
	struct scop_ed25519 k;
	unsigned char sig[64];
	char hex[129];
	(void)state;
	assert_int_equal(scop_ed25519_from_seed(&k, seed, "a_test"), 0);
	assert_string_equal(k.key_id, "ed25519:a_test");
	scop_hex(k.pub, 32, hex);
	assert_string_equal(hex, pub_hex);
	assert_int_equal(scop_ed25519_sign(&k, "", 0, sig), 0);
	scop_hex(sig, 64, hex);
	assert_string_equal(hex, sig_hex);
	assert_int_equal(scop_ed25519_verify(k.pub, "", 0, sig), 0);
	sig[0] ^= 1;
	assert_int_equal(scop_ed25519_verify(k.pub, "", 0, sig), -1);
	scop_ed25519_clear(&k);
}

static void test_ed25519_file_roundtrip(void **state)
{
	char path[] = "/tmp/scop-key-XXXXXX";
	struct scop_ed25519 a, b;
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(scop_ed25519_generate(&a, "a_Xyz1"), 0);
	assert_int_equal(scop_ed25519_save(path, &a), 0);
	assert_int_equal(scop_ed25519_load(path, &b), 0);
	assert_memory_equal(a.seed, b.seed, 32);
	assert_string_equal(b.key_id, "ed25519:a_Xyz1");
	unlink(path);
	assert_int_equal(scop_ed25519_load(path, &b), -1);
}

static void test_yaml_scalars_and_structure(void **state)
{
	const char *doc =
		"server_name: example.org\n"
		"port: 8008\n"
		"ratio: 0.5\n"
		"enable_registration: yes\n"
		"quoted: \"no\"\n"
		"nothing: ~\n"
		"listeners:\n"
		"  - port: 1\n"
		"    bind_addresses: ['::1', 127.0.0.1]\n";
	char err[128];
	json_t *j = yaml_load_string(doc, strlen(doc), err, sizeof(err));
	(void)state;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "server_name")), "example.org");
	assert_int_equal(json_integer_value(json_object_get(j, "port")), 8008);
	assert_true(json_is_real(json_object_get(j, "ratio")));
	assert_true(json_is_true(json_object_get(j, "enable_registration")));
	assert_string_equal(json_string_value(json_object_get(j, "quoted")), "no");
	assert_true(json_is_null(json_object_get(j, "nothing")));
	json_t *l = json_array_get(json_object_get(j, "listeners"), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(l, "bind_addresses"), 1)), "127.0.0.1");
	json_decref(j);
}

static void test_yaml_errors(void **state)
{
	char err[128];
	const char *bad = "a: [1, 2\n";
	const char *laughs =
		"a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
	(void)state;
	assert_null(yaml_load_string(bad, strlen(bad), err, sizeof(err)));
	assert_non_null(strstr(err, "line"));
	assert_null(yaml_load_string(laughs, strlen(laughs), err, sizeof(err)));
	assert_non_null(strstr(err, "too large"));
	json_t *empty = yaml_load_string("", 0, err, sizeof(err));
	assert_true(json_is_object(empty));
	json_decref(empty);
	assert_null(yaml_load_file("/nonexistent/scop.yaml", err, sizeof(err)));
}

static void test_log_levels(void **state)
{
	enum scop_log_level l;
	char tag[9];
	(void)state;
	assert_int_equal(scop_log_level_parse("WARNING", &l), 0);
	assert_int_equal(l, SCOP_LOG_WARN);
	assert_int_equal(scop_log_level_parse("loud", &l), -1);
	scop_log_redact("syt_secret_token", tag);
	assert_int_equal(strlen(tag), 8);
	assert_null(strstr("syt_secret_token", tag));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grows_and_limits),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_rejects_bad_input),
		cmocka_unit_test(test_base64_respects_capacity),
		cmocka_unit_test(test_base64_alphabet_exact),
		cmocka_unit_test(test_random_token),
		cmocka_unit_test(test_sha256_and_hmac),
		cmocka_unit_test(test_ed25519_rfc8032),
		cmocka_unit_test(test_ed25519_file_roundtrip),
		cmocka_unit_test(test_yaml_scalars_and_structure),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_log_levels),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
