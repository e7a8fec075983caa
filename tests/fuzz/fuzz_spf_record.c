/* Fuzzes the SPF record parser, macro expansion, and check_host() on the
 * input as a published record (table resolver, no network).  The input is
 * the TXT record of example.com; a few names it may refer to exist. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/dns.h"
#include "bridge-smtp/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	if (size > 4096)
		return 0;
	struct spf_record *rec = NULL;
	char err[128];
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.family = 4;
	req.ip[0] = 192;
	req.ip[2] = 2;
	req.ip[3] = 1;
	req.domain = "example.com";
	req.sender = "user.name@example.com";
	req.helo = "mx.example.com";
	req.now = 1;
	if (spf_record_parse(text, size, &rec, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < rec->count; i++)
			if (rec->terms[i].domain_spec != NULL)
				free(spf_macro_expand(rec->terms[i].domain_spec, strlen(rec->terms[i].domain_spec),
					&req, "example.com", NULL, 0));
		spf_record_free(rec);
	}
	free(spf_macro_expand(text, size, &req, "example.com", "mx.example.com", 1));
	(void)spf_macro_check(text, size, 0);

	struct dns_resolver *r = dns_static_new();
	if (r == NULL)
		return 0;
	dns_static_add(r, "example.com", DNS_TXT, text, size);
	dns_static_add(r, "inc.example.com", DNS_TXT, "v=spf1 ip4:192.0.2.0/24 -all", (size_t)-1);
	dns_static_add(r, "example.com", DNS_A, "192.0.2.1", (size_t)-1);
	dns_static_add(r, "example.com", DNS_MX, "10 mx.example.com", (size_t)-1);
	dns_static_add(r, "mx.example.com", DNS_A, "192.0.2.2", (size_t)-1);
	dns_static_add(r, "1.2.0.192.in-addr.arpa", DNS_PTR, "mx.example.com", (size_t)-1);
	dns_static_add(r, "exp.example.com", DNS_TXT, "%{i} is not %{d} (%{p})", (size_t)-1);
	dns_static_set_status(r, "down.example.com", DNS_TEMPFAIL);
	struct spf_outcome out;
	if (spf_check_host(r, &req, &out) == 0)
		spf_outcome_free(&out);
	dns_resolver_free(r);
	return 0;
}
