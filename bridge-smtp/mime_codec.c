/* MIME codecs: base64 and quoted-printable both ways, charsets to UTF-8,
 * RFC 2047 encoded words and RFC 2045/2231 parameters.  Decoders are lenient
 * (real mail is often broken) and record what they had to repair. */
#include "bridge-smtp/mime_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Compares a[0..alen) with NUL-terminated b, ignoring ASCII case. */
int mime_ascii_casecmp_n(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen && b[i]; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 1;
	return !(i == alen && b[i] == '\0');
}

/* ---- UTF-8 --------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (n >= 2 && (s[1] & 0xc0) == 0x80) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0;
		if (c == 0xed && s[1] >= 0xa0)
			return 0; /* surrogates */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

int mime_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (!(k = utf8_seq(p + i, n - i)))
			return 0;
		i += k;
	}
	return 1;
}

/* Appends s as UTF-8, each invalid byte replaced by U+FFFD; *bad set if any. */
static int utf8_clean(const char *s, size_t n, struct buf *out, int *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < n) {
		size_t k = p[i] < 0x80 ? 1 : utf8_seq(p + i, n - i);
		if (k) {
			i += k;
			continue;
		}
		if (buf_append(out, s + run, i - run) < 0 || buf_append(out, "\xef\xbf\xbd", 3) < 0)
			return -1;
		*bad = 1;
		i++;
		run = i;
	}
	return buf_append(out, s + run, n - run);
}

/* ---- charsets ------------------------------------------------------------ */

static int cs_is(const char *cs, size_t n, const char *name)
{
	return mime_ascii_casecmp_n(cs, n, name) == 0;
}

int mime_conv_utf8(struct mime_msg *m, const char *cs, size_t cslen,
	const char *in, size_t n, struct buf *out)
{
	int bad = 0;
	char name[sizeof(m->cd_name)];

	/* RFC 2231 lets a language ride along: "utf-8*en". */
	for (size_t i = 0; i < cslen; i++)
		if (cs[i] == '*')
			cslen = i;
	if (cslen == 0 || cs_is(cs, cslen, "utf-8") || cs_is(cs, cslen, "utf8") ||
	    cs_is(cs, cslen, "us-ascii") || cs_is(cs, cslen, "ascii")) {
		if (utf8_clean(in, n, out, &bad) < 0)
			return -1;
		if (bad)
			mime_err(m, MIME_E_BAD_CHARSET_DATA, NULL, NULL);
		return 0;
	}
	if (cs_is(cs, cslen, "iso-8859-1") || cs_is(cs, cslen, "latin1")) {
		if (buf_reserve(out, n * 2) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)in[i];
			if (c < 0x80) {
				out->data[out->len++] = (char)c;
			} else {
				out->data[out->len++] = (char)(0xc0 | (c >> 6));
				out->data[out->len++] = (char)(0x80 | (c & 0x3f));
			}
		}
		out->data[out->len] = '\0';
		return 0;
	}
	/* Only plain names reach iconv: it also parses suffixes like //IGNORE. */
	if (cslen >= sizeof(name))
		goto unknown;
	for (size_t i = 0; i < cslen; i++) {
		char c = cs[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			goto unknown;
		name[i] = (char)lower((unsigned char)c);
	}
	name[cslen] = '\0';
	if (strcmp(name, m->cd_name) != 0) {
		if (m->cd != (iconv_t)-1)
			iconv_close(m->cd);
		m->cd_name[0] = '\0';
		m->cd = iconv_open("UTF-8", name);
		if (m->cd == (iconv_t)-1)
			goto unknown;
		memcpy(m->cd_name, name, cslen + 1);
	}
	iconv(m->cd, NULL, NULL, NULL, NULL);
	{
		char *ip = (char *)in;
		size_t il = n;
		for (;;) {
			if (buf_reserve(out, il * 4 + 16) < 0)
				return -1;
			char *op = out->data + out->len;
			size_t ol = out->cap - out->len - 1, before = ol;
			size_t r = il ? iconv(m->cd, &ip, &il, &op, &ol) : iconv(m->cd, NULL, NULL, &op, &ol);
			int e = errno;
			out->len += before - ol;
			out->data[out->len] = '\0';
			if (r != (size_t)-1) {
				if (il == 0) {
					/* flush any shift state */
					if (buf_reserve(out, 16) < 0)
						return -1;
					op = out->data + out->len;
					ol = 16;
					iconv(m->cd, NULL, NULL, &op, &ol);
					out->len += 16 - ol;
					out->data[out->len] = '\0';
					break;
				}
				continue;
			}
			if (e == E2BIG)
				continue;
			/* EILSEQ or EINVAL (truncated at the end): replace one byte */
			bad = 1;
			if (buf_append(out, "\xef\xbf\xbd", 3) < 0)
				return -1;
			if (il == 0)
				break;
			ip++;
			il--;
			iconv(m->cd, NULL, NULL, NULL, NULL);
			if (il == 0)
				break;
		}
	}
	if (bad)
		mime_err(m, MIME_E_BAD_CHARSET_DATA, NULL, NULL);
	return 0;
unknown:
	mime_err(m, MIME_E_UNKNOWN_CHARSET, NULL, NULL);
	if (utf8_clean(in, n, out, &bad) < 0)
		return -1;
	return 0;
}

