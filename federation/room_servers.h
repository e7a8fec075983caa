/* The servers taking part in a room: those with a member whose current
 * membership is join, read from the room's current state (the rooms
 * cache), which is what the spec means by "the servers in the room".
 *
 * Contract: a new JSON array of server names, first_server first when it
 * is given (whether or not it has a member), each once; self (may be
 * NULL) left out.  NULL for an unknown room or out of memory.
 */
#ifndef SCOP_FED_ROOM_SERVERS_H
#define SCOP_FED_ROOM_SERVERS_H

#include <jansson.h>

struct rooms;

json_t *fed_room_servers(struct rooms *rooms, const char *room_id, const char *first_server,
			 const char *self);

#endif
