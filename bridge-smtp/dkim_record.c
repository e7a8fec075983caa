/* DKIM-Signature fields and key records: parsing, and key loading. */
#include "bridge-smtp/dkim_int.h"
#include "common/err.h"
#include "bridge-smtp/dkim_tags.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/base64.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Base64 with FWS inside (tag values may be folded), decoded in one pass
 * without a stripped copy: whole quartets without FWS (the bulk of b= and
 * p=) take four table lookups and one test.  The result is exactly that
 * of base64_decode(BASE64_PAD_OPTIONAL) on the value with its FWS
 * dropped; the tests hold the two to agreement. */
#define W 0xfe /* FWS: skipped */
#define P 0xfd /* '=' */
#define X 0xff /* not base64 */
static const unsigned char b64_class[256] = {
	X,X,X,X,X,X,X,X,X,W,W,X,X,W,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	W,X,X,X,X,X,X,X,X,X,X,62,X,X,X,63,
	52,53,54,55,56,57,58,59,60,61,X,X,X,P,X,X,
	X,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,
	15,16,17,18,19,20,21,22,23,24,25,X,X,X,X,X,
	X,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,
	41,42,43,44,45,46,47,48,49,50,51,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
};
#undef W
#undef P
#undef X

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_B64_SSSE3 1
#include <tmmintrin.h>

/* Sixteen base64 characters into 12 bytes at out (16 bytes written), or
 * 0 when one of them is not in the alphabet (FWS, '=' or worse): then
 * nothing is written.  The usual SSSE3 method: nibble lookups classify
 * and translate the characters, multiply-adds pack 6-bit values. */
