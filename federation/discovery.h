/* Server discovery (server-server API, "Resolving server names"): from a
 * server name to the host and port to connect to, the Host header to send
 * and the name the TLS certificate must carry.
 *
 * The algorithm is pure; the two network steps are the caller's callbacks,
 * so the same code runs against real DNS/HTTPS and in table tests:
 *   1. IP literal            -> that address, port or 8448
 *   2. hostname with a port  -> that host and port
 *   3. /.well-known/matrix/server on the hostname: delegated name D, then
 *      3.1 IP literal or explicit port in D, 3.2 SRV _matrix-fed._tcp.D,
 *      3.3 SRV _matrix._tcp.D (deprecated), 3.4 D:8448
 *   4. SRV _matrix-fed._tcp.<host>, 5. SRV _matrix._tcp.<host> (deprecated)
 *   6. <host>:8448
 */
#ifndef SCOP_DISCOVERY_H
#define SCOP_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#define FED_DEFAULT_PORT 8448
/* Larger well-known bodies are treated as invalid (Synapse uses 50 KiB). */
#define FED_WELL_KNOWN_MAX 51200

struct fed_srv {
	char target[256]; /* no trailing dot */
	uint16_t port;
	uint16_t priority;
	uint16_t weight;
};

struct fed_discovery_ops {
	/* Fetch https://<hostname>/.well-known/matrix/server (following at most
	 * a few redirects).  Return 0 with a malloc()ed body the algorithm
	 * frees, or -1 for any failure or non-200 status. */
	int (*fetch_well_known)(void *ctx, const char *hostname, char **body, size_t *len);
	/* SRV lookup of name: fill up to max records, return how many (0 for
	 * none or NXDOMAIN), or -1 on a temporary failure. */
	int (*lookup_srv)(void *ctx, const char *name, struct fed_srv *out, size_t max);
};

struct fed_target {
	char host[256];         /* host name to resolve, or an address without brackets */
	uint16_t port;
	char host_header[262];  /* value of the Host header */
	char tls_name[256];     /* name the certificate must be valid for */
	int via_well_known;
	int via_srv;
};

/* Resolves server_name.  0 on success; -1 when server_name is invalid or
 * an SRV lookup failed temporarily, with a reason in err. */
int fed_discover(const char *server_name, const struct fed_discovery_ops *ops, void *ctx,
		 struct fed_target *out, char *err, size_t errlen);

/* Reads the delegated server name out of a well-known body into out[cap].
 * 0 on success; -1 when the body is not a JSON object with a valid
 * "m.server" server name (the caller then goes on as if there were none). */
int fed_well_known_parse(const char *body, size_t len, char *out, size_t cap);

#endif
