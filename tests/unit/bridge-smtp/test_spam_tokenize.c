/* Unit tests for the spam tokenizer core (spam_token.h) and the message
 * adapter over the MIME parser (spam_msg.h): header, body, HTML, URL and
 * attachment tokens, UTF-8 handling, charset conversion, and the
 * per-message bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/spam_msg.h"
#include "bridge-smtp/spam_token.h"

static int setup(void **state)
{
	struct spam_tokens *t = malloc(sizeof(*t));
	if (!t || spam_tokens_init(t, 0) < 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	spam_tokens_free(*state);
	free(*state);
	return 0;
}

static int reset(void **state)
{
	spam_tokens_reset(*state);
	return 0;
}

#define HAS(t, s) assert_true(spam_tokens_has((t), (s)))
#define HASNT(t, s) assert_false(spam_tokens_has((t), (s)))

static void test_header_tokens(void **state)
{
	struct spam_tokens *t = *state;
	static const char subj[] = "Make MONEY fast!!! at home";
	assert_int_equal(spam_tok_header(t, "Subject", subj, strlen(subj)), 0);
	HAS(t, "hdr:subject");
	HAS(t, "subject:make");
	HAS(t, "subject:money");
	HAS(t, "subject:fast");
	HAS(t, "subject:home");
	HASNT(t, "subject:at");    /* too short */
	HASNT(t, "money");         /* header words carry their field */
	/* Fields outside the list count by presence only. */
	assert_int_equal(spam_tok_header(t, "Date", "Mon, 1 Jan 2024 10:00:00 +0000", 30), 0);
	HAS(t, "hdr:date");
	HASNT(t, "date:jan");
	assert_int_equal(spam_tok_header(t, "X-Mailing-List", "lists.example", 13), 0);
	HAS(t, "hdr:x-mailing-list");
	/* Message-ID: only the domain. */
	assert_int_equal(spam_tok_header(t, "Message-ID", "<abc123xyz@mail.example.org>", 28), 0);
	HAS(t, "message-id:mail.example.org");
	HASNT(t, "message-id:abc123xyz");
	/* Received: host names and addresses only. */
	static const char rcv[] = "from relay.example.net (relay.example.net [192.0.2.1]) by mx.example.com";
	assert_int_equal(spam_tok_header(t, "Received", rcv, strlen(rcv)), 0);
	HAS(t, "received:relay.example.net");
	HAS(t, "received:192.0.2.1");
	HASNT(t, "received:from");
	/* Bad field names are ignored, not tokenized. */
	size_t n = t->count;
	assert_int_equal(spam_tok_header(t, "Bad Name", "value words", 11), 0);
	assert_int_equal(spam_tok_header(t, "", "value words", 11), 0);
	assert_int_equal(t->count, n);
}

static void test_body_words(void **state)
{
	struct spam_tokens *t = *state;
	static const char body[] = "Dear Friend, EARN $5000 weekly (100% guaranteed) -- don't wait... e-mail me.";
	assert_int_equal(spam_tok_text(t, body, strlen(body)), 0);
	HAS(t, "dear");
	HAS(t, "friend");
	HAS(t, "earn");
	HAS(t, "$5000");
	HAS(t, "100%");
	HAS(t, "guaranteed");
	HAS(t, "don't");
	HAS(t, "wait");
	HAS(t, "e-mail");
	HASNT(t, "me");
	HASNT(t, "wait...");
	/* Neighbouring words pair up; a word too short to count breaks the
	 * pair rather than being skipped over. */
	HAS(t, "bi:dear friend");
	HAS(t, "bi:friend earn");
	HAS(t, "bi:don't wait");
	HAS(t, "bi:wait e-mail");
	HASNT(t, "bi:e-mail me");
	/* A long run says only its kind and size. */
	char longw[120];
	memset(longw, 'Q', sizeof(longw));
	assert_int_equal(spam_tok_text(t, longw, sizeof(longw)), 0);
	HAS(t, "skip:q 120");
}

static void test_utf8(void **state)
{
	struct spam_tokens *t = *state;
	/* ASCII letters fold; other characters stay as written, whole. */
	static const char body[] = "Grüße aus MÜNCHEN — 東京タワー";
	assert_int_equal(spam_tok_text(t, body, strlen(body)), 0);
	HAS(t, "grüße");
	HAS(t, "mÜnchen");
	HAS(t, "東京タワー");
	HAS(t, "—"); /* an em dash is 3 bytes, so it counts as a word */
	/* Invalid UTF-8 is just bytes: no crash, still tokens. */
	static const char bad[] = "caf\xe9 \xff\xfe\xfd ok";
	assert_int_equal(spam_tok_text(t, bad, strlen(bad)), 0);
	HAS(t, "caf\xe9");
}