__attribute__((target("ssse3")))
static int decode16(const unsigned char *p, unsigned char *out)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	const __m128i lo_nib = _mm_and_si128(v, _mm_set1_epi8(0x0f));
	const __m128i hi_nib = _mm_and_si128(_mm_srli_epi32(v, 4), _mm_set1_epi8(0x0f));
	/* Bit sets per low and high nibble: a character is valid when its
	 * two sets do not meet. */
	const __m128i lut_lo = _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a,
					     0x1b, 0x1b, 0x1b, 0x1a);
	const __m128i lut_hi = _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10,
					     0x10, 0x10, 0x10, 0x10);
	/* What to add to a character to get its value, by high nibble
	 * ('/' moved to a slot of its own). */
	const __m128i lut_roll = _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
	__m128i bad = _mm_and_si128(_mm_shuffle_epi8(lut_lo, lo_nib), _mm_shuffle_epi8(lut_hi, hi_nib));
	__m128i val, packed;

	if (_mm_movemask_epi8(_mm_cmpgt_epi8(bad, _mm_setzero_si128())))
		return 0;
	val = _mm_add_epi8(v, _mm_shuffle_epi8(lut_roll, _mm_add_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')), hi_nib)));
	/* aaaaaa bbbbbb -> 12 bits; then two of those -> 24 bits per 4 chars. */
	packed = _mm_madd_epi16(_mm_maddubs_epi16(val, _mm_set1_epi32(0x01400140)), _mm_set1_epi32(0x00011000));
	packed = _mm_shuffle_epi8(packed, _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
	_mm_storeu_si128((__m128i *)(void *)out, packed);
	return 1;
}
#endif

long dkim_b64_fws_decode(const char *s, size_t n, unsigned char *out, size_t outmax)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t olen = 0, k = 0, pads = 0; /* k: bytes other than FWS */
	unsigned acc = 0, q = 0;          /* q: values held in acc */
#ifdef HAVE_B64_SSSE3
	int simd = n >= 16 && __builtin_cpu_supports("ssse3");
#endif

	for (;;) {
#ifdef HAVE_B64_SSSE3
		while (simd && q == 0 && pads == 0 && end - p >= 16 && outmax - olen >= 16 && decode16(p, out + olen)) {
			olen += 12;
			p += 16;
			k += 16;
		}
#endif
		while (q == 0 && pads == 0 && end - p >= 4) {
			unsigned a = b64_class[p[0]], b = b64_class[p[1]], c = b64_class[p[2]], d = b64_class[p[3]];
			if ((a | b | c | d) > 63)
				break;
			/* Past outmax only if base64_decoded_max(k) is too. */
			if (outmax - olen < 3)
				return -2;
			out[olen] = (unsigned char)(a << 2 | b >> 4);
			out[olen + 1] = (unsigned char)(b << 4 | c >> 2);
			out[olen + 2] = (unsigned char)(c << 6 | d);
			olen += 3;
			p += 4;
			k += 4;
		}
		if (p == end)
			break;
		unsigned v = b64_class[*p++];
		if (v == 0xfe)
			continue;
		k++;
		if (v == 0xfd) {
			if (++pads > 2)
				goto bad;
		} else if (v > 63 || pads) {
			goto bad;
		} else {
			acc = acc << 6 | v;
			if (++q == 4) {
				if (outmax - olen < 3)
					return -2;
				out[olen] = (unsigned char)(acc >> 16);
				out[olen + 1] = (unsigned char)(acc >> 8);
				out[olen + 2] = (unsigned char)acc;
				olen += 3;
				q = 0;
				acc = 0;
			}
		}
	}
	if (base64_decoded_max(k) > outmax)
		return -2;
	/* Padding completes the last quartet, or is absent; one value alone
	 * is no byte; leftover bits must be zero (one encoding per string). */
	if ((pads && q + pads != 4) || q == 1)
		return -1;
	if (q == 2) {
		if (acc & 0xf)
			return -1;
		out[olen++] = (unsigned char)(acc >> 4);
	} else if (q == 3) {
		if (acc & 0x3)
			return -1;
		out[olen++] = (unsigned char)(acc >> 10);
		out[olen++] = (unsigned char)(acc >> 2);
	}
	return (long)olen;
bad:
	/* Not base64; but, as for a stripped copy, too long comes first. */
	for (p--; p < end; p++)
		k += b64_class[*p] != 0xfe;
	return base64_decoded_max(k - 1) > outmax ? -2 : -1;
}

/* ASCII only, and inline: tolower() is a locale lookup through a
 * function call, which showed in profiles as the largest part of
 * parsing h=. */
static char lower_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int is_alnum_ascii(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A domain name or selector: labels of [A-Za-z0-9_-] separated by dots. */
int dkim_tag_copy_name(const struct dkim_tag *t, char *out, size_t outsz, int lower)
{
	if (t->value_len == 0 || t->value_len >= outsz || t->value_len > 253)
		return -1;
	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];
		if (!is_alnum_ascii(c) && c != '-' && c != '_' && c != '.')
			return -1;
		if (c == '.' && (i == 0 || t->value[i - 1] == '.'))
			return -1;
		out[i] = lower ? lower_ascii(c) : c;
	}
	out[t->value_len] = '\0';
	if (out[t->value_len - 1] == '.')
		out[t->value_len - 1] = '\0'; /* a root dot is harmless */
	return 0;
}

