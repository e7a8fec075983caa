/* Starting and stopping the rooms part of scopd.  See hs.h. */
#include <stdio.h>
#include <string.h>

#include "common/crypto.h"
#include "homeserver/api_rooms.h"
#include "homeserver/hs.h"
#include "homeserver/push_counts.h"
#include "homeserver/rooms.h"
#include "homeserver/sync.h"

int hs_rooms_start(struct hs *hs, const char *backend, const char *conninfo,
		   char *err, size_t errlen)
{
	struct room_store *rs = NULL;
	struct scop_ed25519 key;

	if (scop_ed25519_load(hs->cfg->signing_key_path, &key) < 0) {
		snprintf(err, errlen, "%s: cannot load the signing key", hs->cfg->signing_key_path);
		return -1;
	}
	if (room_store_open(backend, conninfo, &rs, err, errlen) != STORE_OK) {
		scop_ed25519_clear(&key);
		return -1;
	}
	hs->rooms = rooms_new(rs, hs->cfg->server_name, &key);
	scop_ed25519_clear(&key);
	if (!hs->rooms) {
		room_store_close(rs);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!(hs->push = push_counts_new(hs->rooms)) || !(hs->sync = sync_hub_new(hs)) ||
	    api_add_routes(hs->router, api_rooms_routes, api_rooms_nroutes) < 0 ||
	    api_add_routes(hs->router, api_sync_routes, api_sync_nroutes) < 0 ||
	    api_add_routes(hs->router, api_profile_routes, api_profile_nroutes) < 0 ||
	    api_add_routes(hs->router, api_extras_routes, api_extras_nroutes) < 0) {
		hs_rooms_free(hs);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rooms_set_presence_enabled(hs->rooms, hs->cfg->presence_enabled);
	rooms_set_listener(hs->rooms, sync_hub_listener, hs->sync);
	rooms_set_xlistener(hs->rooms, sync_hub_xlistener, hs->sync);
	return 0;
}

void hs_rooms_stop(struct hs *hs)
{
	sync_hub_stop(hs->sync);
}

void hs_rooms_free(struct hs *hs)
{
	struct room_store *rs = hs->rooms ? rooms_store(hs->rooms) : NULL;
	sync_hub_free(hs->sync);
	hs->sync = NULL;
	push_counts_free(hs->push);
	hs->push = NULL;
	rooms_free(hs->rooms);
	hs->rooms = NULL;
	room_store_close(rs);
}