static void test_urls(void **state)
{
	struct spam_tokens *t = *state;
	static const char body[] = "Go to http://www.Example.COM/path?x=1 or www.shop.example.net now; "
				   "or https://paypal.com@evil.example/login";
	assert_int_equal(spam_tok_text(t, body, strlen(body)), 0);
	HAS(t, "url:www.example.com");
	HAS(t, "url:example.com");
	HAS(t, "url:com");
	HAS(t, "url:www.shop.example.net");
	HAS(t, "url:example.net");
	HAS(t, "url:evil.example");
	HASNT(t, "url:paypal.com@evil.example");
	HASNT(t, "url:paypal.com");
}

static void test_html(void **state)
{
	struct spam_tokens *t = *state;
	static const char html[] =
		"<html><head><style>.hidden { color: white }</style><script>var secretcode=1;</script></head>"
		"<body><p>Hello</p><p>Cheap <b>vi</b>agra</p>"
		"<a href=\"http://pills.example/buy\">click&nbsp;here</a> &amp; sa<!-- x -->ve &#72;&#x55;GE"
		"<img src='http://img.example/p.gif'> caf&eacute;</body></html>";
	assert_int_equal(spam_tok_html(t, html, strlen(html)), 0);
	HAS(t, "hello");
	HAS(t, "cheap");
	HAS(t, "viagra");   /* inline tags do not split words */
	HAS(t, "click");
	HAS(t, "here");
	HAS(t, "save");     /* comments vanish */
	HAS(t, "huge");     /* numeric entities */
	HAS(t, "url:pills.example");
	HAS(t, "url:img.example");
	HAS(t, "html:p");
	HAS(t, "html:img");
	HASNT(t, "hidden");
	HASNT(t, "secretcode");
	HASNT(t, "color");
	HASNT(t, "href");
	/* Unterminated constructs end the part, nothing more. */
	static const char cut[] = "<p>words then <a href=\"http://x.example/";
	assert_int_equal(spam_tok_html(t, cut, strlen(cut)), 0);
	HAS(t, "words");
	static const char cut2[] = "text <!-- never closed words";
	assert_int_equal(spam_tok_html(t, cut2, strlen(cut2)), 0);
	static const char cut3[] = "<style";
	assert_int_equal(spam_tok_html(t, cut3, strlen(cut3)), 0);
}

static void test_attachments(void **state)
{
	struct spam_tokens *t = *state;
	assert_int_equal(spam_tok_attachment(t, "Application/ZIP", "Invoice.PDF.exe"), 0);
	HAS(t, "att:application/zip");
	HAS(t, "att-ext:exe");
	assert_int_equal(spam_tok_attachment(t, NULL, NULL), 0);
	HAS(t, "att:unknown");
}

static void test_bounds(void **state)
{
	struct spam_tokens small;
	char word[16];
	(void)state;
	assert_int_equal(spam_tokens_init(&small, 5), 0);
	for (int i = 0; i < 20; i++) {
		int n = snprintf(word, sizeof(word), "word%d", i);
		assert_int_equal(spam_tok_text(&small, word, (size_t)n), 0);
	}
	assert_int_equal(small.count, 5);
	assert_true(small.truncated);
	spam_tokens_reset(&small);
	assert_int_equal(small.count, 0);
	assert_false(small.truncated);
	/* Text past the budget is not scanned. */
	size_t big = SPAM_TOK_TEXT_BUDGET + 100;
	char *text = malloc(big);
	assert_non_null(text);
	memset(text, ' ', big);
	memcpy(text + big - 10, "lastword", 8);
	assert_int_equal(spam_tok_text(&small, text, big), 0);
	assert_true(small.truncated);
	assert_false(spam_tokens_has(&small, "lastword"));
	free(text);
	spam_tokens_free(&small);
}

static void test_dedup_and_hash(void **state)
{
	struct spam_tokens *t = *state;
	assert_int_equal(spam_tok_text(t, "same same SAME", 14), 0);
	/* The word once, and the pair "same same" once. */
	assert_int_equal(t->count, 2);
	assert_string_equal(spam_tokens_str(t, 0), "same");
	assert_string_equal(spam_tokens_str(t, 1), "bi:same same");
	assert_int_equal(t->hashes[0], spam_token_hash("same", 4));
	/* Stable across builds: the database stores these. */
	assert_true(spam_token_hash("same", 4) != spam_token_hash("Same", 4));
	/* Pinned values (a short tail, and a whole 8-byte step plus tail):
	 * a change here orphans every trained database. */
	assert_true(spam_token_hash("same", 4) == 7271940019005675595ULL);
	assert_true(spam_token_hash("bi:click here now", 17) == 716783408777424115ULL);
	assert_true(spam_token_hash("", 0) != 0);
	assert_true(spam_token_hash("x", 1) < (1ULL << 63));
}

