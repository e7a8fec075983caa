/* Read-only server-server endpoints over the local rooms, all X-Matrix
 * authenticated, part of fed_service's route table (api_federation.h),
 * mounted before the catch-all:
 *
 *   GET  /v1/event/{eventId}                  {origin, origin_server_ts, pdus: [pdu]}
 *   GET  /v1/state/{roomId}?event_id=         {pdus, auth_chain}: the state before the event
 *   GET  /v1/state_ids/{roomId}?event_id=     {pdu_ids, auth_chain_ids}
 *   GET  /v1/event_auth/{roomId}/{eventId}    {auth_chain}
 *   GET  /v1/backfill/{roomId}?v=&limit=      the v events and those before them through
 *                                             prev_events, deepest first, at most 100
 *   POST /v1/get_missing_events/{roomId}      {events}: between earliest and latest, oldest
 *                                             first, at most 100, none below min_depth
 *   GET  /v1/query/directory?room_alias=      {room_id, servers} of a local alias
 *   GET and POST /v1/publicRooms              the published rooms (limit, since, filter)
 *
 * Who may read (the spec's history visibility, for servers): a server sees
 * an event when the history_visibility in force before it is
 * world_readable, one of its users is joined at that point, or invited
 * there under invited or shared, or the setting is shared and the server
 * is in the room now; its users' own membership events it always sees.
 * /event, /state, /state_ids and /event_auth answer 403 M_FORBIDDEN for an
 * event the server may not see (/event gives it pruned when the server is
 * in the room); /backfill and /get_missing_events need the server in the
 * room or the room world-readable now (else 403) and prune what it may not
 * see.  Unknown rooms and events are 404 M_NOT_FOUND, bad parameters 400.
 * Only timeline events have a state; rejected events are never walked.
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
