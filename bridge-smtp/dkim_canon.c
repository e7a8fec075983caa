#include "bridge-smtp/dkim_canon.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies a word of a header value from raw[i] (whose first byte is
 * content, possibly a lone CR) to *o, and with it every single SP that
 * sits between two content bytes, which relaxed canonicalization keeps as
 * it is: most values are words and single spaces, so this is one call
 * per value rather than one per word.  Sixteen bytes at a time with
 * SSE2 (the caller leaves 16 bytes of slack after the output).  Returns
 * where it stopped: the end, SP/HTAB/CR. */
static size_t copy_words(const char *raw, size_t i, size_t len, char **op)
{
	char *o = *op;

	*o++ = raw[i++];
#ifdef __SSE2__
	const __m128i sp16 = _mm_set1_epi8(' '), tab16 = _mm_set1_epi8('\t'), cr16 = _mm_set1_epi8('\r');

	while (len - i >= 16) {
		__m128i w = _mm_loadu_si128((const __m128i *)(const void *)(raw + i));
		int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(w, sp16),
							  _mm_or_si128(_mm_cmpeq_epi8(w, tab16), _mm_cmpeq_epi8(w, cr16))));
		unsigned z;

		_mm_storeu_si128((__m128i *)(void *)o, w);
		if (!mask) {
			o += 16;
			i += 16;
			continue;
		}
		z = (unsigned)__builtin_ctz((unsigned)mask);
		o += z;
		i += z;
		if (raw[i] != ' ' || i + 1 == len || raw[i + 1] == ' ' || raw[i + 1] == '\t' || raw[i + 1] == '\r')
			break;
		*o++ = ' ';
		*o++ = raw[i + 1];
		i += 2;
	}
#endif
	while (i < len && raw[i] != ' ' && raw[i] != '\t' && raw[i] != '\r')
		*o++ = raw[i++];
	*op = o;
	return i;
}

