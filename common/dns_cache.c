/* dns_cache.h: a hash table of answers with an LRU list. */
#include "common/dns_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *hnext;       /* in its hash bucket */
	struct entry *prev, *next; /* LRU list, most recent first */
	uint64_t hash;
	enum dns_type type;
	long expires;
	struct dns_result res;
	char name[]; /* normalized */
};

struct dns_cache {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count, max;
	uint32_t max_ttl;
	struct entry *head, *tail;
};

static uint64_t hash_of(const char *name, enum dns_type type)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)type;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

/* A deep copy of src into dst; -1 when out of memory (dst then empty). */
static int copy_result(struct dns_result *dst, const struct dns_result *src)
{
	*dst = *src;
	dst->records = NULL;
	dst->count = 0;
	if (src->count == 0)
		return 0;
	if (!(dst->records = calloc(src->count, sizeof(*dst->records))))
		return -1;
	for (size_t i = 0; i < src->count; i++) {
		dst->records[i] = src->records[i];
		dst->records[i].text = NULL;
		if (src->records[i].text) {
			/* text always holds len bytes and a NUL (TXT data may
			 * hold NULs of its own). */
			size_t n = src->records[i].len;
			if (!(dst->records[i].text = malloc(n + 1))) {
				dns_result_free(dst);
				return -1;
			}
			memcpy(dst->records[i].text, src->records[i].text, n + 1);
		}
		dst->count++;
	}
	return 0;
}

struct dns_cache *dns_cache_new(size_t max_entries, uint32_t max_ttl)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->max = max_entries ? max_entries : 10000;
	c->max_ttl = max_ttl ? max_ttl : 86400;
	for (c->nbuckets = 16; c->nbuckets < c->max; c->nbuckets *= 2)
		;
	if (!(c->buckets = calloc(c->nbuckets, sizeof(*c->buckets)))) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void lru_unlink(struct dns_cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct dns_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void drop(struct dns_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	dns_result_free(&e->res);
	free(e);
	c->count--;
}

static struct entry *find(struct dns_cache *c, const char *name, enum dns_type type, uint64_t h)
{
	for (struct entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext) {
		if (e->hash == h && e->type == type && strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	while (c->head)
		drop(c, c->head);
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

int dns_cache_get(struct dns_cache *c, const char *name, enum dns_type type, long now_s, struct dns_result *res)
{
	uint64_t h = hash_of(name, type);
	struct entry *e;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&c->lock);
	if ((e = find(c, name, type, h)) != NULL) {
		if (e->expires <= now_s) {
			drop(c, e);
		} else if (copy_result(res, &e->res) < 0) {
			rc = -1;
		} else {
			res->ttl = (uint32_t)(e->expires - now_s);
			lru_unlink(c, e);
			lru_push(c, e);
			rc = 1;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type, long now_s,
		   const struct dns_result *res)
{
	uint64_t h = hash_of(name, type);
	size_t nl = strlen(name);
	struct entry *e, *old;

	if (res->ttl == 0 || res->security == DNS_SEC_BOGUS ||
	    (res->status != DNS_OK && res->status != DNS_NODATA && res->status != DNS_NXDOMAIN))
		return;
	if (!(e = calloc(1, sizeof(*e) + nl + 1)))
		return;
	if (copy_result(&e->res, res) < 0) {
		free(e);
		return;
	}
	memcpy(e->name, name, nl + 1);
	e->hash = h;
	e->type = type;
	e->expires = now_s + (long)(res->ttl < c->max_ttl ? res->ttl : c->max_ttl);
	pthread_mutex_lock(&c->lock);
	if ((old = find(c, name, type, h)) != NULL)
		drop(c, old);
	while (c->count >= c->max && c->tail)
		drop(c, c->tail);
	e->hnext = c->buckets[h & (c->nbuckets - 1)];
	c->buckets[h & (c->nbuckets - 1)] = e;
	lru_push(c, e);
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

size_t dns_cache_count(struct dns_cache *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}
