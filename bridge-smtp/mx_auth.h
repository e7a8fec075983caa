/* Authentication of mail arriving at the MX: SPF (RFC 7208) on the
 * envelope, every DKIM signature (RFC 6376), the ARC chain (RFC 8617;
 * reported when there is one, not acted on), DMARC (RFC 7489) for the
 * From domain, and the verdict as one Authentication-Results field (RFC
 * 8601) with our host name as authserv-id.  Fields arriving with that id
 * are forgeries (RFC 8601 section 5): the verdict lists where they are so
 * the caller can cut them out.
 *
 * What the policy asks of the SMTP reply:
 *   - DMARC fail with disposition reject: 550 5.7.1 (policy.dmarc_reject);
 *     quarantine is only marked, in the field's dmarc comment (dis=).
 *   - SPF fail: 550 5.7.1 only with policy.spf_reject (off by default:
 *     DMARC decides, as forwarding breaks SPF).
 *   - A DNS temperror defers (451 4.7.0) only when an enabled policy
 *     needs that answer: the DMARC record itself, or an SPF or DKIM
 *     result aligned with the From domain that could have turned a
 *     rejecting DMARC fail into a pass.  Otherwise it is recorded.
 *
 * DNS lookups block.  Run checks on a worker thread: one struct mx_auth
 * serves one thread at a time and keeps a DKIM verifier and key cache
 * from message to message; struct mx_auth_pool lends them out.  Every
 * check has a DNS time budget (budget_ms): each lookup gets only what is
 * left of it (dns_lookup_within) and fails at once as a temperror when
 * nothing is, so a check's lookups together take at most the budget.
 *
 * Memory: the config and what it points to (resolver, PSL, strings) must
 * outlive contexts and pools.  A verdict owns its field text and cut list;
 * mx_auth_verdict_free() releases them.  Errors: -1 only for bad arguments
 * or no memory; everything a peer or DNS can cause is a verdict.
 */
#ifndef SCOP_MX_AUTH_H
#define SCOP_MX_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "bridge-smtp/arc.h"
#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dmarc.h"
#include "bridge-smtp/spf.h"
#include "bridge-smtp/spool.h"
#include "common/buf.h"

struct dns_resolver;
struct psl;

struct mx_auth_policy {
	bool dmarc_reject; /* DMARC fail, disposition reject: 550 (default on) */
	bool spf_reject;   /* SPF fail: 550 (default off) */
};

void mx_auth_policy_default(struct mx_auth_policy *p);

struct mx_auth_config {
	const char *authserv_id;    /* our host name */
	struct dns_resolver *dns;   /* shared by every context: thread-safe */
	const struct psl *psl;      /* read-only, shared */
	struct mx_auth_policy policy;
	unsigned budget_ms;         /* DNS time per message; 0: none */
};

enum mx_auth_action {
	MX_AUTH_ACCEPT = 0,
	MX_AUTH_REJECT, /* 5xx: the reply is in verdict.reply */
	MX_AUTH_DEFER,  /* 4xx */
};

struct mx_auth_input {
	const char *client_ip; /* text form; IPv4-mapped IPv6 counts as IPv4 */
	const char *helo;
	const char *mail_from; /* "" for the null reverse-path */
	const char *msg;       /* the message as received (CRLF), no trace */
	size_t len;
};

struct mx_auth_verdict {
	enum mx_auth_action action;
	char reply[256];            /* SMTP reply line (no CRLF) unless ACCEPT */
	struct buf header;          /* our Authentication-Results field, CRLF-terminated */
	struct spool_cut *cuts;     /* forged fields in msg, in order */
	size_t ncuts;
	enum spf_result spf;
	const char *spf_identity;   /* "mailfrom" or "helo" */
	enum dkim_status dkim;      /* best over the signatures (pass wins) */
	size_t ndkim;
	enum arc_status arc;
	enum dmarc_result dmarc;
	enum dmarc_policy disposition;
	bool quarantine;            /* DMARC asks for it: marked, not refused */
};

void mx_auth_verdict_free(struct mx_auth_verdict *v);

struct mx_auth;
struct mx_auth *mx_auth_new(const struct mx_auth_config *cfg);
void mx_auth_free(struct mx_auth *a);

/* Checks one message.  v is filled (and must be freed) whenever 0 is
 * returned. */
int mx_auth_check(struct mx_auth *a, const struct mx_auth_input *in, struct mx_auth_verdict *v);

/* Where forged Authentication-Results fields are: fields of the header
 * block (up to the first empty line) named Authentication-Results whose
 * authserv-id is id.  A lenient scan, so a malformed header block does
 * not hide one.  -1 when out of memory. */
int mx_auth_find_forged(const char *msg, size_t len, const char *id, struct spool_cut **cuts, size_t *ncuts);

/* Contexts for worker threads: take() lends an idle one (or makes one;
 * NULL when out of memory), give() returns it.  At most max are kept
 * idle; more are freed on return. */
struct mx_auth_pool;
struct mx_auth_pool *mx_auth_pool_new(const struct mx_auth_config *cfg, size_t max);
void mx_auth_pool_free(struct mx_auth_pool *p);
struct mx_auth *mx_auth_pool_take(struct mx_auth_pool *p);
void mx_auth_pool_give(struct mx_auth_pool *p, struct mx_auth *a);

/* For the SMTP server's commit worker: checks the message being spooled
 * by w and, when it is accepted, rewrites it with our field on top and
 * the forged ones removed (then the caller commits w; otherwise it
 * aborts w).  -1 when the spool file cannot be read or rewritten (errno
 * set) or memory runs out; v then need not be freed. */
int mx_auth_spooled(struct mx_auth_pool *p, struct spool_writer *w, const struct mx_auth_input *in,
		    struct mx_auth_verdict *v);

/* The same as the SMTP server's mx_check hook (smtp_server.h), with the
 * pool as ctx: logs the verdict, returns 0 (commit), 1 (refused, reply
 * written) or -1. */
int mx_auth_smtp_check(void *pool, struct spool_writer *w, const struct spool_envelope *env, char *reply,
		       size_t replylen);

#endif
