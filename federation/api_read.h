/* Read-only server-server endpoints over the local rooms: /event, /state,
 * /state_ids, /event_auth, /backfill, /get_missing_events, the directory
 * query and the public room list.  Every one is X-Matrix authenticated and
 * answers only servers with a member in the room (or a world-readable
 * history) as the spec asks.  They are part of fed_service's route table
 * (api_federation.h), mounted before the catch-all.
 */
#ifndef SCOP_FED_API_READ_H
#define SCOP_FED_API_READ_H

#include <stddef.h>

#include "federation/api_federation.h"

struct fed_read_route {
	const char *method;
	const char *path;
	fed_handler_fn fn;
	unsigned flags;      /* API_JSON etc. */
};

extern const struct fed_read_route api_read_routes[];
extern const size_t api_read_nroutes;

#endif
