/* Unit tests for DKIM: header splitting, tag lists, canonicalization,
 * signature and key records, signing and verifying (RFC 8463 vectors,
 * multiple signatures, l=, key flags, expiry, oversigning).  Key lookups
 * go to the table-backed resolver of dns.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dkim_int.h"
#include "bridge-smtp/dkim_tags.h"
#include "common/dns.h"
#include "bridge-smtp/mailhdr.h"
#include "common/base64.h"
#include "common/crypto.h"

static struct dns_resolver *dns_with(const char *n1, const char *r1, const char *n2, const char *r2)
{
	struct dns_resolver *d = dns_static_new();
	assert_non_null(d);
	if (n1)
		assert_int_equal(dns_static_add(d, n1, DNS_TXT, r1, (size_t)-1), 0);
	if (n2)
		assert_int_equal(dns_static_add(d, n2, DNS_TXT, r2, (size_t)-1), 0);
	return d;
}

/* ---- RFC 8463 appendix A ---- */
static const char rfc_seed_b64[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
static const char rfc_ed_record[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rfc_rsa_record[] =
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
	"J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
#define RFC_ED_SIG \
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n" \
	" d=football.example.com; i=@football.example.com;\r\n" \
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n" \
	" subject : date : message-id : from : subject : date;\r\n" \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
	" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n" \
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
#define RFC_RSA_SIG \
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n" \
	" d=football.example.com; i=@football.example.com;\r\n" \
	" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n" \
	" date : message-id : from : subject : date;\r\n" \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
	" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n" \
	" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n" \
	" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
#define RFC_MSG \
	"From: Joe SixPack <joe@football.example.com>\r\n" \
	"To: Suzie Q <suzie@shopping.example.net>\r\n" \
	"Subject: Is dinner ready?\r\n" \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" \
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n" \
	"\r\n" \
	"Hi.\r\n" \
	"\r\n" \
	"We lost the game.  Are you hungry yet?\r\n" \
	"\r\n" \
	"Joe.\r\n"

static const char plain_msg[] =
	"From: Alice <alice@example.com>\r\n"
	"To: bob@example.net\r\n"
	"Subject: Hello  there,\r\n"
	"  folded subject\r\n"
	"Date: Mon, 23 Nov 2026 20:00:00 +0000\r\n"
	"Message-ID: <1@example.com>\r\n"
	"\r\n"
	"Body line one.  \r\n"
	"\tline two\r\n"
	"\r\n"
	"\r\n";

static struct dkim_privkey *wrap(EVP_PKEY *pk)
{
	struct dkim_privkey *k;
	assert_non_null(pk);
	k = dkim_privkey_from_pkey(pk);
	EVP_PKEY_free(pk);
	assert_non_null(k);
	return k;
}

static struct dkim_privkey *rfc_ed_key(void)
{
	size_t n;
	unsigned char *seed = base64_decode_alloc(rfc_seed_b64, strlen(rfc_seed_b64), BASE64_PAD, &n);
	EVP_PKEY *k;
	assert_non_null(seed);
	assert_int_equal(n, 32);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	free(seed);
	return wrap(k);
}

static char *concat(const char *a, size_t al, const char *b, size_t bl)
{
	char *s = malloc(al + bl + 1);
	memcpy(s, a, al);
	memcpy(s + al, b, bl);
	s[al + bl] = '\0';
	return s;
}

static void digest_of(const char *s, size_t n, unsigned char out[32])
{
	assert_int_equal(scop_sha256(s, n, out), 0);
}

/* ---- header splitter ---- */

static void test_mailhdr_split(void **state)
{
	struct mailhdr h;
	struct buf b = BUF_INIT;
	(void)state;
	assert_int_equal(mailhdr_split(plain_msg, strlen(plain_msg), &h), 0);
	assert_int_equal(h.count, 5);
	assert_true(mailhdr_name_is(&h.fields[2], "SUBJECT"));
	assert_int_equal(mailhdr_unfold(h.fields[2].value, h.fields[2].value_len, &b), 0);
	assert_string_equal(b.data, " Hello  there,  folded subject");
	assert_memory_equal(plain_msg + h.body_off, "Body line", 9);
	mailhdr_free(&h);
	buf_free(&b);

	/* No body separator: all header.  A continuation first, or no colon: malformed. */
	assert_int_equal(mailhdr_split("A: b\r\n", 6, &h), 0);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.body_off, 6);
	mailhdr_free(&h);
	assert_int_equal(mailhdr_split(" A: b\r\n", 7, &h), MAILHDR_EMALFORMED);
	assert_int_equal(mailhdr_split("nocolon\r\n\r\n", 11, &h), MAILHDR_EMALFORMED);
	assert_int_equal(mailhdr_split(": x\r\n\r\n", 7, &h), MAILHDR_EMALFORMED);
	/* A lone LF is not a line end. */
	assert_int_equal(mailhdr_split("A: b\nC: d\r\n\r\nx", 15, &h), 0);
	assert_int_equal(h.count, 1);
	mailhdr_free(&h);
}

static void from_domain(const char *hdrs, const char *want)
{
	struct mailhdr h;
	char d[256];
	int rc;
	assert_int_equal(mailhdr_split(hdrs, strlen(hdrs), &h), 0);
	rc = mailhdr_from_domain(&h, d, sizeof(d));
	mailhdr_free(&h);
	if (want == NULL ? rc != -1 : (rc != 0 || strcmp(d, want) != 0))
		fail_msg("From domain of %s: rc %d %s", hdrs, rc, rc == 0 ? d : "");
}

static void test_from_domain(void **state)
{
	(void)state;
	from_domain("From: a@Example.COM\r\n\r\n", "example.com");
	from_domain("From: \"Doe, John (x@evil.com)\" <john@mail.example.net>\r\n\r\n", "mail.example.net");
	from_domain("From: john@example.org (John, \"x@evil.com\")\r\n\r\n", "example.org");
	from_domain("Subject: x\r\nFrom: Name\r\n <a@folded.example>\r\n\r\n", "folded.example");
	from_domain("From: a@example.com, b@example.net\r\n\r\n", NULL);   /* several authors */
	from_domain("From: a@x.com\r\nFrom: b@y.com\r\n\r\n", NULL);      /* two From fields */
	from_domain("To: a@x.com\r\n\r\n", NULL);
	from_domain("From: undisclosed\r\n\r\n", NULL);
	from_domain("From: <a@bad;domain>\r\n\r\n", NULL);
	from_domain("From: a@example.com extra\r\n\r\n", NULL);
	from_domain("From: Joe <joe@example.com>  \r\n\r\n", "example.com");
	from_domain("From: <a@b/c>\r\n\r\n", NULL);
}

/* ---- tag lists ---- */

static void test_tags(void **state)
{
	struct dkim_taglist tl;
	const char *s = " v = 1 ;a=rsa-sha256;\r\n\tb= ab cd\r\n ef ; x=;";
	(void)state;
	assert_int_equal(dkim_tags_parse(s, strlen(s), &tl, NULL, 0), 0);
	assert_int_equal(tl.count, 4);
	assert_true(dkim_tag_is(dkim_tags_get(&tl, "v"), "1"));
	assert_true(dkim_tag_is(dkim_tags_get(&tl, "a"), "rsa-sha256"));
	assert_true(dkim_tag_is(dkim_tags_get(&tl, "b"), "ab cd\r\n ef"));
	assert_true(dkim_tag_is(dkim_tags_get(&tl, "x"), ""));
	assert_null(dkim_tags_get(&tl, "V"));
	assert_int_equal(dkim_tags_parse("", 0, &tl, NULL, 0), 0);
	assert_int_equal(tl.count, 0);
	assert_int_equal(dkim_tags_parse("a=1; a=2", 8, &tl, NULL, 0), -1);   /* duplicate */
	assert_int_equal(dkim_tags_parse("a=1;;b=2", 8, &tl, NULL, 0), -1);   /* empty spec */
	assert_int_equal(dkim_tags_parse("1a=1", 4, &tl, NULL, 0), -1);       /* bad name */
	assert_int_equal(dkim_tags_parse("a 1", 3, &tl, NULL, 0), -1);        /* no '=' */
	assert_int_equal(dkim_tags_parse("a=\x01", 3, &tl, NULL, 0), -1);     /* control */
}

/* Long values are checked sixteen bytes at a time: a control character
 * or DEL anywhere in one is still an error, while FWS and bytes
 * 0x80-0xFF are not. */
static void test_tags_control_long(void **state)
{
	static const unsigned char bad[] = { 0x00, 0x01, 0x08, 0x0b, 0x0c, 0x0e, 0x1f, 0x7f };
	char text[80];
	struct dkim_taglist tl;
	(void)state;
	for (size_t pos = 0; pos < 70; pos++) {
		memset(text, 'A', sizeof(text));
		memcpy(text, "b=", 2);
		text[5] = '\xe9';
		text[6] = '\x80';
		text[20] = '\r';
		text[21] = '\n';
		text[22] = '\t';
		text[40] = ' ';
		assert_int_equal(dkim_tags_parse(text, 72, &tl, NULL, 0), 0);
		assert_int_equal(tl.tags[0].value_len, 70);
		if (pos < 2 || pos == 5 || pos == 6 || (pos >= 20 && pos <= 22) || pos == 40)
			continue;
		for (size_t b = 0; b < sizeof(bad); b++) {
			text[pos] = (char)bad[b];
			if (dkim_tags_parse(text, 72, &tl, NULL, 0) != -1)
				fail_msg("byte 0x%02x at %zu accepted", bad[b], pos);
		}
	}
}

/* ---- canonicalization (RFC 6376 3.4.6) ---- */

static void body_digest(enum dkim_canon c, const char *body, size_t n, size_t chunk, unsigned char out[32],
			unsigned long long *total)
{
	struct dkim_body *b = dkim_body_new(c, -1);
	assert_non_null(b);
	for (size_t off = 0; off < n; off += chunk)
		assert_int_equal(dkim_body_update(b, body + off, off + chunk <= n ? chunk : n - off), 0);
	assert_int_equal(dkim_body_final(b, out, total), 0);
	dkim_body_free(b);
}

static void check_body(enum dkim_canon c, const char *in, const char *want)
{
	unsigned char a[32], w[32];
	unsigned long long total;
	digest_of(want, strlen(want), w);
	for (size_t chunk = 1; chunk <= strlen(in) + 1; chunk++) {
		body_digest(c, in, strlen(in), chunk, a, &total);
		assert_memory_equal(a, w, 32);
		assert_int_equal(total, strlen(want));
	}
}

static void test_canon_rfc_example(void **state)
{
	const char *h1 = "A: X\r\n", *h2 = "B : Y\t\r\n\tZ  \r\n";
	struct buf b = BUF_INIT;
	(void)state;
	assert_int_equal(dkim_canon_header(DKIM_CANON_RELAXED, h1, strlen(h1), &b), 0);
	assert_int_equal(dkim_canon_header(DKIM_CANON_RELAXED, h2, strlen(h2), &b), 0);
	assert_string_equal(b.data, "a:X\r\nb:Y Z\r\n");
	buf_reset(&b);
	assert_int_equal(dkim_canon_header(DKIM_CANON_SIMPLE, h1, strlen(h1), &b), 0);
	assert_int_equal(dkim_canon_header(DKIM_CANON_SIMPLE, h2, strlen(h2), &b), 0);
	assert_string_equal(b.data, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
	buf_free(&b);

	check_body(DKIM_CANON_RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
	check_body(DKIM_CANON_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n");
}

static void test_canon_edge_cases(void **state)
{
	unsigned char d[32];
	char b64[48];
	(void)state;
	/* Empty body: simple is one CRLF, relaxed is nothing (RFC 6376 erratum 3951). */
	body_digest(DKIM_CANON_SIMPLE, "", 0, 1, d, NULL);
	base64_encode(d, 32, b64, BASE64_PAD);
	assert_string_equal(b64, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	body_digest(DKIM_CANON_RELAXED, "", 0, 1, d, NULL);
	base64_encode(d, 32, b64, BASE64_PAD);
	assert_string_equal(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	check_body(DKIM_CANON_SIMPLE, "\r\n\r\n", "\r\n");
	check_body(DKIM_CANON_RELAXED, " \t\r\n\r\n", "");
	/* No final CRLF: one is added. */
	check_body(DKIM_CANON_SIMPLE, "abc", "abc\r\n");
	check_body(DKIM_CANON_RELAXED, "abc  ", "abc\r\n");
	/* Lone CR and LF are content; empty lines inside stay. */
	check_body(DKIM_CANON_SIMPLE, "a\rb\nc\r\n\r\nd\r\n\r\n", "a\rb\nc\r\n\r\nd\r\n");
	check_body(DKIM_CANON_RELAXED, "  lead\r\n\r\n x \r", " lead\r\n\r\n x \r\r\n");
}

/* A plain reading of RFC 6376 3.4.3/3.4.4: split at CRLF, fix each line,
 * drop trailing empty lines, end each line with CRLF. */
static size_t reference_body(enum dkim_canon c, const char *in, size_t n, char *out)
{
	size_t o = 0, keep = 0, i = 0;
	while (i < n) {
		size_t j = i, start = o;
		int complete = 0;
		while (j < n && !(in[j] == '\r' && j + 1 < n && in[j + 1] == '\n'))
			j++;
		complete = j < n;
		if (c == DKIM_CANON_SIMPLE) {
			memcpy(out + o, in + i, j - i);
			o += j - i;
		} else {
			int wsp = 0;
			for (size_t k = i; k < j; k++) {
				if (in[k] == ' ' || in[k] == '\t') {
					wsp = 1;
					continue;
				}
				if (wsp)
					out[o++] = ' ';
				wsp = 0;
				out[o++] = in[k];
			}
		}
		if (!complete && o == start)
			break; /* an empty unterminated last line is no line */
		out[o++] = '\r';
		out[o++] = '\n';
		if (o - start > 2)
			keep = o;
		i = complete ? j + 2 : n;
	}
	o = keep;
	if (o == 0 && c == DKIM_CANON_SIMPLE) {
		out[0] = '\r';
		out[1] = '\n';
		o = 2;
	}
	return o;
}

static void test_canon_random(void **state)
{
	/* Dense with white space and line ends, or mostly text with single
	 * spaces (long runs for the eight-bytes-at-a-time scan). */
	static const char *alphabets[2] = { "ab  \t\r\n\r\n", "abcdefghijk lmnopqrstu vwxyz.\r\n\t " };
	char in[300], want[700];
	unsigned seed = 7;
	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)(round % 97) * 3;
		const char *alphabet = alphabets[round & 1];
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % strlen(alphabet)];
		}
		for (int c = 0; c < 2; c++) {
			unsigned char a[32], w[32];
			size_t wl = reference_body((enum dkim_canon)c, in, n, want);
			struct dkim_body *b = dkim_body_new((enum dkim_canon)c, -1);
			unsigned long long total;
			/* Chunks of varying size, so runs split anywhere. */
			for (size_t off = 0, k = 1; off < n; off += k, k = k % 13 + 1)
				assert_int_equal(dkim_body_update(b, in + off, off + k <= n ? k : n - off), 0);
			assert_int_equal(dkim_body_final(b, a, &total), 0);
			dkim_body_free(b);
			digest_of(want, wl, w);
			if (memcmp(a, w, 32) != 0 || total != wl)
				fail_msg("round %d canon %d: body differs from the reference", round, c);
		}
	}
}

/* Long bodies in big chunks: the 16-byte relaxed scan, its handling of
 * WSP runs and CRLFs inside a run, breaks at chunk ends, and stage
 * flushes at every alignment, all checked against the reference. */
static void test_canon_random_long(void **state)
{
	static const char *alphabets[4] = {
		"abcdefghijklmnopqrstuvwxyz    .\r\n",  /* text, single and double spaces */
		"abcdefgh \t  \r\n\r\n\r\n",          /* WSP and empty lines */
		"abcdefghijklmnopqrstuvwxyz\r\n\r \n",  /* lone CR, lone LF */
		"abcdefghijklmnopqrstuvwxyz0123456789",  /* one long run */
	};
	enum { MAXN = 20000 };
	char *in = malloc(MAXN), *want = malloc(2 * MAXN + 4);
	unsigned seed = 11;
	(void)state;
	assert_non_null(in);
	assert_non_null(want);
	for (int round = 0; round < 120; round++) {
		size_t n = (size_t)(round * 167) % MAXN;
		const char *alphabet = alphabets[round % 4];
		size_t al = strlen(alphabet);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			/* Mostly letters, so that runs grow past 16 bytes. */
			in[i] = (seed >> 13) % 4 ? alphabet[(seed >> 16) % 8] : alphabet[(seed >> 16) % al];
		}
		for (int c = 0; c < 2; c++) {
			unsigned char a[32], w[32];
			size_t wl = reference_body((enum dkim_canon)c, in, n, want);
			struct dkim_body *b = dkim_body_new((enum dkim_canon)c, -1);
			unsigned long long total;
			size_t k = round % 3 == 0 ? n + 1 : (size_t)(round % 41) * 37 + 1;
			for (size_t off = 0; off < n; off += k)
				assert_int_equal(dkim_body_update(b, in + off, off + k <= n ? k : n - off), 0);
			assert_int_equal(dkim_body_final(b, a, &total), 0);
			dkim_body_free(b);
			digest_of(want, wl, w);
			if (memcmp(a, w, 32) != 0 || total != wl)
				fail_msg("round %d canon %d: long body differs from the reference", round, c);
		}
	}
	free(in);
	free(want);
}

/* The verifier cuts b= out with the offsets dkim_sig_parse keeps; they
 * must cut exactly what dkim_strip_b does, wherever b= sits and however
 * it is folded. */
static void test_sig_b_offsets(void **state)
{
	static const char *fields[] = {
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from;\r\n"
		"\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n\tBBBB\r\n",
		"DKIM-Signature: v=1; a=rsa-sha256; b = AAAA BBBB ; d=example.com; s=s; h=from;"
		" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\r\n",
		"DKIM-Signature:b=\r\n AAAA\r\n\tBA==;v=1; a=ed25519-sha256; d=example.com; s=s; h=From : To;"
		" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n",
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from; "
		"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAABBBB;  \r\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *raw = fields[i];
		size_t len = strlen(raw), voff = (size_t)(strchr(raw, ':') + 1 - raw);
		size_t vlen = len - voff - 2; /* the value, as mailhdr_split gives it: no final CRLF */
		struct buf want = BUF_INIT, got = BUF_INIT;
		struct dkim_sig sig;
		char err[128];
		if (dkim_sig_parse(raw + voff, vlen, &sig, err, sizeof(err)) < 0)
			fail_msg("field %zu: %s", i, err);
		assert_int_equal(dkim_strip_b(raw, len, &want), 0);
		assert_int_equal(buf_append(&got, raw, voff + sig.b_start), 0);
		assert_int_equal(buf_append(&got, raw + voff + sig.b_end, len - voff - sig.b_end), 0);
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.data, want.data, want.len);
		dkim_sig_free(&sig);
		buf_free(&want);
		buf_free(&got);
	}
}

