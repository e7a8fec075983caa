/* dns.h over libunbound: a validating, caching stub (or recursor) with an
 * optional forwarder and trust anchor.  Answers are also kept in a
 * dns_cache in front of libunbound, so a repeated lookup is a copy, not a
 * round trip through libunbound's thread.
 *
 * Lookups are asynchronous underneath so each can be given up after
 * timeout_ms: libunbound's own retries can take minutes against a server
 * that never answers.  Results of every thread's queries arrive on one
 * descriptor (ub_fd) and are dispatched by ub_process(); callbacks run
 * inside it, so everything a callback touches is guarded by the one mutex
 * held around ub_process().
 *
 * Waiting threads take turns (leader and followers): one polls the
 * descriptor and runs ub_process(), the others sleep on a condition
 * variable that it broadcasts after each ub_process(), since the answers
 * it dispatched may be theirs; a poller whose own answer came steps down
 * and a follower takes over.  So an answer is seen as soon as it arrives,
 * whichever thread reads it.
 */
#include "common/dns.h"
#include "common/dns_cache.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>

#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_REFUSED 5

struct ub_query;

struct ub_resolver {
	struct dns_resolver base;
	struct ub_ctx *ctx;
	unsigned timeout_ms;
	pthread_mutex_t lock; /* held around ub_process/resolve/cancel */
	pthread_cond_t processed; /* broadcast after each ub_process() */
	int polling; /* a thread is polling ub_fd (outside the lock) */
	struct ub_query *abandoned; /* given up on, answer still to come */
	struct dns_cache *cache; /* answers, so a repeated lookup skips the round trip */
};

/* One lookup in flight.  Freed by the waiter, unless the waiter gave up
 * and could not cancel it: then it goes on the resolver's abandoned list
 * and is freed by the callback, or by dns_resolver_free() if the answer
 * never comes. */
struct ub_query {
	struct ub_resolver *r;
	int done;
	int abandoned;
	int err;
	struct ub_result *result;
	struct ub_query *prev, *next; /* on r->abandoned */
};

static void on_result(void *data, int err, struct ub_result *result)
{
	struct ub_query *q = data;
	if (q->abandoned) { /* runs under r->lock, inside ub_process() */
		if (q->prev != NULL)
			q->prev->next = q->next;
		else
			q->r->abandoned = q->next;
		if (q->next != NULL)
			q->next->prev = q->prev;
		if (result != NULL)
			ub_resolve_free(result);
		free(q);
		return;
	}
	q->err = err;
	q->result = result;
	q->done = 1;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fill_result(struct ub_result *u, enum dns_type type, struct dns_result *res)
{
	if (u->bogus) {
		res->security = DNS_SEC_BOGUS;
		snprintf(res->why_bogus, sizeof(res->why_bogus), "%s",
			u->why_bogus != NULL ? u->why_bogus : "validation failed");
		res->status = DNS_TEMPFAIL;
		return 0;
	}
	res->security = u->secure ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
	res->ttl = u->ttl > 0 ? (uint32_t)u->ttl : 0;
	if (u->rcode == RCODE_NXDOMAIN || u->nxdomain) {
		res->status = DNS_NXDOMAIN;
		return 0;
	}
	if (u->rcode == RCODE_REFUSED) {
		res->status = DNS_PERMFAIL;
		return 0;
	}
	if (u->rcode != 0) {
		res->status = DNS_TEMPFAIL;
		return 0;
	}
	if (!u->havedata || u->data == NULL || u->data[0] == NULL) {
		res->status = DNS_NODATA;
		return 0;
	}
	size_t n = 0;
	while (u->data[n] != NULL)
		n++;
	res->records = calloc(n, sizeof(*res->records));
	if (res->records == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (u->len[i] < 0 ||
		    dns_rdata_parse(type, (const uint8_t *)u->data[i], (size_t)u->len[i], &res->records[i]) != 0) {
			dns_result_free(res);
			res->status = DNS_PERMFAIL;
			return 0;
		}
		res->count++;
	}
	res->status = DNS_OK;
	return 0;
}

/* libunbound parses names as zone-file text, where bytes such as space,
 * quote, backslash, ';' or '(' mean something: send any unusual byte as
 * \DDD so the name asked for is exactly the one given (SPF macros can
 * produce such names from a HELO argument). */
static void escape_name(const char *name, char *out, size_t outlen)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p && o + 5 < outlen; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			*p == '-' || *p == '_' || *p == '.';
		if (plain)
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\%03u", *p);
	}
	out[o] = '\0';
}

