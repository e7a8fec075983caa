/* bench_knot: a private Knot DNS server with the test zones
 * (tests/dns/zones) for the DNS benchmarks, started through
 * tests/dns/dnsserver.py, or the server SCOP_DNS_FORWARDER names. */
#ifndef SCOP_BENCH_KNOT_H
#define SCOP_BENCH_KNOT_H

#include <stddef.h>

struct bench_knot {
	char src[1024];  /* the source tree (SCOP_SRCDIR) */
	char dir[64];    /* the server's directory; empty when none was started */
	char fwd[64];    /* "127.0.0.1@PORT" for dns_resolver_options; empty: no server */
};

/* Fills k; k->fwd stays empty when no server could be had (knotd missing). */
void bench_knot_start(struct bench_knot *k, const char *srcdir);
/* Stops a server bench_knot_start started, and removes its directory. */
void bench_knot_stop(struct bench_knot *k);

#endif
