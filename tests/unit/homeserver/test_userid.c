/* Unit tests for homeserver/userid.c: server names, localparts, user ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "homeserver/userid.h"

static void test_server_names(void **state)
{
	(void)state;
	assert_true(hs_server_name_valid("example.org"));
	assert_true(hs_server_name_valid("localhost:8008"));
	assert_true(hs_server_name_valid("1.2.3.4"));
	assert_true(hs_server_name_valid("[::1]:8448"));
	assert_true(hs_server_name_valid("[1234:5678::abcd]"));
	assert_false(hs_server_name_valid(""));
	assert_false(hs_server_name_valid("exa mple.org"));
	assert_false(hs_server_name_valid("example.org:"));
	assert_false(hs_server_name_valid("example.org:0"));
	assert_false(hs_server_name_valid("example.org:65536"));
	assert_false(hs_server_name_valid("example.org:80x"));
	assert_false(hs_server_name_valid("[::1"));
	assert_false(hs_server_name_valid("[]"));
	assert_false(hs_server_name_valid("[zz::1]"));
	assert_false(hs_server_name_valid(":8008"));
}

static void test_localparts(void **state)
{
	(void)state;
	assert_true(hs_localpart_valid_new("alice"));
	assert_true(hs_localpart_valid_new("a.b_c=d-e/f+g9"));
	assert_false(hs_localpart_valid_new(""));
	assert_false(hs_localpart_valid_new("Alice"));
	assert_false(hs_localpart_valid_new("al ice"));
	assert_false(hs_localpart_valid_new("_bridge"));
	assert_false(hs_localpart_valid_new("12345"));
	assert_false(hs_localpart_valid_new("a:b"));
	assert_false(hs_localpart_valid_new("caf\xc3\xa9"));
	/* Historical ids may have upper case; logins accept them. */
	assert_true(hs_localpart_valid_any("Alice"));
	assert_true(hs_localpart_valid_any("12345"));
	assert_false(hs_localpart_valid_any("a b"));
	assert_false(hs_localpart_valid_any("a:b"));
	assert_false(hs_localpart_valid_any(""));
}

static void test_user_ids(void **state)
{
	char local[256];
	const char *server;
	char *id;
	char big[300];
	(void)state;
	assert_true(hs_user_id_split("@alice:example.org", local, sizeof(local), &server));
	assert_string_equal(local, "alice");
	assert_string_equal(server, "example.org");
	assert_true(hs_user_id_split("@bob:[::1]:8448", local, sizeof(local), &server));
	assert_string_equal(server, "[::1]:8448");
	assert_false(hs_user_id_split("alice:example.org", local, sizeof(local), &server));
	assert_false(hs_user_id_split("@alice", local, sizeof(local), &server));
	assert_false(hs_user_id_split("@:example.org", local, sizeof(local), &server));
	assert_false(hs_user_id_split("@a b:example.org", local, sizeof(local), &server));
	assert_false(hs_user_id_split("@alice:bad server", local, sizeof(local), &server));
	assert_false(hs_user_id_split("@alice:example.org", local, 3, &server));
	memset(big, 'a', sizeof(big));
	big[0] = '@';
	memcpy(big + 280, ":example.org", 13);
	assert_false(hs_user_id_split(big, local, sizeof(local), &server));

	id = hs_user_id_make("alice", "example.org");
	assert_string_equal(id, "@alice:example.org");
	free(id);
	big[250] = '\0';
	assert_null(hs_user_id_make(big + 1, "example.org"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_names),
		cmocka_unit_test(test_localparts),
		cmocka_unit_test(test_user_ids),
	};
	return cmocka_run_group_tests_name("homeserver userid", tests, NULL, NULL);
}
