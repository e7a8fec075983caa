/* X-Matrix header signing, parsing and checking.  The expected signatures
 * were made with Synapse's signedjson library (Debian python3-signedjson)
 * from the RFC 8032 test-1 seed, so they check us against an independent
 * implementation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "federation/xmatrix.h"

static const unsigned char seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };

#define SEND_URI "/_matrix/federation/v1/send/1700000000000"
#define SEND_SIG "IOoZVpJq2wuKoZsE68uuyibDidoX5sPaxjYDPPe/MsWIncGw1xSutj4urtlENow4Ur7UPn6dDJdGtPqsha7KCA"
#define QUERY_URI "/_matrix/federation/v1/query/profile?user_id=%40a%3Aorigin.example"
#define QUERY_SIG "pfqwyeLzHLUdg1Z4L1ATcjg6nToWq9Ek7zFbbqNfBoOB+r5HUZhVTphNePoCE9JsUtIoSFB+frOMAYgocIGYCA"

static json_t *send_body(void)
{
	return json_pack("{s:[], s:[{s:s, s:{s:s, s:s, s:b}}], s:s, s:I}",
			 "pdus", "edus", "edu_type", "m.typing", "content", "room_id", "!r:origin.example",
			 "user_id", "@a:origin.example", "typing", 1, "origin", "origin.example",
			 "origin_server_ts", (json_int_t)1700000000000LL);
}

static void test_sign_matches_signedjson(void **state)
{
	struct scop_ed25519 key;
	struct buf out = BUF_INIT;
	json_t *body = send_body();
	(void)state;
	assert_int_equal(scop_ed25519_from_seed(&key, seed, "a_test"), 0);
	assert_int_equal(xmatrix_sign(&key, "origin.example", "dest.example", "PUT", SEND_URI, body, &out), 0);
	assert_string_equal(out.data, "X-Matrix origin=\"origin.example\",destination=\"dest.example\","
				      "key=\"ed25519:a_test\",sig=\"" SEND_SIG "\"");
	buf_reset(&out);
	assert_int_equal(xmatrix_sign(&key, "origin.example", "dest.example", "GET", QUERY_URI, NULL, &out), 0);
	assert_non_null(strstr(out.data, QUERY_SIG));
	buf_free(&out);
	json_decref(body);
}

static void test_verify_roundtrip_and_tampering(void **state)
{
	struct scop_ed25519 key;
	struct xmatrix_auth a;
	json_t *body = send_body();
	const char *hdr = "X-Matrix origin=origin.example,key=\"ed25519:a_test\", sig=\"" SEND_SIG
			  "\",destination=\"dest.example\"";
	(void)state;
	assert_int_equal(scop_ed25519_from_seed(&key, seed, "a_test"), 0);
	assert_int_equal(xmatrix_parse(hdr, &a), XMATRIX_OK);
	assert_string_equal(a.origin, "origin.example");
	assert_string_equal(a.destination, "dest.example");
	assert_int_equal(xmatrix_verify(&a, "dest.example", "PUT", SEND_URI, body, key.pub), XMATRIX_OK);
	/* Each signed part matters. */
	assert_int_equal(xmatrix_verify(&a, "dest.example", "POST", SEND_URI, body, key.pub), XMATRIX_BAD_SIGNATURE);
	assert_int_equal(xmatrix_verify(&a, "dest.example", "PUT", SEND_URI "1", body, key.pub), XMATRIX_BAD_SIGNATURE);
	assert_int_equal(xmatrix_verify(&a, "dest.example", "PUT", SEND_URI, NULL, key.pub), XMATRIX_BAD_SIGNATURE);
	json_object_set_new(body, "origin", json_string("evil.example"));
	assert_int_equal(xmatrix_verify(&a, "dest.example", "PUT", SEND_URI, body, key.pub), XMATRIX_BAD_SIGNATURE);
	assert_int_equal(xmatrix_verify(&a, "other.example", "PUT", SEND_URI, body, key.pub), XMATRIX_WRONG_DESTINATION);
	/* Without a destination parameter the receiver's own name is signed. */
	strcpy(a.origin, "evil.example");
	a.destination[0] = '\0';
	assert_int_equal(xmatrix_verify(&a, "dest.example", "PUT", SEND_URI, body, key.pub), XMATRIX_BAD_SIGNATURE);
	json_decref(body);
}

static void test_parse_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"Bearer abc",
		"X-Matrixorigin=a,key=\"ed25519:1\",sig=x",
		"X-Matrix key=\"ed25519:1\",sig=abc",                  /* no origin */
		"X-Matrix origin=a,sig=abc",                           /* no key */
		"X-Matrix origin=a,key=\"ed25519:1\"",                 /* no sig */
		"X-Matrix origin=a,key=\"rsa:1\",sig=abc",             /* not ed25519 */
		"X-Matrix origin=a,origin=b,key=\"ed25519:1\",sig=abc",/* repeated */
		"X-Matrix origin=\"a,key=\"ed25519:1\",sig=abc",       /* unterminated quote */
		"X-Matrix origin=a key=\"ed25519:1\",sig=abc",         /* missing comma */
		"X-Matrix origin=,key=\"ed25519:1\",sig=abc",          /* empty value */
		"X-Matrix origin=\"a\nb\",key=\"ed25519:1\",sig=abc",  /* control char */
		"X-Matrix =a,key=\"ed25519:1\",sig=abc",
	};
	struct xmatrix_auth a;
	char longhdr[1024];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(xmatrix_parse(bad[i], &a), XMATRIX_MALFORMED);
	assert_int_equal(xmatrix_parse(NULL, &a), XMATRIX_MALFORMED);
	memset(longhdr, 0, sizeof(longhdr));
	strcpy(longhdr, "X-Matrix key=\"ed25519:1\",sig=abc,origin=");
	memset(longhdr + strlen(longhdr), 'a', 300);
	assert_int_equal(xmatrix_parse(longhdr, &a), XMATRIX_MALFORMED);
}

static void test_parse_accepts_variants(void **state)
{
	struct xmatrix_auth a;
	(void)state;
	/* Case-insensitive scheme and names, spaces, unknown params, escapes. */
	assert_int_equal(xmatrix_parse("x-matrix  Origin = \"o.example:8448\" , KEY=\"ed25519:k\","
				       "future=\"x\\\"y\",sig=\"c2ln\"", &a), XMATRIX_OK);
	assert_string_equal(a.origin, "o.example:8448");
	assert_string_equal(a.key_id, "ed25519:k");
	assert_string_equal(a.sig, "c2ln");
	assert_string_equal(a.destination, "");
	assert_int_equal(xmatrix_parse("X-Matrix origin=[::1]:8448,key=ed25519:k,sig=c2ln", &a), XMATRIX_OK);
	assert_string_equal(a.origin, "[::1]:8448");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_matches_signedjson),
		cmocka_unit_test(test_verify_roundtrip_and_tampering),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_accepts_variants),
	};
	return cmocka_run_group_tests_name("xmatrix", tests, NULL, NULL);
}
