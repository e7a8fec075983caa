/* Unit tests for bridge-smtp/mime: header fields, folding, encoded words,
 * RFC 2231 parameters, transfer encodings, charsets, multipart nesting,
 * malformed input, limits, building and byte-identical round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/mime.h"
#include "common/buf.h"

static struct mime_msg *parse(const char *s)
{
	struct mime_msg *m = NULL;
	assert_int_equal(mime_parse(s, strlen(s), 0, NULL, &m), 0);
	assert_non_null(m);
	return m;
}

static int has_error(struct mime_msg *m, enum mime_error_code code)
{
	size_t n;
	const struct mime_error *e = mime_msg_errors(m, &n, NULL);
	for (size_t i = 0; i < n; i++)
		if (e[i].code == code)
			return 1;
	return 0;
}

/* parse, encode unchanged, compare bytes */
static void assert_identical(const char *s, size_t len)
{
	struct mime_msg *m = NULL;
	struct buf b = BUF_INIT;
	assert_int_equal(mime_parse(s, len, 0, NULL, &m), 0);
	assert_int_equal(mime_encode(m, &b), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data ? b.data : "", s, len);
	buf_free(&b);
	mime_msg_free(m);
}

/* encode a built tree, parse it, compare trees */
static struct mime_msg *assert_rebuilds(struct mime_msg *built, struct buf *out)
{
	struct mime_msg *back = NULL;
	char why[200];
	assert_int_equal(mime_encode(built, out), 0);
	assert_int_equal(mime_parse(out->data, out->len, MIME_PARSE_COPY, NULL, &back), 0);
	if (!mime_msg_equal(built, back, why, sizeof(why)))
		fail_msg("trees differ: %s\n%s", why, out->data);
	return back;
}

static void test_headers_basic(void **state)
{
	(void)state;
	const char *s = "From: Alice <a@example.org>\r\n"
		"To: b@example.org\r\n"
		"Subject: a folded\r\n  subject\twith tab\r\n"
		"X-Empty:\r\n"
		"X-Dup: one\r\n"
		"x-dup: two\r\n"
		"\r\n"
		"Body\r\n";
	struct mime_msg *m = parse(s);
	struct mime_part *r = mime_msg_root(m);
	assert_string_equal(mime_part_header(m, r, "from"), "Alice <a@example.org>");
	assert_string_equal(mime_part_header(m, r, "SUBJECT"), "a folded  subject\twith tab");
	assert_string_equal(mime_part_header(m, r, "x-empty"), "");
	assert_null(mime_part_header(m, r, "cc"));
	struct mime_header *h = mime_header_find(r, "X-DUP", NULL);
	assert_non_null(h);
	assert_string_equal(mime_header_value(m, h, NULL), "one");
	h = mime_header_find(r, "X-DUP", h);
	assert_non_null(h);
	assert_string_equal(mime_header_name(h), "x-dup");
	assert_string_equal(mime_header_value(m, h, NULL), "two");
	assert_null(mime_header_find(r, "X-DUP", h));
	size_t rl;
	const char *raw = mime_header_raw(mime_header_find(r, "subject", NULL), &rl);
	assert_int_equal(rl, strlen(" a folded\r\n  subject\twith tab"));
	assert_memory_equal(raw, " a folded\r\n  subject\twith tab", rl);
	int count = 0;
	for (h = mime_header_first(r); h; h = mime_header_next(h))
		count++;
	assert_int_equal(count, 6);
	size_t bl;
	const char *body = mime_part_body(m, r, &bl);
	assert_int_equal(bl, 6);
	assert_memory_equal(body, "Body\r\n", 6);
	assert_string_equal(mime_part_type(m, r), "text");
	assert_string_equal(mime_part_subtype(m, r), "plain");
	assert_int_equal(mime_part_kind(r), MIME_LEAF);
	mime_msg_free(m);
	assert_identical(s, strlen(s));
}

