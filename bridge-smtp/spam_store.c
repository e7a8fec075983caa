/* The spam token store's front: backend choice, transactions and the
 * in-memory cache; see spam_store.h. */
#include "bridge-smtp/spam_store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int spam_store_fail(struct spam_store *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

int spam_store_open(struct spam_store **out, const char *where, char *err, size_t errlen)
{
	struct spam_store *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0)
		rc = spam_store_pg_open(s, where);
	else if (strncmp(where, "pg:", 3) == 0)
		rc = spam_store_pg_open(s, where + 3);
	else
		rc = spam_store_sqlite_open(s, where);
	if (rc < 0) {
		snprintf(err, errlen, "%s", s->err);
		spam_store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void spam_store_close(struct spam_store *s)
{
	if (!s)
		return;
	if (s->ops)
		s->ops->close(s);
	free(s->slots);
	free(s);
}

const char *spam_store_error(const struct spam_store *s)
{
	return s->err;
}

const char *spam_store_backend(const struct spam_store *s)
{
	return s->ops->name;
}

static struct spam_cache_slot *cache_slot(struct spam_store *s, uint64_t h)
{
	size_t i = (size_t)(h ^ (h >> 29)) & s->mask;
	while (s->slots[i].h && s->slots[i].h != h)
		i = (i + 1) & s->mask;
	return &s->slots[i];
}

static int cache_grow(struct spam_store *s)
{
	size_t cap = s->slots ? (s->mask + 1) * 2 : 1024;
	struct spam_cache_slot *old = s->slots;
	size_t oldcap = old ? s->mask + 1 : 0;

	s->slots = calloc(cap, sizeof(*s->slots));
	if (!s->slots) {
		s->slots = old;
		return -1;
	}
	s->mask = cap - 1;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].h)
			*cache_slot(s, old[i].h) = old[i];
	free(old);
	return 0;
}

/* Sets a token's counts in the cache; 0/0 removes it. */
static int cache_put(struct spam_store *s, uint64_t h, struct spam_count c)
{
	struct spam_cache_slot *slot;

	if ((s->used + 1) * 2 > s->mask + 1 && cache_grow(s) < 0)
		return -1;
	slot = cache_slot(s, h);
	if (c.spam == 0 && c.ham == 0) {
		if (!slot->h)
			return 0;
		/* Backward-shift deletion keeps probe chains unbroken. */
		size_t i = (size_t)(slot - s->slots), j = i;
		slot->h = 0;
		s->used--;
		for (;;) {
			j = (j + 1) & s->mask;
			if (!s->slots[j].h)
				break;
			size_t home = (size_t)(s->slots[j].h ^ (s->slots[j].h >> 29)) & s->mask;
			/* Move j back to i unless its home lies cyclically in (i, j]. */
			if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
				s->slots[i] = s->slots[j];
				s->slots[j].h = 0;
				i = j;
			}
		}
		return 0;
	}
	if (!slot->h)
		s->used++;
	slot->h = h;
	slot->c = c;
	return 0;
}

static int cache_add(void *arg, uint64_t h, struct spam_count c)
{
	return cache_put(arg, h, c);
}

void spam_store_cache_drop(struct spam_store *s)
{
	free(s->slots);
	s->slots = NULL;
	s->mask = 0;
	s->used = 0;
	s->cached = 0;
}

int spam_store_cache_load(struct spam_store *s)
{
	spam_store_cache_drop(s);
	if (cache_grow(s) < 0)
		return spam_store_fail(s, "out of memory");
	if (s->ops->scan(s, cache_add, s) < 0 || s->ops->totals(s, &s->nspam, &s->nham) < 0) {
		spam_store_cache_drop(s);
		return -1;
	}
	s->cached = 1;
	return 0;
}

int spam_store_totals(struct spam_store *s, uint32_t *nspam, uint32_t *nham)
{
	if (s->cached) {
		*nspam = s->nspam;
		*nham = s->nham;
		return 0;
	}
	return s->ops->totals(s, nspam, nham);
}