/* dkim_sign and dkim_verify find the body with mailhdr_body_off, then
 * split the header part: that must agree with splitting the whole. */
static void test_mailhdr_body_off(void **state)
{
	static const char *msgs[] = {
		"", "\r\n", "\r\nbody", "A: b\r\n\r\nbody\r\n\r\n", "A: b\r\n", "A: b", "A: b\r\r\n\r\nx",
		"A: b\r\n c\r\n\r\n", "A: b\n\nB: c\r\n\r\n", "A: b\r\n\r", "A: b\r\n\r\n",
		"bad line\r\n\r\nbody", " lead: x\r\n\r\n", "A: b\r\nno colon\r\n\r\nC: d\r\n\r\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		size_t len = strlen(msgs[i]), off = mailhdr_body_off(msgs[i], len);
		struct mailhdr whole, part;
		int rw = mailhdr_split(msgs[i], len, &whole), rp = mailhdr_split(msgs[i], off, &part);
		assert_int_equal(rw, rp);
		if (rw == 0) {
			assert_int_equal(whole.body_off, off);
			assert_int_equal(part.count, whole.count);
		}
		mailhdr_free(&whole);
		mailhdr_free(&part);
	}
}

/* Relaxed header canonicalization (RFC 6376 3.4.2) read plainly: name
 * lower-cased without WSP, then the value with CRLFs taken out left to
 * right, WSP runs as one SP, none at either end. */
