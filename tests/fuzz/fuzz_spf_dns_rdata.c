/* Fuzzes the DNS RDATA parser the libunbound resolver runs on every answer
 * (TXT, MX, PTR, A, AAAA, SRV, TLSA wire format).  The first byte picks the
 * type. */
#include <stddef.h>
#include <stdint.h>

#include "common/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dns_type types[] = { DNS_TXT, DNS_MX, DNS_PTR, DNS_A, DNS_AAAA, DNS_SRV, DNS_TLSA };
	if (size < 1)
		return 0;
	struct dns_record rec;
	if (dns_rdata_parse(types[data[0] % (sizeof(types) / sizeof(types[0]))], data + 1, size - 1, &rec) == 0)
		dns_record_clear(&rec);
	char norm[256];
	char name[300];
	size_t n = size - 1 < sizeof(name) - 1 ? size - 1 : sizeof(name) - 1;
	for (size_t i = 0; i < n; i++)
		name[i] = data[1 + i] ? (char)data[1 + i] : '.';
	name[n] = '\0';
	(void)dns_name_normalize(name, norm, sizeof(norm));
	return 0;
}
