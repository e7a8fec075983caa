/* Group commit.  See commit_queue.h. */
#include "homeserver/store/commit_queue.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define DEFAULT_MAX_BATCH 64

struct commit_queue {
	pthread_mutex_t mu;
	struct commit_ticket *head, *tail; /* queued, not yet taken by a leader */
	size_t waiting;
	size_t running;           /* items of the batch being run */
	int busy;                 /* a leader is running a batch */
	size_t max_batch;
	commit_conn_get_fn get;
	commit_conn_put_fn put;
	void *ctx;
	uint64_t batches, items;
	size_t largest;
};

uint64_t commit_chain_epoch(const struct commit_chain *ch)
{
	return __atomic_load_n(&ch->epoch, __ATOMIC_SEQ_CST);
}

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

/* Built on an item that has failed since. */
static int stale(const struct commit_ticket *t)
{
	return t->chain && commit_chain_epoch(t->chain) != t->epoch;
}

/* t failed: its chain's later items must fail too.  Only the first failure
 * of an epoch moves it on, so a stale item never spoils a newer epoch. */
static void poison(struct commit_ticket *t)
{
	uint64_t e = t->epoch;
	if (t->chain)
		__atomic_compare_exchange_n(&t->chain->epoch, &e, e + 1, 0, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
}

static void fail_all(struct commit_ticket *batch)
{
	for (struct commit_ticket *t = batch; t; t = t->next)
		t->rc = STORE_ERROR;
}

/* Marks every item that had succeeded as failed: its work is gone. */
static void fail_succeeded(struct commit_ticket *batch)
{
	for (struct commit_ticket *t = batch; t; t = t->next)
		if (t->rc == STORE_OK)
			t->rc = STORE_ERROR;
}

/* Runs the items' work in one transaction; leaves each one's final code. */
static void run_items(struct db_conn *c, struct commit_ticket *batch, size_t n)
{
	int dead = 0;

	if (n == 1) {
		/* Alone: the transaction is the item's own. */
		batch->rc = stale(batch) ? STORE_ERROR : batch->fn(c, batch->arg);
		if (batch->rc == STORE_OK)
			batch->rc = db_commit(c);
		else
			db_rollback(c);
		return;
	}
	for (struct commit_ticket *t = batch; t; t = t->next) {
		if (dead || stale(t)) {
			t->rc = STORE_ERROR;
			continue;
		}
		if (db_query(c, "SAVEPOINT cq_item", NULL, 0, NULL) != STORE_OK) {
			t->rc = STORE_ERROR;
			dead = 1;
			continue;
		}
		t->rc = t->fn(c, t->arg);
		if (t->rc == STORE_OK)
			continue;
		poison(t); /* before the next item of its chain runs */
		/* Savepoints are not released: the next one of the same name
		 * nests inside, ROLLBACK TO finds the newest, and COMMIT ends
		 * them all.  That saves a round trip per item on PostgreSQL
		 * (released or not, each writing savepoint takes a subxid). */
		if (db_query(c, "ROLLBACK TO SAVEPOINT cq_item", NULL, 0, NULL) != STORE_OK)
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
}

static void run_batch(struct commit_queue *q, struct commit_ticket *batch, size_t n)
{
	struct db_conn *c = q->get(q->ctx);

	if (!c) {
		fail_all(batch);
	} else {
		if (db_begin(c) != STORE_OK)
			fail_all(batch);
		else
			run_items(c, batch, n);
		q->put(q->ctx, c);
	}
	for (struct commit_ticket *t = batch; t; t = t->next)
		if (t->rc != STORE_OK)
			poison(t);
}

void commit_queue_submit(struct commit_queue *q, struct commit_ticket *t, commit_work_fn fn,
			 void *arg, struct commit_chain *chain, uint64_t epoch)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	t->chain = chain;
	t->epoch = epoch;
	t->rc = STORE_ERROR;
	pthread_cond_init(&t->cond, NULL);
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	q->waiting++;
	pthread_mutex_unlock(&q->mu);
}

/* Runs one batch of the oldest items.  Called and returns with q->mu held,
 * no batch running and the queue not empty. */
static void lead(struct commit_queue *q)
{
	struct commit_ticket *batch, *last;
	size_t n;

	q->busy = 1;
	batch = last = q->head;
	for (n = 1; n < q->max_batch && last->next; n++)
		last = last->next;
	q->head = last->next;
	if (!q->head)
		q->tail = NULL;
	last->next = NULL;
	q->waiting -= n;
	q->running = n;
	pthread_mutex_unlock(&q->mu);

	run_batch(q, batch, n);

	pthread_mutex_lock(&q->mu);
	q->batches++;
	q->items += n;
	if (n > q->largest)
		q->largest = n;
	while (batch) {
		struct commit_ticket *t = batch;
		batch = t->next;
		t->next = NULL;
		t->done = 1;
		if (t->waiting)
			pthread_cond_signal(&t->cond);
	}
	q->busy = 0;
	q->running = 0;
}

enum store_rc commit_queue_wait(struct commit_queue *q, struct commit_ticket *t)
{
	enum store_rc rc;

	pthread_mutex_lock(&q->mu);
	t->waiting = 1;
	while (!t->done) {
		if (q->busy)
			pthread_cond_wait(&t->cond, &q->mu);
		else
			lead(q);
	}
	t->waiting = 0;
	/* Whoever ends a batch wakes the next waiter in line to lead the
	 * following one (a waiter that came meanwhile may have led already). */
	if (!q->busy)
		for (struct commit_ticket *w = q->head; w; w = w->next)
			if (w->waiting) {
				pthread_cond_signal(&w->cond);
				break;
			}
	rc = t->rc;
	pthread_mutex_unlock(&q->mu);
	pthread_cond_destroy(&t->cond);
	return rc;
}

int commit_queue_poll(struct commit_queue *q, struct commit_ticket *t, enum store_rc *rc)
{
	int done;
	pthread_mutex_lock(&q->mu);
	done = t->done;
	if (done && rc)
		*rc = t->rc;
	pthread_mutex_unlock(&q->mu);
	return done;
}

enum store_rc commit_queue_run(struct commit_queue *q, commit_work_fn fn, void *arg)
{
	struct commit_ticket t;
	commit_queue_submit(q, &t, fn, arg, NULL, 0);
	return commit_queue_wait(q, &t);
}

void commit_queue_stats(struct commit_queue *q, struct commit_queue_stats *out)
{
	pthread_mutex_lock(&q->mu);
	out->batches = q->batches;
	out->items = q->items;
	out->largest = q->largest;
	out->waiting = q->waiting;
	out->running = q->running;
	pthread_mutex_unlock(&q->mu);
}
