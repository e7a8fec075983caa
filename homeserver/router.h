/* Routing table: HTTP method + path template -> handler.
 *
 * A template is a path whose segments are literals or "{name}"
 * placeholders, e.g. "/_matrix/client/v3/devices/{deviceId}".  A
 * placeholder matches one non-empty segment; the matched text is
 * percent-decoded (so "%2F" inside a room id stays inside its parameter).
 * Paths are matched segment by segment, before decoding.
 *
 * Contract: the router copies templates; handlers and their flags are
 * opaque to it.  router_match() fills a struct route_match whose params
 * the caller releases with route_match_free().  Not thread-safe while
 * routes are added; matching is read-only and safe from many threads.
 */
#ifndef SCOP_HS_ROUTER_H
#define SCOP_HS_ROUTER_H

#include <stddef.h>

#define ROUTE_MAX_PARAMS 8
#define ROUTE_MAX_SEGMENTS 24

struct router;

struct route_match {
	void *handler;
	unsigned flags;
	size_t nparams;
	const char *names[ROUTE_MAX_PARAMS];
	char *params[ROUTE_MAX_PARAMS]; /* decoded, owned by the match */
};

enum route_result {
	ROUTE_FOUND = 0,
	ROUTE_NOT_FOUND = 1,      /* no template matches the path */
	ROUTE_BAD_METHOD = 2,     /* a template matches, but not with this method */
	ROUTE_ERROR = -1,         /* out of memory, or a parameter that decodes badly */
};

struct router *router_new(void);
void router_free(struct router *r);
/* Returns 0, or -1 for a malformed template or out of memory. */
int router_add(struct router *r, const char *method, const char *tmpl,
	       void *handler, unsigned flags);
enum route_result router_match(const struct router *r, const char *method,
			       const char *path, struct route_match *m);
void route_match_free(struct route_match *m);

/* Percent-decodes src[0..n) into a new string; NULL for a bad escape, an
 * encoded NUL or no memory.  plus_is_space is for query strings. */
char *percent_decode(const char *src, size_t n, int plus_is_space);

#endif