static int parse_num(const struct dkim_tag *t, long long *out)
{
	long long v = 0;

	if (t->value_len == 0 || t->value_len > 18)
		return -1;
	for (size_t i = 0; i < t->value_len; i++) {
		if (t->value[i] < '0' || t->value[i] > '9')
			return -1;
		v = v * 10 + (t->value[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_canon(const char *s, size_t n, enum dkim_canon *out)
{
	if (n == 6 && memcmp(s, "simple", 6) == 0)
		*out = DKIM_CANON_SIMPLE;
	else if (n == 7 && memcmp(s, "relaxed", 7) == 0)
		*out = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* Does the colon-separated list (with optional FWS) contain word? */
static int list_has(const struct dkim_tag *t, const char *word, int icase)
{
	size_t wl = strlen(word), i = 0;

	while (i < t->value_len) {
		size_t s, e;
		while (i < t->value_len && is_fws(t->value[i]))
			i++;
		s = i;
		while (i < t->value_len && t->value[i] != ':')
			i++;
		e = i;
		while (e > s && is_fws(t->value[e - 1]))
			e--;
		if (e - s == wl && (icase ? strncasecmp(t->value + s, word, wl) : memcmp(t->value + s, word, wl)) == 0)
			return 1;
		i++;
	}
	return 0;
}

void dkim_sig_free(struct dkim_sig *sig)
{
	free(sig->hbuf);
	free(sig->b);
	sig->hbuf = NULL;
	sig->b = NULL;
}

/* h= names and b= come from the arena when there is one (a verifier's,
 * reset per message), else from malloc for dkim_sig_free. */
static void *sig_alloc(struct dkim_arena *a, size_t n)
{
	return a ? dkim_arena_alloc(a, n) : malloc(n);
}

static void sig_release(struct dkim_sig *sig, struct dkim_arena *a)
{
	if (!a)
		dkim_sig_free(sig);
	sig->hbuf = NULL;
	sig->b = NULL;
}

int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig, char *err, size_t errlen)
{
	return dkim_sig_parse_arena(value, len, sig, NULL, err, errlen);
}

/* Bytes of h=: field-name characters (33..126 but ':'), ':', FWS, or
 * anything else (not allowed). */
enum { H_BAD, H_NAME, H_COLON, H_FWS };
#define B H_BAD
#define N H_NAME
#define C H_COLON
#define W H_FWS
static const unsigned char h_class[256] = {
	B,B,B,B,B,B,B,B,B,W,W,B,B,W,B,B,
	B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,
	W,N,N,N,N,N,N,N,N,N,N,N,N,N,N,N,
	N,N,N,N,N,N,N,N,N,N,C,N,N,N,N,N,
	N,N,N,N,N,N,N,N,N,N,N,N,N,N,N,N,
	N,N,N,N,N,N,N,N,N,N,N,N,N,N,N,N,
	N,N,N,N,N,N,N,N,N,N,N,N,N,N,N,N,
	N,N,N,N,N,N,N,N,N,N,N,N,N,N,N,B,
	B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,
	B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,
	B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,
	B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,
	B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,
	B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,
	B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,
	B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,B,
};
#undef B
#undef N
#undef C
#undef W

enum { T_V, T_A, T_D, T_S, T_C, T_Q, T_L, T_T, T_X, T_I, T_H, T_BH, T_B, T_COUNT };

/* The DKIM-Signature tags we read; -1 for others (ignored, RFC 6376 3.2). */
static int sig_tag_index(const struct dkim_tag *t)
{
	if (t->name_len == 2)
		return t->name[0] == 'b' && t->name[1] == 'h' ? T_BH : -1;
	if (t->name_len != 1)
		return -1;
	switch (t->name[0]) {
	case 'v': return T_V;
	case 'a': return T_A;
	case 'd': return T_D;
	case 's': return T_S;
	case 'c': return T_C;
	case 'q': return T_Q;
	case 'l': return T_L;
	case 't': return T_T;
	case 'x': return T_X;
	case 'i': return T_I;
	case 'h': return T_H;
	case 'b': return T_B;
	}
	return -1;
}

/* An ARC-Message-Signature (arc_instance not NULL) differs only in its
 * first tags: no v=, and i= is the instance number, not an identity. */
static int sig_parse(const char *value, size_t len, struct dkim_sig *sig, struct dkim_arena *arena, int *arc_instance,
		     char *err, size_t errlen)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t, *tag[T_COUNT] = { NULL };
	int has_from = 0;
	unsigned char bh[64];
	long bhlen, blen;
	size_t n;
	char why[64];

	/* Field by field rather than a memset of the whole 2 KiB (mostly
	 * the headers array, filled up to nheaders): a verifier parses one
	 * per signature per message. */
	sig->algo = DKIM_ALGO_RSA_SHA256;
	sig->hcanon = sig->bcanon = DKIM_CANON_SIMPLE;
	sig->domain[0] = sig->selector[0] = sig->identity[0] = sig->b_prefix[0] = '\0';
	sig->hbuf = NULL;
	sig->nheaders = 0;
	sig->b = NULL;
	sig->b_len = sig->b_start = sig->b_end = 0;
	memset(sig->bh, 0, sizeof(sig->bh));
	sig->l = sig->t = sig->x = -1;
	if (dkim_tags_parse(value, len, &tl, why, sizeof(why)) < 0)
		return scop_err(err, errlen, "bad tag list: %s", why);
	/* One pass over the list rather than a search per tag (names are
	 * unique: the parse rejects repeats). */
	for (size_t k = 0; k < tl.count; k++) {
		int i = sig_tag_index(&tl.tags[k]);
		if (i >= 0)
			tag[i] = &tl.tags[k];
	}
	if (!arc_instance && !dkim_tag_is(tag[T_V], "1"))
		return scop_err(err, errlen, "v= missing or not 1");

	t = tag[T_A];
	if (dkim_tag_is(t, "rsa-sha256"))
		sig->algo = DKIM_ALGO_RSA_SHA256;
	else if (dkim_tag_is(t, "ed25519-sha256"))
		sig->algo = DKIM_ALGO_ED25519_SHA256;
	else if (dkim_tag_is(t, "rsa-sha1"))
		return scop_err(err, errlen, "rsa-sha1 is not accepted (RFC 8301)");
	else
		return scop_err(err, errlen, "a= missing or unknown");

	if (!(t = tag[T_D]) || dkim_tag_copy_name(t, sig->domain, sizeof(sig->domain), 1) < 0)
		return scop_err(err, errlen, "d= missing or malformed");
	if (!(t = tag[T_S]) || dkim_tag_copy_name(t, sig->selector, sizeof(sig->selector), 0) < 0)
		return scop_err(err, errlen, "s= missing or malformed");

	if ((t = tag[T_C])) {
		const char *slash = memchr(t->value, '/', t->value_len);
		size_t hl = slash ? (size_t)(slash - t->value) : t->value_len;
		if (parse_canon(t->value, hl, &sig->hcanon) < 0 ||
		    (slash && parse_canon(slash + 1, t->value_len - hl - 1, &sig->bcanon) < 0))
			return scop_err(err, errlen, "c= unknown canonicalization");
	}
	if ((t = tag[T_Q]) && !list_has(t, "dns/txt", 0))
		return scop_err(err, errlen, "q= has no dns/txt");
	if ((t = tag[T_L]) && parse_num(t, &sig->l) < 0)
		return scop_err(err, errlen, "l= malformed");
	if ((t = tag[T_T]) && parse_num(t, &sig->t) < 0)
		return scop_err(err, errlen, "t= malformed");
	if ((t = tag[T_X]) && parse_num(t, &sig->x) < 0)
		return scop_err(err, errlen, "x= malformed");
	if (sig->t >= 0 && sig->x >= 0 && sig->x < sig->t)
		return scop_err(err, errlen, "x= is before t=");

	if (arc_instance) {
		long long inst;
		if (!(t = tag[T_I]) || parse_num(t, &inst) < 0 || inst < 1 || inst > DKIM_ARC_MAX_INSTANCE)
			return scop_err(err, errlen, "i= missing or not an instance number");
		*arc_instance = (int)inst;
	}
	if (!arc_instance && (t = tag[T_I])) {
		const char *at = memchr(t->value, '@', t->value_len);
		size_t dl, il;
		if (!at || t->value_len >= sizeof(sig->identity))
			return scop_err(err, errlen, "i= malformed");
		memcpy(sig->identity, t->value, t->value_len);
		sig->identity[t->value_len] = '\0';
		at++;
		il = t->value_len - (size_t)(at - t->value);
		dl = strlen(sig->domain);
		/* The i= domain must be d= or a subdomain of it. */
		if (!(il == dl && strncasecmp(at, sig->domain, dl) == 0) &&
		    !(il > dl && at[il - dl - 1] == '.' && strncasecmp(at + il - dl, sig->domain, dl) == 0))
			return scop_err(err, errlen, "i= is not within d=");
	} else {
		/* d= has at most 253 bytes, identity room for 511. */
		size_t dl = strlen(sig->domain);
		sig->identity[0] = '@';
		memcpy(sig->identity + 1, sig->domain, dl + 1);
	}

	if (!(t = tag[T_H]) || t->value_len == 0)
		return scop_err(err, errlen, "h= missing");
	if (!(sig->hbuf = sig_alloc(arena, t->value_len + 1)))
		return scop_err(err, errlen, "out of memory");
	{
		/* One table lookup per byte (name byte, ':', FWS or not
		 * allowed) and locals for the value and the output: stores
		 * through a char pointer would otherwise make the compiler
		 * reload t's fields on every byte. */
		const unsigned char *hv = (const unsigned char *)t->value;
		size_t hl = t->value_len, k = 0, i = 0;

		has_from = 0;
		char *out = sig->hbuf;
		while (i <= hl) {
			size_t s;
			while (i < hl && h_class[hv[i]] == H_FWS)
				i++;
			s = k;
#ifdef __SSE2__
			/* Most of a name at once: 16 bytes lower-cased and
			 * stored, kept up to the first that is not a name
			 * byte.  (k <= i, so the store stays inside hbuf.) */
			while (hl - i >= 16) {
				__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(hv + i));
				__m128i name = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')),
								_mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(32)),
									      _mm_cmplt_epi8(x, _mm_set1_epi8(127))));
				__m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
							   _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
				unsigned stop = ~(unsigned)_mm_movemask_epi8(name) & 0xffff;
				_mm_storeu_si128((__m128i *)(void *)(out + k),
						 _mm_add_epi8(x, _mm_and_si128(up, _mm_set1_epi8(0x20))));
				if (!stop) {
					k += 16;
					i += 16;
					continue;
				}
				k += (size_t)__builtin_ctz(stop);
				i += (size_t)__builtin_ctz(stop);
				break;
			}
#endif
			while (i < hl && h_class[hv[i]] == H_NAME) {
				out[k++] = lower_ascii((char)hv[i]);
				i++;
			}
			while (i < hl && h_class[hv[i]] == H_FWS)
				i++;
			/* An empty name, or a name followed by anything but ':'
			 * (a byte outside 33..126, or FWS inside a name). */
			if (k == s || (i < hl && hv[i] != ':'))
				goto bad_h;
			has_from |= k - s == 4 && memcmp(out + s, "from", 4) == 0;
			out[k++] = '\0';
			if (sig->nheaders == DKIM_MAX_SIGNED_HEADERS)
				goto bad_h;
			sig->headers[sig->nheaders++] = out + s;
			i++;
		}
	}
	if (!has_from) {
		sig_release(sig, arena);
		return scop_err(err, errlen, "h= does not include From");
	}

	if (!(t = tag[T_BH]) || (bhlen = dkim_b64_fws_decode(t->value, t->value_len, bh, sizeof(bh))) == -1) {
		sig_release(sig, arena);
		return scop_err(err, errlen, "bh= missing or not base64");
	}
	if (bhlen != 32) {
		sig_release(sig, arena);
		return scop_err(err, errlen, "bh= is not a SHA-256 hash");
	}
	memcpy(sig->bh, bh, 32);
	if (!(t = tag[T_B])) {
		sig_release(sig, arena);
		return scop_err(err, errlen, "b= missing or not base64");
	}
	n = base64_decoded_max(t->value_len) + 1;
	if (!(sig->b = sig_alloc(arena, n)) || (blen = dkim_b64_fws_decode(t->value, t->value_len, sig->b, n)) <= 0) {
		sig_release(sig, arena);
		return scop_err(err, errlen, "b= missing or not base64");
	}
	sig->b_len = (size_t)blen;
	/* What the header hash leaves out: from just after "b=" to the end
	 * of the tag-spec, the value and the white space around it. */
	sig->b_start = t->value_off;
	while (sig->b_start > 0 && value[sig->b_start - 1] != '=')
		sig->b_start--;
	sig->b_end = t->end_off;
	{
		size_t k = 0;
		for (size_t i = 0; i < t->value_len && k < 8; i++) {
			if (!is_fws(t->value[i]))
				sig->b_prefix[k++] = t->value[i];
		}
		sig->b_prefix[k] = '\0';
	}
	return 0;