int spam_store_lookup(struct spam_store *s, const uint64_t *h, size_t n, struct spam_count *out)
{
	if (!s->cached)
		return s->ops->lookup(s, h, n, out);
	/* The table is larger than the CPU caches: ask for every home slot
	 * first so the misses overlap instead of queueing. */
	for (size_t i = 0; i < n; i++)
		__builtin_prefetch(&s->slots[(size_t)(h[i] ^ (h[i] >> 29)) & s->mask]);
	for (size_t i = 0; i < n; i++) {
		const struct spam_cache_slot *slot = cache_slot(s, h[i]);
		out[i] = slot->h ? slot->c : (struct spam_count){ 0, 0 };
	}
	return 0;
}

static uint32_t add_clamped(uint32_t v, int d)
{
	if (d < 0 && (uint32_t)(-(int64_t)d) > v)
		return 0;
	return (uint32_t)((int64_t)v + d);
}

int spam_store_update(struct spam_store *s, const uint64_t *h, size_t n, int dspam, int dham, uint32_t day)
{
	int own = !s->in_tx;

	if (own && s->ops->exec(s, "BEGIN") < 0)
		return -1;
	if (s->ops->update(s, h, n, dspam, dham, day) < 0) {
		if (own)
			s->ops->exec(s, "ROLLBACK");
		else
			spam_store_cache_drop(s); /* the caller will roll back */
		return -1;
	}
	if (own && s->ops->exec(s, "COMMIT") < 0) {
		spam_store_cache_drop(s);
		return -1;
	}
	if (s->cached) {
		for (size_t i = 0; i < n; i++) {
			struct spam_cache_slot *slot = cache_slot(s, h[i]);
			struct spam_count c = slot->h ? slot->c : (struct spam_count){ 0, 0 };
			c.spam = add_clamped(c.spam, dspam);
			c.ham = add_clamped(c.ham, dham);
			if (cache_put(s, h[i], c) < 0) {
				spam_store_cache_drop(s);
				break;
			}
		}
		s->nspam = add_clamped(s->nspam, dspam);
		s->nham = add_clamped(s->nham, dham);
	}
	return 0;
}

int spam_store_begin(struct spam_store *s)
{
	if (s->in_tx)
		return spam_store_fail(s, "transaction already open");
	if (s->ops->exec(s, "BEGIN") < 0)
		return -1;
	s->in_tx = 1;
	return 0;
}

int spam_store_commit(struct spam_store *s)
{
	if (!s->in_tx)
		return spam_store_fail(s, "no transaction open");
	s->in_tx = 0;
	if (s->ops->exec(s, "COMMIT") < 0) {
		spam_store_cache_drop(s);
		return -1;
	}
	return 0;
}

int spam_store_rollback(struct spam_store *s)
{
	if (!s->in_tx)
		return spam_store_fail(s, "no transaction open");
	s->in_tx = 0;
	/* The cache saw the rolled-back updates. */
	spam_store_cache_drop(s);
	return s->ops->exec(s, "ROLLBACK");
}

int spam_store_prune(struct spam_store *s, uint32_t max_total, uint32_t before_day, uint64_t *removed)
{
	uint64_t dummy;
	int rc = s->ops->prune(s, max_total, before_day, removed ? removed : &dummy);
	if (rc == 0 && s->cached) {
		/* Reload rather than mirror the predicate on cached rows. */
		return spam_store_cache_load(s);
	}
	return rc;
}

int spam_store_trim(struct spam_store *s, uint64_t max_tokens, uint64_t *removed)
{
	uint64_t size, dummy;
	int rc;

	if (!removed)
		removed = &dummy;
	*removed = 0;
	if (s->ops->size(s, &size) < 0)
		return -1;
	if (size <= max_tokens)
		return 0;
	rc = s->ops->trim(s, size - max_tokens, removed);
	if (rc == 0 && s->cached)
		return spam_store_cache_load(s);
	return rc;
}

int spam_store_size(struct spam_store *s, uint64_t *tokens)
{
	return s->ops->size(s, tokens);
}
