/* Inside the spam token store: the backend interface spam_store.c
 * dispatches to.  Backends never manage the cache or transactions the
 * caller holds; they report errors with spam_store_fail(). */
#ifndef SCOP_SPAM_STORE_INT_H
#define SCOP_SPAM_STORE_INT_H

#include "bridge-smtp/spam_store.h"

struct spam_cache_slot {
	uint64_t h; /* 0: empty */
	struct spam_count c;
};

struct spam_store_ops {
	const char *name;
	int (*totals)(struct spam_store *s, uint32_t *nspam, uint32_t *nham);
	int (*lookup)(struct spam_store *s, const uint64_t *h, size_t n, struct spam_count *out);
	/* Without transaction handling: the caller wraps it. */
	int (*update)(struct spam_store *s, const uint64_t *h, size_t n, int dspam, int dham, uint32_t day);
	/* "BEGIN", "COMMIT", "ROLLBACK". */
	int (*exec)(struct spam_store *s, const char *sql);
	int (*prune)(struct spam_store *s, uint32_t max_total, uint32_t before_day, uint64_t *removed);
	int (*size)(struct spam_store *s, uint64_t *tokens);
	/* Deletes the n rarest, then oldest, tokens. */
	int (*trim)(struct spam_store *s, uint64_t n, uint64_t *removed);
	/* Calls fn for every token; fn returning -1 stops with -1. */
	int (*scan)(struct spam_store *s, int (*fn)(void *arg, uint64_t h, struct spam_count c), void *arg);
	void (*close)(struct spam_store *s);
};

struct spam_store {
	const struct spam_store_ops *ops;
	void *db;
	void *stmts; /* backend's prepared statements */
	char err[256];
	int in_tx;   /* the caller holds a transaction */
	/* Cache, when loaded. */
	int cached;
	struct spam_cache_slot *slots;
	size_t mask, used;
	uint32_t nspam, nham;
};

int spam_store_fail(struct spam_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int spam_store_sqlite_open(struct spam_store *s, const char *path);
int spam_store_pg_open(struct spam_store *s, const char *conninfo);

#endif
