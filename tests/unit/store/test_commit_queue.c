/* Unit tests for homeserver/store/commit_queue.c on SQLite (a temp file)
 * and PostgreSQL (a private database through SCOP_TEST_PG_DSN, skipped
 * when it is unset unless SCOP_REQUIRE_PG=1).
 *
 * Batches are made deterministic without timing: the first writer leads a
 * batch of its own and its work waits until the other writers are queued,
 * so they must all go into the next batch together.  Submit/wait and
 * chains are driven from one thread: the wait for the last item leads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <pthread.h>

#include "common/log.h"
#include "homeserver/store/commit_queue.h"
#include "homeserver/store/db.h"
#include "tests/unit/pgtest.h"

#define MAXJOBS 16

struct fx;

struct job {
	struct fx *f;
	char k[32];
	const char *ref;     /* parent key; a missing one fails only at COMMIT */
	size_t wait_for;     /* hold the batch until this many are queued */
	int64_t id;
	int64_t seq;         /* order the work ran in */
	enum store_rc rc;
	pthread_t th;
};

struct fx {
	enum db_kind kind;
	struct testdb db;
	struct db_conn *wc;  /* the leaders' connection */
	struct db_conn *rc;  /* for checks */
	struct commit_queue *q;
	pthread_mutex_t seq_lock;
	int64_t seq;
	int gets;
};

static const char *schema_sqlite =
	"CREATE TABLE parent (k TEXT PRIMARY KEY);"
	"CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL UNIQUE,"
	" ref TEXT REFERENCES parent (k) DEFERRABLE INITIALLY DEFERRED);"
	"INSERT INTO parent (k) VALUES ('p');";
static const char *schema_pg =
	"CREATE TABLE parent (k TEXT PRIMARY KEY);"
	"CREATE TABLE t (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" k TEXT NOT NULL UNIQUE,"
	" ref TEXT REFERENCES parent (k) DEFERRABLE INITIALLY DEFERRED);"
	"INSERT INTO parent (k) VALUES ('p');";

static struct db_conn *get_conn(void *ctx)
{
	struct fx *f = ctx;
	pthread_mutex_lock(&f->seq_lock);
	f->gets++;
	pthread_mutex_unlock(&f->seq_lock);
	return f->wc; /* only ever one leader at a time */
}

static void put_conn(void *ctx, struct db_conn *c)
{
	(void)ctx;
	db_rollback(c); /* a no-op after COMMIT */
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	commit_queue_free(f->q);
	db_disconnect(f->wc);
	db_disconnect(f->rc);
	testdb_drop(&f->db);
	pthread_mutex_destroy(&f->seq_lock);
	free(f);
	*state = NULL;
	return 0;
}

static int setup(void **state, enum db_kind kind)
{
	char err[256] = "";
	struct fx *f = calloc(1, sizeof(*f));
	int rc;
	if (!f)
		return -1;
	*state = f;
	f->kind = kind;
	pthread_mutex_init(&f->seq_lock, NULL);
	rc = testdb_create(&f->db, kind == DB_POSTGRES, "cq");
	if (rc > 0)
		return 0;
	if (rc < 0)
		goto fail;
	if (db_connect(kind, f->db.conninfo, &f->wc, err, sizeof(err)) != STORE_OK ||
	    db_connect(kind, f->db.conninfo, &f->rc, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "# connect: %s\n", err);
		goto fail;
	}
	if (db_exec_script(f->wc, kind == DB_SQLITE ? schema_sqlite : schema_pg) != STORE_OK)
		goto fail;
	if (!(f->q = commit_queue_new(get_conn, put_conn, f, 0)))
		goto fail;
	return 0;
fail:
	teardown(state);
	return -1;
}

static int setup_sqlite(void **state) { return setup(state, DB_SQLITE); }
static int setup_pg(void **state) { return setup(state, DB_POSTGRES); }

static struct fx *fx(void **state)
{
	struct fx *f = *state;
	if (f->db.skip)
		skip();
	return f;
}

/* A queue with another max_batch, for the tests of batch limits. */
static void requeue(struct fx *f, size_t max_batch)
{
	commit_queue_free(f->q);
	assert_non_null(f->q = commit_queue_new(get_conn, put_conn, f, max_batch));
}

static size_t waiting(struct fx *f)
{
	struct commit_queue_stats s;
	commit_queue_stats(f->q, &s);
	return s.waiting;
}

static enum store_rc work(struct db_conn *c, void *arg)
{
	struct job *j = arg;
	struct db_res r = { 0 };
	enum store_rc rc;

