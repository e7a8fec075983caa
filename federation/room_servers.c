/* See room_servers.h. */
#include <string.h>

#include "federation/room_servers.h"
#include "homeserver/events/event.h"
#include "homeserver/rooms.h"

json_t *fed_room_servers(struct rooms *rooms, const char *room_id, const char *first_server,
			 const char *self)
{
	json_t *state = rooms_state_all(rooms, room_id), *out, *seen, *ev;
	size_t i;

	if (!state)
		return NULL;
	out = json_array();
	seen = json_object();
	if (!out || !seen)
		goto fail;
	if (self)
		json_object_set_new(seen, self, json_true());
	if (first_server && !json_object_get(seen, first_server)) {
		json_object_set_new(seen, first_server, json_true());
		json_array_append_new(out, json_string(first_server));
	}
	json_array_foreach(state, i, ev) {
		const char *t = event_type(ev), *sk = event_state_key(ev), *m = event_membership(ev), *d;
		if (!t || !sk || !m || strcmp(t, "m.room.member") != 0 || strcmp(m, "join") != 0 ||
		    !(d = matrix_id_domain(sk)) || json_object_get(seen, d))
			continue;
		json_object_set_new(seen, d, json_true());
		json_array_append_new(out, json_string(d));
	}
	json_decref(seen);
	json_decref(state);
	return out;
fail:
	json_decref(out);
	json_decref(seen);
	json_decref(state);
	return NULL;
}