static size_t reference_header(const char *in, size_t n, char *out)
{
	size_t o = 0, colon = 0, k = 0;
	char val[600];
	int wsp = 0, started = 0;
	if (n >= 2 && in[n - 2] == '\r' && in[n - 1] == '\n')
		n -= 2;
	while (colon < n && in[colon] != ':')
		colon++;
	for (size_t i = 0; i < colon; i++) {
		if (in[i] != ' ' && in[i] != '\t')
			out[o++] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
	}
	out[o++] = ':';
	for (size_t i = colon + 1; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			i++;
		else
			val[k++] = in[i];
	}
	for (size_t i = 0; i < k; i++) {
		if (val[i] == ' ' || val[i] == '\t') {
			wsp = 1;
			continue;
		}
		if (wsp && started)
			out[o++] = ' ';
		wsp = 0;
		started = 1;
		out[o++] = val[i];
	}
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}

static void test_canon_header_random(void **state)
{
	static const char name_chars[] = "aBcZ- \t";
	static const char value_chars[] = "abXY.  \t\r\n\r\n:";
	/* Long words and single spaces: the 16-byte copy in its stride. */
	static const char wordy_chars[] = "abcdefghijklmnopqrstuvwXYZ.:<>@ \r\n";
	char in[300], want[700];
	unsigned seed = 5;
	(void)state;
	for (int round = 0; round < 15000; round++) {
		size_t n = 0, nl, vl;
		struct buf got = BUF_INIT;
		seed = seed * 1103515245u + 12345u;
		nl = 1 + (seed >> 16) % 8;
		vl = (size_t)(round % 250);
		for (size_t i = 0; i < nl; i++) {
			seed = seed * 1103515245u + 12345u;
			in[n++] = name_chars[(seed >> 16) % (sizeof(name_chars) - 1)];
		}
		in[n++] = ':';
		for (size_t i = 0; i < vl; i++) {
			seed = seed * 1103515245u + 12345u;
			if (round % 3 == 2)
				in[n++] = wordy_chars[(seed >> 16) % (sizeof(wordy_chars) - 1)];
			else
				in[n++] = value_chars[(seed >> 16) % (sizeof(value_chars) - 1)];
		}
		if (round & 1) {
			in[n++] = '\r';
			in[n++] = '\n';
		}
		size_t wl = reference_header(in, n, want);
		assert_int_equal(dkim_canon_header(DKIM_CANON_RELAXED, in, n, &got), 0);
		if (got.len != wl || memcmp(got.data, want, wl) != 0)
			fail_msg("round %d: relaxed header differs from the reference", round);
		buf_free(&got);
	}
}

static void test_canon_limit(void **state)
{
	struct dkim_body *b = dkim_body_new(DKIM_CANON_SIMPLE, 5);
	unsigned char d[32], w[32];
	unsigned long long total;
	(void)state;
	assert_int_equal(dkim_body_update(b, "hello world\r\n", 13), 0);
	assert_int_equal(dkim_body_final(b, d, &total), 0);
	digest_of("hello", 5, w);
	assert_memory_equal(d, w, 32);
	assert_int_equal(total, 13);
	dkim_body_free(b);
}

/* ---- records ---- */

static void test_sig_parse(void **state)
{
	struct dkim_sig s;
	char err[128];
	const char *ok = "v=1; a=rsa-sha256; d=Example.COM; s=sel.2024; c=relaxed; "
			 "h=From : To; i=user@mail.example.com; l=10; t=5; x=9; "
			 "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AAAA\r\n BBBB";
	(void)state;
	assert_int_equal(dkim_sig_parse(ok, strlen(ok), &s, err, sizeof(err)), 0);
	assert_string_equal(s.domain, "example.com");
	assert_string_equal(s.selector, "sel.2024");
	assert_int_equal(s.hcanon, DKIM_CANON_RELAXED);
	assert_int_equal(s.bcanon, DKIM_CANON_SIMPLE);
	assert_int_equal(s.nheaders, 2);
	assert_string_equal(s.headers[0], "from");
	assert_string_equal(s.headers[1], "to");
	assert_int_equal(s.l, 10);
	assert_int_equal(s.b_len, 6);
	assert_string_equal(s.b_prefix, "AAAABBBB");
	dkim_sig_free(&s);

	/* Long h= lists go 16 bytes at a time: names across vectors, upper
	 * case, folding, and bytes outside 33..126 inside or after a name. */
	const char *longh = "v=1; a=rsa-sha256; d=e.com; s=s; "
			    "h=From:SUBJECT:Content-Transfer-Encoding:X-A-Very-Long-Header-Name-Beyond-16:\r\n\t"
			    "Date:to:From; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==";
	assert_int_equal(dkim_sig_parse(longh, strlen(longh), &s, err, sizeof(err)), 0);
	assert_int_equal(s.nheaders, 7);
	assert_string_equal(s.headers[0], "from");
	assert_string_equal(s.headers[1], "subject");
	assert_string_equal(s.headers[2], "content-transfer-encoding");
	assert_string_equal(s.headers[3], "x-a-very-long-header-name-beyond-16");
	assert_string_equal(s.headers[4], "date");
	assert_string_equal(s.headers[6], "from");
	dkim_sig_free(&s);
	static const char *badh[] = { "h=From:Content-Transfer\x80" "Encoding:to", "h=From:Content-Transfer Encoding:to",
				      "h=From:Content-Transfer-Encoding\x7f" ":to", "h=From:Content-Transfer-Encoding::to",
				      "h=From:Content-Transfer-Encoding:" };
	for (size_t i = 0; i < sizeof(badh) / sizeof(badh[0]); i++) {
		char t[300];
		snprintf(t, sizeof(t), "v=1; a=rsa-sha256; d=e.com; s=s; %s; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
			 badh[i]);
		assert_int_equal(dkim_sig_parse(t, strlen(t), &s, err, sizeof(err)), -1);
		assert_true(strstr(err, "h=") != NULL || strstr(err, "control") != NULL);
	}

	static const char *bad[] = {
		"a=rsa-sha256; d=e.com; s=s; h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha1; d=e.com; s=s; h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=to; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=from; i=a@evil.com; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=from; i=a@xe.com; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=from; t=10; x=5; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=from; bh=AAAA; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=from; c=fancy; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=from:; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=from; l=x; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e..com; s=s; h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=from; q=http; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AA==",
		"v=1; a=rsa-sha256; d=e.com; s=s; h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dkim_sig_parse(bad[i], strlen(bad[i]), &s, err, sizeof(err)) != -1)
			fail_msg("accepted bad signature %zu", i);
	}
}

