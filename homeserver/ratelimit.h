/* Token-bucket rate limiter keyed by strings (a client IP, a user id).
 *
 * Each key has a bucket of burst_count tokens refilled at per_second; an
 * action takes one.  When the bucket is empty the action is refused and
 * the caller learns how long until a token is back.
 *
 * Contract: a struct ratelimit is internally locked, so any thread may use
 * it.  Memory is bounded: at most max_keys buckets; full buckets are
 * forgotten first (they carry no information), and when every bucket is
 * in use the oldest is dropped.  Time is passed in (milliseconds, any
 * monotonic origin) so tests control it.
 */
#ifndef SCOP_HS_RATELIMIT_H
#define SCOP_HS_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* NULL when memory runs out.  per_second 0 means no refill (burst only). */
struct ratelimit *ratelimit_new(double per_second, double burst_count, size_t max_keys);
void ratelimit_free(struct ratelimit *rl);

/* Checks whether key may act now; when take is set and it may, a token is
 * taken.  Returns 0 when allowed, or the milliseconds to wait (>= 1). */
int64_t ratelimit_check(struct ratelimit *rl, const char *key, int64_t now_ms, int take);
/* Takes a token even when that leaves the bucket empty (used to count a
 * failure after the fact). */
void ratelimit_charge(struct ratelimit *rl, const char *key, int64_t now_ms);

#endif
