/* Group commit: writers that want to commit at the same moment share one
 * transaction, so one fsync (SQLite) or one commit round trip (PostgreSQL)
 * acknowledges all of them.  Internal to homeserver/store/.
 *
 * Leader/follower: a writer queues its work item and waits.  The first
 * writer to find the queue idle becomes the leader: it takes every item
 * queued so far (itself included, at most max_batch), borrows a
 * connection, runs BEGIN, each item's work under its own SAVEPOINT, and
 * COMMIT; then it hands each waiter its result and wakes the next waiter
 * in line to lead the following batch.  While one batch commits, the next
 * one gathers.
 *
 * Contract
 * - commit_queue_run() returns only when its item's fate is final:
 *   STORE_OK means committed and durable (the backend's commit returned),
 *   never earlier.  Any other code means nothing of the item is stored.
 * - One item's failure rolls back only that item (its savepoint).  If the
 *   transaction itself fails (BEGIN, a savepoint command or COMMIT), every
 *   item of the batch fails: those whose work had succeeded get
 *   STORE_ERROR, the others keep their own code.
 * - Items are applied in queue order and batches commit one after another,
 *   so values the database hands out in the work (identity columns, stream
 *   positions) become visible in increasing order.
 * - The work function runs on whichever thread leads, with the queue's
 *   transaction open on c.  It must only use c and its arg (the waiting
 *   caller keeps arg alive), must not commit or roll back itself, and
 *   should reset its outputs first: a batch may run an item's work and then
 *   fail at COMMIT.
 * - A batch of one item runs without a savepoint (plain BEGIN..COMMIT).
 * - Thread-safe.  No global state.
 */
#ifndef SCOP_STORE_COMMIT_QUEUE_H
#define SCOP_STORE_COMMIT_QUEUE_H

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

/* max_batch: most items per transaction (0: a default of 64).  NULL when
 * out of memory. */
struct commit_queue *commit_queue_new(commit_conn_get_fn get, commit_conn_put_fn put,
				      void *ctx, size_t max_batch);
/* No call may be in progress.  NULL is fine. */
void commit_queue_free(struct commit_queue *q);

/* Runs fn(c, arg) in a shared transaction and returns its final code. */
enum store_rc commit_queue_run(struct commit_queue *q, commit_work_fn fn, void *arg);

struct commit_queue_stats {
	uint64_t batches;   /* transactions run */
	uint64_t items;     /* items they carried */
	size_t largest;     /* most items in one batch */
	size_t waiting;     /* queued now, not yet taken by a leader */
};
void commit_queue_stats(struct commit_queue *q, struct commit_queue_stats *out);

#endif