static void test_key_parse(void **state)
{
	struct dkim_key k;
	char err[128];
	(void)state;
	assert_int_equal(dkim_key_parse(rfc_ed_record, strlen(rfc_ed_record), &k, err, sizeof(err)), 0);
	assert_int_equal(k.algo, DKIM_ALGO_ED25519_SHA256);
	assert_true(k.sha256_ok && k.email_ok && !k.revoked && !k.testing);
	dkim_key_free(&k);
	assert_int_equal(dkim_key_parse(rfc_rsa_record, strlen(rfc_rsa_record), &k, err, sizeof(err)), 0);
	assert_int_equal(k.bits, 1024);
	dkim_key_free(&k);

	assert_int_equal(dkim_key_parse("v=DKIM1; p=", 11, &k, err, sizeof(err)), 0);
	assert_true(k.revoked);
	assert_null(k.pkey);
	dkim_key_free(&k);

	const char *flags = "k=ed25519; h=sha1; s=ftp; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	assert_int_equal(dkim_key_parse(flags, strlen(flags), &k, err, sizeof(err)), 0);
	assert_true(!k.sha256_ok && !k.email_ok && k.testing && k.strict);
	dkim_key_free(&k);
	const char *star = "k=ed25519; h=sha1:sha256; s=*; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	assert_int_equal(dkim_key_parse(star, strlen(star), &k, err, sizeof(err)), 0);
	assert_true(k.sha256_ok && k.email_ok);
	dkim_key_free(&k);

	static const char *bad[] = {
		"v=DKIM2; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"k=ed25519; v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", /* v= not first */
		"k=dsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"k=ed25519",
		"k=ed25519; p=AAAA",
		"k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"k=rsa; p=!!!",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dkim_key_parse(bad[i], strlen(bad[i]), &k, err, sizeof(err)) != -1)
			fail_msg("accepted bad key %zu", i);
	}
}

/* ---- RFC 8463 vectors ---- */

static void test_rfc8463_verify(void **state)
{
	struct dns_resolver *dns = dns_with("brisbane._domainkey.football.example.com", rfc_ed_record,
					    "test._domainkey.football.example.com", rfc_rsa_record);
	struct dkim_verify_opts o = { .dns = dns, .now = 1528637909 + 60 };
	const char msg[] = RFC_ED_SIG RFC_RSA_SIG RFC_MSG;
	struct dkim_result *r;
	size_t n;
	(void)state;
	assert_int_equal(dkim_verify(&o, msg, strlen(msg), &r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].status, DKIM_PASS);
	assert_int_equal(r[0].algo, DKIM_ALGO_ED25519_SHA256);
	assert_string_equal(r[0].selector, "brisbane");
	assert_string_equal(r[0].b_prefix, "/gCrinpc");
	assert_int_equal(r[1].status, DKIM_PASS);
	assert_int_equal(r[1].algo, DKIM_ALGO_RSA_SHA256);
	assert_string_equal(r[1].domain, "football.example.com");
	assert_int_equal(dns_static_queries(dns), 2);
	free(r);

	/* One changed body byte breaks both. */
	char *bad = strdup(msg);
	*strstr(bad, "hungry") = 'H';
	assert_int_equal(dkim_verify(&o, bad, strlen(bad), &r, &n), 0);
	assert_int_equal(r[0].status, DKIM_FAIL);
	assert_string_equal(r[0].reason, "body hash mismatch");
	assert_int_equal(r[1].status, DKIM_FAIL);
	free(r);
	/* A changed signed header breaks the signature itself. */
	strcpy(bad, msg);
	*strstr(bad, "dinner") = 'D';
	assert_int_equal(dkim_verify(&o, bad, strlen(bad), &r, &n), 0);
	assert_int_equal(r[0].status, DKIM_FAIL);
	assert_string_equal(r[0].reason, "signature did not verify");
	free(r);
	free(bad);

	/* DNS trouble is a temperror; no record is a permerror. */
	dns_resolver_free(dns);
	dns = dns_with("test._domainkey.football.example.com", rfc_rsa_record, NULL, NULL);
	o.dns = dns;
	assert_int_equal(dns_static_set_status(dns, "brisbane._domainkey.football.example.com", DNS_TEMPFAIL), 0);
	assert_int_equal(dkim_verify(&o, msg, strlen(msg), &r, &n), 0);
	assert_int_equal(r[0].status, DKIM_TEMPERROR);
	assert_int_equal(r[1].status, DKIM_PASS);
	free(r);
	dns_resolver_free(dns);
	dns = dns_with("test._domainkey.football.example.com", rfc_rsa_record, NULL, NULL);
	o.dns = dns;
	assert_int_equal(dkim_verify(&o, msg, strlen(msg), &r, &n), 0);
	assert_int_equal(r[0].status, DKIM_PERMERROR);
	assert_string_equal(r[0].reason, "no key record");
	assert_int_equal(r[1].status, DKIM_PASS);
	free(r);
	dns_resolver_free(dns);
}

/* Ed25519 is deterministic: signing the RFC's own field with the RFC's
 * key must give the RFC's b= byte for byte. */