int dkim_canon_header(enum dkim_canon c, const char *raw, size_t len, struct buf *out)
{
	size_t i, colon;
	int pending = 0, started = 0;
	char *o;

	if (c == DKIM_CANON_SIMPLE) {
		if (buf_append(out, raw, len) < 0)
			return -1;
		if (len < 2 || raw[len - 2] != '\r' || raw[len - 1] != '\n')
			return buf_append(out, "\r\n", 2);
		return 0;
	}
	/* relaxed: lower-case name, no WSP around the colon, unfolded value
	 * with WSP runs as one SP and none at either end.  The result is
	 * never longer than the input plus CRLF and the colon; copy_words
	 * wants 16 bytes of slack. */
	if (buf_reserve(out, len + 4 + 16) < 0)
		return -1;
	o = out->data + out->len;
	if (len >= 2 && raw[len - 2] == '\r' && raw[len - 1] == '\n')
		len -= 2;
	colon = 0;
	while (colon < len && raw[colon] != ':')
		colon++;
	for (i = 0; i < colon; i++) {
		char ch = raw[i];
		if (is_wsp(ch))
			continue;
		*o++ = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	*o++ = ':';
	i = colon + 1;
	while (i < len) {
		char ch = raw[i];
		if (ch == '\r' && i + 1 < len && raw[i + 1] == '\n') {
			i += 2;
			continue;
		}
		if (is_wsp(ch)) {
			pending = 1;
			i++;
			continue;
		}
		if (pending && started)
			*o++ = ' ';
		pending = 0;
		started = 1;
		/* A lone CR is content, copied here or on the next round. */
		i = copy_words(raw, i, len, &o);
	}
	*o++ = '\r';
	*o++ = '\n';
	*o = '\0';
	out->len = (size_t)(o - out->data);
	return 0;
}

#define STAGE 4096

struct dkim_body {
	EVP_MD_CTX *md;
	enum dkim_canon canon;
	long long limit;           /* -1: none */
	unsigned long long total;  /* canonical bytes produced so far */
	unsigned long long hashed;
	unsigned long empty_lines; /* CRLFs held back: they count only if content follows */
	int saw_cr;                /* last byte was CR, not yet known to end a line */
	int wsp;                   /* relaxed: WSP seen since the last content byte */
	int line_has_content;
	size_t nstage;
	/* The slack lets relaxed_copy store whole 16-byte vectors (and two
	 * bytes more) while nstage <= STAGE. */
	unsigned char stage[STAGE + 32];
};

static int flush(struct dkim_body *b)
{
	if (b->nstage && EVP_DigestUpdate(b->md, b->stage, b->nstage) != 1)
		return -1;
	b->nstage = 0;
	return 0;
}

static int emit_slow(struct dkim_body *b, const char *p, size_t n)
{
	b->total += n;
	if (b->limit >= 0) {
		unsigned long long room = (unsigned long long)b->limit - b->hashed;
		if (n > room)
			n = (size_t)room;
	}
	b->hashed += n;
	if (n >= STAGE / 2) {
		/* Long runs go straight to the hash. */
		if (flush(b) < 0 || EVP_DigestUpdate(b->md, p, n) != 1)
			return -1;
		return 0;
	}
	while (n) {
		size_t k = STAGE - b->nstage;
		if (k > n)
			k = n;
		memcpy(b->stage + b->nstage, p, k);
		b->nstage += k;
		p += k;
		n -= k;
		if (b->nstage == STAGE && flush(b) < 0)
			return -1;
	}
	return 0;
}

/* The common case, a piece that fits the stage with no l= to watch,
 * stays out of a function call: bodies are mostly short pieces. */
static inline int emit(struct dkim_body *b, const char *p, size_t n)
{
	if (b->limit < 0 && n <= STAGE - b->nstage) {
		memcpy(b->stage + b->nstage, p, n);
		b->nstage += n;
		b->total += n;
		b->hashed += n;
		return 0;
	}
	return emit_slow(b, p, n);
}

/* Content is about to be written on the current line: release held-back
 * empty lines and a pending WSP run first. */
static int before_content_slow(struct dkim_body *b)
{
	while (b->empty_lines) {
		if (emit(b, "\r\n", 2) < 0)
			return -1;
		b->empty_lines--;
	}
	if (b->wsp) {
		b->wsp = 0;
		if (b->line_has_content || b->canon == DKIM_CANON_RELAXED) {
			if (emit(b, " ", 1) < 0)
				return -1;
		}
	}
	b->line_has_content = 1;
	return 0;
}

static inline int before_content(struct dkim_body *b)
{
	if (b->empty_lines || b->wsp)
		return before_content_slow(b);
	b->line_has_content = 1;
	return 0;
}

static int end_line(struct dkim_body *b)
{
	b->wsp = 0;
	if (b->line_has_content) {
		b->line_has_content = 0;
		return emit(b, "\r\n", 2);
	}
	b->empty_lines++;
	return 0;
}

/* Exactly 0x80 in each byte of x that is zero. */
static uint64_t zero_bytes(uint64_t x)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((x & low7) + low7) | x | low7);
}

/* The end of the run from p that relaxed canonicalization leaves as it
 * is: no CR or HTAB, and no SP followed by SP, HTAB, CR or the end of the
 * data (a lone SP between ordinary bytes is already canonical).  Sixteen
 * bytes at a time with SSE2, eight where the byte order allows. */
