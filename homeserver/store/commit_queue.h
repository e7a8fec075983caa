/* Group commit: writers that want to commit at the same moment share one
 * transaction, so one fsync (SQLite) or one commit round trip (PostgreSQL)
 * acknowledges all of them.  Internal to homeserver/store/ (store_rooms.h
 * hands tickets and chains on to rooms.c).
 *
 * Submit and wait: commit_queue_submit() queues a work item and returns at
 * once; its place in the queue fixes its order among all items.
 * commit_queue_wait() returns the item's final code.  commit_queue_run()
 * is the two in one.  Whoever waits while no batch is running becomes the
 * leader: it takes the oldest items queued (at most max_batch, its own
 * among them or not), borrows a connection, runs BEGIN, each item's work
 * under its own SAVEPOINT, and COMMIT; then it marks each of them done and
 * wakes a waiter to lead the following batch.  While one batch commits,
 * the next one gathers.  An item submitted but not yet waited for may be
 * carried by another waiter's batch.
 *
 * Contract
 * - An item's final code is STORE_OK only once it is committed and durable
 *   (the backend's commit returned), never earlier.  Any other code means
 *   nothing of the item is stored.
 * - One item's failure rolls back only that item (its savepoint).  If the
 *   transaction itself fails (BEGIN, a savepoint command or COMMIT), every
 *   item of the batch fails: those whose work had succeeded get
 *   STORE_ERROR, the others keep their own code.
 * - Items are applied in queue order and batches commit one after another,
 *   so values the database hands out in the work (identity columns, stream
 *   positions) become visible in increasing order, and when an item is done
 *   every item queued before it is done too.
 * - Chains: items that build on each other (an event citing the one before
 *   it) share a struct commit_chain and carry the chain's epoch their data
 *   was built at.  When an item of the chain fails (its work, or its batch)
 *   the chain's epoch moves on, and every later item still carrying the old
 *   epoch fails with STORE_ERROR without its work being run, in that batch
 *   or any later one.  The caller sees the new epoch through
 *   commit_chain_epoch() and must rebuild its view of the data before it
 *   submits with it.
 * - The work function runs on whichever thread leads, with the queue's
 *   transaction open on c.  It must only use c and its arg, must not commit
 *   or roll back itself, and should reset its outputs first: a batch may
 *   run an item's work and then fail at COMMIT.  fn and arg must be ready
 *   when the item is submitted, and the caller keeps arg and the ticket
 *   alive until commit_queue_wait() returns.
 * - Every submitted ticket must be waited for exactly once.
 * - A batch of one item runs without a savepoint (plain BEGIN..COMMIT).
 * - Thread-safe.  No global state.
 */
#ifndef SCOP_STORE_COMMIT_QUEUE_H
#define SCOP_STORE_COMMIT_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "homeserver/store/db.h"
#include "homeserver/store/store.h"

struct commit_queue;

/* One item's work inside the open transaction.  Returns STORE_OK or the
 * code the item fails with. */
typedef enum store_rc (*commit_work_fn)(struct db_conn *c, void *arg);
/* Borrowing a connection for one batch, and giving it back (the put side
 * may roll back whatever is left open).  get returns NULL on failure: the
 * batch then fails with STORE_ERROR. */
typedef struct db_conn *(*commit_conn_get_fn)(void *ctx);
typedef void (*commit_conn_put_fn)(void *ctx, struct db_conn *c);

/* Items that build on each other; zero-initialise it.  The queue changes
 * epoch atomically; read it with commit_chain_epoch(). */
struct commit_chain {
	uint64_t epoch;
};
uint64_t commit_chain_epoch(const struct commit_chain *ch);

/* One queued item.  Caller-owned storage; the fields are the queue's. */
struct commit_ticket {
	struct commit_ticket *next;
	commit_work_fn fn;
	void *arg;
	struct commit_chain *chain;
	uint64_t epoch;
	enum store_rc rc;
	int done;
	int waiting;
	pthread_cond_t cond;
};

/* max_batch: most items per transaction (0: a default of 64).  NULL when
 * out of memory. */
struct commit_queue *commit_queue_new(commit_conn_get_fn get, commit_conn_put_fn put,
				      void *ctx, size_t max_batch);
/* No call may be in progress.  NULL is fine. */
void commit_queue_free(struct commit_queue *q);

/* Queues fn(c, arg) and returns at once.  chain may be NULL; epoch is the
 * chain's epoch the item was built at. */
void commit_queue_submit(struct commit_queue *q, struct commit_ticket *t, commit_work_fn fn,
			 void *arg, struct commit_chain *chain, uint64_t epoch);
/* Blocks until t's fate is final (leading batches as needed), returns
 * its code. */
enum store_rc commit_queue_wait(struct commit_queue *q, struct commit_ticket *t);
/* Without blocking: 1 (and *rc) when t's fate is final, else 0.  Any
 * thread may ask, until the owner's commit_queue_wait() returns. */
int commit_queue_poll(struct commit_queue *q, struct commit_ticket *t, enum store_rc *rc);
/* Runs fn(c, arg) in a shared transaction and returns its final code. */
enum store_rc commit_queue_run(struct commit_queue *q, commit_work_fn fn, void *arg);

struct commit_queue_stats {
	uint64_t batches;   /* transactions run */
	uint64_t items;     /* items they carried */
	size_t largest;     /* most items in one batch */
	size_t waiting;     /* queued now, not yet taken by a leader */
	size_t running;     /* in the batch being run now */
};
void commit_queue_stats(struct commit_queue *q, struct commit_queue_stats *out);

#endif