/* Stops waiting for q, with r->lock held: cancels it, or if it cannot be
 * cancelled (its answer is already on the way) hands it to the abandoned
 * list, where the callback or dns_resolver_free() frees it. */
static void give_up_locked(struct ub_resolver *r, struct ub_query *q, int id)
{
	if (ub_cancel(r->ctx, id) == 0) {
		free(q);
		return;
	}
	q->abandoned = 1;
	q->next = r->abandoned;
	if (q->next != NULL)
		q->next->prev = q;
	r->abandoned = q;
}

static void abs_time(long ms_monotonic, struct timespec *ts)
{
	ts->tv_sec = ms_monotonic / 1000;
	ts->tv_nsec = (ms_monotonic % 1000) * 1000000L;
}

/* Waits, with r->lock held, until q is answered (1) or deadline passes
 * (0). */
static int wait_answer(struct ub_resolver *r, struct ub_query *q, long deadline)
{
	int fd = ub_fd(r->ctx);
	while (!q->done) {
		long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		if (r->polling) {
			struct timespec ts;
			abs_time(deadline, &ts);
			pthread_cond_timedwait(&r->processed, &r->lock, &ts);
			continue;
		}
		r->polling = 1;
		pthread_mutex_unlock(&r->lock);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		int failed = n < 0 && errno != EINTR;
		pthread_mutex_lock(&r->lock);
		if (n > 0)
			ub_process(r->ctx);
		r->polling = 0;
		/* Followers: the answers may be theirs, and one of them must
		 * poll next if this thread is done. */
		pthread_cond_broadcast(&r->processed);
		if (failed)
			return 0;
	}
	return 1;
}

static int ub_lookup(struct dns_resolver *base, const char *name, enum dns_type type, unsigned timeout_ms,
		     struct dns_result *res)
{
	struct ub_resolver *r = (struct ub_resolver *)base;
	long now_s = now_ms() / 1000;
	int hit = dns_cache_get(r->cache, name, type, now_s, res);
	if (hit != 0)
		return hit > 0 ? 0 : -1;
	char text[256 * 4 + 1]; /* a 253-octet name, every byte escaped */
	escape_name(name, text, sizeof(text));
	struct ub_query *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -1;
	q->r = r;
	int id = 0;
	long deadline = now_ms() + (timeout_ms ? timeout_ms : r->timeout_ms);
	pthread_mutex_lock(&r->lock);
	int err = ub_resolve_async(r->ctx, text, (int)type, 1, q, on_result, &id);
	if (err != 0) {
		pthread_mutex_unlock(&r->lock);
		free(q);
		res->status = DNS_TEMPFAIL;
		return err == UB_NOMEM ? -1 : 0;
	}
	if (!wait_answer(r, q, deadline)) {
		give_up_locked(r, q, id);
		pthread_mutex_unlock(&r->lock);
		res->status = DNS_TEMPFAIL;
		return 0;
	}
	pthread_mutex_unlock(&r->lock);
	int rc = 0;
	if (q->err != 0 || q->result == NULL)
		res->status = DNS_TEMPFAIL;
	else if ((rc = fill_result(q->result, type, res)) == 0)
		dns_cache_put(r->cache, name, type, now_s, res);
	if (q->result != NULL)
		ub_resolve_free(q->result);
	free(q);
	return rc;
}

