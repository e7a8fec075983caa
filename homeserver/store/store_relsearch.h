/* Relations, threads and full-text search over the events table
 * (migration 012): read-only queries that answer event IDs with stream
 * positions; the caller loads and filters the events themselves.
 *
 * Contract (as store.h): returns enum store_rc, never aborts.  A struct
 * relsearch is one database connection, used by one thread at a time:
 * open one per request (the API handlers do).  Output arrays are malloc'd
 * and freed with relsearch_hits_free(); inputs are borrowed.
 */
#ifndef SCOP_STORE_RELSEARCH_H
#define SCOP_STORE_RELSEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "homeserver/store/store.h"

struct relsearch;

/* backend "sqlite" or "postgres". */
enum store_rc relsearch_open(const char *backend, const char *conninfo,
			     struct relsearch **out, char *err, size_t errlen);
void relsearch_close(struct relsearch *rs);

struct relsearch_hit {
	char *event_id;
	char *room_id;
	int64_t pos;      /* stream position (threads: of the latest reply) */
	double rank;      /* search only */
	int64_t count;    /* threads only: replies */
	int participated; /* threads only: the user sent the root or a reply */
};
void relsearch_hits_free(struct relsearch_hit *h, size_t n);

/* Events of room_id relating to parent_id (optionally with rel_type and
 * event type), by stream position: dir 'b' below before (< 0: no bound),
 * newest first; dir 'f' above after, oldest first.  At most limit. */
enum store_rc relsearch_relations(struct relsearch *rs, const char *room_id,
				  const char *parent_id, const char *rel_type,
				  const char *ev_type, char dir, int64_t from, int limit,
				  struct relsearch_hit **out, size_t *n);

/* Thread roots of room_id, by their latest reply, newest first, whose
 * latest reply is below before (< 0: no bound); user (for participated
 * and, with only_participated, to keep only those) may not be NULL. */
enum store_rc relsearch_threads(struct relsearch *rs, const char *room_id, const char *user,
				int only_participated, int64_t before, int limit,
				struct relsearch_hit **out, size_t *n);

/* Turns free text into an FTS5 query: each word (letters, digits, '_',
 * bytes >= 0x80) quoted, joined by spaces (all must match).  Returns a
 * malloc'd string, "" when there is no word, NULL when out of memory. */
char *relsearch_fts_query(const char *term);

/* Messages, names and topics matching term in rooms where user is joined
 * (and, when rooms_json is a JSON array of room IDs, only those; when
 * types_json is a JSON array of event types, only those), not redacted.  recent: newest first, else by rank.  Skips offset hits,
 * returns at most limit, and *count is the total number of matches. */
enum store_rc relsearch_search(struct relsearch *rs, const char *user, const char *term,
			       const char *rooms_json, const char *types_json, int recent, int64_t offset, int limit,
			       struct relsearch_hit **out, size_t *n, int64_t *count);

#endif
