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
#ifdef __SSE2__
	/* A name of under 16 bytes without WSP, the usual case: lower-cased
	 * in one vector. */
	if (len >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)raw);
		unsigned cm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
		unsigned wm = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')),
									_mm_cmpeq_epi8(x, _mm_set1_epi8('\t'))));
		if (cm && !(wm & ((1u << __builtin_ctz(cm)) - 1))) {
			__m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
						   _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
			_mm_storeu_si128((__m128i *)(void *)o, _mm_add_epi8(x, _mm_and_si128(up, _mm_set1_epi8(0x20))));
			colon = (size_t)__builtin_ctz(cm);
			o += colon;
			goto value;
		}
	}
#endif
	while (colon < len && raw[colon] != ':')
		colon++;
	for (i = 0; i < colon; i++) {
		char ch = raw[i];
		if (is_wsp(ch))
			continue;
		*o++ = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
#ifdef __SSE2__
value:
#endif
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
	int ssse3;                 /* the CPU has SSSE3 and POPCNT: relaxed_shuffle */
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SSSE3_PATH 1
#include <tmmintrin.h>

/* For each 8-bit mask, the positions of its set bits in order, as
 * PSHUFB indices (0x80: a zero byte): keeps the chosen bytes of 8. */
static const uint64_t compress8[256] = {
	0x8080808080808080ULL, 0x8080808080808000ULL, 0x8080808080808001ULL, 0x8080808080800100ULL,
	0x8080808080808002ULL, 0x8080808080800200ULL, 0x8080808080800201ULL, 0x8080808080020100ULL,
	0x8080808080808003ULL, 0x8080808080800300ULL, 0x8080808080800301ULL, 0x8080808080030100ULL,
	0x8080808080800302ULL, 0x8080808080030200ULL, 0x8080808080030201ULL, 0x8080808003020100ULL,
	0x8080808080808004ULL, 0x8080808080800400ULL, 0x8080808080800401ULL, 0x8080808080040100ULL,
	0x8080808080800402ULL, 0x8080808080040200ULL, 0x8080808080040201ULL, 0x8080808004020100ULL,
	0x8080808080800403ULL, 0x8080808080040300ULL, 0x8080808080040301ULL, 0x8080808004030100ULL,
	0x8080808080040302ULL, 0x8080808004030200ULL, 0x8080808004030201ULL, 0x8080800403020100ULL,
	0x8080808080808005ULL, 0x8080808080800500ULL, 0x8080808080800501ULL, 0x8080808080050100ULL,
	0x8080808080800502ULL, 0x8080808080050200ULL, 0x8080808080050201ULL, 0x8080808005020100ULL,
	0x8080808080800503ULL, 0x8080808080050300ULL, 0x8080808080050301ULL, 0x8080808005030100ULL,
	0x8080808080050302ULL, 0x8080808005030200ULL, 0x8080808005030201ULL, 0x8080800503020100ULL,
	0x8080808080800504ULL, 0x8080808080050400ULL, 0x8080808080050401ULL, 0x8080808005040100ULL,
	0x8080808080050402ULL, 0x8080808005040200ULL, 0x8080808005040201ULL, 0x8080800504020100ULL,
	0x8080808080050403ULL, 0x8080808005040300ULL, 0x8080808005040301ULL, 0x8080800504030100ULL,
	0x8080808005040302ULL, 0x8080800504030200ULL, 0x8080800504030201ULL, 0x8080050403020100ULL,
	0x8080808080808006ULL, 0x8080808080800600ULL, 0x8080808080800601ULL, 0x8080808080060100ULL,
	0x8080808080800602ULL, 0x8080808080060200ULL, 0x8080808080060201ULL, 0x8080808006020100ULL,
	0x8080808080800603ULL, 0x8080808080060300ULL, 0x8080808080060301ULL, 0x8080808006030100ULL,
	0x8080808080060302ULL, 0x8080808006030200ULL, 0x8080808006030201ULL, 0x8080800603020100ULL,
	0x8080808080800604ULL, 0x8080808080060400ULL, 0x8080808080060401ULL, 0x8080808006040100ULL,
	0x8080808080060402ULL, 0x8080808006040200ULL, 0x8080808006040201ULL, 0x8080800604020100ULL,
	0x8080808080060403ULL, 0x8080808006040300ULL, 0x8080808006040301ULL, 0x8080800604030100ULL,
	0x8080808006040302ULL, 0x8080800604030200ULL, 0x8080800604030201ULL, 0x8080060403020100ULL,
	0x8080808080800605ULL, 0x8080808080060500ULL, 0x8080808080060501ULL, 0x8080808006050100ULL,
	0x8080808080060502ULL, 0x8080808006050200ULL, 0x8080808006050201ULL, 0x8080800605020100ULL,
	0x8080808080060503ULL, 0x8080808006050300ULL, 0x8080808006050301ULL, 0x8080800605030100ULL,
	0x8080808006050302ULL, 0x8080800605030200ULL, 0x8080800605030201ULL, 0x8080060503020100ULL,
	0x8080808080060504ULL, 0x8080808006050400ULL, 0x8080808006050401ULL, 0x8080800605040100ULL,
	0x8080808006050402ULL, 0x8080800605040200ULL, 0x8080800605040201ULL, 0x8080060504020100ULL,
	0x8080808006050403ULL, 0x8080800605040300ULL, 0x8080800605040301ULL, 0x8080060504030100ULL,
	0x8080800605040302ULL, 0x8080060504030200ULL, 0x8080060504030201ULL, 0x8006050403020100ULL,
	0x8080808080808007ULL, 0x8080808080800700ULL, 0x8080808080800701ULL, 0x8080808080070100ULL,
	0x8080808080800702ULL, 0x8080808080070200ULL, 0x8080808080070201ULL, 0x8080808007020100ULL,
	0x8080808080800703ULL, 0x8080808080070300ULL, 0x8080808080070301ULL, 0x8080808007030100ULL,
	0x8080808080070302ULL, 0x8080808007030200ULL, 0x8080808007030201ULL, 0x8080800703020100ULL,
	0x8080808080800704ULL, 0x8080808080070400ULL, 0x8080808080070401ULL, 0x8080808007040100ULL,
	0x8080808080070402ULL, 0x8080808007040200ULL, 0x8080808007040201ULL, 0x8080800704020100ULL,
	0x8080808080070403ULL, 0x8080808007040300ULL, 0x8080808007040301ULL, 0x8080800704030100ULL,
	0x8080808007040302ULL, 0x8080800704030200ULL, 0x8080800704030201ULL, 0x8080070403020100ULL,
	0x8080808080800705ULL, 0x8080808080070500ULL, 0x8080808080070501ULL, 0x8080808007050100ULL,
	0x8080808080070502ULL, 0x8080808007050200ULL, 0x8080808007050201ULL, 0x8080800705020100ULL,
	0x8080808080070503ULL, 0x8080808007050300ULL, 0x8080808007050301ULL, 0x8080800705030100ULL,
	0x8080808007050302ULL, 0x8080800705030200ULL, 0x8080800705030201ULL, 0x8080070503020100ULL,
	0x8080808080070504ULL, 0x8080808007050400ULL, 0x8080808007050401ULL, 0x8080800705040100ULL,
	0x8080808007050402ULL, 0x8080800705040200ULL, 0x8080800705040201ULL, 0x8080070504020100ULL,
	0x8080808007050403ULL, 0x8080800705040300ULL, 0x8080800705040301ULL, 0x8080070504030100ULL,
	0x8080800705040302ULL, 0x8080070504030200ULL, 0x8080070504030201ULL, 0x8007050403020100ULL,
	0x8080808080800706ULL, 0x8080808080070600ULL, 0x8080808080070601ULL, 0x8080808007060100ULL,
	0x8080808080070602ULL, 0x8080808007060200ULL, 0x8080808007060201ULL, 0x8080800706020100ULL,
	0x8080808080070603ULL, 0x8080808007060300ULL, 0x8080808007060301ULL, 0x8080800706030100ULL,
	0x8080808007060302ULL, 0x8080800706030200ULL, 0x8080800706030201ULL, 0x8080070603020100ULL,
	0x8080808080070604ULL, 0x8080808007060400ULL, 0x8080808007060401ULL, 0x8080800706040100ULL,
	0x8080808007060402ULL, 0x8080800706040200ULL, 0x8080800706040201ULL, 0x8080070604020100ULL,
	0x8080808007060403ULL, 0x8080800706040300ULL, 0x8080800706040301ULL, 0x8080070604030100ULL,
	0x8080800706040302ULL, 0x8080070604030200ULL, 0x8080070604030201ULL, 0x8007060403020100ULL,
	0x8080808080070605ULL, 0x8080808007060500ULL, 0x8080808007060501ULL, 0x8080800706050100ULL,
	0x8080808007060502ULL, 0x8080800706050200ULL, 0x8080800706050201ULL, 0x8080070605020100ULL,
	0x8080808007060503ULL, 0x8080800706050300ULL, 0x8080800706050301ULL, 0x8080070605030100ULL,
	0x8080800706050302ULL, 0x8080070605030200ULL, 0x8080070605030201ULL, 0x8007060503020100ULL,
	0x8080808007060504ULL, 0x8080800706050400ULL, 0x8080800706050401ULL, 0x8080070605040100ULL,
	0x8080800706050402ULL, 0x8080070605040200ULL, 0x8080070605040201ULL, 0x8007060504020100ULL,
	0x8080800706050403ULL, 0x8080070605040300ULL, 0x8080070605040301ULL, 0x8007060504030100ULL,
	0x8080070605040302ULL, 0x8007060504030200ULL, 0x8007060504030201ULL, 0x0706050403020100ULL,
};

/* The relaxed body from p without a branch per break: each 16 bytes go
 * to the stage with the WSP that relaxed canonicalization removes left
 * out by a shuffle.  A WSP byte stays (as SP) only when content follows
 * it (so a run keeps its last byte, and a run before a CRLF goes); CRLFs
 * stay.  What needs the state machine stops it at the 16 bytes holding
 * it: a lone CR, an empty line or a line starting with WSP (held-back
 * empty lines), fewer than 18 bytes left.  Entered like relaxed_copy, at
 * content on a line that has content; leaves b's line state right for
 * where it stops.  NULL on a hash error. */
__attribute__((target("ssse3,popcnt")))
static const char *relaxed_shuffle(struct dkim_body *b, const char *p, const char *end)
{
	const __m128i sp16 = _mm_set1_epi8(' '), tab16 = _mm_set1_epi8('\t'), cr16 = _mm_set1_epi8('\r');
	const __m128i lf16 = _mm_set1_epi8('\n'), tab2sp = _mm_set1_epi8(' ' ^ '\t');
	const __m128i eight = _mm_set1_epi8(8);
	unsigned char *o = b->stage + b->nstage, *o0 = o;
	const char *q = p;
	size_t produced;

	/* The first byte is content; copying it lets every vector look one
	 * byte back. */
	*o++ = (unsigned char)*q++;
	while (end - q >= 18) {
		__m128i w = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i nx = _mm_loadu_si128((const __m128i *)(const void *)(q + 1));
		__m128i nx2 = _mm_loadu_si128((const __m128i *)(const void *)(q + 2));
		__m128i pv = _mm_loadu_si128((const __m128i *)(const void *)(q - 1));
		__m128i istab = _mm_cmpeq_epi8(w, tab16);
		__m128i isw = _mm_or_si128(_mm_cmpeq_epi8(w, sp16), istab);
		__m128i iscr = _mm_cmpeq_epi8(w, cr16);
		__m128i nx_lf = _mm_cmpeq_epi8(nx, lf16);
		__m128i nx_w = _mm_or_si128(_mm_cmpeq_epi8(nx, sp16), _mm_cmpeq_epi8(nx, tab16));
		__m128i nx_crlf = _mm_and_si128(_mm_cmpeq_epi8(nx, cr16), _mm_cmpeq_epi8(nx2, lf16));
		__m128i bad = _mm_or_si128(_mm_andnot_si128(nx_lf, iscr),
					   _mm_and_si128(_mm_or_si128(iscr, isw), _mm_cmpeq_epi8(pv, lf16)));
		unsigned keep, lo;
		__m128i ctrl, c;

		if (_mm_movemask_epi8(bad))
			break;
		keep = ~(unsigned)_mm_movemask_epi8(_mm_and_si128(isw, _mm_or_si128(nx_w, nx_crlf))) & 0xffff;
		if (o > b->stage + STAGE) {
			b->nstage = (size_t)(o - b->stage);
			b->total += (size_t)(o - o0);
			b->hashed += (size_t)(o - o0);
			if (flush(b) < 0)
				return NULL;
			o = o0 = b->stage;
		}
		w = _mm_xor_si128(w, _mm_and_si128(istab, tab2sp));
		ctrl = _mm_set_epi64x((long long)compress8[keep >> 8], (long long)compress8[keep & 0xff]);
		ctrl = _mm_add_epi8(ctrl, _mm_and_si128(eight, _mm_set_epi64x(-1, 0))); /* high half: bytes 8..15 */
		c = _mm_shuffle_epi8(w, ctrl);
		lo = (unsigned)__builtin_popcount(keep & 0xff);
		_mm_storel_epi64((__m128i *)(void *)o, c);
		_mm_storel_epi64((__m128i *)(void *)(o + lo), _mm_srli_si128(c, 8));
		o += __builtin_popcount(keep);
		q += 16;
	}
	/* A CR kept as the last byte has its LF still to come: give it back,
	 * so that the state machine sees the CRLF whole.  (It was stored
	 * after the last flush, and it is not the first byte: content.) */
	if (q[-1] == '\r') {
		q--;
		o--;
	}
	produced = (size_t)(o - o0);
	b->nstage = (size_t)(o - b->stage);
	b->total += produced;
	b->hashed += produced;
	if (b->nstage >= STAGE && flush(b) < 0) /* emit wants nstage <= STAGE */
		return NULL;
	/* Past a CRLF the line is empty so far; anywhere else it has content
	 * (WSP after a LF stopped the loop), and a WSP left out here needs
	 * no pending flag: what follows it is WSP or a CRLF. */
	b->line_has_content = !(q[-1] == '\n' && q - 2 >= p && q[-2] == '\r');
	b->wsp = 0;
	return q;
}
#endif

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
	const char *q;

#ifdef HAVE_SSSE3_PATH
	if (b->ssse3 && end - p >= 19) {
		if (!(p = relaxed_shuffle(b, p, end)))
			return NULL;
		/* What stopped it goes to the state machine, unless it is
		 * content on a line with content: the loop below takes that. */
		if (p == end || !b->line_has_content || !is_ordinary(*p))
			return p;
	}
#endif
	q = p;

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
#ifdef HAVE_SSSE3_PATH
	b->ssse3 = __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("popcnt");
#endif
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
	int ssse3 = b->ssse3;

	memset(b, 0, offsetof(struct dkim_body, stage));
	b->md = md;
	b->ssse3 = ssse3;
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