static void test_rfc8463_sign(void **state)
{
	const char msg[] = RFC_MSG;
	const char field[] = RFC_ED_SIG;
	static const char *names[] = { "from", "to", "subject", "date", "message-id", "from", "subject", "date" };
	struct dkim_privkey *key = rfc_ed_key();
	struct mailhdr h;
	struct buf stripped = BUF_INIT, rec = BUF_INIT;
	unsigned char hh[32], *sig;
	size_t siglen;
	char *b64;
	(void)state;
	assert_int_equal(mailhdr_split(msg, strlen(msg), &h), 0);
	assert_int_equal(dkim_strip_b(field, strlen(field), &stripped), 0);
	assert_non_null(strstr(stripped.data, " b=\r\n"));
	assert_int_equal(dkim_header_hash(DKIM_CANON_RELAXED, &h, names, 8, stripped.data, stripped.len, hh), 0);
	assert_int_equal(dkim_crypto_sign(key, hh, &sig, &siglen), 0);
	b64 = base64_encode_alloc(sig, siglen, BASE64_PAD);
	assert_string_equal(b64, "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
	free(b64);
	free(sig);
	/* The public half is the RFC's key record. */
	assert_int_equal(dkim_pubkey_record(dkim_privkey_pkey(key), &rec), 0);
	assert_string_equal(rec.data, rfc_ed_record);
	buf_free(&rec);
	buf_free(&stripped);
	mailhdr_free(&h);
	dkim_privkey_free(key);
}

/* ---- our signer, round trips ---- */

static struct dkim_result *sign_verify(struct dkim_privkey *key, const struct dkim_sign_opts *so, const char *msg,
				       const char *record, size_t *n, char **signed_out)
{
	struct buf out = BUF_INIT;
	char err[128];
	struct dkim_verify_opts vo = { .key_record = record };
	struct dkim_result *r;
	if (dkim_sign(so, key, msg, strlen(msg), &out, err, sizeof(err)) != 0)
		fail_msg("sign: %s", err);
	assert_int_equal(buf_puts(&out, msg), 0);
	assert_int_equal(dkim_verify(&vo, out.data, out.len, &r, n), 0);
	if (signed_out)
		*signed_out = buf_detach(&out, NULL);
	buf_free(&out);
	return r;
}

static void test_sign_roundtrip(void **state)
{
	struct dkim_privkey *keys[2] = { rfc_ed_key(), wrap(EVP_RSA_gen(2048)) };
	(void)state;
	assert_non_null(keys[1]);
	for (int k = 0; k < 2; k++) {
		struct buf rec = BUF_INIT;
		assert_int_equal(dkim_pubkey_record(dkim_privkey_pkey(keys[k]), &rec), 0);
		for (int c = 0; c < 4; c++) {
			struct dkim_sign_opts so = { .domain = "example.com", .selector = "s1",
						     .hcanon = (enum dkim_canon)(c >> 1), .bcanon = (enum dkim_canon)(c & 1),
						     .identity = "alice@mail.example.com", .expire_after = 3600 };
			size_t n;
			char *signed_msg;
			struct dkim_result *r = sign_verify(keys[k], &so, plain_msg, rec.data, &n, &signed_msg);
			assert_int_equal(n, 1);
			if (r[0].status != DKIM_PASS)
				fail_msg("key %d canon %d: %s", k, c, r[0].reason);
			assert_string_equal(r[0].identity, "alice@mail.example.com");
			/* Lines of the field stay short. */
			for (char *p = signed_msg, *e; (e = strstr(p, "\r\n")) && p < strstr(signed_msg, "From:"); p = e + 2)
				assert_true(e - p <= 78);
			free(signed_msg);
			free(r);
		}
		buf_free(&rec);
		dkim_privkey_free(keys[k]);
	}
}

static void test_multiple_signatures(void **state)
{
	struct dkim_privkey *ed = rfc_ed_key();
	struct buf msg = BUF_INIT, s1 = BUF_INIT, s2 = BUF_INIT, rec = BUF_INIT;
	struct dkim_sign_opts o1 = { .domain = "example.com", .selector = "a", .hcanon = DKIM_CANON_RELAXED };
	struct dkim_sign_opts o2 = { .domain = "example.org", .selector = "b", .bcanon = DKIM_CANON_RELAXED };
	struct dns_resolver *dns;
	struct dkim_verify_opts vo = { 0 };
	struct dkim_result *r;
	size_t n;
	char err[128];
	(void)state;
	assert_int_equal(dkim_pubkey_record(dkim_privkey_pkey(ed), &rec), 0);
	dns = dns_with("a._domainkey.example.com", rec.data, "b._domainkey.example.org", "p=");
	vo.dns = dns;
	assert_int_equal(dkim_sign(&o1, ed, plain_msg, strlen(plain_msg), &s1, err, sizeof(err)), 0);
	/* The second signer signs the message with the first signature on it. */
	assert_int_equal(buf_append(&s1, plain_msg, strlen(plain_msg)), 0);
	assert_int_equal(dkim_sign(&o2, ed, s1.data, s1.len, &s2, err, sizeof(err)), 0);
	assert_int_equal(buf_append(&msg, s2.data, s2.len), 0);
	assert_int_equal(buf_append(&msg, s1.data, s1.len), 0);
	assert_int_equal(dkim_verify(&vo, msg.data, msg.len, &r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].status, DKIM_PERMERROR); /* example.org's key is revoked */
	assert_string_equal(r[0].reason, "key revoked");
	assert_string_equal(r[0].domain, "example.org");
	assert_int_equal(r[1].status, DKIM_PASS);
	assert_string_equal(r[1].domain, "example.com");
	free(r);
	/* An unsigned message has no results. */
	assert_int_equal(dkim_verify(&vo, plain_msg, strlen(plain_msg), &r, &n), 0);
	assert_int_equal(n, 0);
	assert_null(r);
	buf_free(&msg);
	buf_free(&s1);
	buf_free(&s2);
	buf_free(&rec);
	dns_resolver_free(dns);
	dkim_privkey_free(ed);
}

/* Builds a signature by hand with the given extra tags (for l= and
 * friends, which our signer never writes) and prepends it. */
static char *hand_signed(struct dkim_privkey *key, const char *extra, long long l, const char *msg)
{
	struct mailhdr h;
	struct dkim_body *b = dkim_body_new(DKIM_CANON_RELAXED, l);
	struct buf field = BUF_INIT;
	unsigned char bh[32], hh[32], *sig;
	size_t siglen;
	char bh64[48], *b64, *out;
	static const char *names[] = { "from", "subject" };
	assert_int_equal(mailhdr_split(msg, strlen(msg), &h), 0);
	assert_int_equal(dkim_body_update(b, msg + h.body_off, strlen(msg) - h.body_off), 0);
	assert_int_equal(dkim_body_final(b, bh, NULL), 0);
	dkim_body_free(b);
	base64_encode(bh, 32, bh64, BASE64_PAD);
	assert_int_equal(buf_printf(&field, "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;\r\n"
				      " s=sel; %s h=from:subject; bh=%s;\r\n b=", extra, bh64), 0);
	if (l >= 0) {
		char lt[32];
		snprintf(lt, sizeof(lt), " l=%lld;", l);
		char *p = strstr(field.data, " h=");
		struct buf f2 = BUF_INIT;
		buf_append(&f2, field.data, (size_t)(p - field.data));
		buf_puts(&f2, lt);
		buf_puts(&f2, p);
		buf_free(&field);
		field = f2;
	}
	assert_int_equal(dkim_header_hash(DKIM_CANON_RELAXED, &h, names, 2, field.data, field.len, hh), 0);
	assert_int_equal(dkim_crypto_sign(key, hh, &sig, &siglen), 0);
	b64 = base64_encode_alloc(sig, siglen, BASE64_PAD);
	buf_printf(&field, "%s\r\n%s", b64, msg);
	free(b64);
	free(sig);
	mailhdr_free(&h);
	out = buf_detach(&field, NULL);
	return out;
}

static struct dkim_result verify_one(const char *msg, const char *record, int reject_partial, long long now)
{
	struct dkim_verify_opts vo = { .key_record = record, .reject_partial_body = reject_partial, .now = now };
	struct dkim_result *r, one;
	size_t n;
	assert_int_equal(dkim_verify(&vo, msg, strlen(msg), &r, &n), 0);
	assert_int_equal(n, 1);
	one = r[0];
	free(r);
	return one;
}

static void test_body_length(void **state)
{
	struct dkim_privkey *ed = rfc_ed_key();
	const char *base = "From: a@example.com\r\nSubject: s\r\n\r\nsigned part\r\n";
	char *m, *ext;
	struct dkim_result r;
	(void)state;
	/* l= covering the whole body. */
	m = hand_signed(ed, "", 13, base);
	r = verify_one(m, rfc_ed_record, 0, 0);
	assert_int_equal(r.status, DKIM_PASS);
	assert_false(r.partial_body);
	/* Content appended after signing: still passes, but flagged... */
	ext = concat(m, strlen(m), "appended by someone else\r\n", 26);
	r = verify_one(ext, rfc_ed_record, 0, 0);
	assert_int_equal(r.status, DKIM_PASS);
	assert_true(r.partial_body);
	/* ...and refused when the verifier asks for whole bodies. */
	r = verify_one(ext, rfc_ed_record, 1, 0);
	assert_int_equal(r.status, DKIM_POLICY);
	free(ext);
	free(m);
	/* l= longer than the body. */
	m = hand_signed(ed, "", 100, base);
	r = verify_one(m, rfc_ed_record, 0, 0);
	assert_int_equal(r.status, DKIM_PERMERROR);
	free(m);
	dkim_privkey_free(ed);
}

static void test_key_flags_and_expiry(void **state)
{
	struct dkim_privkey *ed = rfc_ed_key();
	const char *base = "From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n";
	const char *p = "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	char rec[256], *m;
	struct dkim_result r;
	(void)state;
	m = hand_signed(ed, "t=100; x=200;", -1, base);
	r = verify_one(m, rfc_ed_record, 0, 150);
	assert_int_equal(r.status, DKIM_PASS);
	r = verify_one(m, rfc_ed_record, 0, 201);
	assert_int_equal(r.status, DKIM_FAIL);
	assert_string_equal(r.reason, "signature expired");
	free(m);

	m = hand_signed(ed, "i=x@sub.example.com;", -1, base);
	snprintf(rec, sizeof(rec), "k=ed25519; t=s; %s", p);
	r = verify_one(m, rec, 0, 0);
	assert_int_equal(r.status, DKIM_PERMERROR); /* t=s forbids subdomains in i= */
	snprintf(rec, sizeof(rec), "k=ed25519; h=sha1; %s", p);
	r = verify_one(m, rec, 0, 0);
	assert_int_equal(r.status, DKIM_PERMERROR);
	assert_string_equal(r.reason, "key h= does not allow sha256");
	snprintf(rec, sizeof(rec), "k=ed25519; s=ftp; %s", p);
	r = verify_one(m, rec, 0, 0);
	assert_int_equal(r.status, DKIM_PERMERROR);
	snprintf(rec, sizeof(rec), "k=rsa; %s", rfc_rsa_record + 16);
	r = verify_one(m, rec, 0, 0);
	assert_int_equal(r.status, DKIM_PERMERROR);
	assert_string_equal(r.reason, "key type does not match a=");
	/* Testing mode: a passing signature passes (flagged), a failing one is neutral. */
	snprintf(rec, sizeof(rec), "k=ed25519; t=y; %s", p);
	r = verify_one(m, rec, 0, 0);
	assert_int_equal(r.status, DKIM_PASS);
	assert_true(r.testing);
	*strstr(m, "body") = 'B';
	r = verify_one(m, rec, 0, 0);
	assert_int_equal(r.status, DKIM_NEUTRAL);
	assert_true(r.testing);
	free(m);
	dkim_privkey_free(ed);
}

static void test_oversigning(void **state)
{
	struct dkim_privkey *ed = rfc_ed_key();
	struct buf rec = BUF_INIT;
	struct dkim_sign_opts so = { .domain = "example.com", .selector = "s", .hcanon = DKIM_CANON_RELAXED,
				     .bcanon = DKIM_CANON_RELAXED };
	size_t n;
	char *signed_msg, *hdr_end, *forged;
	struct dkim_result *r;
	(void)state;
	assert_int_equal(dkim_pubkey_record(dkim_privkey_pkey(ed), &rec), 0);
	for (int over = 0; over < 2; over++) {
		so.no_oversign = !over;
		r = sign_verify(ed, &so, plain_msg, rec.data, &n, &signed_msg);
		assert_int_equal(r[0].status, DKIM_PASS);
		free(r);
		/* Someone adds a second Subject above the signed one. */
		hdr_end = strstr(signed_msg, "From: Alice");
		forged = malloc(strlen(signed_msg) + 64);
		memcpy(forged, signed_msg, (size_t)(hdr_end - signed_msg));
		strcpy(forged + (hdr_end - signed_msg), "Subject: you won\r\n");
		strcat(forged, hdr_end);
		struct dkim_result one = verify_one(forged, rec.data, 0, 0);
		/* Without oversigning the forged field slips through. */
		assert_int_equal(one.status, over ? DKIM_FAIL : DKIM_PASS);
		free(forged);
		free(signed_msg);
	}
	buf_free(&rec);
	dkim_privkey_free(ed);
}

static void test_streaming_verifier(void **state)
{
	struct dkim_verify_opts o = { .key_record = rfc_ed_record, .now = 1528637909 };
	const char msg[] = RFC_ED_SIG RFC_MSG;
	const char *body = strstr(msg, "\r\n\r\n") + 4;
	struct dkim_verifier *v = dkim_verifier_new(&o);
	const struct dkim_result *r;
	size_t n;
	(void)state;
	assert_int_equal(dkim_verifier_headers(v, msg, (size_t)(body - msg)), 0);
	for (const char *p = body; *p; p++)
		assert_int_equal(dkim_verifier_body(v, p, 1), 0);
	assert_int_equal(dkim_verifier_finish(v, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].status, DKIM_PASS);
	dkim_verifier_free(v);
}

/* The streaming signer, fed a byte at a time, writes the same field as the
 * one-call form (Ed25519 is deterministic), and a 1 MiB body streams
 * through the verifier in chunks. */
static void test_streaming_signer_and_big_body(void **state)
{
	struct dkim_privkey *ed = rfc_ed_key();
	struct dkim_sign_opts so = { .domain = "example.com", .selector = "s", .hcanon = DKIM_CANON_RELAXED,
				     .bcanon = DKIM_CANON_RELAXED, .timestamp = 1700000000 };
	struct buf whole = BUF_INIT, streamed = BUF_INIT, big = BUF_INIT, rec = BUF_INIT;
	const char *body = strstr(plain_msg, "\r\n\r\n") + 4;
	struct dkim_signer *s;
	char err[128];
	(void)state;
	assert_int_equal(dkim_sign(&so, ed, plain_msg, strlen(plain_msg), &whole, err, sizeof(err)), 0);
	assert_non_null(s = dkim_signer_new(&so, ed, err, sizeof(err)));
	assert_int_equal(dkim_signer_headers(s, plain_msg, (size_t)(body - plain_msg), err, sizeof(err)), 0);
	for (const char *p = body; *p; p++)
		assert_int_equal(dkim_signer_body(s, p, 1), 0);
	assert_int_equal(dkim_signer_finish(s, &streamed, err, sizeof(err)), 0);
	dkim_signer_free(s);
	assert_string_equal(whole.data, streamed.data);

	/* 1 MiB of body: signed in one call, verified in 64 KiB chunks. */
	assert_int_equal(buf_puts(&big, "From: a@example.com\r\nSubject: big\r\n\r\n"), 0);
	while (big.len < 1024 * 1024)
		assert_int_equal(buf_puts(&big, "Lorem ipsum  dolor sit amet,\tconsectetur adipiscing elit.  \r\n"), 0);
	buf_reset(&whole);
	assert_int_equal(dkim_sign(&so, ed, big.data, big.len, &whole, err, sizeof(err)), 0);
	assert_int_equal(dkim_pubkey_record(dkim_privkey_pkey(ed), &rec), 0);
	{
		struct dkim_verify_opts vo = { .key_record = rec.data };
		struct dkim_verifier *v = dkim_verifier_new(&vo);
		const struct dkim_result *r;
		size_t n, hl = (size_t)(strstr(big.data, "\r\n\r\n") + 4 - big.data);
		assert_int_equal(buf_append(&whole, big.data, hl), 0);
		assert_int_equal(dkim_verifier_headers(v, whole.data, whole.len), 0);
		for (size_t off = hl; off < big.len; off += 65536)
			assert_int_equal(dkim_verifier_body(v, big.data + off, off + 65536 <= big.len ? 65536 : big.len - off), 0);
		assert_int_equal(dkim_verifier_finish(v, &r, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(r[0].status, DKIM_PASS);
		dkim_verifier_free(v);
	}
	/* An i= outside d= is refused up front. */
	so.identity = "x@example.org";
	assert_null(dkim_signer_new(&so, ed, err, sizeof(err)));
	so.identity = "x@badexample.com";
	assert_null(dkim_signer_new(&so, ed, err, sizeof(err)));
	so.identity = "@sub.example.com";
	assert_non_null(s = dkim_signer_new(&so, ed, err, sizeof(err)));
	dkim_signer_free(s);
	buf_free(&whole);
	buf_free(&streamed);
	buf_free(&big);
	buf_free(&rec);
	dkim_privkey_free(ed);
}

static void test_privkey_load(void **state)
{
	char path[] = "/tmp/test_dkim_keyXXXXXX";
	int fd = mkstemp(path);
	struct dkim_privkey *k;
	char err[256];
	FILE *f;
	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "%s\n", rfc_seed_b64);
	fclose(f);
	assert_int_equal(dkim_privkey_load(path, &k, err, sizeof(err)), 0);
	assert_int_equal(EVP_PKEY_get_base_id(dkim_privkey_pkey(k)), EVP_PKEY_ED25519);
	dkim_privkey_free(k);
	f = fopen(path, "w");
	fprintf(f, "not a key\n");
	fclose(f);
	assert_int_equal(dkim_privkey_load(path, &k, err, sizeof(err)), -1);
	assert_null(strstr(err, "not a key"));
	unlink(path);
	assert_int_equal(dkim_privkey_load(path, &k, err, sizeof(err)), -1);
}

static void test_keycache(void **state)
{
	struct dkim_keycache *c = dkim_keycache_new(2);
	struct dkim_verify_opts o = { .keys = c, .now = 1528637909 };
	const char msg[] = RFC_ED_SIG RFC_MSG;
	struct dns_resolver *dns = dns_with("brisbane._domainkey.football.example.com", rfc_ed_record, NULL, NULL);
	struct dkim_result *r;
	size_t n;
	struct dkim_key k;
	(void)state;
	o.dns = dns;
	/* The same key verifies many messages through one cached entry. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dkim_verify(&o, msg, strlen(msg), &r, &n), 0);
		assert_int_equal(r[0].status, DKIM_PASS);
		free(r);
	}
	assert_non_null(dkim_keycache_get(c, rfc_ed_record, strlen(rfc_ed_record)));
	/* Eviction: two more records push the least recently used one out. */
	for (int i = 0; i < 2; i++) {
		char rec[64];
		snprintf(rec, sizeof(rec), "v=DKIM1; n=%d; p=", i);
		assert_int_equal(dkim_key_parse(rec, strlen(rec), &k, NULL, 0), 0);
		assert_non_null(dkim_keycache_put(c, rec, strlen(rec), &k));
	}
	assert_null(dkim_keycache_get(c, rfc_ed_record, strlen(rfc_ed_record)));
	assert_non_null(dkim_keycache_get(c, "v=DKIM1; n=1; p=", 16));
	/* A bad record is not cached, and still a permerror. */
	o.dns = NULL;
	o.key_record = "k=bogus; p=";
	assert_int_equal(dkim_verify(&o, msg, strlen(msg), &r, &n), 0);
	assert_int_equal(r[0].status, DKIM_PERMERROR);
	free(r);
	dkim_keycache_free(c);
	dns_resolver_free(dns);
}

/* ---- the scratch arena ---- */
static void test_arena(void **state)
{
	struct dkim_arena a;
	unsigned char *p[64];
	(void)state;
	memset(&a, 0, sizeof(a));
	/* Empty arena: everything spills, contents stay put, all aligned. */
	for (int i = 0; i < 64; i++) {
		assert_non_null(p[i] = dkim_arena_alloc(&a, (size_t)(i * 37 % 300)));
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], i, (size_t)(i * 37 % 300));
	}
	for (int i = 0; i < 64; i++) {
		for (size_t k = 0; k < (size_t)(i * 37 % 300); k++)
			assert_int_equal(p[i][k], i);
	}
	/* The reset grows the block to the peak: the same again fits it. */
	dkim_arena_reset(&a);
	assert_true(a.cap >= 64 * 16);
	assert_null(a.spill);
	for (int i = 0; i < 64; i++) {
		assert_non_null(p[i] = dkim_arena_alloc(&a, (size_t)(i * 37 % 300)));
		assert_true(p[i] >= a.block && p[i] < a.block + a.cap);
	}
	assert_null(a.spill);
	char *s = dkim_arena_strndup(&a, "hello world", 5);
	assert_string_equal(s, "hello");
	/* A huge message spills, and the block stays bounded after it. */
	dkim_arena_reset(&a);
	assert_non_null(p[0] = dkim_arena_alloc(&a, 3 * DKIM_ARENA_KEEP_MAX));
	memset(p[0], 1, 3 * DKIM_ARENA_KEEP_MAX);
	dkim_arena_reset(&a);
	assert_true(a.cap <= DKIM_ARENA_KEEP_MAX);
	/* Sizes that would overflow fail cleanly; the arena goes on. */
	assert_null(dkim_arena_alloc(&a, SIZE_MAX));
	assert_null(dkim_arena_alloc(&a, SIZE_MAX - 8));
	assert_non_null(dkim_arena_alloc(&a, 0));
	dkim_arena_free(&a);
	assert_null(a.block);
	dkim_arena_free(&a); /* twice is fine */
}

