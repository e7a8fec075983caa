/* Fuzzes the SMTP client's reply parser: the input is split into lines
 * (at LF, CR stripped) and fed as one reply after another. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bridge-smtp/smtp_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct smtp_reply r;
	smtp_reply_init(&r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t len = n && p[n - 1] == '\r' ? n - 1 : n;
		int rc = smtp_reply_line(&r, p, len);
		if (rc != 0) {
			if (rc == 1 && (r.code < 200 || r.code > 599 || strlen(r.text) >= sizeof(r.text) ||
					strlen(r.enh) >= sizeof(r.enh)))
				__builtin_trap();
			smtp_reply_init(&r);
		}
		p += n + (nl ? 1 : 0);
	}
	return 0;
}
