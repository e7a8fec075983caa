/* State resolution version 2 (room versions 2-11) and its room version 12
 * variant, as a pure module over caller-supplied events.
 *
 * A state map is a JSON object {type: {state_key: event_id}}.  The caller
 * passes the state maps to resolve (the states after each prev event) and a
 * way to fetch events by ID; the result is a new state map.
 *
 * Contract: no I/O beyond the get_event callback, no global state.  Events
 * returned by get_event are borrowed and must stay valid for the call.  An
 * event that get_event cannot supply is treated as absent: it is skipped in
 * the conflicted set and ends an auth chain walk.  Auth chains are bounded
 * (STATE_RES_MAX_EVENTS) so hostile DAGs fail with an error instead of
 * exhausting memory.  Returns NULL with a one-line reason in err on bad
 * input, a version without state resolution v2 (v1), or out of memory.
 */
#ifndef SCOP_STATE_RES_H
#define SCOP_STATE_RES_H

#include <stddef.h>
#include <jansson.h>

#include "homeserver/events/room_version.h"

#define STATE_RES_MAX_EVENTS 200000

struct state_res_ctx {
	const struct room_version *rv;
	/* The event with this ID (borrowed), or NULL when unknown. */
	const json_t *(*get_event)(void *arg, const char *event_id);
	/* Optional: 1 when the event was rejected; rejected auth events are not
	 * used to fill gaps in the state during iterative auth checks. */
	int (*is_rejected)(void *arg, const char *event_id);
	/* Optional, passed to auth_check() (see auth_rules.h). */
	int (*signed_by)(void *arg, const json_t *ev, const char *server);
	void *arg;
};

json_t *state_res_resolve(const struct state_res_ctx *ctx, const json_t *const *state_sets, size_t n,
			  char *err, size_t errlen);

/* Helpers for state maps: get an event ID, or set one (0 / -1). */
const char *state_map_get(const json_t *map, const char *type, const char *state_key);
int state_map_set(json_t *map, const char *type, const char *state_key, const char *event_id);

#endif