/* ---- base64 -------------------------------------------------------------- */

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0-63: the value; 64: '='; 65: white space; 66: anything else */
static const unsigned char b64tab[256] = {
	66, 66, 66, 66, 66, 66, 66, 66, 66, 65, 65, 66, 66, 65, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	65, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 62, 66, 66, 66, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 66, 66, 66, 64, 66, 66,
	66, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 66, 66, 66, 66, 66,
	66, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
};

/* Skips white space and line ends silently, other junk with *bad set; stops
 * at the first '='. */
int mime_b64_decode(struct mime_msg *m, const char *in, size_t n, struct buf *out, int *bad)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned acc = 0;
	int bits = 0;
	size_t i = 0;
	char *o;

	(void)m;
	if (buf_reserve(out, n / 4 * 3 + 3) < 0)
		return -1;
	o = out->data + out->len;
	while (i < n) {
		/* fast path: four alphabet characters in a row */
		if (bits == 0 && i + 4 <= n) {
			unsigned a = b64tab[p[i]], b = b64tab[p[i + 1]], c = b64tab[p[i + 2]], d = b64tab[p[i + 3]];
			if ((a | b | c | d) < 64) {
				unsigned v = a << 18 | b << 12 | c << 6 | d;
				o[0] = (char)(v >> 16);
				o[1] = (char)(v >> 8);
				o[2] = (char)v;
				o += 3;
				i += 4;
				continue;
			}
		}
		unsigned v = b64tab[p[i]];
		if (v >= 64) {
			if (v == 64)
				break;
			if (v == 66)
				*bad = 1;
			i++;
			continue;
		}
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char)((acc >> bits) & 0xff);
		}
		i++;
	}
	if (bits >= 6)
		*bad = 1; /* a lone trailing character */
	for (; i < n; i++)
		if (b64tab[p[i]] == 66 || b64tab[p[i]] < 64)
			*bad = 1;
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

