/* DANE policy for the relay; see relay_dane.h. */
#include "bridge-smtp/relay_dane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dns.h"

static void set_why(struct relay_dane *d, enum relay_dane_mode m, const char *why)
{
	d->mode = m;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

/* RFC 7672 3.1.3: only DANE-TA(2) and DANE-EE(3) apply to SMTP; and the
 * selector and matching type must be ones OpenSSL knows (RFC 6698). */
static bool usable(const struct dns_record *r)
{
	if (r->tlsa_usage != 2 && r->tlsa_usage != 3)
		return false;
	if (r->tlsa_selector > 1 || r->tlsa_mtype > 2 || r->len == 0)
		return false;
	/* A digest of the wrong length can never match (OpenSSL refuses it). */
	if ((r->tlsa_mtype == 1 && r->len != 32) || (r->tlsa_mtype == 2 && r->len != 64))
		return false;
	return true;
}

int relay_dane_decide(const struct dns_result *tlsa, bool mx_secure, bool addrs_secure, struct relay_dane *d)
{
	memset(d, 0, sizeof(*d));
	if (!mx_secure) {
		set_why(d, RELAY_DANE_NONE, "MX records not DNSSEC-signed");
		return 0;
	}
	if (!addrs_secure) {
		set_why(d, RELAY_DANE_NONE, "address records not DNSSEC-signed");
		return 0;
	}
	if (tlsa == NULL) {
		set_why(d, RELAY_DANE_NONE, "no TLSA lookup");
		return 0;
	}
	if (tlsa->security == DNS_SEC_BOGUS) {
		set_why(d, RELAY_DANE_DEFER, "DNSSEC validation of the TLSA records failed");
		return 0;
	}
	switch (tlsa->status) {
	case DNS_OK:
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		/* An insecure denial may be forged, but then so could the
		 * signed zone's delegation be: nothing to enforce. */
		set_why(d, RELAY_DANE_NONE, "no TLSA records");
		return 0;
	case DNS_TEMPFAIL:
	case DNS_PERMFAIL:
	default:
		set_why(d, RELAY_DANE_DEFER, "TLSA lookup failed");
		return 0;
	}
	if (tlsa->security != DNS_SEC_SECURE) {
		set_why(d, RELAY_DANE_NONE, "TLSA records not DNSSEC-signed");
		return 0;
	}
	size_t n = 0;
	for (size_t i = 0; i < tlsa->count; i++)
		n += usable(&tlsa->records[i]);
	if (n == 0) {
		set_why(d, RELAY_DANE_ENCRYPT, "only unusable TLSA records: TLS required, not authenticated");
		return 0;
	}
	if (!(d->tlsa = calloc(n, sizeof(*d->tlsa))))
		return -1;
	for (size_t i = 0; i < tlsa->count; i++) {
		const struct dns_record *r = &tlsa->records[i];
		if (!usable(r))
			continue;
		struct smtp_tlsa *t = &d->tlsa[d->n_tlsa];
		unsigned char *data = malloc(r->len);
		if (!data) {
			relay_dane_free(d);
			return -1;
		}
		memcpy(data, r->text, r->len);
		t->usage = r->tlsa_usage;
		t->selector = r->tlsa_selector;
		t->mtype = r->tlsa_mtype;
		t->data = data;
		t->len = r->len;
		d->n_tlsa++;
	}
	snprintf(d->why, sizeof(d->why), "%zu usable TLSA record(s)", d->n_tlsa);
	d->mode = RELAY_DANE_VERIFY;
	return 0;
}

int relay_dane_lookup(struct dns_resolver *dns, const char *host, int port, bool mx_secure, bool addrs_secure,
		      unsigned timeout_ms, struct relay_dane *d)
{
	if (!mx_secure || !addrs_secure)
		return relay_dane_decide(NULL, mx_secure, addrs_secure, d);
	char name[300];
	int n = snprintf(name, sizeof(name), "_%d._tcp.%s", port, host);
	struct dns_result res;
	if (n < 0 || (size_t)n >= sizeof(name)) {
		memset(&res, 0, sizeof(res));
		res.status = DNS_PERMFAIL;
	} else if (dns_lookup_within(dns, name, DNS_TLSA, timeout_ms, &res) < 0) {
		memset(d, 0, sizeof(*d));
		return -1;
	}
	int rc = relay_dane_decide(&res, mx_secure, addrs_secure, d);
	dns_result_free(&res);
	return rc;
}

void relay_dane_free(struct relay_dane *d)
{
	for (size_t i = 0; i < d->n_tlsa; i++)
		free((void *)d->tlsa[i].data);
	free(d->tlsa);
	memset(d, 0, sizeof(*d));
}

const char *relay_dane_mode_name(enum relay_dane_mode m)
{
	switch (m) {
	case RELAY_DANE_NONE: return "none";
	case RELAY_DANE_VERIFY: return "verify";
	case RELAY_DANE_ENCRYPT: return "encrypt";
	case RELAY_DANE_DEFER: return "defer";
	}
	return "?";
}
