/* Fuzzes RFC 2047 decoding of header values, and the encoder against it:
 * any UTF-8 value put in a field must read back the same after encoding and
 * parsing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge-smtp/mime.h"
#include "common/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_msg *m = mime_msg_new(), *back = NULL;
	struct buf out = BUF_INIT;
	char *s = malloc(size + 1);

	if (!m || !s)
		goto out;
	memcpy(s, data, size);
	s[size] = '\0';
	size_t n;
	mime_decode_text(m, (const char *)data, size, &n);
	/* round trip of a value (up to the first NUL, trimmed as the API does) */
	if (mime_header_add(m, mime_msg_root(m), "Subject", s) == 0) {
		const char *want = mime_part_header(m, mime_msg_root(m), "subject");
		if (mime_encode(m, &out) < 0 || mime_parse(out.data, out.len, 0, NULL, &back) < 0)
			abort();
		const char *got = mime_part_header(back, mime_msg_root(back), "subject");
		if (!got || strcmp(got, want) != 0)
			abort();
	}
out:
	mime_msg_free(back);
	mime_msg_free(m);
	buf_free(&out);
	free(s);
	return 0;
}