/* The one-pass decoder against FWS stripped, then base64_decode. */
static long b64_reference(const char *s, size_t n, unsigned char *out, size_t outmax)
{
	char tmp[256];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strchr(" \t\r\n", s[i]) || !s[i])
			tmp[k++] = s[i];
	}
	if (base64_decoded_max(k) > outmax)
		return -2;
	return base64_decode(tmp, k, out, outmax, BASE64_PAD_OPTIONAL);
}

static void test_b64_fws_decode(void **state)
{
	static const char chars[] = "Az09+/=  \t\r\n!-\x80Q";
	unsigned seed = 7;
	(void)state;
	for (int round = 0; round < 200000; round++) {
		char in[200];
		unsigned char raw[120], o1[160], o2[160];
		size_t n = 0, outmax;
		seed = seed * 1103515245 + 12345;
		if (round % 2) {
			/* Valid base64 of random bytes, FWS sprinkled in, sometimes
			 * one byte changed. */
			size_t rl = (seed >> 8) % 100;
			char enc[200];
			for (size_t i = 0; i < rl; i++)
				raw[i] = (unsigned char)(seed = seed * 1103515245 + 12345) >> 16;
			base64_encode(raw, rl, enc, (seed >> 20) & 1 ? BASE64_PAD : 0);
			for (size_t i = 0; enc[i] && n < sizeof(in) - 2; i++) {
				seed = seed * 1103515245 + 12345;
				/* Rare FWS in some rounds: long runs for the 16-byte path. */
				if ((seed >> 16) % (round % 4 == 1 ? 9 : 60) == 0)
					in[n++] = " \t\r\n"[(seed >> 8) & 3];
				in[n++] = enc[i];
			}
			seed = seed * 1103515245 + 12345;
			if (n && (seed >> 16) % 5 == 0)
				in[(seed >> 4) % n] = chars[(seed >> 20) % (sizeof(chars) - 1)];
		} else {
			n = (seed >> 8) % 40;
			for (size_t i = 0; i < n; i++) {
				seed = seed * 1103515245 + 12345;
				in[i] = chars[(seed >> 16) % (sizeof(chars) - 1)];
			}
		}
		seed = seed * 1103515245 + 12345;
		outmax = (seed >> 16) % 4 == 0 ? (seed >> 8) % 80 : sizeof(o1);
		memset(o1, 0, sizeof(o1));
		memset(o2, 0, sizeof(o2));
		long r1 = dkim_b64_fws_decode(in, n, o1, outmax), r2 = b64_reference(in, n, o2, outmax);
		if (r1 != r2)
			fail_msg("round %d: '%.*s' outmax %zu: %ld, reference %ld", round, (int)n, in, outmax, r1, r2);
		if (r1 > 0)
			assert_memory_equal(o1, o2, (size_t)r1);
	}
}

