/* Unit tests for homeserver/uia.c sessions: binding to action and user,
 * stages, expiry and the release of held registration tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "homeserver/uia.h"

struct released {
	int n;
	char last[64];
};

static void on_release(void *ctx, const char *token)
{
	struct released *r = ctx;
	r->n++;
	strncpy(r->last, token, sizeof(r->last) - 1);
}

static void test_binding_and_stages(void **state)
{
	struct released rel = { 0, "" };
	struct uia *u = uia_new(on_release, &rel);
	char id[UIA_SESSION_LEN + 1];
	unsigned done = 99;
	(void)state;
	assert_int_equal(uia_session_new(u, "delete_devices", "@a:x", 0, id), 0);
	assert_int_equal(strlen(id), UIA_SESSION_LEN);
	assert_int_equal(uia_session_get(u, id, "delete_devices", "@a:x", 1, &done), 0);
	assert_int_equal(done, 0);
	/* Another action or another user cannot use it. */
	assert_int_equal(uia_session_get(u, id, "deactivate", "@a:x", 1, &done), -1);
	assert_int_equal(uia_session_get(u, id, "delete_devices", "@b:x", 1, &done), -1);
	assert_int_equal(uia_session_get(u, "nope", "delete_devices", "@a:x", 1, &done), -1);
	assert_int_equal(uia_session_complete(u, id, UIA_PASSWORD, NULL), 0);
	assert_int_equal(uia_session_get(u, id, "delete_devices", "@a:x", 1, &done), 0);
	assert_int_equal(done, UIA_PASSWORD);
	uia_session_finish(u, id, NULL);
	assert_int_equal(uia_session_get(u, id, "delete_devices", "@a:x", 1, &done), -1);
	assert_int_equal(uia_session_complete(u, id, UIA_PASSWORD, NULL), -1);
	uia_free(u);
	assert_int_equal(rel.n, 0);
}

static void test_regtoken_release(void **state)
{
	struct released rel = { 0, "" };
	struct uia *u = uia_new(on_release, &rel);
	char a[UIA_SESSION_LEN + 1], b[UIA_SESSION_LEN + 1], c[UIA_SESSION_LEN + 1];
	char *kept = NULL;
	unsigned done;
	(void)state;
	assert_int_equal(uia_session_new(u, "register", "", 0, a), 0);
	assert_int_equal(uia_session_new(u, "register", "", 0, b), 0);
	assert_int_equal(uia_session_complete(u, a, UIA_REGTOKEN, "tok-a"), 0);
	assert_int_equal(uia_session_complete(u, b, UIA_REGTOKEN, "tok-b"), 0);
	/* Finishing hands the token to the caller (registration completed). */
	uia_session_finish(u, a, &kept);
	assert_string_equal(kept, "tok-a");
	free(kept);
	assert_int_equal(rel.n, 0);
	/* Expiry releases it (its pending use is given back). */
	assert_int_equal(uia_session_new(u, "register", "", UIA_LIFETIME_MS + 1, c), 0);
	assert_int_equal(rel.n, 1);
	assert_string_equal(rel.last, "tok-b");
	assert_int_equal(uia_session_get(u, b, "register", "", UIA_LIFETIME_MS + 1, &done), -1);
	/* Freeing releases what is still held. */
	assert_int_equal(uia_session_complete(u, c, UIA_REGTOKEN, "tok-c"), 0);
	uia_free(u);
	assert_int_equal(rel.n, 2);
	assert_string_equal(rel.last, "tok-c");
}

static void test_many_sessions(void **state)
{
	struct uia *u = uia_new(NULL, NULL);
	char id[UIA_SESSION_LEN + 1], first[UIA_SESSION_LEN + 1];
	unsigned done;
	(void)state;
	assert_int_equal(uia_session_new(u, "register", "", 0, first), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(uia_session_new(u, "register", "", 1, id), 0);
	assert_int_equal(uia_session_get(u, id, "register", "", 2, &done), 0);
	uia_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binding_and_stages),
		cmocka_unit_test(test_regtoken_release),
		cmocka_unit_test(test_many_sessions),
	};
	return cmocka_run_group_tests_name("homeserver uia", tests, NULL, NULL);
}
