/* The outbound relay: delivers the spool's submission mail (and only
 * that: MX-received mail is for local domains and stays for the mapping,
 * so the bridge is no open relay) to the recipients' mail servers.
 *
 * One pass (relay_run_once) looks at every queue file; a submission
 * message that is due gets one attempt: its pending recipients grouped by
 * domain, each domain routed by MX (relay_mx.h) and its hosts tried in
 * order until one takes the transaction (with the TLS each host's DANE
 * records call for, relay_dane.h), the message DKIM-signed with the
 * key of its From: domain when there is one.  Per-recipient outcomes go
 * to the sidecar record (relay_state.h) after each domain.  Recipients
 * that fail for good (5xx, null MX, no such domain, or still failing at
 * max_age) are reported to the sender in one DSN (relay_dsn.h) stored in
 * the spool: as MX mail when the sender is in a local domain (it is
 * theirs to read), else as submission mail this relay sends on.  No DSN
 * for a <> sender.  Temporary failures wait for the retry schedule.  When
 * every recipient is delivered or reported, the queue file goes, then the
 * record.
 *
 * Single-threaded; deliveries are sequential.  The relay owns none of
 * what its options point to.  Errors are logged, never fatal: a message
 * that cannot be handled now is tried again on a later pass.
 */
#ifndef SCOP_RELAY_H
#define SCOP_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "bridge-smtp/relay_config.h"
#include "bridge-smtp/spool.h"

struct dns_resolver;
struct dkim_signer;

struct relay_signer {
	const char *domain;
	struct dkim_signer *signer;
};

struct relay_opts {
	const char *hostname;                 /* EHLO name, Reporting-MTA */
	const char *const *local_domains;
	size_t n_local_domains;
	const struct relay_config *cfg;
	struct dns_resolver *dns;
	unsigned dns_timeout_ms;
	SSL_CTX *tls;                         /* NULL: never STARTTLS */
	struct spool *spool;
	const struct relay_signer *signers;
	size_t n_signers;
	/* Asked between messages: true ends the pass early (shutdown). */
	bool (*should_stop)(void *ctx);
	void *stop_ctx;
};

struct relay_stats {
	size_t messages;    /* attempted this pass */
	size_t sent;        /* recipients delivered */
	size_t failed;      /* recipients failed for good */
	size_t deferred;    /* recipients left for a retry */
	size_t dsns;
};

struct relay;

/* Opens (creating) <spool dir>/relay for the records.  NULL on failure,
 * with a reason in err. */
struct relay *relay_new(const struct relay_opts *o, char *err, size_t errlen);
void relay_free(struct relay *r);

/* One pass at time now (unix seconds); stats may be NULL. */
int relay_run_once(struct relay *r, int64_t now, struct relay_stats *stats);

#endif
