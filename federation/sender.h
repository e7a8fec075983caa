/* Outbound federation: a queue per destination server, drained by one
 * thread that drives every transfer through curl multi (no thread per
 * destination; a second thread runs server discovery, which may block).  Each destination has at most one transaction in flight,
 * PUT /_matrix/federation/v1/send/{txnId} with up to 50 PDUs and 100 EDUs,
 * signed with X-Matrix.  A failed transaction is retried unchanged (same
 * txn id and body, so the receiver can deduplicate) after an exponential
 * backoff with jitter; a success resets the backoff.
 *
 * Queues are bounded for EDUs (the oldest are dropped first: typing and
 * presence go stale anyway); PDUs are never dropped, and the persistence
 * hook lets a store keep them for catch-up after a restart (the caller
 * queues them again at start-up).
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
	/* The n oldest queued PDUs of dest were delivered. */
	void (*pdus_delivered)(void *ctx, const char *dest, size_t n);
	void *ctx;
};

struct fed_sender_options {
	const char *origin;                 /* our server name */
	const struct scop_ed25519 *key;
	struct fed_resolver *resolver;
	size_t max_edus;                    /* queued per destination; 1000 when 0 */
	long backoff_base_ms;               /* first retry delay; 1000 when 0 */
	long backoff_max_ms;                /* cap; 1 h when 0 */
	long request_timeout_ms;            /* per transaction; 60000 when 0 */
	struct fed_sender_persist persist;
};

struct fed_sender_stats {
	uint64_t txns_sent;      /* answered 200 */
	uint64_t txns_failed;    /* attempts that failed (each retry counts) */
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

/* Waits until every queue is empty and nothing is in flight: 0, or -1
 * after timeout_ms. */
int fed_sender_wait_idle(struct fed_sender *s, long timeout_ms);

void fed_sender_get_stats(struct fed_sender *s, struct fed_sender_stats *out);

/* The delay before retry number `failures` (1 = after the first failure):
 * base * 2^(failures-1), capped at max, then scaled into [1/2, 1] of that
 * by rnd (any 32 random bits).  Pure. */
long fed_backoff_ms(unsigned failures, long base, long max, uint32_t rnd);

#endif
