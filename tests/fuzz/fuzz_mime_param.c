/* Fuzzes RFC 2045/2231 parameter parsing, and the parameter encoder against
 * it: any UTF-8 file name (up to 4 KiB) must read back the same after
 * encoding and parsing. */
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
	static const char *const names[] = { "charset", "filename", "name", "boundary", "title" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		mime_decode_param(m, (const char *)data, size, names[i]);
	const char *const params[] = { "filename", s, "x-other", "v", NULL };
	struct mime_part *r = mime_msg_root(m);
	/* up to 4 KiB: longer values need more RFC 2231 sections than a field
	 * may hold (see MAX_PARAMS in mime_codec.c) */
	if (size <= 4096 && mime_part_set_disposition(m, r, "attachment", params) == 0) {
		if (mime_encode(m, &out) < 0 || mime_parse(out.data, out.len, 0, NULL, &back) < 0)
			abort();
		const char *got = mime_part_filename(back, mime_msg_root(back));
		if (!got || strcmp(got, s) != 0)
			abort();
		if (!mime_msg_equal(m, back, NULL, 0))
			abort();
	}
out:
	mime_msg_free(back);
	mime_msg_free(m);
	buf_free(&out);
	free(s);
	return 0;
}
