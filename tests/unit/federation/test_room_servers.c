/* Unit tests for federation/room_servers.c: the servers of a room from
 * its current state, over a real rooms on SQLite in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "federation/room_servers.h"
#include "homeserver/rooms.h"

#define ALICE "@alice:local.test"

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	struct room_store *rs;
	struct rooms *rooms;
	struct scop_ed25519 key;
	char room_id[EVENT_ID_BUF];
};

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[200];
	static const char *suffix[] = { "", "-wal", "-shm" };
	rooms_free(f->rooms);
	room_store_close(f->rs);
	store_close(f->st);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	scop_ed25519_clear(&f->key);
	free(f);
	return 0;
}

/* Memberships are sent as the local server: only the state matters here. */
static int member(struct fx *f, const char *user, const char *membership)
{
	struct room_result res;
	json_t *content = json_pack("{s:s}", "membership", membership);
	struct room_send s = { f->room_id, user, "m.room.member", user, content, NULL, NULL, NULL };
	enum room_rc rc = rooms_send(f->rooms, &s, &res);
	json_decref(content);
	return rc == ROOM_OK ? 0 : -1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct room_result res;
	char err[256];
	json_t *init = NULL;
	if (!f)
		return -1;
	*state = f;
	snprintf(f->dir, sizeof(f->dir), "/tmp/scop-roomsrv-XXXXXX");
	if (!mkdtemp(f->dir))
		goto fail;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (store_open("sqlite", f->path, &f->st, err, sizeof(err)) != STORE_OK ||
	    room_store_open("sqlite", f->path, &f->rs, err, sizeof(err)) != STORE_OK ||
	    scop_ed25519_generate(&f->key, "t1") < 0 || !(f->rooms = rooms_new(f->rs, "local.test", &f->key)))
		goto fail;
	init = json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:{},s:i,s:i}},{s:s,s:s,s:{s:s}}]",
			 "type", "m.room.member", "state_key", ALICE, "content", "membership", "join",
			 "type", "m.room.power_levels", "state_key", "", "content", "users", "state_default", 50,
			 "events_default", 0, "type", "m.room.join_rules", "state_key", "", "content",
			 "join_rule", "public");
	if (rooms_create(f->rooms, ALICE, NULL, NULL, init, &res) != ROOM_OK)
		goto fail;
	snprintf(f->room_id, sizeof(f->room_id), "%s", res.room_id);
	json_decref(init);
	if (member(f, "@b:one.test", "join") < 0 || member(f, "@c:one.test", "join") < 0 ||
	    member(f, "@d:two.test:8448", "join") < 0 || member(f, "@e:gone.test", "join") < 0 ||
	    member(f, "@e:gone.test", "leave") < 0)
		goto fail2;
	return 0;
fail:
	json_decref(init);
fail2:
	teardown(state);
	return -1;
}

static int has(const json_t *a, const char *s)
{
	const json_t *v;
	size_t i;
	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static void test_servers(void **state)
{
	struct fx *f = *state;
	json_t *a = fed_room_servers(f->rooms, f->room_id, NULL, "local.test");
	assert_non_null(a);
	/* Each joined server once, this one and the one whose only member
	 * left not at all. */
	assert_int_equal(json_array_size(a), 2);
	assert_true(has(a, "one.test"));
	assert_true(has(a, "two.test:8448"));
	json_decref(a);
}

static void test_first_and_unknown(void **state)
{
	struct fx *f = *state;
	json_t *a = fed_room_servers(f->rooms, f->room_id, "local.test", NULL);
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "local.test");
	json_decref(a);
	/* first_server is listed even without members; self wins over it. */
	a = fed_room_servers(f->rooms, f->room_id, "gone.test", "gone.test");
	assert_false(has(a, "gone.test"));
	json_decref(a);
	a = fed_room_servers(f->rooms, f->room_id, "gone.test", NULL);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "gone.test");
	json_decref(a);
	assert_null(fed_room_servers(f->rooms, "!nowhere:local.test", NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_servers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_and_unknown, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
