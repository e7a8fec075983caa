/* Fuzzes the SMTP command-line parser with arbitrary lines. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bridge-smtp/smtp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_cmd c;
	if (smtp_cmd_parse((const char *)data, size, &c) == 0) {
		/* Whatever was accepted must be bounded, terminated text. */
		if (strlen(c.addr) > SMTP_PATH_MAX || strlen(c.domain) > SMTP_DOMAIN_MAX)
			__builtin_trap();
		(void)smtp_addr_domain(c.addr);
	} else if (!c.error) {
		__builtin_trap();
	}
	return 0;
}
