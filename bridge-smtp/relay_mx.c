/* MX routing for the relay; see relay_mx.h. */
#include "bridge-smtp/relay_mx.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/dns.h"

static void fail(struct relay_route *r, enum relay_route_status st, const char *enh, const char *why)
{
	r->status = st;
	snprintf(r->enh, sizeof(r->enh), "%s", enh);
	snprintf(r->why, sizeof(r->why), "%s", why);
}

int relay_route_resolve(struct dns_resolver *dns, const char *domain, unsigned timeout_ms, struct relay_route *route)
{
	memset(route, 0, sizeof(*route));
	struct dns_result res;
	if (dns_lookup_within(dns, domain, DNS_MX, timeout_ms, &res) < 0)
		return -1;
	int rc = 0;
	if (res.security == DNS_SEC_BOGUS) {
		fail(route, RELAY_ROUTE_TEMP, "4.4.3", "DNSSEC validation of the MX records failed");
		goto out;
	}
	route->secure = res.security == DNS_SEC_SECURE;
	switch (res.status) {
	case DNS_OK:
		break;
	case DNS_NODATA:
		/* Implicit MX (RFC 5321 5.1): the domain is its own host. */
		if (!(route->hosts = calloc(1, sizeof(*route->hosts)))) {
			rc = -1;
			goto out;
		}
		snprintf(route->hosts[0].name, sizeof(route->hosts[0].name), "%s", domain);
		route->n_hosts = 1;
		route->implicit = 1;
		goto out;
	case DNS_NXDOMAIN:
		fail(route, RELAY_ROUTE_PERM, "5.1.2", "the recipient's domain does not exist");
		goto out;
	case DNS_PERMFAIL:
		fail(route, RELAY_ROUTE_PERM, "5.1.2", "the recipient's domain name is not valid");
		goto out;
	case DNS_TEMPFAIL:
	default:
		fail(route, RELAY_ROUTE_TEMP, "4.4.3", "DNS lookup of the MX records failed for now");
		goto out;
	}
	/* A null MX says the domain takes no mail (RFC 7505). */
	for (size_t i = 0; i < res.count; i++) {
		if (strcmp(res.records[i].text, ".") == 0) {
			fail(route, RELAY_ROUTE_PERM, "5.1.10", "the recipient's domain accepts no mail (null MX)");
			goto out;
		}
	}
	if (!(route->hosts = calloc(res.count, sizeof(*route->hosts)))) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < res.count; i++) {
		/* dns.h sorts by preference, keeping the server's order among
		 * equals. */
		struct relay_mx_host *h = &route->hosts[route->n_hosts];
		if (strlen(res.records[i].text) >= sizeof(h->name))
			continue;
		snprintf(h->name, sizeof(h->name), "%s", res.records[i].text);
		h->pref = res.records[i].pref;
		route->n_hosts++;
	}
	/* RFC 5321 5.1: hosts of equal preference in random order, so the
	 * load spreads. */
	for (size_t i = 0; i < route->n_hosts;) {
		size_t j = i;
		while (j < route->n_hosts && route->hosts[j].pref == route->hosts[i].pref)
			j++;
		for (size_t k = j - 1; k > i; k--) {
			uint32_t rnd = 0;
			if (scop_random_bytes(&rnd, sizeof(rnd)) < 0)
				break;
			size_t pick = i + rnd % (k - i + 1);
			struct relay_mx_host tmp = route->hosts[k];
			route->hosts[k] = route->hosts[pick];
			route->hosts[pick] = tmp;
		}
		i = j;
	}
	if (!route->n_hosts)
		fail(route, RELAY_ROUTE_PERM, "5.4.4", "no usable MX host");
out:
	dns_result_free(&res);
	return rc;
}

void relay_route_free(struct relay_route *route)
{
	free(route->hosts);
	memset(route, 0, sizeof(*route));
}

size_t relay_host_addrs(struct dns_resolver *dns, const char *host, int port, unsigned timeout_ms,
			struct sockaddr_storage *out, socklen_t *lens, size_t max, int *tempfail, int *secure)
{
	static const enum dns_type types[] = { DNS_A, DNS_AAAA };
	size_t n = 0;
	/* Secure when every answer that came is: a lookup that failed must
	 * not switch DANE off (an attacker could drop the AAAA query), and
	 * the other one still has to prove itself. */
	int answered = 0, insecure = 0;
	for (size_t t = 0; t < 2; t++) {
		struct dns_result res;
		if (dns_lookup_within(dns, host, types[t], timeout_ms, &res) < 0) {
			*tempfail = 1;
			continue;
		}
		if (res.status != DNS_TEMPFAIL && res.security != DNS_SEC_BOGUS) {
			answered = 1;
			insecure |= res.security != DNS_SEC_SECURE;
		}
		if (res.status == DNS_TEMPFAIL || res.security == DNS_SEC_BOGUS)
			*tempfail = 1;
		for (size_t i = 0; res.status == DNS_OK && i < res.count && n < max; i++) {
			memset(&out[n], 0, sizeof(out[n]));
			if (types[t] == DNS_A) {
				struct sockaddr_in *s = (struct sockaddr_in *)&out[n];
				s->sin_family = AF_INET;
				s->sin_port = htons((uint16_t)port);
				memcpy(&s->sin_addr, res.records[i].addr, 4);
				lens[n] = sizeof(*s);
			} else {
				struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out[n];
				s->sin6_family = AF_INET6;
				s->sin6_port = htons((uint16_t)port);
				memcpy(&s->sin6_addr, res.records[i].addr, 16);
				lens[n] = sizeof(*s);
			}
			n++;
		}
		dns_result_free(&res);
	}
	if (secure)
		*secure = answered && !insecure;
	return n;
}
