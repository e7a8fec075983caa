/* Where mail for a domain goes (RFC 5321 section 5.1): its MX hosts by
 * preference; with no MX records the domain itself (implicit MX); a
 * null MX ("0 .", RFC 7505) or a domain that does not exist fails for
 * good; DNS trouble is temporary.  Then each host's addresses (A, then
 * AAAA).
 *
 * Memory: caller-owned structs, filled here, released with
 * relay_route_free().  No logging.
 */
#ifndef SCOP_RELAY_MX_H
#define SCOP_RELAY_MX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct dns_resolver;

enum relay_route_status {
	RELAY_ROUTE_OK = 0,
	RELAY_ROUTE_TEMP,  /* try again later */
	RELAY_ROUTE_PERM,  /* bounce */
};

struct relay_mx_host {
	char name[256];
	uint16_t pref;
};

struct relay_route {
	enum relay_route_status status;
	char enh[16];       /* for a failure: 4.4.3, 5.1.2, 5.1.10 */
	char why[160];
	struct relay_mx_host *hosts; /* by preference, lowest first */
	size_t n_hosts;
	int implicit;       /* no MX records: the domain is the host */
	int secure;         /* the MX RRset (or its denial) is DNSSEC-secure */
};

/* Returns 0 with route->status set, or -1 when memory runs out. */
int relay_route_resolve(struct dns_resolver *dns, const char *domain, unsigned timeout_ms, struct relay_route *route);
void relay_route_free(struct relay_route *route);

/* A host's addresses with port, A records first: fills up to max entries
 * of out (lengths in lens) and returns how many; *tempfail is set when a
 * lookup failed for now (so no addresses is not final).  *secure (when
 * not NULL) is set to whether the answers were DNSSEC-secure (at least
 * one came, and every one that came; failed lookups do not count). */
size_t relay_host_addrs(struct dns_resolver *dns, const char *host, int port, unsigned timeout_ms,
			struct sockaddr_storage *out, socklen_t *lens, size_t max, int *tempfail, int *secure);

#endif