bad_h:
	sig_release(sig, arena);
	return scop_err(err, errlen, "h= malformed");
}

int dkim_sig_parse_arena(const char *value, size_t len, struct dkim_sig *sig, struct dkim_arena *arena, char *err,
			 size_t errlen)
{
	return sig_parse(value, len, sig, arena, NULL, err, errlen);
}

int dkim_sig_parse_ams(const char *value, size_t len, struct dkim_sig *sig, struct dkim_arena *arena, int *instance,
		       char *err, size_t errlen)
{
	return sig_parse(value, len, sig, arena, instance, err, errlen);
}

void dkim_key_free(struct dkim_key *key)
{
	dkim_rsa_pub_free(key->rsa);
	EVP_MD_CTX_free(key->vmd);
	EVP_PKEY_free(key->pkey);
	key->pkey = NULL;
	key->rsa = NULL;
	key->vmd = NULL;
}

static EVP_PKEY *rsa_from_der(const unsigned char *der, size_t n)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)n);

	if (pk && p != der + n) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (!pk) {
		/* RFC 6376 names RSAPublicKey (PKCS#1); most publish
		 * SubjectPublicKeyInfo.  Take either. */
		p = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)n);
		if (pk && p != der + n) {
			EVP_PKEY_free(pk);
			return NULL;
		}
	}
	if (pk && EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

int dkim_key_parse(const char *rec, size_t len, struct dkim_key *key, char *err, size_t errlen)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t;
	unsigned char *der;
	long dl;
	size_t n;
	char why[64];

	memset(key, 0, sizeof(*key));
	if (dkim_tags_parse(rec, len, &tl, why, sizeof(why)) < 0)
		return scop_err(err, errlen, "bad key record: %s", why);
	if ((t = dkim_tags_get(&tl, "v")) && (t != &tl.tags[0] || !dkim_tag_is(t, "DKIM1")))
		return scop_err(err, errlen, "key record v= is not a leading DKIM1");
	t = dkim_tags_get(&tl, "k");
	if (!t || dkim_tag_is(t, "rsa"))
		key->algo = DKIM_ALGO_RSA_SHA256;
	else if (dkim_tag_is(t, "ed25519"))
		key->algo = DKIM_ALGO_ED25519_SHA256;
	else
		return scop_err(err, errlen, "key record k= unknown");
	key->sha256_ok = !(t = dkim_tags_get(&tl, "h")) || list_has(t, "sha256", 0);
	key->email_ok = !(t = dkim_tags_get(&tl, "s")) || list_has(t, "*", 0) || list_has(t, "email", 0);
	if ((t = dkim_tags_get(&tl, "t"))) {
		key->testing = list_has(t, "y", 1);
		key->strict = list_has(t, "s", 1);
	}
	if (!(t = dkim_tags_get(&tl, "p")))
		return scop_err(err, errlen, "key record has no p=");
	if (t->value_len == 0) {
		key->revoked = 1;
		return 0;
	}
	if (!(der = malloc(base64_decoded_max(t->value_len) + 1)) ||
	    (dl = dkim_b64_fws_decode(t->value, t->value_len, der, base64_decoded_max(t->value_len) + 1)) < 0) {
		free(der);
		return scop_err(err, errlen, "key record p= is not base64");
	}
	n = (size_t)dl;
	if (key->algo == DKIM_ALGO_ED25519_SHA256) {
		if (n == 32)
			key->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, 32);
	} else {
		key->pkey = rsa_from_der(der, n);
	}
	free(der);
	if (!key->pkey)
		return scop_err(err, errlen, "key record p= is not a valid %s key",
			    key->algo == DKIM_ALGO_RSA_SHA256 ? "RSA" : "Ed25519");
	if (key->algo == DKIM_ALGO_RSA_SHA256) {
		key->bits = EVP_PKEY_get_bits(key->pkey);
		if (key->bits < 1024) {
			dkim_key_free(key);
			return scop_err(err, errlen, "RSA key shorter than 1024 bits");
		}
		if (!(key->rsa = dkim_rsa_pub_new(key->pkey))) {
			dkim_key_free(key);
			return scop_err(err, errlen, "RSA key not usable: over 8192 bits, or an exponent that is even, under 3 or over 64 bits");
		}
	}
	return 0;
}