static void test_message_mime(void **state)
{
	struct spam_tokens *t = *state;
	static const char msg[] =
		"From sender@example.com Thu Aug 22 12:36:23 2002\n"
		"From: =?UTF-8?B?SsO2cmc=?= <jorg@example.de>\n"
		"Subject: =?iso-8859-1?Q?Gro=DFe_Chance?= today\n"
		"Content-Type: multipart/mixed;\n boundary=\"XYZ\"\n"
		"\n"
		"preamble words\n"
		"--XYZ\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"SGVsbG8gd29ybGRseSBmcmllbmRz\n"
		"--XYZ\n"
		"Content-Type: text/html\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"<p>Buy=20now at <a href=3D\"http://shop.example/\">sh=\nop</a></p>\n"
		"--XYZ\n"
		"Content-Type: application/octet-stream; name=\"setup.exe\"\n"
		"Content-Disposition: attachment; filename=\"setup.exe\"\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"TVqQAAMAAAAEAAAA\n"
		"--XYZ--\n"
		"epilogue\n";
	assert_int_equal(spam_msg_tokenize(t, msg, strlen(msg)), 0);
	HAS(t, "from:jörg");
	HAS(t, "subject:große"); /* converted from ISO-8859-1 */
	HAS(t, "subject:chance");
	HAS(t, "subject:today");
	HAS(t, "hello");
	HAS(t, "worldly");
	HAS(t, "friends");
	HAS(t, "buy");
	HAS(t, "now");
	HAS(t, "shop");
	HAS(t, "url:shop.example");
	HAS(t, "att:application/octet-stream");
	HAS(t, "att-ext:exe");
	HASNT(t, "preamble");
	HASNT(t, "epilogue");
	HASNT(t, "tvqqaamaaaaeaaaa");
}

static void test_message_odd(void **state)
{
	struct spam_tokens *t = *state;
	/* No header at all, CRLF line ends, a multipart without boundary,
	 * deep nesting: all bounded, none fatal. */
	static const char nohdr[] = "just body words here\r\n";
	assert_int_equal(spam_msg_tokenize(t, nohdr, strlen(nohdr)), 0);
	HAS(t, "body");
	spam_tokens_reset(t);
	static const char crlf[] = "Subject: crlf test\r\nContent-Type: text/plain\r\n\r\nbody line\r\n";
	assert_int_equal(spam_msg_tokenize(t, crlf, strlen(crlf)), 0);
	HAS(t, "subject:crlf");
	HAS(t, "line");
	spam_tokens_reset(t);
	static const char nob[] = "Content-Type: multipart/mixed\n\n--x\n\nstuff\n";
	assert_int_equal(spam_msg_tokenize(t, nob, strlen(nob)), 0);
	spam_tokens_reset(t);
	struct buf deep = BUF_INIT;
	for (int i = 0; i < 50; i++)
		assert_int_equal(buf_printf(&deep, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i), 0);
	assert_int_equal(buf_puts(&deep, "\ninnermost words\n"), 0);
	assert_int_equal(spam_msg_tokenize(t, deep.data, deep.len), 0);
	assert_true(t->truncated);
	HASNT(t, "innermost");
	buf_free(&deep);
	assert_int_equal(spam_msg_tokenize(t, "", 0), 0);
}

static void test_message_huge(void **state)
{
	struct spam_tokens *t = *state;
	struct buf m = BUF_INIT;
	(void)state;
	/* 4 MiB: a header section of thousands of fields, one enormous line,
	 * thousands of parts and distinct words.  Everything past the bounds
	 * is dropped and flagged; nothing fails. */
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_printf(&m, "X-Field-%d: value%d\n", i, i), 0);
	assert_int_equal(buf_puts(&m, "Content-Type: multipart/mixed; boundary=zz\n\n"), 0);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(buf_printf(&m, "--zz\nContent-Type: text/plain\n\nword%dx distinct%dy\n", i, i), 0);
	assert_int_equal(buf_puts(&m, "--zz\nContent-Type: text/plain\n\n"), 0);
	while (m.len < (4u << 20))
		assert_int_equal(buf_puts(&m, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0);
	assert_int_equal(buf_puts(&m, "\n--zz--\n"), 0);
	assert_int_equal(spam_msg_tokenize(t, m.data, m.len), 0);
	assert_true(t->truncated);
	assert_true(t->count <= t->max);
	buf_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_header_tokens, reset),
		cmocka_unit_test_setup(test_body_words, reset),
		cmocka_unit_test_setup(test_utf8, reset),
		cmocka_unit_test_setup(test_urls, reset),
		cmocka_unit_test_setup(test_html, reset),
		cmocka_unit_test_setup(test_attachments, reset),
		cmocka_unit_test_setup(test_bounds, reset),
		cmocka_unit_test_setup(test_dedup_and_hash, reset),
		cmocka_unit_test_setup(test_message_mime, reset),
		cmocka_unit_test_setup(test_message_odd, reset),
		cmocka_unit_test_setup(test_message_huge, reset),
	};
	return cmocka_run_group_tests_name("spam_tokenize", tests, setup, teardown);
}
