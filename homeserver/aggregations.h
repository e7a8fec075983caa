/* Bundled aggregations (client-server spec, "Aggregations of child
 * events"): adds unsigned["m.relations"] to client events about to be
 * returned by /sync, /messages, /context, /event, /relations, /threads
 * and /search.
 *
 *   m.thread     {latest_event, count, current_user_participated}
 *   m.replace    the newest valid replacement, as a client event (the
 *                original's content is left alone: clients apply
 *                m.new_content)
 *   m.reference  {chunk: [{event_id}, ...]}
 *
 * All events of one call get their aggregations from one batched store
 * query (relsearch_bundle), plus one more for the latest thread events,
 * which carry their own edits.  Redacted events get none.  A latest thread
 * event the viewer may not see (history visibility) is left out.
 *
 * Contract: thread-safe (rs and rooms are).  events is modified in place;
 * entries that are not event objects with an event_id are skipped.  They
 * must be client events rendered for viewer (so visible to them): a child
 * that is also among them is bundled as a copy instead of being read,
 * checked and rendered again.  With
 * rs or rooms NULL it does nothing.  Returns 0, or -1 when the store or
 * memory failed, in which case events are returned without (or with only
 * some) aggregations: callers answer anyway, as a missing bundle is not
 * wrong, only less helpful.
 */
#ifndef SCOP_HS_AGGREGATIONS_H
#define SCOP_HS_AGGREGATIONS_H

#include <jansson.h>

struct relsearch;
struct rooms;

/* events: a JSON array of client events. */
int aggr_bundle(struct relsearch *rs, struct rooms *rooms, json_t *events, const char *viewer,
		const char *viewer_device);
/* The same, reusing the caller's history-visibility checker for viewer in
 * room_id (it caches the room's state reads): children in that room are
 * checked with it.  vis stays the caller's; it may be NULL. */
struct room_vis;
int aggr_bundle_room(struct relsearch *rs, struct rooms *rooms, struct room_vis *vis,
		     const char *room_id, json_t *events, const char *viewer,
		     const char *viewer_device);
/* The same for one client event. */
int aggr_bundle_one(struct relsearch *rs, struct rooms *rooms, json_t *event,
		    const char *viewer, const char *viewer_device);
/* The same for an event with the events around it (/context); any may
 * be NULL.  Still one query. */
int aggr_bundle_context(struct relsearch *rs, struct rooms *rooms, json_t *before,
			json_t *event, json_t *after, const char *viewer,
			const char *viewer_device);
/* The same for every timeline (rooms.join and rooms.leave) of a /sync
 * response, in one query. */
int aggr_bundle_sync(struct relsearch *rs, struct rooms *rooms, json_t *sync,
		     const char *viewer, const char *viewer_device);

#endif
