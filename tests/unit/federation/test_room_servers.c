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
#include "tests/unit/room_fixture.h"

#define ALICE "@alice:local.test"

struct fx {
	struct room_fixture rf;
	char room_id[EVENT_ID_BUF];
};

static int teardown(void **state)
{
	struct fx *f = *state;
	room_fixture_close(&f->rf);
	free(f);
	return 0;
}

/* Memberships are sent as the local server: only the state matters here. */
static int member(struct fx *f, const char *user, const char *membership)
{
	struct room_result res;
	json_t *content = json_pack("{s:s}", "membership", membership);
	struct room_send s = { f->room_id, user, "m.room.member", user, content, NULL, NULL, NULL };
	enum room_rc rc = rooms_send(f->rf.rooms, &s, &res);
	json_decref(content);
	return rc == ROOM_OK ? 0 : -1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	*state = f;
	if (room_fixture_open(&f->rf, "roomsrv", "local.test") < 0 ||
	    room_fixture_public_room(&f->rf, ALICE, f->room_id, sizeof(f->room_id)) < 0 ||
	    member(f, "@b:one.test", "join") < 0 || member(f, "@c:one.test", "join") < 0 ||
	    member(f, "@d:two.test:8448", "join") < 0 || member(f, "@e:gone.test", "join") < 0 ||
	    member(f, "@e:gone.test", "leave") < 0) {
		teardown(state);
		return -1;
	}
	return 0;
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
	json_t *a = fed_room_servers(f->rf.rooms, f->room_id, NULL, "local.test");
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
	json_t *a = fed_room_servers(f->rf.rooms, f->room_id, "local.test", NULL);
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "local.test");
	json_decref(a);
	/* first_server is listed even without members; self wins over it. */
	a = fed_room_servers(f->rf.rooms, f->room_id, "gone.test", "gone.test");
	assert_false(has(a, "gone.test"));
	json_decref(a);
	a = fed_room_servers(f->rf.rooms, f->room_id, "gone.test", NULL);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "gone.test");
	json_decref(a);
	assert_null(fed_room_servers(f->rf.rooms, "!nowhere:local.test", NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_servers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_and_unknown, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
