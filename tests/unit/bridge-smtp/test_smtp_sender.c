/* Unit tests for bridge-smtp/smtp_sender: which addresses an
 * authenticated submission user owns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/smtp_sender.h"

static const char *const domains[] = { "example.org", "Example.NET." };

static void policy(struct smtp_sender_policy *p)
{
	smtp_sender_policy_default(p);
	p->local_domains = domains;
	p->n_local_domains = 2;
}

static void test_localpart_mapping(void **state)
{
	(void)state;
	struct smtp_sender_policy p;
	policy(&p);
	const char *id = "@alice:example.org";
	assert_true(smtp_sender_owns(&p, id, "alice@example.org"));
	assert_true(smtp_sender_owns(&p, id, "alice@example.net"));
	assert_true(smtp_sender_owns(&p, id, "Alice@EXAMPLE.ORG"));
	assert_true(smtp_sender_owns(&p, id, "alice@example.org."));
	assert_true(smtp_sender_owns(&p, id, "\"alice\"@example.org"));
	assert_false(smtp_sender_owns(&p, id, "bob@example.org"));
	assert_false(smtp_sender_owns(&p, id, "alice@elsewhere.example"));
	assert_false(smtp_sender_owns(&p, id, "alice@sub.example.org"));
	assert_false(smtp_sender_owns(&p, id, "alicex@example.org"));
	assert_false(smtp_sender_owns(&p, id, "alic@example.org"));
	assert_false(smtp_sender_owns(&p, id, "alice+tag@example.org"));
	assert_false(smtp_sender_owns(&p, id, "\"alice@example.org\"@evil.example"));
	assert_false(smtp_sender_owns(&p, id, ""));
	assert_false(smtp_sender_owns(&p, id, "alice"));
	assert_false(smtp_sender_owns(&p, id, "@example.org"));
	assert_false(smtp_sender_owns(&p, id, "alice@"));
	assert_false(smtp_sender_owns(&p, "", "alice@example.org"));
	assert_false(smtp_sender_owns(&p, NULL, "alice@example.org"));
	/* The server part of the user ID does not pick the mail domain. */
	assert_true(smtp_sender_owns(&p, "@bob:other.example", "bob@example.org"));
}

static void test_non_matrix_identities(void **state)
{
	(void)state;
	struct smtp_sender_policy p;
	policy(&p);
	assert_true(smtp_sender_owns(&p, "carol", "carol@example.org"));
	assert_false(smtp_sender_owns(&p, "carol", "carol@far.example"));
	assert_true(smtp_sender_owns(&p, "dave@far.example", "DAVE@far.example"));
	assert_false(smtp_sender_owns(&p, "dave@far.example", "dave@example.org"));
}

static void test_grants(void **state)
{
	(void)state;
	struct smtp_sender_policy p;
	policy(&p);
	char *a_addrs[] = { "alice.smith@example.org", "@lists.example", "\"odd one\"@example.org" };
	char *b_addrs[] = { "shared@far.example" };
	struct smtp_sender_grant g[] = {
		{ "@alice:example.org", a_addrs, 3 },
		{ "@bob:example.org", b_addrs, 1 },
	};
	p.grants = g;
	p.n_grants = 2;
	const char *id = "@alice:example.org";
	assert_true(smtp_sender_owns(&p, id, "alice@example.org"));
	assert_true(smtp_sender_owns(&p, id, "Alice.Smith@example.org"));
	assert_true(smtp_sender_owns(&p, id, "anything@lists.example"));
	assert_true(smtp_sender_owns(&p, id, "x@LISTS.example."));
	assert_true(smtp_sender_owns(&p, id, "\"odd one\"@example.org"));
	assert_false(smtp_sender_owns(&p, id, "x@sub.lists.example"));
	assert_false(smtp_sender_owns(&p, id, "shared@far.example"));
	assert_true(smtp_sender_owns(&p, "@bob:example.org", "shared@far.example"));
	assert_false(smtp_sender_owns(&p, "@bob:example.org", "alice.smith@example.org"));
	/* Grants match the identity exactly. */
	assert_false(smtp_sender_owns(&p, "@Alice:example.org", "alice.smith@example.org"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_localpart_mapping),
		cmocka_unit_test(test_non_matrix_identities),
		cmocka_unit_test(test_grants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