/* A verifier kept across messages gives what a fresh one gives, message
 * after message, whatever came before: passes, failures, several
 * signatures, malformed and unsigned messages, streamed or whole. */
static void test_verifier_reuse(void **state)
{
	struct dkim_privkey *ed = rfc_ed_key();
	struct buf rec = BUF_INIT, twice = BUF_INIT, big = BUF_INIT, s = BUF_INIT;
	struct dkim_sign_opts so = { .domain = "example.com", .selector = "a", .hcanon = DKIM_CANON_RELAXED };
	struct dns_resolver *dns;
	struct dkim_keycache *kc = dkim_keycache_new(4);
	char *tampered = strdup(RFC_ED_SIG RFC_MSG);
	(void)state;
	assert_int_equal(dkim_pubkey_record(dkim_privkey_pkey(ed), &rec), 0);
	dns = dns_with("brisbane._domainkey.football.example.com", rfc_ed_record, "a._domainkey.example.com", rec.data);
	assert_int_equal(dns_static_add(dns, "test._domainkey.football.example.com", DNS_TXT, rfc_rsa_record, (size_t)-1), 0);
	strstr(tampered, "hungry")[0] = 'H';
	/* Two signatures with different body settings, over plain_msg. */
	assert_int_equal(dkim_sign(&so, ed, plain_msg, strlen(plain_msg), &s, NULL, 0), 0);
	so.bcanon = DKIM_CANON_RELAXED;
	so.selector = "a";
	assert_int_equal(dkim_sign(&so, ed, plain_msg, strlen(plain_msg), &twice, NULL, 0), 0);
	buf_append(&twice, s.data, s.len);
	buf_puts(&twice, plain_msg);
	/* A header block bigger than any before (the arena spills). */
	buf_append(&big, s.data, s.len);
	for (int i = 0; i < 300; i++)
		buf_printf(&big, "X-Filler-%d: %0200d\r\n", i, i);
	buf_puts(&big, plain_msg);
	const char *msgs[] = { RFC_ED_SIG RFC_MSG, RFC_RSA_SIG RFC_MSG, tampered, twice.data,
			       "no colon here\r\n\r\nbody\r\n", plain_msg, big.data, RFC_ED_SIG RFC_MSG,
			       RFC_ED_SIG RFC_RSA_SIG RFC_ED_SIG RFC_MSG, "", twice.data };
	for (int keys = 0; keys < 2; keys++) {
		struct dkim_verify_opts o = { .dns = dns, .keys = keys ? kc : NULL, .now = 1528637909,
					      .max_signatures = 2 };
		struct dkim_verifier *v = dkim_verifier_new(&o);
		for (int round = 0; round < 3; round++) {
			for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
				const char *msg = msgs[m];
				size_t len = strlen(msg), n1, n2;
				struct dkim_result *want;
				const struct dkim_result *got;
				assert_int_equal(dkim_verify(&o, msg, len, &want, &n1), 0);
				if (round == 1) {
					/* Streamed, through reset. */
					size_t bo = mailhdr_body_off(msg, len);
					dkim_verifier_reset(v);
					assert_int_equal(dkim_verifier_headers(v, msg, bo), 0);
					for (size_t i = bo; i < len; i += 7)
						assert_int_equal(dkim_verifier_body(v, msg + i, len - i < 7 ? len - i : 7), 0);
					assert_int_equal(dkim_verifier_finish(v, &got, &n2), 0);
				} else {
					assert_int_equal(dkim_verifier_message(v, msg, len, &got, &n2), 0);
				}
				assert_int_equal(n1, n2);
				for (size_t i = 0; i < n1; i++) {
					if (got[i].status != want[i].status || strcmp(got[i].reason, want[i].reason) != 0)
						fail_msg("message %zu sig %zu: %s (%s), want %s (%s)", m, i,
							 dkim_status_name(got[i].status), got[i].reason,
							 dkim_status_name(want[i].status), want[i].reason);
					assert_memory_equal(&got[i], &want[i], sizeof(got[i]));
				}
				if (m == 0)
					assert_int_equal(got[0].status, DKIM_PASS);
				if (m == 3)
					assert_true(n2 == 2 && got[0].status == DKIM_PASS && got[1].status == DKIM_PASS);
				free(want);
			}
		}
		dkim_verifier_free(v);
	}
	dkim_keycache_free(kc);
	dns_resolver_free(dns);
	free(tampered);
	buf_free(&rec);
	buf_free(&twice);
	buf_free(&big);
	buf_free(&s);
	dkim_privkey_free(ed);
}

/* A signer kept across messages writes the very field dkim_sign writes
 * (both algorithms are deterministic), whatever came before: other
 * messages, failed ones, streamed or whole. */