	j->id = 0;
	/* Not a timed wait: it ends when the others have queued (the bound
	 * only keeps a broken queue from hanging the test). */
	for (int i = 0; j->wait_for && waiting(j->f) < j->wait_for && i < 60000; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	pthread_mutex_lock(&j->f->seq_lock);
	j->seq = ++j->f->seq;
	pthread_mutex_unlock(&j->f->seq_lock);
	rc = DBQ(c, &r, "INSERT INTO t (k, ref) VALUES (?, ?) RETURNING id", DB_TEXT(j->k),
		 DB_TEXT(j->ref));
	if (rc == STORE_OK)
		j->id = db_get_int(&r, 0, 0);
	db_res_free(&r);
	return rc;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	j->rc = commit_queue_run(j->f->q, work, j);
	return NULL;
}

static void job_init(struct fx *f, struct job *j, const char *k)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	snprintf(j->k, sizeof(j->k), "%s", k);
	j->rc = STORE_ERROR;
}

/* jobs[i] gets the key <prefix><i>. */
static void jobs_init(struct fx *f, struct job *jobs, size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++) {
		char k[16];
		snprintf(k, sizeof(k), "%s%zu", prefix, i);
		job_init(f, &jobs[i], k);
	}
}

/* jobs[0] leads a batch alone and holds it until jobs[1..n-1] are queued;
 * they then commit as one batch. */