struct dkim_privkey *dkim_privkey_from_pkey(EVP_PKEY *pkey)
{
	struct dkim_privkey *k;
	int id = pkey ? EVP_PKEY_get_base_id(pkey) : 0;

	if ((id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) || !(k = calloc(1, sizeof(*k))))
		return NULL;
	if (EVP_PKEY_up_ref(pkey) != 1) {
		free(k);
		return NULL;
	}
	k->pkey = pkey;
	/* An explicit fetch, kept with the key: EVP_sha256() would be looked
	 * up in the provider store again for every message. */
	k->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	return k;
}

EVP_PKEY *dkim_privkey_pkey(const struct dkim_privkey *k)
{
	return k->pkey;
}

void dkim_privkey_free(struct dkim_privkey *k)
{
	if (!k)
		return;
	EVP_PKEY_CTX_free(k->pctx);
	EVP_MD_CTX_free(k->mctx);
	EVP_MD_free(k->sha256);
	EVP_PKEY_free(k->pkey);
	free(k);
}

int dkim_privkey_load(const char *path, struct dkim_privkey **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char text[16384];
	size_t n;
	EVP_PKEY *pk = NULL;
	BIO *bio;

	*out = NULL;
	if (!f)
		return scop_err(err, errlen, "cannot open key file %s", path);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if ((bio = BIO_new_mem_buf(text, (int)n))) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (!pk) {
		/* dkimpy's dknewkey --ktype ed25519 writes the seed in base64. */
		size_t k = n, sl;
		unsigned char *seed;
		while (k && strchr(" \t\r\n", text[k - 1]))
			k--;
		seed = base64_decode_alloc(text, k, BASE64_PAD_OPTIONAL, &sl);
		if (seed && sl == 32)
			pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
		if (seed) {
			OPENSSL_cleanse(seed, sl);
			free(seed);
		}
	}
	OPENSSL_cleanse(text, sizeof(text));
	if (!pk)
		return scop_err(err, errlen, "%s holds no RSA or Ed25519 private key", path);
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bits(pk) < 1024) {
			EVP_PKEY_free(pk);
			return scop_err(err, errlen, "%s: RSA key shorter than 1024 bits", path);
		}
	} else if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pk);
		return scop_err(err, errlen, "%s: key is neither RSA nor Ed25519", path);
	}
	*out = dkim_privkey_from_pkey(pk);
	EVP_PKEY_free(pk);
	return *out ? 0 : scop_err(err, errlen, "out of memory");
}

int dkim_pubkey_record(EVP_PKEY *key, struct buf *out)
{
	unsigned char raw[32], *der = NULL;
	size_t rl = sizeof(raw);
	char *b64;
	int n, rc;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(key, raw, &rl) != 1 || rl != 32)
			return -1;
		b64 = base64_encode_alloc(raw, 32, BASE64_PAD);
		if (!b64)
			return -1;
		rc = buf_printf(out, "v=DKIM1; k=ed25519; p=%s", b64);
		free(b64);
		return rc;
	}
	if ((n = i2d_PUBKEY(key, &der)) <= 0)
		return -1;
	b64 = base64_encode_alloc(der, (size_t)n, BASE64_PAD);
	OPENSSL_free(der);
	if (!b64)
		return -1;
	rc = buf_printf(out, "v=DKIM1; k=rsa; p=%s", b64);
	free(b64);
	return rc;
}
