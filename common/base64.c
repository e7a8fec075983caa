#include "common/base64.h"

#include <stdlib.h>
#include <string.h>

static const char std_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64_encoded_len(size_t n, int flags)
{
	if (flags & BASE64_PAD)
		return (n + 2) / 3 * 4;
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t base64_decoded_max(size_t inlen)
{
	return inlen / 4 * 3 + 3;
}

size_t base64_encode(const void *in, size_t n, char *out, int flags)
{
	const unsigned char *p = in;
	const char *a = (flags & BASE64_URLSAFE) ? url_alpha : std_alpha;
	size_t i, o = 0;

	for (i = 0; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (flags & BASE64_PAD) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		if (flags & BASE64_PAD)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Byte-to-value tables (-1: not in the alphabet).  One table lookup per
 * character keeps decoding cheap on hot paths such as DKIM verification. */
#define X -1
static const signed char std_value[256] = {
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,62,X,X,X,63, 52,53,54,55,56,57,58,59,60,61,X,X,X,X,X,X,
	X,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14, 15,16,17,18,19,20,21,22,23,24,25,X,X,X,X,X,
	X,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40, 41,42,43,44,45,46,47,48,49,50,51,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
};
static const signed char url_value[256] = {
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,62,X,X, 52,53,54,55,56,57,58,59,60,61,X,X,X,X,X,X,
	X,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14, 15,16,17,18,19,20,21,22,23,24,25,X,X,X,X,63,
	X,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40, 41,42,43,44,45,46,47,48,49,50,51,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
	X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
};
#undef X

long base64_decode(const char *in, size_t inlen, void *out, size_t outcap, int flags)
{
	unsigned char *o = out;
	const signed char *value = (flags & BASE64_URLSAFE) ? url_value : std_value;
	size_t pad = 0, n, i, olen = 0;
	unsigned acc = 0;
	int bits = 0;

	while (pad < 2 && inlen > pad && in[inlen - 1 - pad] == '=')
		pad++;
	n = inlen - pad;
	if (pad && !(flags & (BASE64_PAD | BASE64_PAD_OPTIONAL)))
		return -1;
	if ((pad || (flags & BASE64_PAD)) && inlen % 4 != 0)
		return -1;
	if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > outcap)
		return -1;
	for (i = 0; i < n; i++) {
		int v = value[(unsigned char)in[i]];
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[olen++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero so each byte string has one encoding. */
	if (acc != 0)
		return -1;
	return (long)olen;
}

char *base64_encode_alloc(const void *in, size_t n, int flags)
{
	char *out = malloc(base64_encoded_len(n, flags) + 1);
	if (out)
		base64_encode(in, n, out, flags);
	return out;
}

unsigned char *base64_decode_alloc(const char *in, size_t inlen, int flags, size_t *outlen)
{
	size_t cap = base64_decoded_max(inlen);
	unsigned char *out = malloc(cap + 1);
	long n;

	if (!out)
		return NULL;
	n = base64_decode(in, inlen, out, cap, flags);
	if (n < 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	if (outlen)
		*outlen = (size_t)n;
	return out;
}
