/* The network side of server discovery: the real callbacks for
 * discovery.h (well-known over HTTPS with a cache, SRV over common/dns.h),
 * plus what every outbound federation request needs to reach a server:
 * the URL, the address override and whether to check its certificate.
 *
 * A struct fed_resolver is safe to share between threads: the well-known
 * cache has a lock and the DNS resolver is thread-safe, so SRV lookups of
 * several threads run at the same time.  Options are copied, except dns.
 *
 * SRV answers: a temporary DNS failure (timeout, SERVFAIL, REFUSED, a
 * DNSSEC-bogus answer) is the -1 of discovery.h's lookup_srv; NXDOMAIN
 * and NODATA are 0 records; records whose target is not a host name are
 * skipped.
 */
#ifndef SCOP_FED_RESOLVER_H
#define SCOP_FED_RESOLVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/dns.h"
#include "common/httpc.h"
#include "federation/discovery.h"

struct fed_resolver_options {
	/* DNS server for SRV lookups as "ADDR@PORT" (e.g. a test server on
	 * loopback), or NULL to use /etc/resolv.conf. */
	const char *dns_forwarder;
	unsigned dns_timeout_ms;       /* per SRV lookup; 5000 when 0 */
	/* A resolver to use instead of creating one from dns_forwarder (to
	 * share its cache with other parts of the process, or a table
	 * resolver in tests): borrowed, it must outlive the fed_resolver;
	 * dns_timeout_ms still bounds each lookup.  NULL to create one. */
	struct dns_resolver *dns;
	long http_timeout_ms;          /* for well-known fetches; 10000 when 0 */
	const char *ca_file;           /* trust anchors instead of the system's, or NULL */
	/* Server names (as in the destination, e.g. "127.0.0.1:8448") whose
	 * certificates are not checked: for test setups on loopback only.
	 * NULL-terminated, or NULL. */
	const char *const *no_verify;
	/* Address overrides in curl's CONNECT_TO form
	 * "HOST:PORT:ADDR:APORT": a connection to HOST:PORT goes to
	 * ADDR:APORT while TLS still checks HOST.  For tests, which have no
	 * real DNS for their names.  NULL-terminated, or NULL. */
	const char *const *overrides;
};

struct fed_resolver;

struct fed_resolver *fed_resolver_new(const struct fed_resolver_options *opt, char *err, size_t errlen);
void fed_resolver_free(struct fed_resolver *r);

/* The ops/ctx pair for fed_discover(). */
const struct fed_discovery_ops *fed_resolver_ops(void);

/* fed_discover() with this resolver. */
int fed_resolver_resolve(struct fed_resolver *r, const char *server_name, struct fed_target *out,
			 char *err, size_t errlen);

/* The same within timeout_ms overall (the well-known fetch and SRV
 * lookups get what is left, at most their configured timeouts); a
 * well-known fetch cut short is not cached. */
int fed_resolver_resolve_within(struct fed_resolver *r, const char *server_name, long timeout_ms,
				struct fed_target *out, char *err, size_t errlen);

/* Everything needed to send one request to a resolved target. */
struct fed_route {
	char url[1024];
	char connect_to[1024];   /* "tls_name:port:addr:port" (after overrides) */
	const char *connect_list[2]; /* set by fed_route_apply() */   /* "tls_name:port:host:port" (after overrides) */
	char host_header[300];  /* "Host: ..." */
	int no_verify;
	const char *ca_file;    /* points into the resolver */
};

/* Fills route for path (which starts with '/') on target reached for
 * server_name.  0, or -1 when the URL does not fit. */
int fed_resolver_route(struct fed_resolver *r, const char *server_name, const struct fed_target *t,
		       const char *path, struct fed_route *route);

/* Applies route to req (url, connect_to, TLS options); req points into
 * route, which must outlive it.  Headers stay the caller's, who should
 * include route->host_header. */
void fed_route_apply(struct fed_route *route, struct httpc_request *req);

/* 1 when server_name is on the no-verify list. */
int fed_resolver_no_verify(const struct fed_resolver *r, const char *server_name);

/* How long to cache a well-known answer, from its Cache-Control and
 * Expires headers (either may be NULL): max-age or Expires within
 * [5 min, 48 h]; no-store/no-cache -> 0; otherwise 24 h.  Errors (ok == 0)
 * are cached 1 h.  Pure; the headers are untrusted input. */
long fed_well_known_ttl(int ok, const char *cache_control, const char *expires, time_t now);

/* Parses SRV RDATA (RFC 2782 wire form, uncompressed target).  0, or -1
 * when it is malformed.  The root target "." gives an empty target. */
int fed_srv_parse_rdata(const unsigned char *data, size_t len, struct fed_srv *out);

#endif
