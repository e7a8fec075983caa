/* Fuzzes mail authentication of an arriving message (table DNS, no
 * network): the first line is MAIL FROM, the rest the message.  The
 * forged-field cuts must lie inside the header block in order, our field
 * must parse back as Authentication-Results, and a refusal must carry a
 * 4xx/5xx reply. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge-smtp/authres.h"
#include "common/dns.h"
#include "bridge-smtp/mailhdr.h"
#include "bridge-smtp/mx_auth.h"
#include "bridge-smtp/pubsuffix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mx_auth *context(void)
{
	static struct mx_auth *a; /* made once: the harness's one context */
	static const char psl[] = "com\nnet\norg\nco.uk\n";
	if (a)
		return a;
	struct dns_resolver *dns = dns_static_new();
	dns_static_add(dns, "example.com", DNS_TXT, "v=spf1 ip4:192.0.2.0/24 include:x.example.com -all", (size_t)-1);
	dns_static_add(dns, "x.example.com", DNS_TXT, "v=spf1 a mx ~all", (size_t)-1);
	dns_static_add(dns, "_dmarc.example.com", DNS_TXT, "v=DMARC1; p=reject", (size_t)-1);
	dns_static_add(dns, "_dmarc.example.org", DNS_TXT, "v=DMARC1; p=quarantine; pct=50", (size_t)-1);
	dns_static_set_status(dns, "example.net", DNS_TEMPFAIL);
	struct mx_auth_config cfg = {
		.authserv_id = "mx.fuzz.example",
		.dns = dns,
		.psl = psl_load_buffer(psl, sizeof(psl) - 1, NULL, 0),
	};
	mx_auth_policy_default(&cfg.policy);
	a = mx_auth_new(&cfg);
	if (!a)
		abort();
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl = memchr(p, '\n', size);
	char from[256] = "";
	struct mx_auth_verdict v;
	struct authres ar;

	if (size > 65536)
		return 0;
	if (nl && (size_t)(nl - p) < sizeof(from)) {
		memcpy(from, p, (size_t)(nl - p));
		from[nl - p] = '\0';
		size -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	struct mx_auth_input in = { .client_ip = "192.0.2.7", .helo = "client.example.com", .mail_from = from,
				    .msg = p, .len = size };
	if (mx_auth_check(context(), &in, &v) < 0)
		return 0;
	size_t end = mailhdr_body_off(p, size), pos = 0;
	for (size_t i = 0; i < v.ncuts; i++) {
		if (v.cuts[i].off < pos || v.cuts[i].off + v.cuts[i].len > end || v.cuts[i].len < 23 ||
		    strncasecmp(p + v.cuts[i].off, "authentication-results", 22) != 0)
			abort();
		pos = v.cuts[i].off + v.cuts[i].len;
	}
	static const char name[] = "Authentication-Results:";
	const size_t nl_len = sizeof(name) - 1;
	/* The value: after the name, without the final CRLF. */
	if (v.header.len < nl_len + 2 || memcmp(v.header.data, name, nl_len) != 0 ||
	    authres_parse(v.header.data + nl_len, v.header.len - nl_len - 2, &ar) != 0 ||
	    strcmp(ar.authserv_id, "mx.fuzz.example") != 0)
		abort();
	if (v.action != MX_AUTH_ACCEPT && v.reply[0] != '4' && v.reply[0] != '5')
		abort();
	mx_auth_verdict_free(&v);
	return 0;
}
