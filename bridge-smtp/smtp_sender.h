/* Which sender addresses an authenticated submission user may use
 * (the job of Postfix's reject_sender_login_mismatch).
 *
 * Users authenticate as their Matrix user (smtp_auth_hs gives the
 * identity "@localpart:server").  The mapping of design.md says an
 * address localpart@D, for D one of the bridge's local domains, belongs
 * to @localpart:server.  So by default identity "@alice:example.org"
 * owns alice@<every local domain> and nothing else.  The configuration
 * can grant more per identity: whole addresses ("alice.smith@example.org")
 * or whole domains ("@lists.example.org", any local part).
 *
 * Comparison: domains case-insensitively (a trailing dot ignored), local
 * parts case-insensitively after removing RFC 5321 quoting
 * ("alice"@example.org is alice@example.org).  No subaddress folding:
 * alice+x@example.org could belong to another Matrix user @alice+x.
 * An identity that is not a Matrix user ID (another checker) owns the
 * address it names if it has an '@', else localpart-style as above.
 *
 * Memory: the policy's strings belong to whoever filled it (the config
 * loader allocates them and smtp_sender_policy_free releases them);
 * the local domain list is borrowed and must outlive the policy.
 */
#ifndef SCOP_SMTP_SENDER_H
#define SCOP_SMTP_SENDER_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_sender_grant {
	char *identity;  /* "@alice:example.org", compared exactly */
	char **addrs;    /* "a@b" or "@domain" */
	size_t n_addrs;
};

struct smtp_sender_policy {
	bool check_envelope; /* MAIL FROM must be owned; <> refused (553 5.7.1) */
	bool check_header;   /* every From: mailbox must be owned (550 5.7.1) */
	const char *const *local_domains;
	size_t n_local_domains;
	struct smtp_sender_grant *grants;
	size_t n_grants;
};

/* Defaults: both checks on, no grants. */
void smtp_sender_policy_default(struct smtp_sender_policy *p);
/* Frees the grants (not the local domain list). */
void smtp_sender_policy_free(struct smtp_sender_policy *p);

/* True when identity may use addr (an address without angle brackets,
 * as smtp_cmd gives it or smtp_fromhdr extracts it).  An empty addr (the
 * null sender) is never owned. */
bool smtp_sender_owns(const struct smtp_sender_policy *p, const char *identity, const char *addr);

#endif