static const char *relaxed_run(const char *p, const char *end)
{
	const char *q = p;

#ifdef __SSE2__
	const __m128i sp16 = _mm_set1_epi8(' '), tab16 = _mm_set1_epi8('\t'), cr16 = _mm_set1_epi8('\r');

	while (end - q >= 17) {
		__m128i w = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i n = _mm_loadu_si128((const __m128i *)(const void *)(q + 1));
		__m128i sp = _mm_cmpeq_epi8(w, sp16);
		__m128i bad = _mm_or_si128(_mm_cmpeq_epi8(w, cr16), _mm_cmpeq_epi8(w, tab16));
		__m128i next = _mm_or_si128(_mm_cmpeq_epi8(n, sp16),
					    _mm_or_si128(_mm_cmpeq_epi8(n, tab16), _mm_cmpeq_epi8(n, cr16)));
		int mask = _mm_movemask_epi8(_mm_or_si128(bad, _mm_and_si128(sp, next)));
		if (mask)
			return q + __builtin_ctz((unsigned)mask);
		q += 16;
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL;

	while (end - q >= 9) {
		uint64_t w, n, sp, bad;
		memcpy(&w, q, 8);
		memcpy(&n, q + 1, 8);
		sp = zero_bytes(w ^ (ones * ' '));
		bad = zero_bytes(w ^ (ones * '\r')) | zero_bytes(w ^ (ones * '\t'));
		bad |= sp & (zero_bytes(n ^ (ones * ' ')) | zero_bytes(n ^ (ones * '\t')) |
			     zero_bytes(n ^ (ones * '\r')));
		if (bad)
			return q + __builtin_ctzll(bad) / 8;
		q += 8;
	}
#endif
	while (q < end) {
		char c = *q;
		if (c == '\r' || c == '\t')
			break;
		if (c == ' ' && (q + 1 == end || q[1] == ' ' || q[1] == '\t' || q[1] == '\r'))
			break;
		q++;
	}
	return q;
}

static int is_ordinary(char c)
{
	return c != ' ' && c != '\t' && c != '\r';
}

/* Relaxed canonicalization of the body from p, on a line that already
 * has content (so no held-back empty lines or WSP), written straight to
 * the stage.  With SSE2 each 16-byte vector is stored whole and only its
 * accepted bytes are kept; the two common breaks in a run are handled
 * here too, so that a typical text body is a handful of calls rather
 * than one per word: a WSP run between content bytes becomes one SP, a
 * CRLF followed by content stays as it is, and a WSP run before such a
 * CRLF goes.  Anything else (WSP or CR
 * at a line end, a lone CR, the end of the data) goes back to the state
 * machine in dkim_body_update.  Only without l=, which would cut runs
 * short.  Returns where it stopped, or NULL on a hash error. */
static const char *relaxed_copy(struct dkim_body *b, const char *p, const char *end)
{
	const char *q = p;

#ifdef __SSE2__
	const __m128i sp16 = _mm_set1_epi8(' '), tab16 = _mm_set1_epi8('\t'), cr16 = _mm_set1_epi8('\r');
	unsigned char *o = b->stage + b->nstage, *o0 = o;
	size_t produced = 0;

	while (end - q >= 17) {
		__m128i w = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i n = _mm_loadu_si128((const __m128i *)(const void *)(q + 1));
		__m128i sp = _mm_cmpeq_epi8(w, sp16);
		__m128i bad = _mm_or_si128(_mm_cmpeq_epi8(w, cr16), _mm_cmpeq_epi8(w, tab16));
		__m128i next = _mm_or_si128(_mm_cmpeq_epi8(n, sp16),
					    _mm_or_si128(_mm_cmpeq_epi8(n, tab16), _mm_cmpeq_epi8(n, cr16)));
		int mask = _mm_movemask_epi8(_mm_or_si128(bad, _mm_and_si128(sp, next)));
		const char *r;

		if (o > b->stage + STAGE) {
			produced += (size_t)(o - o0);
			b->nstage = (size_t)(o - b->stage);
			if (flush(b) < 0)
				return NULL;
			o = o0 = b->stage;
		}
		_mm_storeu_si128((__m128i *)(void *)o, w);
		if (!mask) {
			o += 16;
			q += 16;
			continue;
		}
		/* At most 16 + 2 bytes past a nstage <= STAGE: the slack. */
		o += __builtin_ctz((unsigned)mask);
		q += __builtin_ctz((unsigned)mask);
		if (*q == '\r') {
			if (end - q < 3 || q[1] != '\n' || !is_ordinary(q[2]))
				break;
			*o++ = '\r';
			*o++ = '\n';
			q += 2;
			continue;
		}
		for (r = q + 1; r < end && (*r == ' ' || *r == '\t'); r++)
			;
		if (r == end)
			break;
		if (*r == '\r') {
			/* WSP at a line end goes (format=flowed text has it
			 * on every line); a CRLF and content go on as above. */
			if (end - r < 3 || r[1] != '\n' || !is_ordinary(r[2]))
				break;
			*o++ = '\r';
			*o++ = '\n';
			q = r + 2;
			continue;
		}
		*o++ = ' ';
		q = r;
	}
	produced += (size_t)(o - o0);
	b->nstage = (size_t)(o - b->stage);
	if (b->nstage >= STAGE && flush(b) < 0) /* emit wants nstage <= STAGE */
		return NULL;
	b->total += produced;
	b->hashed += produced;
	p = q;
#endif
	/* The tail (or the whole run without SSE2) through the plain scan. */
	q = relaxed_run(p, end);
	if (q > p && emit(b, p, (size_t)(q - p)) < 0)
		return NULL;
	return q;
}

struct dkim_body *dkim_body_new(enum dkim_canon c, long long limit)
{
	return dkim_body_new_md(c, limit, NULL);
}

struct dkim_body *dkim_body_new_md(enum dkim_canon c, long long limit, const EVP_MD *sha256)
{
	/* Not calloc: the stage needs no clearing. */
	struct dkim_body *b = malloc(sizeof(*b));

	if (!b)
		return NULL;
	memset(b, 0, offsetof(struct dkim_body, stage));
	b->canon = c;
	b->limit = limit < 0 ? -1 : limit;
	b->md = EVP_MD_CTX_new();
	if (!b->md || EVP_DigestInit_ex(b->md, sha256 ? sha256 : EVP_sha256(), NULL) != 1) {
		dkim_body_free(b);
		return NULL;
	}
	return b;
}

int dkim_body_restart(struct dkim_body *b, enum dkim_canon c, long long limit)
{
	EVP_MD_CTX *md = b->md;

	memset(b, 0, offsetof(struct dkim_body, stage));
	b->md = md;
	b->canon = c;
	b->limit = limit < 0 ? -1 : limit;
	return EVP_DigestInit_ex(md, EVP_MD_CTX_get0_md(md), NULL) == 1 ? 0 : -1;
}

int dkim_body_update(struct dkim_body *b, const void *data, size_t n)
{
	const char *p = data, *end = p + n;

	if (b->saw_cr && p < end) {
		b->saw_cr = 0;
		if (*p == '\n') {
			if (end_line(b) < 0)
				return -1;
			p++;
		} else if (before_content(b) < 0 || emit(b, "\r", 1) < 0) {
			return -1;
		}
	}
	while (p < end) {
		/* The run of ordinary bytes up to the next CR (or WSP when
		 * relaxed) goes out in one piece. */
		const char *q = p;
		if (b->canon == DKIM_CANON_SIMPLE) {
			q = memchr(p, '\r', (size_t)(end - p));
			if (!q)
				q = end;
		} else if (*p != ' ' && *p != '\t' && *p != '\r') {
			/* An ordinary first byte: the run is not empty. */
			if (before_content(b) < 0)
				return -1;
			if (b->limit < 0) {
				if (!(p = relaxed_copy(b, p, end)))
					return -1;
				continue;
			}
			q = relaxed_run(p, end);
		}
		if (q > p) {
			if (before_content(b) < 0 || emit(b, p, (size_t)(q - p)) < 0)
				return -1;
			p = q;
			continue;
		}
		if (*p == '\r') {
			if (p + 1 == end) {
				b->saw_cr = 1;
				return 0;
			}
			if (p[1] == '\n') {
				if (end_line(b) < 0)
					return -1;
				p += 2;
			} else {
				if (before_content(b) < 0 || emit(b, "\r", 1) < 0)
					return -1;
				p++;
			}
			continue;
		}
		/* relaxed WSP */
		b->wsp = 1;
		p++;
	}
	return 0;
}

int dkim_body_final(struct dkim_body *b, unsigned char digest[32], unsigned long long *total)
{
	unsigned int dlen = 0;

	if (b->saw_cr) {
		b->saw_cr = 0;
		if (before_content(b) < 0 || emit(b, "\r", 1) < 0)
			return -1;
	}
	if (b->line_has_content) {
		if (end_line(b) < 0)
			return -1;
	} else if (b->total == 0 && b->canon == DKIM_CANON_SIMPLE) {
		if (emit(b, "\r\n", 2) < 0)
			return -1;
	}
	if (flush(b) < 0 || EVP_DigestFinal_ex(b->md, digest, &dlen) != 1 || dlen != 32)
		return -1;
	if (total)
		*total = b->total;
	return 0;
}

void dkim_body_free(struct dkim_body *b)
{
	if (!b)
		return;
	EVP_MD_CTX_free(b->md);
	free(b);
}
