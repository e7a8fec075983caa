/* The spam filter's token database: token hash -> (spam count, ham count,
 * day last trained), plus the number of spam and ham messages trained.
 * It belongs to the bridge, not to scopd: a SQLite file (WAL) by default,
 * or a PostgreSQL database through libpq.
 *
 * Where: "postgresql://...", "postgres://..." or "pg:<conninfo>" open
 * PostgreSQL; anything else is a SQLite path (":memory:" for a private
 * in-memory database).  Tables are created when missing.
 *
 * Training: spam_store_update() adds dspam/dham (may be negative, to
 * untrain; counts never go below 0 and rows reaching 0/0 are deleted) to
 * every token of one message and to the message counts, in one
 * transaction unless the caller holds one (spam_store_begin/commit, which
 * lets a bulk trainer write thousands of messages in one).
 *
 * Cache: spam_store_cache_load() reads every token into memory; lookups
 * are then answered from it and updates through this store are written to
 * both.  Writers in other processes are not seen until the next load.
 *
 * Errors: functions return 0, or -1 with a message in spam_store_error()
 * (no secrets: connection strings are never echoed).  Not thread-safe: one
 * store per thread.
 */
#ifndef SCOP_SPAM_STORE_H
#define SCOP_SPAM_STORE_H

#include <stddef.h>
#include <stdint.h>

struct spam_store;

struct spam_count {
	uint32_t spam;
	uint32_t ham;
};

int spam_store_open(struct spam_store **out, const char *where, char *err, size_t errlen);
void spam_store_close(struct spam_store *s);
const char *spam_store_error(const struct spam_store *s);
/* "sqlite" or "postgresql". */
const char *spam_store_backend(const struct spam_store *s);

/* Messages trained. */
int spam_store_totals(struct spam_store *s, uint32_t *nspam, uint32_t *nham);
/* out[i] gets the counts of h[i] (0/0 when unknown).  One query per call
 * on PostgreSQL, one prepared lookup per token on SQLite, none with the
 * cache loaded. */
int spam_store_lookup(struct spam_store *s, const uint64_t *h, size_t n, struct spam_count *out);
/* Adds (dspam, dham) to tokens h[0..n) -- which must be distinct -- and
 * (dspam, dham) to the message totals; day (days since 1970) becomes the
 * tokens' last-seen day when larger. */
int spam_store_update(struct spam_store *s, const uint64_t *h, size_t n, int dspam, int dham, uint32_t day);
int spam_store_begin(struct spam_store *s);
int spam_store_commit(struct spam_store *s);
int spam_store_rollback(struct spam_store *s);

/* Deletes tokens seen in at most max_total messages and last seen before
 * day before_day; *removed (may be NULL) gets how many. */
int spam_store_prune(struct spam_store *s, uint32_t max_total, uint32_t before_day, uint64_t *removed);
/* Bounds the database: when more than max_tokens are stored, deletes the
 * excess, rarest first and among equally rare the longest unseen.
 * *removed (may be NULL) gets how many. */
int spam_store_trim(struct spam_store *s, uint64_t max_tokens, uint64_t *removed);
/* Number of tokens stored. */
int spam_store_size(struct spam_store *s, uint64_t *tokens);

int spam_store_cache_load(struct spam_store *s);
void spam_store_cache_drop(struct spam_store *s);

#endif