int mime_b64_encode(const char *in, size_t n, const char *eol, size_t eol_len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t col = 0;

	if (n > ((size_t)-1) / 4 || buf_reserve(out, (n + 2) / 3 * 4 + (n / 57 + 1) * eol_len) < 0)
		return -1;
	char *o = out->data + out->len;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		if (col == 76) {
			memcpy(o, eol, eol_len);
			o += eol_len;
			col = 0;
		}
		o[0] = b64chars[(v >> 18) & 63];
		o[1] = b64chars[(v >> 12) & 63];
		o[2] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		o[3] = i + 2 < n ? b64chars[v & 63] : '=';
		o += 4;
		col += 4;
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

/* ---- quoted-printable ---------------------------------------------------- */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* q_mode: RFC 2047 "Q" ('_' is a space, no line structure). */
int mime_qp_decode(const char *in, size_t n, struct buf *out, int *bad, int q_mode)
{
	size_t i = 0;

	if (buf_reserve(out, n) < 0)
		return -1;
	while (i < n) {
		unsigned char c = (unsigned char)in[i];
		if (c == '=') {
			int h1 = i + 1 < n ? hexval((unsigned char)in[i + 1]) : -1;
			int h2 = i + 2 < n ? hexval((unsigned char)in[i + 2]) : -1;
			if (h1 >= 0 && h2 >= 0) {
				out->data[out->len++] = (char)(h1 * 16 + h2);
				i += 3;
				continue;
			}
			if (!q_mode) {
				/* soft line break, allowing trailing white space */
				size_t j = i + 1;
				while (j < n && (in[j] == ' ' || in[j] == '\t'))
					j++;
				if (j == n) {
					i = j;
					continue;
				}
				if (in[j] == '\n' || (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n')) {
					i = j + (in[j] == '\r' ? 2 : 1);
					continue;
				}
			}
			*bad = 1;
			out->data[out->len++] = '=';
			i++;
			continue;
		}
		if (q_mode && c == '_') {
			out->data[out->len++] = ' ';
			i++;
			continue;
		}
		if (!q_mode && (c == ' ' || c == '\t')) {
			/* white space at the end of a line was added in transport */
			size_t j = i;
			while (j < n && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j == n || in[j] == '\n' || (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n')) {
				i = j;
				continue;
			}
			memcpy(out->data + out->len, in + i, j - i);
			out->len += j - i;
			i = j;
			continue;
		}
		out->data[out->len++] = (char)c;
		i++;
	}
	out->data[out->len] = '\0';
	return 0;
}

static const char hexdig[] = "0123456789ABCDEF";

static int at_eol(const char *in, size_t i, size_t n, const char *eol, size_t eol_len)
{
	return in[i] == eol[0] && (eol_len == 1 || (i + 1 < n && in[i + 1] == eol[1]));
}

/* Lines are split at eol (a hard break); every other CR or LF is encoded. */
int mime_qp_encode(const char *in, size_t n, const char *eol, size_t eol_len, struct buf *out)
{
	size_t col = 0;
	/* worst case: every byte as =XX, plus a soft break per 25 bytes */
	if (n > ((size_t)-1) / 4 || buf_reserve(out, n * 3 + (n / 25 + 1) * (eol_len + 1)) < 0)
		return -1;
	char *o = out->data + out->len;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)in[i];
		if (at_eol(in, i, n, eol, eol_len)) {
			memcpy(o, eol, eol_len);
			o += eol_len;
			col = 0;
			i += eol_len;
			continue;
		}
		int last = i + 1 == n || at_eol(in, i + 1, n, eol, eol_len);
		int lit = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
		size_t tl = lit ? 1 : 3;
		/* keep room for the '=' of a soft break */
		if (col + tl > 75 && !(last && col + tl <= 76)) {
			*o++ = '=';
			memcpy(o, eol, eol_len);
			o += eol_len;
			col = 0;
		}
		if (lit) {
			*o++ = (char)c;
		} else {
			o[0] = '=';
			o[1] = hexdig[c >> 4];
			o[2] = hexdig[c & 15];
			o += 3;
		}
		col += tl;
		i++;
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

enum mime_cte mime_cte_parse(const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	if (n == 0 || mime_ascii_casecmp_n(v, n, "7bit") == 0)
		return MIME_CTE_7BIT;
	if (mime_ascii_casecmp_n(v, n, "8bit") == 0)
		return MIME_CTE_8BIT;
	if (mime_ascii_casecmp_n(v, n, "binary") == 0)
		return MIME_CTE_BINARY;
	if (mime_ascii_casecmp_n(v, n, "quoted-printable") == 0)
		return MIME_CTE_QP;
	if (mime_ascii_casecmp_n(v, n, "base64") == 0)
		return MIME_CTE_BASE64;
	return MIME_CTE_UNKNOWN;
}

/* ---- RFC 2047 encoded words ---------------------------------------------- */

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Recognises =?charset?X?text?= at s; fills the pieces and returns its
 * length, or 0. */
static size_t encword_scan(const char *s, size_t n, const char **cs, size_t *cslen,
	char *enc, const char **txt, size_t *txtlen)
{
	size_t i = 2, j;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	for (j = i; j < n && s[j] != '?'; j++)
		if (is_ws(s[j]) || j - i > 64)
			return 0;
	if (j == i || j + 2 >= n || s[j + 2] != '?')
		return 0;
	*cs = s + i;
	*cslen = j - i;
	*enc = (char)lower((unsigned char)s[j + 1]);
	i = j + 3;
	for (j = i; j + 1 < n; j++) {
		if (s[j] == '?' && s[j + 1] == '=') {
			*txt = s + i;
			*txtlen = j - i;
			return j + 2;
		}
		if (is_ws(s[j]) || s[j] == '?')
			return 0;
	}
	return 0;
}

/* Converts the pending encoded-word bytes; words of one charset are joined
 * first because encoders split multibyte characters across words. */
static int flush_pending(struct mime_msg *m, struct buf *pend, const char *cs, size_t cslen,
	struct buf *out)
{
	int r = 0;
	if (pend->len)
		r = mime_conv_utf8(m, cs, cslen, pend->data, pend->len, out);
	buf_reset(pend);
	return r;
}

int mime_decode_words(struct mime_msg *m, const char *raw, size_t len, struct buf *out)
{
	struct buf unf = BUF_INIT, pend = BUF_INIT;
	const char *pcs = NULL;
	size_t pcslen = 0, i;
	int after_word = 0, bad = 0, rc = -1;

	/* unfold and trim */
	if (buf_reserve(&unf, len) < 0)
		goto out;
	for (i = 0; i < len; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			unf.data[unf.len++] = raw[i];
	const char *s = unf.data;
	size_t n = unf.len, a = 0;
	while (a < n && is_ws(s[a]))
		a++;
	while (n > a && is_ws(s[n - 1]))
		n--;
	size_t run = a; /* start of literal text not yet copied */
	for (i = a; i < n;) {
		const char *cs, *txt;
		size_t cslen, txtlen, wl;
		char enc;
		if (!(s[i] == '=' && i + 1 < n && s[i + 1] == '?' &&
		      (wl = encword_scan(s + i, n - i, &cs, &cslen, &enc, &txt, &txtlen)) &&
		      (enc == 'b' || enc == 'q'))) {
			i++;
			continue;
		}
		/* white space between two encoded words is dropped */
		int only_ws = after_word;
		for (size_t k = run; k < i && only_ws; k++)
			if (!is_ws(s[k]))
				only_ws = 0;
		if (!only_ws) {
			if (flush_pending(m, &pend, pcs, pcslen, out) < 0)
				goto out;
			if (i > run && utf8_clean(s + run, i - run, out, &bad) < 0)
				goto out;
		}
		if (pend.len && (cslen != pcslen || memcmp(cs, pcs, cslen)) &&
		    flush_pending(m, &pend, pcs, pcslen, out) < 0)
			goto out;
		int wbad = 0;
		if (enc == 'b') {
			if (mime_b64_decode(m, txt, txtlen, &pend, &wbad) < 0)
				goto out;
		} else if (mime_qp_decode(txt, txtlen, &pend, &wbad, 1) < 0) {
			goto out;
		}
		if (wbad)
			mime_err(m, MIME_E_BAD_ENCODED_WORD, NULL, NULL);
		pcs = cs;
		pcslen = cslen;
		i += wl;
		run = i;
		after_word = 1;
	}
	if (flush_pending(m, &pend, pcs, pcslen, out) < 0)
		goto out;
	if (n > run && utf8_clean(s + run, n - run, out, &bad) < 0)
		goto out;
	if (buf_reserve(out, 0) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&unf);
	buf_free(&pend);
	return rc;
}

/* ---- parameters (RFC 2045 section 5.1, RFC 2231) --------------------------- */

struct rawparam {
	const char *name; size_t nlen;   /* base name, without "*N" and "*" */
	int section;                      /* -1: none */
	int ext;                          /* value is %-encoded, maybe charset'' */
	const char *val; size_t vlen;     /* unquoted */
	int quoted;
	size_t qoff;                      /* quoted: offset of the value in qb */
	int used;                         /* merged already */
};

/* Parameters (RFC 2231 sections count one each) per field; more are dropped
 * with MIME_E_BAD_PARAM.  A 4 KiB non-ASCII file name needs about 250. */
#define MAX_PARAMS 512

static size_t skip_cfws(const char *s, size_t i, size_t n)
{
	for (;;) {
		while (i < n && (is_ws(s[i]) || s[i] == '\r' || s[i] == '\n'))
			i++;
		if (i < n && s[i] == '(') {
			int depth = 0;
			for (; i < n; i++) {
				if (s[i] == '\\' && i + 1 < n) {
					i++;
					continue;
				}
				if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
			continue;
		}
		return i;
	}
}

int mime_parse_params(struct mime_msg *m, const char *s, size_t n,
	const char **mainv, struct mparam **list, size_t *count)
{
	struct rawparam stack_rp[16], *rp = stack_rp;
	size_t nrp = 0, cap = 16, i, j;
	int bad = 0;
	struct buf qb = BUF_INIT; /* unquoted values, kept until merged */

	i = skip_cfws(s, 0, n);
	for (j = i; j < n && s[j] != ';' && s[j] != '(' && !is_ws(s[j]) && s[j] != '\r' && s[j] != '\n'; j++)
		;
	char *mv = mime_strndup(m, s + i, j - i);
	if (!mv)
		return -1;
	for (char *c = mv; *c; c++)
		*c = (char)lower((unsigned char)*c);
	*mainv = mv;
	while (j < n && s[j] != ';')
		j++;
	i = j;
	while (i < n && nrp < MAX_PARAMS) {
		if (s[i] != ';') {
			bad = 1;
			while (i < n && s[i] != ';')
				i++;
			continue;
		}
		i = skip_cfws(s, i + 1, n);
		if (i >= n)
			break;
		size_t ns = i;
		while (i < n && s[i] != '=' && s[i] != ';' && !is_ws(s[i]) && s[i] != '\r' && s[i] != '\n')
			i++;
		size_t ne = i;
		i = skip_cfws(s, i, n);
		if (ns == ne || i >= n || s[i] != '=') {
			bad = 1;
			continue;
		}
		i = skip_cfws(s, i + 1, n);
		if (nrp == cap) {
			/* most fields have a few parameters: grow off the stack only
			 * for long RFC 2231 section lists */
			struct rawparam *g = malloc(cap * 2 * sizeof(*g));
			if (!g)
				goto oom;
			memcpy(g, rp, nrp * sizeof(*g));
			if (rp != stack_rp)
				free(rp);
			rp = g;
			cap *= 2;
		}
		struct rawparam *p = &rp[nrp];
		memset(p, 0, sizeof(*p));
		p->section = -1;
		if (i < n && s[i] == '"') {
			size_t start = qb.len;
			i++;
			while (i < n && s[i] != '"') {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				if (s[i] != '\r' && s[i] != '\n' && buf_putc(&qb, s[i]) < 0)
					goto oom;
				i++;
			}
			if (i >= n)
				bad = 1;
			else
				i++;
			p->qoff = start;
			p->vlen = qb.len - start;
			p->quoted = 1;
			while (i < n && s[i] != ';')
				i++;
		} else {
			size_t vs = i;
			while (i < n && s[i] != ';')
				i++;
			size_t ve = i;
			while (ve > vs && (is_ws(s[ve - 1]) || s[ve - 1] == '\r' || s[ve - 1] == '\n'))
				ve--;
			p->val = s + vs;
			p->vlen = ve - vs;
		}
		/* name, name*, name*N, name*N* */
		const char *nm = s + ns;
		size_t nl = ne - ns;
		if (nl > 1 && nm[nl - 1] == '*') {
			p->ext = 1;
			nl--;
		}
		size_t k = nl;
		while (k > 0 && nm[k - 1] >= '0' && nm[k - 1] <= '9')
			k--;
		if (k < nl && k > 1 && nm[k - 1] == '*' && nl - k <= 3) {
			p->section = 0;
			for (size_t d = k; d < nl; d++)
				p->section = p->section * 10 + (nm[d] - '0');
			nl = k - 1;
		}
		p->name = nm;
		p->nlen = nl;
		nrp++;
	}
	for (size_t q = 0; q < nrp; q++)
		if (rp[q].quoted)
			rp[q].val = qb.data ? qb.data + rp[q].qoff : "";

	/* merge: one entry per base name, in order of first appearance */
	struct mparam *out = mime_alloc(m, (nrp ? nrp : 1) * sizeof(*out));
	size_t nout = 0;
	if (!out)
		goto oom;
	for (size_t q = 0; q < nrp; q++) {
		if (rp[q].used)
			continue;
		/* Does any form of this name use RFC 2231? It wins over a plain one. */
		int has2231 = 0;
		for (size_t r = q; r < nrp; r++)
			if (rp[r].nlen == rp[q].nlen && !strncasecmp(rp[r].name, rp[q].name, rp[q].nlen) &&
			    (rp[r].ext || rp[r].section >= 0))
				has2231 = 1;
		struct buf val = BUF_INIT, bytes = BUF_INIT;
		const char *cs = NULL;
		size_t cslen = 0;
		if (!has2231) {
			rp[q].used = 1;
			for (size_t r = q + 1; r < nrp; r++)
				if (rp[r].nlen == rp[q].nlen && !strncasecmp(rp[r].name, rp[q].name, rp[q].nlen))
					rp[r].used = 1; /* duplicates: first wins */
			if (mime_decode_words(m, rp[q].val, rp[q].vlen, &val) < 0)
				goto oom2;
			/* decode_words trims; a quoted value keeps its spaces */
			if (rp[q].quoted && !memmem(rp[q].val, rp[q].vlen, "=?", 2)) {
				buf_reset(&val);
				int b2 = 0;
				if (utf8_clean(rp[q].val, rp[q].vlen, &val, &b2) < 0)
					goto oom2;
			}
		} else {
			/* sections in order: section -1 (name*) counts as 0 */
			for (int sec = 0; sec < 1000; sec++) {
				size_t r, found = nrp;
				for (r = q; r < nrp; r++)
					if (!rp[r].used && rp[r].nlen == rp[q].nlen &&
					    !strncasecmp(rp[r].name, rp[q].name, rp[q].nlen) &&
					    (rp[r].ext || rp[r].section >= 0) &&
					    (rp[r].section < 0 ? 0 : rp[r].section) == sec) {
						found = r;
						break;
					}
				if (found == nrp)
					break;
				struct rawparam *p = &rp[found];
				rp[found].used = 1;
				const char *v = p->val;
				size_t vl = p->vlen;
				if (p->ext && sec == 0) {
					const char *a1 = memchr(v, '\'', vl);
					const char *a2 = a1 ? memchr(a1 + 1, '\'', vl - (size_t)(a1 + 1 - v)) : NULL;
					if (a2) {
						cs = v;
						cslen = (size_t)(a1 - v);
						vl -= (size_t)(a2 + 1 - v);
						v = a2 + 1;
					} else {
						bad = 1;
					}
				}
				if (p->ext) {
					for (size_t t = 0; t < vl; t++) {
						int h1, h2;
						if (v[t] == '%' && t + 2 < vl &&
						    (h1 = hexval((unsigned char)v[t + 1])) >= 0 &&
						    (h2 = hexval((unsigned char)v[t + 2])) >= 0) {
							if (buf_putc(&bytes, (char)(h1 * 16 + h2)) < 0)
								goto oom2;
							t += 2;
						} else {
							if (v[t] == '%')
								bad = 1;
							if (buf_putc(&bytes, v[t]) < 0)
								goto oom2;
						}
					}
				} else if (buf_append(&bytes, v, vl) < 0) {
					goto oom2;
				}
			}
			/* leftovers of this name (plain duplicates) are ignored */
			for (size_t r = q; r < nrp; r++)
				if (rp[r].nlen == rp[q].nlen && !strncasecmp(rp[r].name, rp[q].name, rp[q].nlen))
					rp[r].used = 1;
			if (mime_conv_utf8(m, cs, cs ? cslen : 0, bytes.data ? bytes.data : "", bytes.len, &val) < 0)
				goto oom2;
		}
		char *nm = mime_strndup(m, rp[q].name, rp[q].nlen);
		char *vv = mime_strndup(m, val.data ? val.data : "", val.len);
		buf_free(&val);
		buf_free(&bytes);
		if (!nm || !vv)
			goto oom;
		for (char *c = nm; *c; c++)
			*c = (char)lower((unsigned char)*c);
		out[nout].name = nm;
		out[nout].value = vv;
		nout++;
		continue;
oom2:
		buf_free(&val);
		buf_free(&bytes);
		goto oom;
	}
	if (bad || nrp == MAX_PARAMS)
		mime_err(m, MIME_E_BAD_PARAM, NULL, NULL);
	*list = out;
	*count = nout;
	buf_free(&qb);
	if (rp != stack_rp)
		free(rp);
	return 0;
oom:
	buf_free(&qb);
	if (rp != stack_rp)
		free(rp);
	return -1;
}