static void test_signer_reuse(void **state)
{
	struct dkim_privkey *keys[2] = { rfc_ed_key(), wrap(EVP_RSA_gen(1024)) };
	struct buf big = BUF_INIT;
	(void)state;
	for (int i = 0; i < 200; i++)
		buf_printf(&big, "X-Filler-%d: %0150d\r\n", i, i);
	buf_puts(&big, plain_msg);
	const char *msgs[] = { plain_msg, RFC_MSG, "Subject: no from\r\n\r\nbody\r\n", big.data,
			       "bad header\r\n\r\nx\r\n", "From: a@example.com\r\n", RFC_MSG };
	for (int k = 0; k < 2; k++) {
		for (int c = 0; c < 4; c++) {
			struct dkim_sign_opts so = { .domain = "example.com", .selector = "s1",
						     .hcanon = (enum dkim_canon)(c >> 1), .bcanon = (enum dkim_canon)(c & 1),
						     .identity = c == 3 ? "a@example.com" : NULL, .expire_after = c * 100,
						     .timestamp = 1795000000 + c };
			struct dkim_signer *sg = dkim_signer_new(&so, keys[k], NULL, 0);
			assert_non_null(sg);
			for (int round = 0; round < 2; round++) {
				for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
					struct buf want = BUF_INIT, got = BUF_INIT;
					const char *msg = msgs[m];
					size_t len = strlen(msg);
					int r1 = dkim_sign(&so, keys[k], msg, len, &want, NULL, 0), r2;
					if (round == 0) {
						r2 = dkim_signer_message(sg, msg, len, &got, NULL, 0);
					} else {
						size_t bo = mailhdr_body_off(msg, len);
						assert_int_equal(dkim_signer_reset(sg), 0);
						r2 = dkim_signer_headers(sg, msg, bo, NULL, 0);
						for (size_t i = bo; r2 == 0 && i < len; i += 5)
							r2 = dkim_signer_body(sg, msg + i, len - i < 5 ? len - i : 5);
						if (r2 == 0)
							r2 = dkim_signer_finish(sg, &got, NULL, 0);
					}
					assert_int_equal(r1, r2);
					assert_int_equal(want.len, got.len);
					if (want.len)
						assert_memory_equal(want.data, got.data, want.len);
					if (m == 0)
						assert_true(r1 == 0 && want.len > 100);
					buf_free(&want);
					buf_free(&got);
				}
			}
			dkim_signer_free(sg);
		}
		dkim_privkey_free(keys[k]);
	}
	buf_free(&big);
}

/* Text in words, with every kind of break the fast path of relaxed body
 * canonicalization takes in its stride (single and double spaces, WSP
 * before CRLF as format=flowed writes it, TAB runs, empty lines),
 * against the reference, in chunks of many sizes. */
static void test_canon_flowed(void **state)
{
	static const char *breaks[] = { " ", " ", " ", "  ", " \r\n", "\t\r\n", "\r\n", " \t \r\n\r\n", "\r\n ",
					"\r", " \r\n\t", "   " };
	enum { MAXN = 12000 };
	char *in = malloc(MAXN + 64), *want = malloc(2 * MAXN + 200);
	unsigned seed = 17;
	(void)state;
	assert_non_null(in);
	assert_non_null(want);
	for (int round = 0; round < 60; round++) {
		size_t n = 0, limit = (size_t)(round * 211) % MAXN;
		while (n < limit) {
			seed = seed * 1103515245u + 12345u;
			size_t wl = 1 + (seed >> 16) % 12;
			for (size_t i = 0; i < wl; i++)
				in[n++] = (char)('a' + (seed >> (i % 8)) % 26);
			seed = seed * 1103515245u + 12345u;
			const char *br = breaks[(seed >> 16) % (round % 2 ? 12 : 7)];
			memcpy(in + n, br, strlen(br));
			n += strlen(br);
		}
		unsigned char a[32], w[32];
		size_t wl = reference_body(DKIM_CANON_RELAXED, in, n, want);
		struct dkim_body *b = dkim_body_new(DKIM_CANON_RELAXED, -1);
		unsigned long long total;
		size_t k = round % 3 == 0 ? n + 1 : (size_t)(round % 23) * 53 + 1;
		for (size_t off = 0; off < n; off += k)
			assert_int_equal(dkim_body_update(b, in + off, off + k <= n ? k : n - off), 0);
		assert_int_equal(dkim_body_final(b, a, &total), 0);
		dkim_body_free(b);
		digest_of(want, wl, w);
		if (memcmp(a, w, 32) != 0 || total != wl)
			fail_msg("round %d: flowed body differs from the reference", round);
	}
	/* Text, then a CRLF falling at every offset in a 16-byte vector
	 * (and across two), then empty lines to the end: those count only
	 * if content follows, and none does; the same with a lone CR. */
	for (int tail = 0; tail < 3; tail++) {
		for (size_t k = 1; k < 48; k++) {
			unsigned char a[32], w[32];
			size_t n = 0, wl;
			for (size_t i = 0; i < k; i++)
				in[n++] = i % 5 == 4 ? ' ' : (char)('a' + i % 26);
			for (int i = 0; i < 12; i++) {
				const char *piece = tail == 0 ? "\r\n" : tail == 1 ? " \r\n" : "\rx\r\n";
				memcpy(in + n, piece, strlen(piece));
				n += strlen(piece);
			}
			wl = reference_body(DKIM_CANON_RELAXED, in, n, want);
			struct dkim_body *b = dkim_body_new(DKIM_CANON_RELAXED, -1);
			assert_int_equal(dkim_body_update(b, in, n), 0);
			assert_int_equal(dkim_body_final(b, a, NULL), 0);
			dkim_body_free(b);
			digest_of(want, wl, w);
			if (memcmp(a, w, 32) != 0)
				fail_msg("tail %d, %zu bytes of text: body differs from the reference", tail, k);
		}
	}
	free(in);
	free(want);
}

/* mailhdr_resplit keeps the field array from message to message, and a
 * failed split leaves it empty but still owned. */
static void test_mailhdr_resplit(void **state)
{
	struct mailhdr h;
	const struct mailhdr_field *arr;
	const char a[] = "From: a\r\nTo: b\r\n\r\nbody";
	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(mailhdr_resplit(a, strlen(a), &h), 0);
	assert_int_equal(h.count, 2);
	assert_int_equal(h.body_off, strlen(a) - 4);
	arr = h.fields;
	assert_int_equal(mailhdr_resplit("X: 1\r\n", 6, &h), 0);
	assert_int_equal(h.count, 1);
	assert_ptr_equal(h.fields, arr);
	assert_int_equal(h.body_off, 6);
	assert_int_equal(mailhdr_resplit("no colon\r\n\r\n", 12, &h), MAILHDR_EMALFORMED);
	assert_int_equal(h.count, 0);
	assert_ptr_equal(h.fields, arr);
	assert_int_equal(mailhdr_resplit(a, strlen(a), &h), 0);
	assert_int_equal(h.count, 2);
	assert_memory_equal(h.fields[1].name, "To", 2);
	mailhdr_free(&h);
}

/* Repeated names take the instances bottom-up, one each, and nothing
 * once they run out; checked against the canonical fields put together
 * by hand (sign and verify share dkim_header_hash, so a round trip could
 * not tell). */
static void test_header_hash_repeats(void **state)
{
	const char hdr[] = "To: a\r\nFrom: x\r\nTo: b\r\nSubject: s\r\nTO: c\r\n\r\n";
	const char *names[] = { "to", "To", "TO", "to", "from", "FROM", "subject", "to" };
	const char sigf[] = "DKIM-Signature: v=1; b=";
	struct mailhdr h;
	struct buf want = BUF_INIT;
	unsigned char got[32], exp[32];
	(void)state;
	assert_int_equal(mailhdr_split(hdr, strlen(hdr), &h), 0);
	/* to: c, b, a, then none; from: x, then none; subject: s; to: none. */
	const size_t order[] = { 4, 2, 0, 1, 3 };
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(dkim_canon_header(DKIM_CANON_RELAXED, h.fields[order[i]].raw, h.fields[order[i]].raw_len,
						   &want), 0);
	assert_int_equal(dkim_canon_header(DKIM_CANON_RELAXED, sigf, strlen(sigf), &want), 0);
	assert_int_equal(scop_sha256(want.data, want.len - 2, exp), 0);
	assert_int_equal(dkim_header_hash(DKIM_CANON_RELAXED, &h, names, 8, sigf, strlen(sigf), got), 0);
	assert_memory_equal(got, exp, 32);
	buf_free(&want);
	mailhdr_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailhdr_split),
		cmocka_unit_test(test_from_domain),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_canon_rfc_example),
		cmocka_unit_test(test_canon_edge_cases),
		cmocka_unit_test(test_canon_random),
		cmocka_unit_test(test_canon_random_long),
		cmocka_unit_test(test_tags_control_long),
		cmocka_unit_test(test_canon_header_random),
		cmocka_unit_test(test_sig_b_offsets),
		cmocka_unit_test(test_mailhdr_body_off),
		cmocka_unit_test(test_canon_limit),
		cmocka_unit_test(test_sig_parse),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_rfc8463_verify),
		cmocka_unit_test(test_rfc8463_sign),
		cmocka_unit_test(test_sign_roundtrip),
		cmocka_unit_test(test_multiple_signatures),
		cmocka_unit_test(test_body_length),
		cmocka_unit_test(test_key_flags_and_expiry),
		cmocka_unit_test(test_oversigning),
		cmocka_unit_test(test_streaming_verifier),
		cmocka_unit_test(test_streaming_signer_and_big_body),
		cmocka_unit_test(test_privkey_load),
		cmocka_unit_test(test_keycache),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_b64_fws_decode),
		cmocka_unit_test(test_verifier_reuse),
		cmocka_unit_test(test_signer_reuse),
		cmocka_unit_test(test_canon_flowed),
		cmocka_unit_test(test_mailhdr_resplit),
		cmocka_unit_test(test_header_hash_repeats),
	};
	return cmocka_run_group_tests_name("dkim", tests, NULL, NULL);
}
