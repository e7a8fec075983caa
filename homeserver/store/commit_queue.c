/* Group commit.  See commit_queue.h. */
#include "homeserver/store/commit_queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/log.h"

#define DEFAULT_MAX_BATCH 64

/* Lives on the waiting caller's stack until its done is set. */
struct item {
	struct item *next;
	commit_work_fn fn;
	void *arg;
	enum store_rc rc;
	int done;
	pthread_cond_t cond;
};

struct commit_queue {
	pthread_mutex_t mu;
	struct item *head, *tail; /* queued, not yet taken by a leader */
	size_t waiting;
	int busy;                 /* a leader is running a batch */
	size_t max_batch;
	commit_conn_get_fn get;
	commit_conn_put_fn put;
	void *ctx;
	uint64_t batches, items;
	size_t largest;
};

struct commit_queue *commit_queue_new(commit_conn_get_fn get, commit_conn_put_fn put,
				      void *ctx, size_t max_batch)
{
	struct commit_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	pthread_mutex_init(&q->mu, NULL);
	q->get = get;
	q->put = put;
	q->ctx = ctx;
	q->max_batch = max_batch ? max_batch : DEFAULT_MAX_BATCH;
	return q;
}

void commit_queue_free(struct commit_queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->mu);
	free(q);
}

/* Marks every item that had succeeded as failed: its work is gone. */
static void fail_succeeded(struct item *batch)
{
	for (struct item *it = batch; it; it = it->next)
		if (it->rc == STORE_OK)
			it->rc = STORE_ERROR;
}

static void run_batch(struct commit_queue *q, struct item *batch, size_t n)
{
	struct db_conn *c = q->get(q->ctx);
	int dead = 0;

	if (!c) {
		for (struct item *it = batch; it; it = it->next)
			it->rc = STORE_ERROR;
		return;
	}
	if (db_begin(c) != STORE_OK) {
		for (struct item *it = batch; it; it = it->next)
			it->rc = STORE_ERROR;
		q->put(q->ctx, c);
		return;
	}
	if (n == 1) {
		/* Alone: the transaction is the item's own. */
		batch->rc = batch->fn(c, batch->arg);
		if (batch->rc == STORE_OK)
			batch->rc = db_commit(c);
		else
			db_rollback(c);
		q->put(q->ctx, c);
		return;
	}
	for (struct item *it = batch; it; it = it->next) {
		if (dead) {
			it->rc = STORE_ERROR;
			continue;
		}
		if (db_query(c, "SAVEPOINT cq_item", NULL, 0, NULL) != STORE_OK) {
			it->rc = STORE_ERROR;
			dead = 1;
			continue;
		}
		it->rc = it->fn(c, it->arg);
		/* Savepoints are not released: the next one of the same name
		 * nests inside, ROLLBACK TO finds the newest, and COMMIT ends
		 * them all.  That saves a round trip per item on PostgreSQL
		 * (released or not, each writing savepoint takes a subxid). */
		if (it->rc != STORE_OK &&
		    db_query(c, "ROLLBACK TO SAVEPOINT cq_item", NULL, 0, NULL) != STORE_OK)
			dead = 1; /* e.g. SQLite already rolled the whole transaction back */
	}
	if (dead) {
		log_error("commit queue: a batch of %zu failed as a whole", n);
		db_rollback(c);
		fail_succeeded(batch);
	} else if (db_commit(c) != STORE_OK) {
		log_error("commit queue: COMMIT of a batch of %zu failed", n);
		fail_succeeded(batch);
	}
	q->put(q->ctx, c);
}

enum store_rc commit_queue_run(struct commit_queue *q, commit_work_fn fn, void *arg)
{
	struct item me = { .fn = fn, .arg = arg, .rc = STORE_ERROR };
	struct item *batch, *last;
	size_t n;

	pthread_cond_init(&me.cond, NULL);
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = &me;
	else
		q->head = &me;
	q->tail = &me;
	q->waiting++;
	/* A follower waits for its result; the head of the line leads as soon
	 * as no batch is running (the previous leader wakes it). */
	while (!me.done && (q->busy || q->head != &me))
		pthread_cond_wait(&me.cond, &q->mu);
	if (me.done)
		goto out;

	q->busy = 1;
	batch = last = q->head;
	for (n = 1; n < q->max_batch && last->next; n++)
		last = last->next;
	q->head = last->next;
	if (!q->head)
		q->tail = NULL;
	last->next = NULL;
	q->waiting -= n;
	pthread_mutex_unlock(&q->mu);

	run_batch(q, batch, n);

	pthread_mutex_lock(&q->mu);
	q->batches++;
	q->items += n;
	if (n > q->largest)
		q->largest = n;
	while (batch) {
		struct item *it = batch;
		batch = it->next;
		it->done = 1;
		if (it != &me)
			pthread_cond_signal(&it->cond);
	}
	q->busy = 0;
	if (q->head)
		pthread_cond_signal(&q->head->cond);
out:
	pthread_mutex_unlock(&q->mu);
	pthread_cond_destroy(&me.cond);
	return me.rc;
}

void commit_queue_stats(struct commit_queue *q, struct commit_queue_stats *out)
{
	pthread_mutex_lock(&q->mu);
	out->batches = q->batches;
	out->items = q->items;
	out->largest = q->largest;
	out->waiting = q->waiting;
	pthread_mutex_unlock(&q->mu);
}
