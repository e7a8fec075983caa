/* An answer cache in front of a DNS resolver.
 *
 * Why: a lookup that libunbound answers from its own cache still makes
 * the asynchronous round trip (the query handed to its thread, the answer
 * read back through ub_process()): ~30-40 us, where a copy from here is
 * about one.  SPF evaluates 2-10 lookups per message, DKIM and DMARC one
 * or two each, so a busy MX asks the same few names again and again.
 *
 * What is kept: answers with status OK, NODATA or NXDOMAIN whose TTL is
 * above zero, and that are not DNSSEC-bogus, for their TTL (capped at
 * max_ttl).  Timeouts, server failures and unparsable answers are never
 * kept: the next lookup asks again.  The security status is kept with the
 * answer, so a validated answer stays validated and an insecure one stays
 * insecure.
 *
 * Memory: at most max_entries answers; the least recently used goes first.
 * dns_cache_get() fills a struct dns_result the caller owns (free with
 * dns_result_free()); dns_cache_put() copies what it keeps.
 *
 * Threads: any number may get and put at once (one mutex; the work under
 * it is a hash probe and a copy).
 *
 * Names must already be normalized (dns_name_normalize()); time is the
 * caller's, in seconds of a monotonic clock, so tests can move it.
 */
#ifndef SCOP_DNS_CACHE_H
#define SCOP_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/dns.h"

struct dns_cache;

/* NULL when out of memory; max_entries 0 means 10000, max_ttl 0 one day. */
struct dns_cache *dns_cache_new(size_t max_entries, uint32_t max_ttl);
void dns_cache_free(struct dns_cache *c);

/* 1 with a copy of the live answer in res (its ttl what is left of it),
 * 0 when there is none (res zeroed), -1 when out of memory. */
int dns_cache_get(struct dns_cache *c, const char *name, enum dns_type type, long now_s, struct dns_result *res);
/* Keeps a copy of res if it is worth keeping (see above); out of memory
 * only means it is not kept. */
void dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type, long now_s,
		   const struct dns_result *res);
/* How many answers are kept now. */
size_t dns_cache_count(struct dns_cache *c);

#endif
