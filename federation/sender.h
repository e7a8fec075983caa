/* Outbound federation: a queue per destination server, drained by one
 * thread that drives every transfer through curl multi (no thread per
 * destination; a second thread runs server discovery, which may block).  Each destination has at most one transaction in flight,
 * PUT /_matrix/federation/v1/send/{txnId} with up to 50 PDUs and 100 EDUs,
 * signed with X-Matrix.  A failed transaction (transport error, timeout,
 * 5xx, 429, and 401, which may only mean the receiver could not fetch our
 * keys yet) is retried unchanged (same txn id and body, so the receiver can
 * deduplicate) after an exponential backoff with jitter; a success resets
 * the backoff.  Any other 4xx says the receiver will never take that
 * body: after max_rejections such answers the transaction is dropped
 * (logged, counted, and its PDUs cleared from the store like delivered
 * ones) so one bad PDU cannot block a destination forever.
 *
 * Queues are bounded for EDUs (the oldest are dropped first: typing and
 * presence go stale anyway).  PDUs are dropped only as above.  The
 * persistence hook lets a store keep them for catch-up.  With a pdus_load
 * hook the store is the queue of record: queued PDUs are written there and
 * read back in store order, at most max_pdus per destination at a time,
 * as the memory queue drains, so a destination that is down for days
 * costs no memory beyond that cap, and PDUs the store got by another way
 * (in the same transaction as the event) join through fed_sender_resume().
 *
 * Thread-safety: the queue functions may be called from any thread.
 * Options are copied, except key and resolver, which must outlive the
 * sender.
 */
#ifndef SCOP_FED_SENDER_H
#define SCOP_FED_SENDER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/crypto.h"
#include "federation/resolver.h"

#define FED_TXN_MAX_PDUS 50
#define FED_TXN_MAX_EDUS 100

/* Called with the sender's lock held: keep them short, and never call back
 * into the sender. */
struct fed_sender_persist {
	/* A PDU was queued for dest (the JSON text of the PDU). */
	void (*pdu_queued)(void *ctx, const char *dest, const char *pdu_json);
	/* The n oldest queued PDUs of dest were delivered (or dropped after
	 * a 4xx): forget them. */
	void (*pdus_delivered)(void *ctx, const char *dest, size_t n);
	void *ctx;
	/* Optional: the (at most) limit oldest PDUs the store keeps for dest,
	 * as *pdus, a malloc'd array of *n malloc'd JSON texts the sender
	 * frees.  0, or -1 on a store error (retried later).  Without it the
	 * memory queue is unbounded. */
	int (*pdus_load)(void *ctx, const char *dest, size_t limit, char ***pdus, size_t *n);
};

struct fed_sender_options {
	const char *origin;                 /* our server name */
	const struct scop_ed25519 *key;
	struct fed_resolver *resolver;
	size_t max_edus;                    /* queued per destination; 1000 when 0 */
	size_t max_pdus;                    /* in memory per destination, with pdus_load; 1000 when 0 */
	unsigned max_rejections;            /* 4xx answers before a txn is dropped; 3 when 0 */
	long backoff_base_ms;               /* first retry delay; 1000 when 0 */
	long backoff_max_ms;                /* cap; 1 h when 0 */
	long request_timeout_ms;            /* per transaction; 60000 when 0 */
	struct fed_sender_persist persist;
};

struct fed_sender_stats {
	uint64_t txns_sent;      /* answered 200 */
	uint64_t txns_failed;    /* attempts that failed (each retry counts) */
	uint64_t txns_rejected;  /* of those, answered 4xx (not 401 or 429) */
	uint64_t txns_dropped;   /* given up after max_rejections */
	uint64_t pdus_dropped;   /* PDUs in dropped transactions */
	uint64_t pdus_sent;
	uint64_t edus_sent;
	uint64_t edus_dropped;
};

struct fed_sender;

/* Creates the sender; NULL on failure.  Items may be queued before
 * fed_sender_start() (e.g. PDUs persisted before a restart). */
struct fed_sender *fed_sender_new(const struct fed_sender_options *opt);
/* Starts the sending thread.  0, or -1 when it cannot be created. */
int fed_sender_start(struct fed_sender *s);
/* Stops the thread (transfers in flight are abandoned; they are sent again
 * by whoever re-queues persisted PDUs) and frees everything. */
void fed_sender_free(struct fed_sender *s);

/* Queue a copy of pdu / edu for dest.  0, or -1 when dest is not a valid
 * server name, is us, or memory runs out. */
int fed_sender_queue_pdu(struct fed_sender *s, const char *dest, json_t *pdu);
int fed_sender_queue_edu(struct fed_sender *s, const char *dest, json_t *edu);

/* The store holds PDUs for dest that are not queued in memory (e.g. after
 * a restart): the sender reads them through pdus_load, in order, before
 * anything queued later.  0, or -1 (bad name, no pdus_load, no memory). */
int fed_sender_resume(struct fed_sender *s, const char *dest);

/* How many PDUs of dest are held in memory (tests and diagnostics). */
size_t fed_sender_queued_pdus(struct fed_sender *s, const char *dest);

/* Waits until every queue is empty and nothing is in flight: 0, or -1
 * after timeout_ms. */
int fed_sender_wait_idle(struct fed_sender *s, long timeout_ms);

void fed_sender_get_stats(struct fed_sender *s, struct fed_sender_stats *out);

/* The delay before retry number `failures` (1 = after the first failure):
 * base * 2^(failures-1), capped at max, then scaled into [1/2, 1] of that
 * by rnd (any 32 random bits).  Pure. */
long fed_backoff_ms(unsigned failures, long base, long max, uint32_t rnd);

#endif
