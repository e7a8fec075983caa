#include "bridge-smtp/dkim_tags.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum_(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* The end of the value from s[i]: the offset of the next ';', or n;
 * (size_t)-1 when a control character other than FWS (CR, LF, HTAB), or
 * DEL, comes first.  One pass, sixteen bytes at a time with SSE2: b= and
 * p= are hundreds of bytes, the bulk of every list. */
static size_t value_end(const char *s, size_t i, size_t n)
{
#ifdef __SSE2__
	const __m128i c1f = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f), semi = _mm_set1_epi8(';');
	const __m128i tab = _mm_set1_epi8('\t'), lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');

	for (; n - i >= 16; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(x, c1f), c1f); /* x <= 0x1f, unsigned */
		__m128i fws = _mm_or_si128(_mm_cmpeq_epi8(x, tab),
					   _mm_or_si128(_mm_cmpeq_epi8(x, lf), _mm_cmpeq_epi8(x, cr)));
		unsigned bad = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_andnot_si128(fws, ctl),
									_mm_cmpeq_epi8(x, del)));
		unsigned end = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, semi));
		if (end) {
			/* Only what comes before the ';' counts. */
			unsigned at = (unsigned)__builtin_ctz(end);
			return bad & ((1u << at) - 1) ? (size_t)-1 : i + at;
		}
		if (bad)
			return (size_t)-1;
	}
#endif
	for (; i < n && s[i] != ';'; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !is_fws((char)c)) || c == 0x7f)
			return (size_t)-1;
	}
	return i;
}

int dkim_tags_parse(const char *text, size_t len, struct dkim_taglist *out, char *err, size_t errlen)
{
	size_t i = 0;

	out->count = 0;
	for (;;) {
		struct dkim_tag t;
		size_t vstart, vend;

		while (i < len && is_fws(text[i]))
			i++;
		if (i == len)
			return 0; /* empty list, or a trailing ';' */
		if (!is_alpha(text[i]))
			return scop_err(err, errlen, "%s", "bad tag name");
		t.name = text + i;
		while (i < len && is_alnum_(text[i]))
			i++;
		t.name_len = (size_t)(text + i - t.name);
		while (i < len && is_fws(text[i]))
			i++;
		if (i == len || text[i] != '=')
			return scop_err(err, errlen, "%s", "missing '=' after tag name");
		i++;
		while (i < len && is_fws(text[i]))
			i++;
		vstart = i;
		if ((i = value_end(text, i, len)) == (size_t)-1)
			return scop_err(err, errlen, "%s", "control character in tag value");
		vend = i;
		while (vend > vstart && is_fws(text[vend - 1]))
			vend--;
		t.value = text + vstart;
		t.value_len = vend - vstart;
		t.value_off = vstart;
		t.end_off = i;
		/* Names are mostly one or two letters: first byte and length
		 * settle nearly every pair without a memcmp call. */
		for (size_t k = 0; k < out->count; k++) {
			if (out->tags[k].name_len == t.name_len && out->tags[k].name[0] == t.name[0] &&
			    memcmp(out->tags[k].name, t.name, t.name_len) == 0)
				return scop_err(err, errlen, "%s", "duplicate tag");
		}
		if (out->count == DKIM_TAGS_MAX)
			return scop_err(err, errlen, "%s", "too many tags");
		out->tags[out->count++] = t;
		if (i == len)
			return 0;
		i++; /* the ';' */
	}
}

const struct dkim_tag *dkim_tags_get(const struct dkim_taglist *tl, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < tl->count; i++) {
		if (tl->tags[i].name_len == n && memcmp(tl->tags[i].name, name, n) == 0)
			return &tl->tags[i];
	}
	return NULL;
}

int dkim_tag_is(const struct dkim_tag *t, const char *s)
{
	return t && strlen(s) == t->value_len && memcmp(t->value, s, t->value_len) == 0;
}
