/* sender.h: per-destination state machine
 *   IDLE --(items queued, backoff over, no target)--> RESOLVING --> IDLE
 *   IDLE --(items queued, backoff over, target known)--> txn frozen, IN_FLIGHT
 *   IN_FLIGHT --200--> IDLE (txn items popped, backoff reset)
 *   IN_FLIGHT --error--> IDLE with the same txn kept and next_try_ms set
 *   IN_FLIGHT --4xx (not 401/429), max_rejections times--> IDLE, txn dropped
 * With a pdus_load hook the store is the queue of record: a new PDU goes
 * to the store only and marks its destination "spilled"; an empty memory
 * queue is refilled from the store, oldest first, at most max_pdus.  So
 * memory always holds the store's oldest rows for a destination, and
 * pdus_delivered(n) clears exactly what was sent, even when rows reach the
 * store by another way (room_store_append()) and fed_sender_resume().
 * All state is under s->lock.  Two threads: the send loop, which never
 * blocks except in curl_multi_poll(), and a resolver thread, because
 * discovery may block on DNS or a well-known fetch (targets are then
 * cached for an hour, and dropped after a transport error). */
#include "federation/sender.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "common/buf.h"
#include "common/httpc.h"
#include "common/log.h"
#include "federation/server_name.h"
#include "federation/xmatrix.h"

#define TARGET_CACHE_MS (3600 * 1000LL)

struct item {
	json_t *j;
	struct item *next;
};

struct queue {
	struct item *head, *tail;
	size_t n;
};

struct dest {
	char name[256];
	struct queue pdus, edus;
	/* The transaction being sent: the first txn_pdus/txn_edus items of
	 * the queues, frozen as body so a retry is byte-identical. */
	char txn_id[64];
	char *body;
	size_t body_len;
	char *auth;
	size_t txn_pdus, txn_edus;
	int in_flight;
	int resolving;       /* queued for, or in, the resolver thread */
	int spilled;         /* the store holds PDUs past the memory queue */
	unsigned failures;
	unsigned rejections; /* 4xx answers to the current txn */
	uint64_t refused;    /* txns this destination refused for good */
	int64_t next_try_ms;
	struct fed_target target;
	int64_t target_until_ms;
	struct fed_sender *s;
	struct dest *next;
};

struct fed_sender {
	char *origin;
	const struct scop_ed25519 *key;
	struct fed_resolver *resolver;
	size_t max_edus, max_pdus;
	unsigned max_rejections;
	long backoff_base_ms, backoff_max_ms, timeout_ms;
	struct fed_sender_persist persist;

	pthread_mutex_t lock;
	pthread_cond_t idle;
	pthread_cond_t resolve_cv; /* wakes the resolver thread */
	struct dest *dests;
	struct httpc_multi *multi;
	struct fed_sender_stats stats;
	uint64_t txn_counter;
	int64_t started_ms;
	uint32_t rnd;
	int stop;
	int started;
	pthread_t thread, resolver_thread;
};