static void run_held(struct fx *f, struct job *jobs, size_t n)
{
	int before;
	pthread_mutex_lock(&f->seq_lock);
	before = f->gets;
	pthread_mutex_unlock(&f->seq_lock);
	jobs[0].wait_for = n - 1;
	assert_int_equal(pthread_create(&jobs[0].th, NULL, job_main, &jobs[0]), 0);
	/* Start the others only once the first leads (it borrowed the
	 * connection, so its item has left the line). */
	for (;;) {
		int gets;
		pthread_mutex_lock(&f->seq_lock);
		gets = f->gets;
		pthread_mutex_unlock(&f->seq_lock);
		if (gets > before)
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	for (size_t i = 1; i < n; i++)
		assert_int_equal(pthread_create(&jobs[i].th, NULL, job_main, &jobs[i]), 0);
	for (size_t i = 0; i < n; i++)
		pthread_join(jobs[i].th, NULL);
}

static int64_t count_rows(struct fx *f, const char *k)
{
	struct db_res r = { 0 };
	int64_t n = -1;
	if (k ? DBQ(f->rc, &r, "SELECT COUNT(*) FROM t WHERE k = ?", DB_TEXT(k)) == STORE_OK
	      : db_query(f->rc, "SELECT COUNT(*) FROM t", NULL, 0, &r) == STORE_OK)
		n = db_get_int(&r, 0, 0);
	db_res_free(&r);
	return n;
}

static void test_single(void **state)
{
	struct fx *f = fx(state);
	struct commit_queue_stats s;
	struct job j;
	job_init(f, &j, "one");
	assert_int_equal(commit_queue_run(f->q, work, &j), STORE_OK);
	assert_true(j.id > 0);
	assert_int_equal(count_rows(f, "one"), 1);
	/* Alone a failure is the item's own code, and nothing is left. */
	job_init(f, &j, "one");
	assert_int_equal(commit_queue_run(f->q, work, &j), STORE_CONFLICT);
	job_init(f, &j, "two");
	j.ref = "missing";
	assert_int_equal(commit_queue_run(f->q, work, &j), STORE_ERROR);
	assert_int_equal(count_rows(f, NULL), 1);
	commit_queue_stats(f->q, &s);
	assert_int_equal(s.batches, 3);
	assert_int_equal(s.items, 3);
	assert_int_equal(s.largest, 1);
	assert_int_equal(s.waiting, 0);
}

static void test_batch(void **state)
{
	struct fx *f = fx(state);
	struct commit_queue_stats s;
	struct job jobs[8];
	const size_t n = 8;
	jobs_init(f, jobs, n, "k");
	run_held(f, jobs, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(jobs[i].rc, STORE_OK);
		assert_int_equal(count_rows(f, jobs[i].k), 1);
		/* Ids in the order the work ran: commit order. */
		for (size_t k = 0; k < n; k++)
			if (jobs[k].seq < jobs[i].seq)
				assert_true(jobs[k].id < jobs[i].id);
	}
	commit_queue_stats(f->q, &s);
	assert_int_equal(s.batches, 2);
	assert_int_equal(s.items, n);
	assert_int_equal(s.largest, n - 1);
	assert_int_equal(s.waiting, 0);
}

static void test_one_fails(void **state)
{
	struct fx *f = fx(state);
	struct commit_queue_stats s;
	struct job jobs[6];
	const size_t n = 6;
	jobs_init(f, jobs, n, "k");
	/* The same key as the first (already committed): a conflict that
	 * must roll back only itself. */
	snprintf(jobs[3].k, sizeof(jobs[3].k), "k0");
	jobs[2].ref = "p";
	run_held(f, jobs, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(jobs[i].rc, i == 3 ? STORE_CONFLICT : STORE_OK);
	assert_int_equal(count_rows(f, NULL), (int64_t)n - 1);
	assert_int_equal(count_rows(f, "k0"), 1);
	commit_queue_stats(f->q, &s);
	assert_int_equal(s.batches, 2);
	assert_int_equal(s.largest, n - 1);
}

static void test_commit_fails(void **state)
{
	struct fx *f = fx(state);
	struct job jobs[5], after;
	const size_t n = 5;
	jobs_init(f, jobs, n, "k");
	/* A deferred foreign key: the work succeeds, COMMIT fails. */
	jobs[2].ref = "missing";
	/* And a duplicate in the same batch keeps its own code. */
	snprintf(jobs[4].k, sizeof(jobs[4].k), "k0");
	run_held(f, jobs, n);
	assert_int_equal(jobs[0].rc, STORE_OK);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(jobs[i].rc, i == 4 ? STORE_CONFLICT : STORE_ERROR);
	assert_int_equal(count_rows(f, NULL), 1);
	/* The queue goes on working. */
	job_init(f, &after, "after");
	assert_int_equal(commit_queue_run(f->q, work, &after), STORE_OK);
	assert_int_equal(count_rows(f, NULL), 2);
}

/* A line longer than max_batch is committed in several batches, each
 * next leader taking at most max_batch. */
static void test_max_batch(void **state)
{
	struct fx *f = fx(state);
	struct commit_queue_stats s;
	struct job jobs[8];
	const size_t n = 8;
	requeue(f, 3);
	jobs_init(f, jobs, n, "k");
	run_held(f, jobs, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(jobs[i].rc, STORE_OK);
	assert_int_equal(count_rows(f, NULL), (int64_t)n);
	commit_queue_stats(f->q, &s);
	assert_int_equal(s.batches, 4); /* 1, then 3 + 3 + 1 */
	assert_int_equal(s.largest, 3);
	assert_int_equal(s.items, n);
}

/* Many writers with no holding: whatever the batching, every item gets its
 * own answer and every success is stored exactly once. */
static void test_many(void **state)
{
	struct fx *f = fx(state);
	struct commit_queue_stats s;
	struct job jobs[MAXJOBS];
	for (size_t i = 0; i < MAXJOBS; i++) {
		char k[16];
		snprintf(k, sizeof(k), "m%zu", i % 12); /* four duplicates */
		job_init(f, &jobs[i], k);
	}
	for (size_t i = 0; i < MAXJOBS; i++)
		assert_int_equal(pthread_create(&jobs[i].th, NULL, job_main, &jobs[i]), 0);
	for (size_t i = 0; i < MAXJOBS; i++)
		pthread_join(jobs[i].th, NULL);
	{
		size_t ok = 0, conflict = 0;
		for (size_t i = 0; i < MAXJOBS; i++) {
			ok += jobs[i].rc == STORE_OK;
			conflict += jobs[i].rc == STORE_CONFLICT;
		}
		assert_int_equal(ok, 12);
		assert_int_equal(conflict, 4);
	}
	assert_int_equal(count_rows(f, NULL), 12);
	commit_queue_stats(f->q, &s);
	assert_int_equal(s.items, MAXJOBS);
	assert_int_equal(s.waiting, 0);
}

/* Submit fixes the order; one wait leads the batch that carries items
 * nobody waits for yet; poll sees them done; waiting for them later
 * answers at once. */
static void test_submit_wait(void **state)
{
	struct fx *f = fx(state);
	struct commit_queue_stats s;
	struct commit_ticket t[3];
	struct job jobs[3];
	enum store_rc rc;
	for (size_t i = 0; i < 3; i++) {
		char k[16];
		snprintf(k, sizeof(k), "s%zu", i);
		job_init(f, &jobs[i], k);
		commit_queue_submit(f->q, &t[i], work, &jobs[i], NULL, 0);
	}
	assert_int_equal(waiting(f), 3);
	assert_int_equal(commit_queue_poll(f->q, &t[0], &rc), 0);
	assert_int_equal(commit_queue_wait(f->q, &t[2]), STORE_OK);
	for (size_t i = 0; i < 2; i++) {
		rc = STORE_ERROR;
		assert_int_equal(commit_queue_poll(f->q, &t[i], &rc), 1);
		assert_int_equal(rc, STORE_OK);
	}
	assert_int_equal(commit_queue_wait(f->q, &t[0]), STORE_OK);
	assert_int_equal(commit_queue_wait(f->q, &t[1]), STORE_OK);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(jobs[i].seq, (int64_t)i + 1);
		assert_int_equal(count_rows(f, jobs[i].k), 1);
	}
	assert_true(jobs[0].id < jobs[1].id && jobs[1].id < jobs[2].id);
	commit_queue_stats(f->q, &s);
	assert_int_equal(s.batches, 1);
	assert_int_equal(s.largest, 3);
	assert_int_equal(s.waiting, 0);
}

/* Submits n jobs from this thread (chained where chain[i]) and waits for
 * them all. */
static void run_chained(struct fx *f, struct job *jobs, size_t n, struct commit_chain *ch,
			const int *chained, const uint64_t *epochs)
{
	struct commit_ticket t[MAXJOBS];
	for (size_t i = 0; i < n; i++)
		commit_queue_submit(f->q, &t[i], work, &jobs[i], chained[i] ? ch : NULL, epochs[i]);
	for (size_t i = n; i-- > 0;)
		jobs[i].rc = commit_queue_wait(f->q, &t[i]);
}

/* A failed item fails the later items of its chain without running them,
 * in its batch and in later ones; other items go on; a new epoch works. */
static void test_chain_poison(void **state)
{
	struct fx *f = fx(state);
	struct commit_chain ch = { 0 };
	struct job jobs[5];
	static const int chained[] = { 1, 1, 1, 0, 1 };
	static const uint64_t epochs[] = { 0, 0, 0, 0, 0 };
	static const uint64_t fresh[] = { 1 };
	requeue(f, 4);
	jobs_init(f, jobs, 5, "c");
	snprintf(jobs[1].k, sizeof(jobs[1].k), "c0"); /* fails: a duplicate */
	/* Batches of 4: [c0, dup, c2, c3], then [c4] on its own. */
	run_chained(f, jobs, 5, &ch, chained, epochs);
	assert_int_equal(jobs[0].rc, STORE_OK);
	assert_int_equal(jobs[1].rc, STORE_CONFLICT);
	assert_int_equal(jobs[2].rc, STORE_ERROR);
	assert_int_equal(jobs[2].seq, 0); /* its work never ran */
	assert_int_equal(jobs[3].rc, STORE_OK); /* not in the chain */
	assert_int_equal(jobs[4].rc, STORE_ERROR);
	assert_int_equal(jobs[4].seq, 0);
	assert_int_equal(commit_chain_epoch(&ch), 1);
	assert_int_equal(count_rows(f, NULL), 2);
	/* Rebuilt at the new epoch, the chain goes on. */
	job_init(f, &jobs[0], "c5");
	run_chained(f, jobs, 1, &ch, chained, fresh);
	assert_int_equal(jobs[0].rc, STORE_OK);
	assert_int_equal(commit_chain_epoch(&ch), 1);
	assert_int_equal(count_rows(f, NULL), 3);
}

/* A batch that fails at COMMIT fails its chained items whose work had
 * succeeded, and so poisons the chain for the next batch. */
static void test_chain_commit_fails(void **state)
{
	struct fx *f = fx(state);
	struct commit_chain ch = { 0 };
	struct job jobs[3];
	static const int chained[] = { 1, 1, 1 };
	static const uint64_t epochs[] = { 0, 0, 0 };
	requeue(f, 2);
	jobs_init(f, jobs, 3, "f");
	jobs[1].ref = "missing"; /* the deferred key fails COMMIT of [f0, f1] */
	run_chained(f, jobs, 3, &ch, chained, epochs);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(jobs[i].rc, STORE_ERROR);
	assert_true(jobs[0].seq > 0 && jobs[1].seq > 0);
	assert_int_equal(jobs[2].seq, 0);
	assert_int_equal(commit_chain_epoch(&ch), 1);
	assert_int_equal(count_rows(f, NULL), 0);
}

#define BOTH(t)                                                                           \
	cmocka_unit_test_setup_teardown(t, setup_sqlite, teardown),                       \
	cmocka_unit_test_setup_teardown(t, setup_pg, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_single),
		BOTH(test_batch),
		BOTH(test_one_fails),
		BOTH(test_commit_fails),
		BOTH(test_max_batch),
		BOTH(test_many),
		BOTH(test_submit_wait),
		BOTH(test_chain_poison),
		BOTH(test_chain_commit_fails),
	};
	scop_log_init("test_commit_queue", getenv("SCOP_TEST_LOG") ? SCOP_LOG_DEBUG : SCOP_LOG_OFF);
	return cmocka_run_group_tests_name("commit_queue", tests, NULL, NULL);
}