static void test_encoded_words(void **state)
{
	(void)state;
	struct mime_msg *m = mime_msg_new();
	static const struct { const char *in, *out; } v[] = {
		{ "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "Grüße" },
		{ "=?utf-8?b?R3LDvMOfZQ==?=", "Grüße" },
		{ "=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab" },        /* space dropped */
		{ "=?ISO-8859-1?Q?a?=\r\n =?ISO-8859-1?Q?b?=", "ab" },    /* folded */
		{ "=?ISO-8859-1?Q?a?= x =?ISO-8859-1?Q?b?=", "a x b" },
		{ "=?iso-8859-1?q?caf=E9_au_lait?=", "café au lait" },
		{ "=?koi8-r?B?8NLJ18XU?=", "Привет" },
		{ "=?UTF-8*en?Q?hi?=", "hi" },                            /* RFC 2231 language */
		/* a character split across two words */
		{ "=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé" },
		{ "=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=", "€" },
		/* malformed: kept as text */
		{ "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=" },
		{ "=?UTF-8?Q?unterminated", "=?UTF-8?Q?unterminated" },
		{ "=??Q?x?=", "=??Q?x?=" },
		{ "plain =? text ?= here", "plain =? text ?= here" },
		{ "=?bogus-charset?Q?abc?=", "abc" },
		{ "=?UTF-8?Q?bad=ZZ?=", "bad=ZZ" },
		{ "raw \xff byte", "raw \xef\xbf\xbd byte" },
		{ "  trimmed  ", "trimmed" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n;
		const char *d = mime_decode_text(m, v[i].in, strlen(v[i].in), &n);
		assert_non_null(d);
		if (strcmp(d, v[i].out) != 0)
			fail_msg("case %zu: %s -> '%s', want '%s'", i, v[i].in, d, v[i].out);
		assert_int_equal(n, strlen(v[i].out));
	}
	mime_msg_free(m);
}

static void test_params_rfc2231(void **state)
{
	(void)state;
	struct mime_msg *m = mime_msg_new();
	static const struct { const char *in, *name, *out; } v[] = {
		{ "text/plain; charset=us-ascii", "charset", "us-ascii" },
		{ "text/plain; CHARSET=\"UTF-8\" (comment)", "charset", "UTF-8" },
		{ "text/plain;\r\n\tcharset=utf-8", "charset", "utf-8" },
		{ "attachment; filename=\"a \\\"q\\\" b.txt\"", "filename", "a \"q\" b.txt" },
		{ "attachment; filename*=iso-8859-1'en'%A3%20rates.txt", "filename", "£ rates.txt" },
		{ "attachment; filename*=UTF-8''%e2%82%ac.pdf", "filename", "€.pdf" },
		{ "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub\"",
		  "url", "ftp://cs.utk.edu/pub" },
		{ "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20;"
		  " title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
		  "title", "This is even more ***fun*** isn't it!" },
		/* sections out of order */
		{ "a/b; n*1=world; n*0=hello", "n", "helloworld" },
		/* 2231 wins over a plain fallback */
		{ "attachment; filename=\"fallback.txt\"; filename*=utf-8''real.txt", "filename", "real.txt" },
		/* mailers' RFC 2047 inside a quoted parameter */
		{ "attachment; filename=\"=?UTF-8?Q?R=C3=A9sum=C3=A9.pdf?=\"", "filename", "Résumé.pdf" },
		/* broken */
		{ "text/plain; charset=\"unterminated", "charset", "unterminated" },
		{ "text/plain; ; =x; charset=ok", "charset", "ok" },
		{ "attachment; filename*=bad%zz", "filename", "bad%zz" },
		{ "text/plain; name=unquoted with spaces", "name", "unquoted with spaces" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *d = mime_decode_param(m, v[i].in, strlen(v[i].in), v[i].name);
		if (!d || strcmp(d, v[i].out) != 0)
			fail_msg("case %zu: %s -> '%s', want '%s'", i, v[i].in, d ? d : "(null)", v[i].out);
	}
	assert_null(mime_decode_param(m, "text/plain", 10, "charset"));
	mime_msg_free(m);
}

static void test_transfer_encodings(void **state)
{
	(void)state;
	const char *s =
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
		"--XX\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8g\r\nd29y bGQ=\r\n"
		"--XX\r\nContent-Transfer-Encoding: Quoted-Printable\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
		"caf=E9 =\r\nsoft  \r\nline=3D=0D=0Aend=\r\n"
		"--XX\r\nContent-Transfer-Encoding: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nk\xc3\xa4se\r\n"
		"--XX\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02"
		"\r\n--XX\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8*!\r\n"
		"--XX\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbad =G1 =\r\n"
		"--XX\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n"
		"--XX--\r\n";
	size_t slen = strlen(s) + 3; /* the binary part holds a NUL */
	slen = 0;
	while (memcmp(s + slen, "--XX--\r\n", 8) != 0)
		slen++;
	slen += 8;
	struct mime_msg *m = NULL;
	assert_int_equal(mime_parse(s, slen, 0, NULL, &m), 0);
	struct mime_part *r = mime_msg_root(m);
	assert_int_equal(mime_part_kind(r), MIME_MULTIPART);
	assert_int_equal(mime_part_child_count(r), 7);
	struct mime_part *c = mime_part_first_child(r);
	size_t n;
	const char *b;
	assert_int_equal(mime_part_cte(m, c), MIME_CTE_BASE64);
	b = mime_part_body(m, c, &n);
	assert_int_equal(n, 11);
	assert_memory_equal(b, "hello world", 11);
	c = mime_part_next(c);
	assert_int_equal(mime_part_cte(m, c), MIME_CTE_QP);
	b = mime_part_body(m, c, &n);
	assert_int_equal(n, strlen("caf\xe9 soft\r\nline=\r\nend"));
	assert_memory_equal(b, "caf\xe9 soft\r\nline=\r\nend", n);
	assert_string_equal(mime_part_text(m, c, NULL), "café soft\r\nline=\r\nend");
	assert_string_equal(mime_part_charset(m, c), "iso-8859-1");
	c = mime_part_next(c);
	assert_int_equal(mime_part_cte(m, c), MIME_CTE_8BIT);
	assert_string_equal(mime_part_text(m, c, NULL), "käse");
	c = mime_part_next(c);
	assert_int_equal(mime_part_cte(m, c), MIME_CTE_BINARY);
	b = mime_part_body(m, c, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(b, "\x00\x01\x02", 3);
	assert_false(has_error(m, MIME_E_BAD_BASE64));
	c = mime_part_next(c);
	b = mime_part_body(m, c, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(b, "hello", 5);
	assert_true(has_error(m, MIME_E_BAD_BASE64));
	c = mime_part_next(c);
	b = mime_part_body(m, c, &n);
	assert_string_equal(b, "bad =G1 ");
	assert_true(has_error(m, MIME_E_BAD_QP));
	c = mime_part_next(c);
	assert_int_equal(mime_part_cte(m, c), MIME_CTE_UNKNOWN);
	assert_true(has_error(m, MIME_E_UNKNOWN_CTE));
	b = mime_part_body(m, c, &n);
	assert_string_equal(b, "begin");
	mime_msg_free(m);
	assert_identical(s, slen);
}

static void test_charsets(void **state)
{
	(void)state;
	static const struct { const char *cs, *in, *out; } v[] = {
		{ "utf-8", "\xc3\xa9t\xc3\xa9", "été" },
		{ "iso-8859-1", "\xe9t\xe9", "été" },
		{ "windows-1252", "\x80 \x93q\x94", "€ “q”" },
		{ "iso-8859-7", "\xe1\xe2\xe3", "αβγ" },
		{ "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет" },
		{ "shift_jis", "\x93\xfa\x96\x7b", "日本" },
		{ "iso-2022-jp", "\x1b$BF|K\\\x1b(B", "日本" },
		{ "gb2312", "\xd6\xd0\xce\xc4", "中文" },
		{ "us-ascii", "abc\xff", "abc\xef\xbf\xbd" },
		{ "no-such-charset", "abc", "abc" },
		{ "utf-8", "bad \xc3", "bad \xef\xbf\xbd" },
		{ "shift_jis", "\x93", "\xef\xbf\xbd" }, /* truncated */
		{ "../../etc/passwd", "x", "x" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char msg[256];
		snprintf(msg, sizeof(msg), "Content-Type: text/plain; charset=\"%s\"\n\n%s", v[i].cs, v[i].in);
		struct mime_msg *m = parse(msg);
		const char *t = mime_part_text(m, mime_msg_root(m), NULL);
		if (!t || strcmp(t, v[i].out) != 0)
			fail_msg("case %zu (%s): '%s', want '%s'", i, v[i].cs, t ? t : "(null)", v[i].out);
		mime_msg_free(m);
	}
	struct mime_msg *m = parse("Content-Type: text/plain; charset=nope\n\nx");
	mime_part_text(m, mime_msg_root(m), NULL);
	assert_true(has_error(m, MIME_E_UNKNOWN_CHARSET));
	mime_msg_free(m);
}

static const char nested[] =
	"From: a@example.org\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed;\r\n boundary=\"outer\"\r\n"
	"\r\n"
	"This is the preamble.\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"plain text\r\n"
	"--inner   \r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<p>html</p>\r\n"
	"--inner--\r\n"
	"\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner message\r\n"
	"\r\n"
	"--outerish line that is not a delimiter\r\n"
	"--outer\r\n"
	"\r\n"
	"no headers, default type\r\n"
	"--outer--\r\n"
	"epilogue\r\n";

static void test_multipart_nesting(void **state)
{
	(void)state;
	struct mime_msg *m = parse(nested);
	struct mime_part *r = mime_msg_root(m);
	size_t n, total;
	mime_msg_errors(m, &n, &total);
	assert_int_equal(total, 0);
	assert_int_equal(mime_part_kind(r), MIME_MULTIPART);
	assert_int_equal(mime_part_child_count(r), 3);
	struct mime_part *alt = mime_part_first_child(r);
	assert_int_equal(mime_part_kind(alt), MIME_MULTIPART);
	assert_string_equal(mime_part_subtype(m, alt), "alternative");
	assert_int_equal(mime_part_child_count(alt), 2);
	struct mime_part *t = mime_part_first_child(alt);
	assert_string_equal(mime_part_body(m, t, &n), "plain text");
	t = mime_part_next(t);
	assert_string_equal(mime_part_subtype(m, t), "html");
	assert_string_equal(mime_part_body(m, t, &n), "<p>html</p>");
	struct mime_part *msg = mime_part_next(alt);
	assert_int_equal(mime_part_kind(msg), MIME_MESSAGE);
	struct mime_part *inner = mime_part_first_child(msg);
	assert_string_equal(mime_part_header(m, inner, "subject"), "inner message");
	assert_string_equal(mime_part_body(m, inner, &n), "--outerish line that is not a delimiter");
	struct mime_part *last = mime_part_next(msg);
	assert_int_equal(mime_header_first(last) == NULL, 1);
	assert_string_equal(mime_part_body(m, last, &n), "no headers, default type");
	assert_string_equal(mime_part_type(m, last), "text");
	assert_int_equal(mime_part_depth(inner), 2);
	assert_ptr_equal(mime_part_parent(inner), msg);
	/* the walk visits all 7 parts in document order */
	int count = 0;
	for (struct mime_part *p = r; p; p = mime_part_walk(r, p))
		count++;
	assert_int_equal(count, 7);
	mime_msg_free(m);
	assert_identical(nested, strlen(nested));
}

static void test_digest_default(void **state)
{
	(void)state;
	const char *s = "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody one\n--d--\n";
	struct mime_msg *m = parse(s);
	struct mime_part *c = mime_part_first_child(mime_msg_root(m));
	assert_string_equal(mime_part_type(m, c), "message");
	assert_int_equal(mime_part_kind(c), MIME_MESSAGE);
	assert_string_equal(mime_part_header(m, mime_part_first_child(c), "subject"), "one");
	mime_msg_free(m);
	assert_identical(s, strlen(s));
}

static void test_missing_boundaries(void **state)
{
	(void)state;
	/* no boundary parameter: a leaf */
	const char *s1 = "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n";
	struct mime_msg *m = parse(s1);
	assert_int_equal(mime_part_kind(mime_msg_root(m)), MIME_LEAF);
	assert_true(has_error(m, MIME_E_NO_BOUNDARY));
	mime_msg_free(m);
	assert_identical(s1, strlen(s1));
	/* boundary never appears */
	const char *s2 = "Content-Type: multipart/mixed; boundary=nope\r\n\r\n--x\r\n\r\nbody\r\n";
	m = parse(s2);
	assert_int_equal(mime_part_kind(mime_msg_root(m)), MIME_LEAF);
	assert_true(has_error(m, MIME_E_NO_DELIMITER));
	mime_msg_free(m);
	assert_identical(s2, strlen(s2));
	/* no close delimiter (truncated mail) */
	const char *s3 = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n";
	m = parse(s3);
	assert_int_equal(mime_part_child_count(mime_msg_root(m)), 2);
	assert_true(has_error(m, MIME_E_NO_CLOSE));
	assert_false(has_error(m, MIME_E_NO_BLANK_LINE));
	size_t n;
	assert_string_equal(mime_part_body(m, mime_part_next(mime_part_first_child(mime_msg_root(m))), &n),
		"two\r\n");
	mime_msg_free(m);
	assert_identical(s3, strlen(s3));
	/* a body part whose empty line was lost */
	const char *s3b = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n--b--\r\n";
	m = parse(s3b);
	assert_true(has_error(m, MIME_E_NO_BLANK_LINE));
	mime_msg_free(m);
	assert_identical(s3b, strlen(s3b));
	/* only a close delimiter */
	const char *s4 = "Content-Type: multipart/mixed; boundary=b\n\npre\n--b--\nepi";
	m = parse(s4);
	assert_int_equal(mime_part_child_count(mime_msg_root(m)), 0);
	assert_true(has_error(m, MIME_E_NO_DELIMITER));
	mime_msg_free(m);
	assert_identical(s4, strlen(s4));
	/* header section that never ends, bad header lines */
	const char *s5 = " leading continuation\r\nnot a header line\r\nSubject: x\r\n: empty name\r\nX: y";
	m = parse(s5);
	assert_true(has_error(m, MIME_E_BAD_HEADER));
	assert_string_equal(mime_part_header(m, mime_msg_root(m), "x"), "y");
	assert_string_equal(mime_part_header(m, mime_msg_root(m), "subject"), "x");
	mime_msg_free(m);
	assert_identical(s5, strlen(s5));
}

static void test_deep_nesting_limit(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	for (int i = 0; i < 200; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
	buf_puts(&b, "\r\ninnermost\r\n");
	for (int i = 199; i >= 0; i--)
		buf_printf(&b, "--b%d--\r\n", i);
	struct mime_msg *m = NULL;
	assert_int_equal(mime_parse(b.data, b.len, 0, NULL, &m), 0);
	assert_true(has_error(m, MIME_E_DEPTH));
	unsigned maxd = 0;
	for (struct mime_part *p = mime_msg_root(m); p; p = mime_part_walk(mime_msg_root(m), p))
		if (mime_part_depth(p) > maxd)
			maxd = mime_part_depth(p);
	assert_int_equal(maxd, 64);
	mime_msg_free(m);
	assert_identical(b.data, b.len);
	/* a smaller limit */
	struct mime_limits lim = MIME_LIMITS_DEFAULT;
	lim.max_depth = 3;
	assert_int_equal(mime_parse(b.data, b.len, 0, &lim, &m), 0);
	assert_true(has_error(m, MIME_E_DEPTH));
	mime_msg_free(m);
	buf_free(&b);
}

static void test_huge_headers(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_puts(&b, "Subject: ");
	for (int i = 0; i < 5000; i++)
		buf_puts(&b, "long ");
	buf_puts(&b, "\r\n");
	for (int i = 0; i < 3000; i++)
		buf_printf(&b, "X-H%d: v\r\n", i);
	buf_puts(&b, "X-Folded: a");
	for (int i = 0; i < 2000; i++)
		buf_puts(&b, "\r\n b");
	buf_puts(&b, "\r\n\r\nbody");
	struct mime_msg *m = NULL;
	assert_int_equal(mime_parse(b.data, b.len, 0, NULL, &m), 0);
	assert_true(has_error(m, MIME_E_LONG_LINE));
	assert_true(has_error(m, MIME_E_TOO_MANY_HEADERS));
	size_t n;
	assert_string_equal(mime_part_body(m, mime_msg_root(m), &n), "body");
	int count = 0;
	for (struct mime_header *h = mime_header_first(mime_msg_root(m)); h; h = mime_header_next(h))
		count++;
	assert_int_equal(count, 1000);
	mime_msg_free(m);
	assert_identical(b.data, b.len);
	struct mime_limits lim = MIME_LIMITS_DEFAULT;
	lim.max_header_bytes = 1000;
	assert_int_equal(mime_parse(b.data, b.len, 0, &lim, &m), 0);
	assert_true(has_error(m, MIME_E_HEADERS_TOO_BIG));
	assert_string_equal(mime_part_body(m, mime_msg_root(m), &n), "body");
	mime_msg_free(m);
	buf_free(&b);
}

static void test_identical_odd_samples(void **state)
{
	(void)state;
	static const char *const samples[] = {
		"",
		"\r\n",
		"\n\n\n",
		"no header at all",
		"Subject: only a header",
		"Subject: only a header\r\n",
		"Subject:   spaced   \t \r\n\r\n  body with trailing spaces   \r\n\r\n",
		"Subject: mixed\nline: ends\r\n\nbody\r\nmore\n",
		"Subject : obsolete colon spacing\r\n\r\n",
		"From foo@bar Thu Jan  1 00:00:00 1970\nSubject: mbox line\n\nx\n",
		"Subject: 8-bit \xe4\xf6\xfc raw\r\n\r\nbody \xff\xfe\x00 binary\r\n",
		"Content-Type: multipart/mixed; boundary=\"a b\"\r\n\r\n--a b\r\n\r\nx\r\n--a b--",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n--b\r\n\r\n\r\n--b--\r\n\r\n\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b \t \r\n\r\nx\r\n--b--trailing junk\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--bb\r\n--b\r\n\r\nx\r\n--b--",
		"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nSubject: deep\r\n\r\nx",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nsame boundary\r\n--b--\r\n--b--\r\n",
		"Content-Type: text/plain\r\n\tcontinued: odd\r\n\r\n",
		"\r\nbody only after an empty header",
		"Subject: bare\rCR\r\n\r\nbody\rwith\rCRs",
	};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		size_t len = strlen(samples[i]);
		if (i == 10)
			len += strlen(" binary\r\n") + 1; /* past the NUL */
		assert_identical(samples[i], len);
	}
}

static void test_build_and_reparse(void **state)
{
	(void)state;
	struct mime_msg *m = mime_msg_new();
	struct mime_part *r = mime_msg_root(m);
	struct buf out = BUF_INIT;
	assert_int_equal(mime_header_add(m, r, "From", "Jörg Müller <joerg@example.org>"), 0);
	assert_int_equal(mime_header_add(m, r, "To", "plain@example.org"), 0);
	assert_int_equal(mime_header_add(m, r, "Subject",
		"Ein ziemlich langer Betreff mit Umlauten: äöü ÄÖÜ ß und noch mehr Text, der gefaltet werden muss, "
		"日本語のテキスト and =?not-an-encoded-word?= too"), 0);
	assert_int_equal(mime_header_add(m, r, "X-Control", "tab\there, cr\rlf\n end"), 0);
	assert_int_equal(mime_header_add(m, r, "Bad:Name", "x"), -1);
	assert_int_equal(mime_header_add(m, r, "X-Bad-UTF8", "\xff"), -1);
	assert_int_equal(mime_part_set_type(m, r, "multipart/mixed", NULL), 0);
	assert_int_equal(mime_part_set_body(m, r, "x", 1), -1);

	struct mime_part *alt = mime_part_add_child(m, r);
	assert_int_equal(mime_part_set_type(m, alt, "multipart/alternative", NULL), 0);
	struct mime_part *t = mime_part_add_child(m, alt);
	const char *const cs[] = { "charset", "utf-8", NULL };
	assert_int_equal(mime_part_set_type(m, t, "text/plain", cs), 0);
	const char *text = "Grüße aus Köln\r\nline two ends with space \r\n.\r\nFrom here\r\n";
	assert_int_equal(mime_part_set_body(m, t, text, strlen(text)), 0);
	assert_int_equal(mime_part_cte(m, t), MIME_CTE_QP);
	struct mime_part *h = mime_part_add_child(m, alt);
	assert_int_equal(mime_part_set_type(m, h, "text/html", cs), 0);
	assert_int_equal(mime_part_set_body(m, h, "<p>hi</p>\r\n", 11), 0);
	assert_int_equal(mime_part_cte(m, h), MIME_CTE_7BIT);

	struct mime_part *a = mime_part_add_child(m, r);
	const char *const fn[] = { "filename", "Résumé – a very long file name that needs RFC 2231 sections.pdf", NULL };
	const char *const nm[] = { "name", "plain.pdf", NULL };
	assert_int_equal(mime_part_set_type(m, a, "application/pdf", nm), 0);
	assert_int_equal(mime_part_set_disposition(m, a, "attachment", fn), 0);
	unsigned char bin[1000];
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7);
	assert_int_equal(mime_part_set_body(m, a, bin, sizeof(bin)), 0);
	assert_int_equal(mime_part_cte(m, a), MIME_CTE_BASE64);
	assert_string_equal(mime_part_filename(m, a), fn[1]);
	assert_string_equal(mime_part_disposition(m, a), "attachment");

	/* a 7bit body containing the boundary forces a fresh one */
	struct mime_part *trap = mime_part_add_child(m, r);
	struct mime_header *cth = mime_header_find(r, "content-type", NULL);
	const char *b = mime_header_param(m, cth, "boundary");
	assert_non_null(b);
	char body[200];
	snprintf(body, sizeof(body), "before\r\n--%s\r\nafter\r\n--%s--\r\n", b, b);
	assert_int_equal(mime_part_set_body(m, trap, body, strlen(body)), 0);

	struct mime_part *em = mime_part_add_child(m, r);
	assert_int_equal(mime_part_set_type(m, em, "message/rfc822", NULL), 0);
	struct mime_part *inner = mime_part_add_child(m, em);
	assert_null(mime_part_add_child(m, em));
	assert_int_equal(mime_header_add(m, inner, "Subject", "forwarded"), 0);
	const char *longl = "long line 0123456789012345678901234567890123456789"
		"01234567890123456789012345678901234567890123456789\r\n";
	assert_int_equal(mime_part_set_body(m, inner, longl, strlen(longl)), 0);

	struct mime_msg *back = assert_rebuilds(m, &out);
	struct mime_part *rr = mime_msg_root(back);
	assert_string_equal(mime_part_header(back, rr, "from"), "Jörg Müller <joerg@example.org>");
	assert_string_equal(mime_part_header(back, rr, "x-control"), "tab\there, cr\rlf\n end");
	/* every line of the output is short */
	size_t col = 0, maxcol = 0;
	for (size_t i = 0; i < out.len; i++) {
		col = out.data[i] == '\n' ? 0 : col + 1;
		if (col > maxcol)
			maxcol = col;
	}
	assert_true(maxcol <= 80);
	/* the encoded form is stable: parse then encode is identical */
	assert_identical(out.data, out.len);
	size_t tl;
	struct mime_part *pt = mime_part_first_child(mime_part_first_child(rr));
	assert_string_equal(mime_part_text(back, pt, &tl), text);
	mime_msg_free(back);
	mime_msg_free(m);
	buf_free(&out);
}

static void test_modify_parsed(void **state)
{
	(void)state;
	struct mime_msg *m = parse(nested);
	struct mime_part *r = mime_msg_root(m);
	struct buf out = BUF_INIT;
	/* change the html part only: the rest stays byte-identical */
	struct mime_part *html = mime_part_next(mime_part_first_child(mime_part_first_child(r)));
	assert_int_equal(mime_part_set_body(m, html, "<p>new ö</p>", strlen("<p>new ö</p>")), 0);
	assert_int_equal(mime_header_add(m, r, "X-Spam-Score", "1.5"), 0);
	assert_int_equal(mime_encode(m, &out), 0);
	assert_non_null(strstr(out.data, "This is the preamble.\r\n--outer\r\n"));
	assert_non_null(strstr(out.data, "X-Spam-Score: 1.5\r\n\r\n"));
	assert_non_null(strstr(out.data, "Subject: inner message\r\n"));
	assert_non_null(strstr(out.data, "--outer--\r\nepilogue\r\n"));
	struct mime_msg *back = NULL;
	assert_int_equal(mime_parse(out.data, out.len, 0, NULL, &back), 0);
	assert_true(mime_msg_equal(m, back, NULL, 0));
	mime_msg_free(back);
	/* removing a field */
	assert_int_equal(mime_header_remove(m, r, "mime-version"), 1);
	buf_reset(&out);
	assert_int_equal(mime_encode(m, &out), 0);
	assert_null(strstr(out.data, "MIME-Version"));
	mime_msg_free(m);
	buf_free(&out);
}

static void test_copy_flag(void **state)
{
	(void)state;
	char *s = strdup("Subject: copied\r\n\r\nbody");
	struct mime_msg *m = NULL;
	assert_int_equal(mime_parse(s, strlen(s), MIME_PARSE_COPY, NULL, &m), 0);
	memset(s, 'x', strlen(s));
	free(s);
	assert_string_equal(mime_part_header(m, mime_msg_root(m), "subject"), "copied");
	size_t n;
	assert_string_equal(mime_part_body(m, mime_msg_root(m), &n), "body");
	mime_msg_free(m);
}


static void test_api_details(void **state)
{
	(void)state;
	/* error names are distinct and never NULL */
	for (int c = MIME_E_NO_BLANK_LINE; c <= MIME_E_UNKNOWN_CTE; c++) {
		assert_non_null(mime_error_name((enum mime_error_code)c));
		for (int d = MIME_E_NO_BLANK_LINE; d < c; d++)
			assert_string_not_equal(mime_error_name((enum mime_error_code)c),
				mime_error_name((enum mime_error_code)d));
	}
	/* parameter iteration, RFC 2231 merged, names lowercased */
	struct mime_msg *m = parse("Content-Type: Text/Plain; CharSet=utf-8; N*0=a; N*1=b\n"
		"Content-Disposition: INLINE\n\nx");
	struct mime_part *r = mime_msg_root(m);
	struct mime_header *h = mime_header_find(r, "content-type", NULL);
	assert_int_equal(mime_header_param_count(m, h), 2);
	const char *n, *v;
	assert_int_equal(mime_header_param_at(m, h, 0, &n, &v), 0);
	assert_string_equal(n, "charset");
	assert_string_equal(v, "utf-8");
	assert_int_equal(mime_header_param_at(m, h, 1, &n, &v), 0);
	assert_string_equal(n, "n");
	assert_string_equal(v, "ab");
	assert_int_equal(mime_header_param_at(m, h, 2, &n, &v), -1);
	assert_string_equal(mime_part_type(m, r), "text");
	assert_string_equal(mime_part_disposition(m, r), "inline");
	assert_null(mime_part_filename(m, r));
	/* a field added to an LF message uses LF; set replaces every copy */
	assert_int_equal(mime_header_add(m, r, "X-A", "1"), 0);
	assert_int_equal(mime_header_add(m, r, "x-a", "2"), 0);
	assert_int_equal(mime_header_set(m, r, "X-A", "  3  "), 0);
	assert_string_equal(mime_part_header(m, r, "x-a"), "3");
	struct buf out = BUF_INIT;
	assert_int_equal(mime_encode(m, &out), 0);
	assert_string_equal(out.data, "Content-Type: Text/Plain; CharSet=utf-8; N*0=a; N*1=b\n"
		"Content-Disposition: INLINE\nX-A: 3\n\nx");
	assert_int_equal(mime_header_remove(m, r, "nope"), 0);
	mime_msg_free(m);
	/* bad arguments */
	m = mime_msg_new();
	r = mime_msg_root(m);
	assert_int_equal(mime_part_set_type(m, r, "noslash", NULL), -1);
	assert_int_equal(mime_part_set_type(m, r, "text/", NULL), -1);
	const char *const badp[] = { "bad name", "v", NULL };
	assert_int_equal(mime_part_set_type(m, r, "text/plain", badp), -1);
	assert_null(mime_part_add_child(m, r)); /* a leaf */
	/* an empty body and a multipart with no parts survive a round trip */
	assert_int_equal(mime_part_set_body(m, r, "", 0), 0);
	buf_reset(&out);
	struct mime_msg *back = assert_rebuilds(m, &out);
	mime_msg_free(back);
	mime_msg_free(m);
	m = mime_msg_new();
	r = mime_msg_root(m);
	assert_int_equal(mime_part_set_type(m, r, "multipart/mixed", NULL), 0);
	buf_reset(&out);
	back = assert_rebuilds(m, &out);
	assert_int_equal(mime_part_child_count(mime_msg_root(back)), 0);
	mime_msg_free(back);
	mime_msg_free(m);
	buf_free(&out);
}

static void test_encoder_folding(void **state)
{
	(void)state;
	struct mime_msg *m = mime_msg_new();
	struct mime_part *r = mime_msg_root(m);
	struct buf out = BUF_INIT, v = BUF_INIT;
	/* a word longer than a line stays whole; the rest folds at white space */
	for (int i = 0; i < 120; i++)
		buf_putc(&v, 'w');
	for (int i = 0; i < 40; i++)
		buf_puts(&v, i % 3 ? " word" : "\t\tтекст");
	assert_int_equal(mime_header_add(m, r, "X-Fold", v.data), 0);
	/* parameter values: long ASCII, quotes, non-ASCII, leading spaces, "=?" */
	const char *const params[] = {
		"a", "plain", "b", "with space and \"quotes\" and \\", "c", " lead and trail ",
		"d", "=?utf-8?q?not-a-word?=", "e", "日本語のファイル名はとても長いのでRFC 2231の続き行に分割される.txt",
		"f", "", NULL };
	assert_int_equal(mime_part_set_disposition(m, r, "attachment", params), 0);
	assert_int_equal(mime_part_set_body(m, r, "x", 1), 0);
	struct mime_msg *back = assert_rebuilds(m, &out);
	size_t col = 0, maxcol = 0;
	int lines_over = 0;
	for (size_t i = 0; i < out.len; i++) {
		if (out.data[i] == '\n') {
			if (col > 79)
				lines_over++;
			col = 0;
		} else if (++col > maxcol) {
			maxcol = col;
		}
	}
	assert_int_equal(lines_over, 1); /* only the line with the 120-char word */
	struct mime_header *h = mime_header_find(mime_msg_root(back), "content-disposition", NULL);
	assert_string_equal(mime_header_param(back, h, "c"), " lead and trail ");
	assert_string_equal(mime_header_param(back, h, "f"), "");
	mime_msg_free(back);
	mime_msg_free(m);
	buf_free(&out);
	buf_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_basic),
		cmocka_unit_test(test_encoded_words),
		cmocka_unit_test(test_params_rfc2231),
		cmocka_unit_test(test_transfer_encodings),
		cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_multipart_nesting),
		cmocka_unit_test(test_digest_default),
		cmocka_unit_test(test_missing_boundaries),
		cmocka_unit_test(test_deep_nesting_limit),
		cmocka_unit_test(test_huge_headers),
		cmocka_unit_test(test_identical_odd_samples),
		cmocka_unit_test(test_build_and_reparse),
		cmocka_unit_test(test_modify_parsed),
		cmocka_unit_test(test_copy_flag),
		cmocka_unit_test(test_api_details),
		cmocka_unit_test(test_encoder_folding),
	};
	return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
