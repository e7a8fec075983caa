/* A homeserver room store for unit tests: a SQLite database in a fresh
 * temporary directory with the event store and the room store open on it,
 * a fresh signing key and a rooms context for one server name.  The tests
 * that need more (relsearch, push counts) open it on fx->path themselves
 * and close it before room_fixture_close.
 */
#ifndef SCOP_ROOM_FIXTURE_H
#define SCOP_ROOM_FIXTURE_H

#include "common/crypto.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store.h"
#include "homeserver/store/store_rooms.h"

struct room_fixture {
	char dir[64];
	char path[128];            /* the database file in dir */
	struct store *st;
	struct room_store *rs;
	struct rooms *rooms;
	struct scop_ed25519 key;
};

/* Opens all of it in /tmp/scop-<tag>-XXXXXX for server_name.  0, or -1
 * with whatever was made closed and removed again.  tag names the test:
 * short, no slashes. */
int room_fixture_open(struct room_fixture *fx, const char *tag, const char *server_name);

/* Closes what room_fixture_open opened and removes the database files and
 * the directory.  Safe on a zeroed fixture and twice. */
void room_fixture_close(struct room_fixture *fx);

/* Creates a public room of creator (joined) with power levels
 * state_default 50 and events_default 0; its ID goes in room_id[len].
 * 0 or -1. */
int room_fixture_public_room(struct room_fixture *fx, const char *creator, char *room_id, size_t len);

#endif