static void ub_free(struct dns_resolver *base)
{
	struct ub_resolver *r = (struct ub_resolver *)base;
	ub_ctx_delete(r->ctx);
	/* Callbacks never run after ub_ctx_delete(): free what still waits. */
	while (r->abandoned != NULL) {
		struct ub_query *q = r->abandoned;
		r->abandoned = q->next;
		free(q);
	}
	dns_cache_free(r->cache);
	pthread_cond_destroy(&r->processed);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct dns_backend ub_backend = { ub_lookup, ub_free };

static int set_opt(struct ub_ctx *ctx, const char *opt, const char *val, char *err, size_t errlen)
{
	int e = ub_ctx_set_option(ctx, opt, val);
	if (e != 0 && err != NULL)
		snprintf(err, errlen, "unbound option %s %s: %s", opt, val, ub_strerror(e));
	return e;
}

struct dns_resolver *dns_unbound_new(const struct dns_resolver_options *opt, char *err, size_t errlen)
{
	static const struct dns_resolver_options defaults = { 0 };
	if (opt == NULL)
		opt = &defaults;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	struct ub_resolver *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base.ops = &ub_backend;
	r->timeout_ms = opt->timeout_ms ? opt->timeout_ms : 5000;
	if ((r->cache = dns_cache_new(opt->cache_entries, 0)) == NULL) {
		free(r);
		if (err != NULL)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines come from now_ms() */
	pthread_cond_init(&r->processed, &ca);
	pthread_condattr_destroy(&ca);
	r->ctx = ub_ctx_create();
	if (r->ctx == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "ub_ctx_create failed");
		goto fail;
	}
	int e;
	/* Threads, not a forked helper process: cheaper and sanitizer-friendly. */
	if ((e = ub_ctx_async(r->ctx, 1)) != 0) {
		if (err != NULL)
			snprintf(err, errlen, "ub_ctx_async: %s", ub_strerror(e));
		goto fail;
	}
	/* A resolver on loopback (a test server, systemd-resolved's
	 * 127.0.0.53 in resolv.conf, a local unbound) is refused by default. */
	if (set_opt(r->ctx, "do-not-query-localhost:", "no", err, errlen) != 0)
		goto fail;
	if (opt->forwarder != NULL) {
		/* The RFC 1918/6303 reverse zones are answered locally by
		 * default; an explicit forwarder is trusted to answer them. */
		if (set_opt(r->ctx, "unblock-lan-zones:", "yes", err, errlen) != 0 ||
		    set_opt(r->ctx, "insecure-lan-zones:", "yes", err, errlen) != 0)
			goto fail;
		/* Likewise RFC 6761's "test." (NXDOMAIN from unbound itself
		 * otherwise), which federation tests serve from their own
		 * server. */
		if (set_opt(r->ctx, "local-zone:", "test. transparent", err, errlen) != 0)
			goto fail;
		if ((e = ub_ctx_set_fwd(r->ctx, opt->forwarder)) != 0) {
			if (err != NULL)
				snprintf(err, errlen, "forwarder %s: %s", opt->forwarder, ub_strerror(e));
			goto fail;
		}
	} else if ((e = ub_ctx_resolvconf(r->ctx, NULL)) != 0) {
		if (err != NULL)
			snprintf(err, errlen, "/etc/resolv.conf: %s", ub_strerror(e));
		goto fail;
	}
	const char *ta = opt->trust_anchor_file;
	if (ta != NULL && (e = ub_ctx_add_ta_file(r->ctx, ta)) != 0) {
		if (err != NULL)
			snprintf(err, errlen, "trust anchor %s: %s", ta, ub_strerror(e));
		goto fail;
	}
	if (opt->use_root_anchor && (e = ub_ctx_add_ta_file(r->ctx, "/usr/share/dns/root.key")) != 0) {
		if (err != NULL)
			snprintf(err, errlen, "root trust anchor: %s", ub_strerror(e));
		goto fail;
	}
	return &r->base;
fail:
	if (r->ctx != NULL)
		ub_ctx_delete(r->ctx);
	dns_cache_free(r->cache);
	pthread_cond_destroy(&r->processed);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return NULL;
}
