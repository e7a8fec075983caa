/* Relations, threads and full-text search over the events table
 * (migration 012): read-only queries that answer event IDs with stream
 * positions (the caller loads and filters the events themselves), and the
 * batched query behind bundled aggregations, which answers the events.
 *
 * Contract (as store.h): returns enum store_rc, never aborts.  A struct
 * relsearch is a small pool of connections, thread-safe: open one at
 * start-up and share it (scopd keeps it in struct hs).  Output arrays are
 * malloc'd and freed with relsearch_hits_free() or
 * relsearch_children_free(); inputs are borrowed.
 */
#ifndef SCOP_STORE_RELSEARCH_H
#define SCOP_STORE_RELSEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "homeserver/store/store.h"
#include "homeserver/store/store_rooms.h"

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

/* Constraints of a search, each a JSON array as text or NULL (no
 * constraint): the spec's RoomEventFilter with types already narrowed to
 * the searchable types (m.room.message, m.room.name, m.room.topic). */
struct relsearch_filter {
	const char *rooms;
	const char *not_rooms;
	const char *senders;
	const char *not_senders;
	const char *types;
};

/* Messages, names and topics matching term in rooms where user is joined
 * (and within filter, which may be NULL), not redacted.  recent: newest
 * first, else by rank.  Skips offset hits, returns at most limit, and
 * *count is the total number of matches. */
enum store_rc relsearch_search(struct relsearch *rs, const char *user, const char *term,
			       const struct relsearch_filter *filter, int recent, int64_t offset,
			       int limit, struct relsearch_hit **out, size_t *n, int64_t *count);

/* The bundled aggregations of many events at once: the children that
 * bundle, neither rejected nor redacted, of every event in parents_json (a
 * JSON array of event IDs), ordered by parent then rel_type.  Per parent,
 * at most one m.thread row (the latest reply, with count and whether user
 * sent the root or a reply), at most one m.replace row (the newest valid
 * replacement), and every m.reference (oldest first; their ev has only
 * event_id, room_id and stream_pos).  Free with relsearch_children_free(). */
struct relsearch_child {
	char *parent;
	char *rel_type;        /* m.thread, m.replace or m.reference */
	int64_t count;         /* children of this parent and rel_type */
	int participated;      /* m.thread */
	struct room_event ev;  /* the child (redacted_by is always NULL) */
};
enum store_rc relsearch_bundle(struct relsearch *rs, const char *parents_json, const char *user,
			       struct relsearch_child **out, size_t *n);
void relsearch_children_free(struct relsearch_child *ch, size_t n);

#endif
