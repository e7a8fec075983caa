/* Fuzzes the From: header collector and mailbox-list reader: the input
 * is a message fed in pieces whose size comes from the first byte; every
 * address read must be NUL-terminated, fit its buffer and contain '@'. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bridge-smtp/smtp_fromhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_fromhdr h;
	if (size < 1)
		return 0;
	size_t piece = (size_t)data[0] + 1;
	data++;
	size--;
	smtp_fromhdr_init(&h);
	for (size_t off = 0; off < size; off += piece)
		smtp_fromhdr_feed(&h, (const char *)data + off, size - off < piece ? size - off : piece);
	if (h.len > sizeof(h.value) || (h.n_from == 0 && h.len != 0))
		__builtin_trap();
	char addr[64];
	size_t pos = 0, prev = 0;
	int rc;
	while ((rc = smtp_fromhdr_next(h.value, h.len, &pos, addr, sizeof(addr))) == 1) {
		if (strlen(addr) >= sizeof(addr) || !strchr(addr, '@') || pos <= prev || pos > h.len)
			__builtin_trap();
		prev = pos;
	}
	if (rc != 0 && rc != -1)
		__builtin_trap();
	/* The raw input as a value, too. */
	pos = 0;
	while (smtp_fromhdr_next((const char *)data, size, &pos, addr, sizeof(addr)) == 1)
		if (pos > size)
			__builtin_trap();
	return 0;
}