static int64_t wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long fed_backoff_ms(unsigned failures, long base, long max, uint32_t rnd)
{
	if (failures == 0)
		return 0;
	long d = base;
	for (unsigned i = 1; i < failures && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	long half = d / 2;
	return half + (long)(rnd % (uint32_t)(d - half + 1));
}

static uint32_t next_rnd(struct fed_sender *s)
{
	/* xorshift32: jitter only needs to spread retries, not be secret. */
	uint32_t x = s->rnd;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	s->rnd = x;
	return x;
}

static void q_push(struct queue *q, struct item *it)
{
	it->next = NULL;
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
}

static void q_pop(struct queue *q, size_t n)
{
	while (n-- > 0 && q->head != NULL) {
		struct item *it = q->head;
		q->head = it->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
		json_decref(it->j);
		free(it);
	}
}

static void txn_clear(struct dest *d)
{
	free(d->body);
	free(d->auth);
	d->body = NULL;
	d->auth = NULL;
	d->txn_pdus = d->txn_edus = 0;
	d->txn_id[0] = '\0';
	d->rejections = 0;
}

static void dest_free(struct dest *d)
{
	q_pop(&d->pdus, d->pdus.n);
	q_pop(&d->edus, d->edus.n);
	txn_clear(d);
	free(d);
}

static int dest_busy(const struct dest *d)
{
	return d->in_flight || d->body != NULL || d->pdus.n > 0 || d->edus.n > 0 || d->spilled;
}

/* Under the lock. */
static struct dest *get_dest(struct fed_sender *s, const char *name)
{
	for (struct dest *d = s->dests; d != NULL; d = d->next)
		if (strcasecmp(d->name, name) == 0)
			return d;
	struct dest *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->s = s;
	d->next = s->dests;
	s->dests = d;
	return d;
}

static int queue_item(struct fed_sender *s, const char *dest, json_t *j, int is_pdu)
{
	struct server_name sn;
	if (j == NULL || server_name_parse(dest, &sn) != 0 || strcasecmp(dest, s->origin) == 0)
		return -1;
	struct item *it = calloc(1, sizeof(*it));
	if (it == NULL)
		return -1;
	it->j = json_deep_copy(j);
	if (it->j == NULL) {
		free(it);
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	struct dest *d = get_dest(s, dest);
	if (d == NULL) {
		pthread_mutex_unlock(&s->lock);
		json_decref(it->j);
		free(it);
		return -1;
	}
	if (is_pdu) {
		if (s->persist.pdu_queued != NULL) {
			char *text = json_dumps(it->j, JSON_COMPACT);
			if (text != NULL)
				s->persist.pdu_queued(s->persist.ctx, d->name, text);
			free(text);
		}
		if (s->persist.pdus_load != NULL) {
			d->spilled = 1; /* read back in store order */
			json_decref(it->j);
			free(it);
		} else {
			q_push(&d->pdus, it);
		}
	} else {
		q_push(&d->edus, it);
		/* Over the limit: drop the oldest EDU not already part of the
		 * transaction being sent. */
		while (d->edus.n > s->max_edus && d->edus.n > d->txn_edus) {
			struct item *prev = NULL, *victim = d->edus.head;
			for (size_t i = 0; i < d->txn_edus; i++) {
				prev = victim;
				victim = victim->next;
			}
			if (prev != NULL)
				prev->next = victim->next;
			else
				d->edus.head = victim->next;
			if (d->edus.tail == victim)
				d->edus.tail = prev;
			d->edus.n--;
			json_decref(victim->j);
			free(victim);
			s->stats.edus_dropped++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (s->multi != NULL)
		httpc_multi_wakeup(s->multi);
	return 0;
}

int fed_sender_queue_pdu(struct fed_sender *s, const char *dest, json_t *pdu)
{
	return queue_item(s, dest, pdu, 1);
}

int fed_sender_queue_edu(struct fed_sender *s, const char *dest, json_t *edu)
{
	return queue_item(s, dest, edu, 0);
}

int fed_sender_resume(struct fed_sender *s, const char *dest)
{
	struct server_name sn;
	if (s->persist.pdus_load == NULL || server_name_parse(dest, &sn) != 0 || strcasecmp(dest, s->origin) == 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	struct dest *d = get_dest(s, dest);
	if (d != NULL) {
		/* What is in memory is the store's oldest rows of dest: the
		 * rest is read after it. */
		d->spilled = 1;
	}
	pthread_mutex_unlock(&s->lock);
	if (s->multi != NULL)
		httpc_multi_wakeup(s->multi);
	return d != NULL ? 0 : -1;
}

size_t fed_sender_queued_pdus(struct fed_sender *s, const char *dest)
{
	size_t n = 0;
	pthread_mutex_lock(&s->lock);
	for (struct dest *d = s->dests; d != NULL; d = d->next)
		if (strcasecmp(d->name, dest) == 0)
			n = d->pdus.n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Under the lock, with nothing in memory: reads the next PDUs of a
 * spilled destination from the store.  0, or -1 (retry later). */
static int refill(struct fed_sender *s, struct dest *d)
{
	char **texts = NULL;
	size_t n = 0, limit = s->max_pdus;
	if (s->persist.pdus_load(s->persist.ctx, d->name, limit, &texts, &n) != 0) {
		log_error("federation: cannot read the queued PDUs for %s from the store", d->name);
		return -1;
	}
	int oom = 0;
	for (size_t i = 0; i < n; i++) {
		struct item *it = oom ? NULL : calloc(1, sizeof(*it));
		if (it == NULL) {
			oom = 1;
		} else {
			/* An unreadable row stays as an empty slot (j NULL, never
			 * sent) so counts still match the store's rows. */
			it->j = json_loads(texts[i], JSON_ALLOW_NUL, NULL);
			if (it->j == NULL)
				log_error("federation: an unreadable PDU for %s in the store is skipped", d->name);
			q_push(&d->pdus, it);
		}
		free(texts[i]);
	}
	free(texts);
	if (oom) {
		q_pop(&d->pdus, d->pdus.n);
		return -1;
	}
	if (n < limit)
		d->spilled = 0;
	return 0;
}

/* Under the lock: freezes the next transaction of d. */
static int build_txn(struct fed_sender *s, struct dest *d)
{
	json_t *pdus = json_array(), *edus = json_array();
	size_t np = 0, ne = 0;
	for (struct item *it = d->pdus.head; it != NULL && np < FED_TXN_MAX_PDUS; it = it->next, np++)
		if (it->j != NULL)
			json_array_append(pdus, it->j);
	for (struct item *it = d->edus.head; it != NULL && ne < FED_TXN_MAX_EDUS; it = it->next, ne++)
		json_array_append(edus, it->j);
	json_t *txn = json_pack("{ss sI so so}", "origin", s->origin, "origin_server_ts", (json_int_t)wall_ms(),
				"pdus", pdus, "edus", edus);
	if (txn == NULL)
		return -1;
	snprintf(d->txn_id, sizeof(d->txn_id), "%lld.%llu", (long long)s->started_ms,
		 (unsigned long long)++s->txn_counter);
	char uri[128];
	snprintf(uri, sizeof(uri), "/_matrix/federation/v1/send/%s", d->txn_id);
	struct buf auth = BUF_INIT;
	buf_puts(&auth, "Authorization: ");
	int rc = xmatrix_sign(s->key, s->origin, d->name, "PUT", uri, txn, &auth);
	d->body = json_dumps(txn, JSON_COMPACT);
	json_decref(txn);
	if (rc != 0 || d->body == NULL) {
		buf_free(&auth);
		txn_clear(d);
		return -1;
	}
	d->body_len = strlen(d->body);
	d->auth = buf_detach(&auth, NULL);
	d->txn_pdus = np;
	d->txn_edus = ne;
	return 0;
}

/* Under the lock: the receiver refused d's transaction for good. */
static void drop_txn(struct fed_sender *s, struct dest *d, long status)
{
	log_warn("federation: %s refused txn %s (HTTP %ld) %u times: dropping its %zu PDU(s) and %zu EDU(s)",
		 d->name, d->txn_id, status, d->rejections, d->txn_pdus, d->txn_edus);
	s->stats.txns_dropped++;
	s->stats.pdus_dropped += d->txn_pdus;
	d->refused++;
	if (d->txn_pdus > 0 && s->persist.pdus_delivered != NULL)
		s->persist.pdus_delivered(s->persist.ctx, d->name, d->txn_pdus);
	q_pop(&d->pdus, d->txn_pdus);
	q_pop(&d->edus, d->txn_edus);
	txn_clear(d);
	/* It answered: the server is up, so the rest goes without delay. */
	d->failures = 0;
	d->next_try_ms = 0;
}

static void on_done(void *arg, int result, struct httpc_response *resp)
{
	struct dest *d = arg;
	struct fed_sender *s = d->s;
	/* 429 asks us to wait; 401 may only mean the receiver could not
	 * fetch our keys yet: both are retried like 5xx. */
	int refused = result == HTTPC_OK && resp->status >= 400 && resp->status < 500 && resp->status != 429 &&
		      resp->status != 401;
	pthread_mutex_lock(&s->lock);
	d->in_flight = 0;
	if (refused) {
		s->stats.txns_failed++;
		s->stats.txns_rejected++;
		d->rejections++;
	}
	if (refused && d->rejections >= s->max_rejections) {
		drop_txn(s, d, resp->status);
	} else if (result == HTTPC_OK && resp->status == 200) {
		s->stats.txns_sent++;
		s->stats.pdus_sent += d->txn_pdus;
		s->stats.edus_sent += d->txn_edus;
		if (d->txn_pdus > 0 && s->persist.pdus_delivered != NULL)
			s->persist.pdus_delivered(s->persist.ctx, d->name, d->txn_pdus);
		q_pop(&d->pdus, d->txn_pdus);
		q_pop(&d->edus, d->txn_edus);
		txn_clear(d);
		d->failures = 0;
		d->next_try_ms = 0;
	} else {
		if (!refused)
			s->stats.txns_failed++;
		d->failures++;
		long delay = fed_backoff_ms(d->failures, s->backoff_base_ms, s->backoff_max_ms, next_rnd(s));
		d->next_try_ms = mono_ms() + delay;
		if (result != HTTPC_OK)
			d->target_until_ms = 0; /* resolve again: the server may have moved */
		if (result != HTTPC_OK)
			log_info("federation: txn %s to %s failed (%s), retry in %ld ms", d->txn_id, d->name,
				 resp->err, delay);
		else
			log_info("federation: txn %s to %s failed (HTTP %ld), retry in %ld ms", d->txn_id, d->name,
				 resp->status, delay);
	}
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

/* Called with the lock held, d->in_flight set and d->target known.  On
 * failure schedules a retry. */
static void start_txn(struct fed_sender *s, struct dest *d)
{
	int ok = d->body != NULL || build_txn(s, d) == 0;
	struct fed_route route;
	char path[128];
	if (ok) {
		snprintf(path, sizeof(path), "/_matrix/federation/v1/send/%s", d->txn_id);
		ok = fed_resolver_route(s->resolver, d->name, &d->target, path, &route) == 0;
	}
	if (ok) {
		const char *headers[] = { route.host_header, d->auth, "Content-Type: application/json", NULL };
		struct httpc_request req = {
			.method = "PUT", .headers = headers, .body = d->body, .body_len = d->body_len,
			.timeout_ms = s->timeout_ms, .max_body = 1024 * 1024,
		};
		fed_route_apply(&route, &req);
		ok = httpc_multi_add(s->multi, &req, on_done, d) == 0;
	}
	if (!ok) {
		d->in_flight = 0;
		s->stats.txns_failed++;
		d->failures++;
		d->next_try_ms = mono_ms() + fed_backoff_ms(d->failures, s->backoff_base_ms, s->backoff_max_ms,
							     next_rnd(s));
		pthread_cond_broadcast(&s->idle);
	}
}

/* IP literals and names with a port resolve without any lookup, so the
 * send loop does them itself rather than queue behind a slow discovery.
 * 1 when d->target is now set. */
static int resolve_inline(struct fed_sender *s, struct dest *d, int64_t now)
{
	struct server_name sn;
	struct fed_target t;
	char err[128];
	if (server_name_parse(d->name, &sn) != 0 || (sn.kind == SERVER_HOST_DNS && sn.port == 0))
		return 0;
	if (fed_resolver_resolve(s->resolver, d->name, &t, err, sizeof(err)) != 0)
		return 0;
	d->target = t;
	d->target_until_ms = now + TARGET_CACHE_MS;
	return 1;
}

/* The resolver thread: takes destinations marked resolving, one at a
 * time, with the lock dropped during discovery. */
static void *resolve_loop(void *arg)
{
	struct fed_sender *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		struct dest *d = s->dests;
		while (d != NULL && !d->resolving)
			d = d->next;
		if (d == NULL) {
			pthread_cond_wait(&s->resolve_cv, &s->lock);
			continue;
		}
		char name[256], err[256];
		struct fed_target t;
		snprintf(name, sizeof(name), "%s", d->name);
		pthread_mutex_unlock(&s->lock);
		int rc = fed_resolver_resolve(s->resolver, name, &t, err, sizeof(err));
		pthread_mutex_lock(&s->lock);
		if (rc == 0) {
			d->target = t;
			d->target_until_ms = mono_ms() + TARGET_CACHE_MS;
		} else {
			log_info("federation: cannot resolve %s: %s", name, err);
			s->stats.txns_failed++;
			d->failures++;
			d->next_try_ms = mono_ms() + fed_backoff_ms(d->failures, s->backoff_base_ms,
								     s->backoff_max_ms, next_rnd(s));
		}
		d->resolving = 0;
		pthread_mutex_unlock(&s->lock);
		httpc_multi_wakeup(s->multi);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void *run(void *arg)
{
	struct fed_sender *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		int64_t now = mono_ms();
		int64_t wait = 1000;
		for (struct dest *d = s->dests; d != NULL; d = d->next) {
			if (d->in_flight || d->resolving || !dest_busy(d))
				continue;
			if (d->next_try_ms > now) {
				if (d->next_try_ms - now < wait)
					wait = d->next_try_ms - now;
				continue;
			}
			if (d->body == NULL && d->pdus.n == 0 && d->spilled && refill(s, d) != 0) {
				d->next_try_ms = now + s->backoff_base_ms;
				continue;
			}
			if (!d->body && d->pdus.n == 0 && d->edus.n == 0) {
				pthread_cond_broadcast(&s->idle); /* the store had nothing after all */
				continue;
			}
			if (d->target_until_ms <= now && !resolve_inline(s, d, now)) {
				d->resolving = 1;
				pthread_cond_signal(&s->resolve_cv);
				continue;
			}
			d->in_flight = 1;
			start_txn(s, d);
		}
		pthread_mutex_unlock(&s->lock);
		httpc_multi_run(s->multi, (int)wait);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct fed_sender *fed_sender_new(const struct fed_sender_options *opt)
{
	struct fed_sender *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->origin = strdup(opt->origin ? opt->origin : "");
	s->key = opt->key;
	s->resolver = opt->resolver;
	s->max_edus = opt->max_edus ? opt->max_edus : 1000;
	s->max_pdus = opt->max_pdus ? opt->max_pdus : 1000;
	s->max_rejections = opt->max_rejections ? opt->max_rejections : 3;
	s->backoff_base_ms = opt->backoff_base_ms > 0 ? opt->backoff_base_ms : 1000;
	s->backoff_max_ms = opt->backoff_max_ms > 0 ? opt->backoff_max_ms : 3600 * 1000L;
	s->timeout_ms = opt->request_timeout_ms > 0 ? opt->request_timeout_ms : 60000;
	s->persist = opt->persist;
	s->started_ms = wall_ms();
	if (scop_random_bytes(&s->rnd, sizeof(s->rnd)) != 0 || s->rnd == 0)
		s->rnd = 0x9e3779b9u;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	pthread_cond_init(&s->resolve_cv, NULL);
	s->multi = httpc_multi_new();
	if (s->origin == NULL || s->multi == NULL) {
		fed_sender_free(s);
		return NULL;
	}
	return s;
}

int fed_sender_start(struct fed_sender *s)
{
	if (s->started)
		return 0;
	if (pthread_create(&s->resolver_thread, NULL, resolve_loop, s) != 0)
		return -1;
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		pthread_mutex_lock(&s->lock);
		s->stop = 1;
		pthread_cond_broadcast(&s->resolve_cv);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->resolver_thread, NULL);
		s->stop = 0;
		return -1;
	}
	s->started = 1;
	return 0;
}

void fed_sender_free(struct fed_sender *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_broadcast(&s->resolve_cv);
	pthread_mutex_unlock(&s->lock);
	if (s->started) {
		httpc_multi_wakeup(s->multi);
		pthread_join(s->thread, NULL);
		/* Waits for a discovery under way (bounded by its timeouts). */
		pthread_join(s->resolver_thread, NULL);
	}
	httpc_multi_free(s->multi); /* on_done for what was in flight */
	while (s->dests != NULL) {
		struct dest *d = s->dests;
		s->dests = d->next;
		dest_free(d);
	}
	free(s->origin);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->resolve_cv);
	free(s);
}

int fed_sender_wait_idle(struct fed_sender *s, long timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	for (;;) {
		int busy = 0;
		for (struct dest *d = s->dests; d != NULL && !busy; d = d->next)
			busy = dest_busy(d);
		if (!busy)
			break;
		if (pthread_cond_timedwait(&s->idle, &s->lock, &until) != 0) {
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void fed_sender_get_stats(struct fed_sender *s, struct fed_sender_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
