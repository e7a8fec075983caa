/* Base64 (RFC 4648) in the variants Matrix and mail need.
 *
 * Matrix uses unpadded standard base64 (and unpadded URL-safe for some IDs);
 * mail uses padded standard base64.  Encoders write a NUL-terminated string
 * into a caller buffer of at least base64_encoded_len(n) + 1 bytes.  The
 * decoder is strict: it rejects characters outside the chosen alphabet,
 * wrong padding, and non-zero trailing bits, returning -1; on success it
 * returns the decoded length.  outcap is the size of out: input that would
 * decode to more bytes is refused with -1 before anything past outcap is
 * written, so untrusted text can be decoded straight into a fixed field.
 */
#ifndef SCOP_BASE64_H
#define SCOP_BASE64_H

#include <stddef.h>

enum base64_flags {
	BASE64_PAD = 1,     /* write / require '=' padding */
	BASE64_URLSAFE = 2, /* '-' and '_' instead of '+' and '/' */
	BASE64_PAD_OPTIONAL = 4, /* decoding: accept input with or without padding */
};

size_t base64_encoded_len(size_t n, int flags);
size_t base64_decoded_max(size_t inlen);
size_t base64_encode(const void *in, size_t n, char *out, int flags);
long base64_decode(const char *in, size_t inlen, void *out, size_t outcap, int flags);
/* Allocating forms: NULL on allocation failure or (decode) bad input. */
char *base64_encode_alloc(const void *in, size_t n, int flags);
unsigned char *base64_decode_alloc(const char *in, size_t inlen, int flags, size_t *outlen);

#endif
