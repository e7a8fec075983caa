/* See room_fixture.h. */
#include "tests/unit/room_fixture.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

int room_fixture_open(struct room_fixture *fx, const char *tag, const char *server_name)
{
	char err[256];

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/scop-%s-XXXXXX", tag);
	if (!mkdtemp(fx->dir)) {
		fx->dir[0] = '\0';
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/t.db", fx->dir);
	if (store_open("sqlite", fx->path, &fx->st, err, sizeof(err)) != STORE_OK ||
	    room_store_open("sqlite", fx->path, &fx->rs, err, sizeof(err)) != STORE_OK ||
	    scop_ed25519_generate(&fx->key, "t1") < 0 || !(fx->rooms = rooms_new(fx->rs, server_name, &fx->key))) {
		room_fixture_close(fx);
		return -1;
	}
	return 0;
}

void room_fixture_close(struct room_fixture *fx)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[200];

	if (fx->rooms)
		rooms_free(fx->rooms);
	if (fx->rs)
		room_store_close(fx->rs);
	if (fx->st)
		store_close(fx->st);
	fx->rooms = NULL;
	fx->rs = NULL;
	fx->st = NULL;
	if (fx->dir[0]) {
		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s%s", fx->path, suffix[i]);
			unlink(p);
		}
		rmdir(fx->dir);
		fx->dir[0] = '\0';
	}
	scop_ed25519_clear(&fx->key);
}

int room_fixture_public_room(struct room_fixture *fx, const char *creator, char *room_id, size_t len)
{
	struct room_result res;
	json_t *init = json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:{},s:i,s:i}},{s:s,s:s,s:{s:s}}]",
				 "type", "m.room.member", "state_key", creator, "content", "membership", "join",
				 "type", "m.room.power_levels", "state_key", "", "content", "users",
				 "state_default", 50, "events_default", 0,
				 "type", "m.room.join_rules", "state_key", "", "content", "join_rule", "public");
	int rc = init && rooms_create(fx->rooms, creator, NULL, NULL, init, &res) == ROOM_OK ? 0 : -1;

	json_decref(init);
	if (rc == 0)
		snprintf(room_id, len, "%s", res.room_id);
	return rc;
}
