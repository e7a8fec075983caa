/* Unit tests for homeserver/password.c: argon2id hashing and verifying. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "homeserver/password.h"

static const struct password_params cheap = { 1, 64, 1 };

static void test_hash_and_verify(void **state)
{
	char *h1, *h2;
	(void)state;
	h1 = password_hash("correct horse", &cheap);
	h2 = password_hash("correct horse", &cheap);
	assert_non_null(h1);
	assert_non_null(h2);
	assert_true(strncmp(h1, "$argon2id$v=19$m=64,t=1,p=1$", 28) == 0);
	assert_string_not_equal(h1, h2); /* random salts */
	assert_int_equal(password_verify("correct horse", h1), 1);
	assert_int_equal(password_verify("correct horse", h2), 1);
	assert_int_equal(password_verify("correct horsE", h1), 0);
	assert_int_equal(password_verify("", h1), 0);
	free(h1);
	free(h2);
}

static void test_cost_from_stored_hash(void **state)
{
	struct password_params other = { 2, 128, 1 };
	char *h;
	(void)state;
	h = password_hash("pw", &other);
	assert_non_null(h);
	assert_non_null(strstr(h, "m=128,t=2,p=1"));
	assert_int_equal(password_verify("pw", h), 1);
	free(h);
}

static void test_bad_input(void **state)
{
	char big[PASSWORD_MAX_LEN + 2];
	struct password_params bad = { 0, 64, 1 };
	(void)state;
	assert_int_equal(password_verify("pw", NULL), 0);
	assert_int_equal(password_verify("pw", ""), 0);
	assert_int_equal(password_verify("pw", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA"), 0);
	assert_int_equal(password_verify("pw", "$argon2id$garbage"), 0);
	assert_int_equal(password_verify("pw", "$2b$12$bcryptbcryptbcryptbcrypt"), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(password_hash(big, &cheap));
	assert_null(password_hash("pw", &bad));
	/* An empty password hashes fine (policy is the caller's). */
	char *h = password_hash("", &cheap);
	assert_non_null(h);
	assert_int_equal(password_verify("", h), 1);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_and_verify),
		cmocka_unit_test(test_cost_from_stored_hash),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests_name("homeserver password", tests, NULL, NULL);
}
