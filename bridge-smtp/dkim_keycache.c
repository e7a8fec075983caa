/* Parsed DKIM keys kept across messages.  Parsing a key record means a
 * DER decode through OpenSSL's decoders, and a verify context on top:
 * together several times the cost of an RSA verification. */
#include "bridge-smtp/dkim_int.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	char *rec;
	size_t len;
	unsigned long long used;
	struct dkim_key key;
};

struct dkim_keycache {
	struct entry *e;
	size_t cap, count;
	unsigned long long clock;
	EVP_MD *sha256; /* fetched once for every message verified with the cache */
};

struct dkim_keycache *dkim_keycache_new(size_t entries)
{
	struct dkim_keycache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cap = entries ? entries : 1;
	if (!(c->e = calloc(c->cap, sizeof(*c->e)))) {
		free(c);
		return NULL;
	}
	c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	return c;
}

void dkim_keycache_free(struct dkim_keycache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->count; i++) {
		free(c->e[i].rec);
		dkim_key_free(&c->e[i].key);
	}
	free(c->e);
	EVP_MD_free(c->sha256);
	free(c);
}

const EVP_MD *dkim_keycache_sha256(const struct dkim_keycache *c)
{
	return c->sha256;
}

struct dkim_key *dkim_keycache_get(struct dkim_keycache *c, const char *rec, size_t len)
{
	/* Straight comparisons: records differ in length or early in p=,
	 * while hashing the record byte by byte on each lookup cost more
	 * than the comparisons it saved. */
	for (size_t i = 0; i < c->count; i++) {
		struct entry *e = &c->e[i];
		if (e->len == len && memcmp(e->rec, rec, len) == 0) {
			e->used = ++c->clock;
			return &e->key;
		}
	}
	return NULL;
}

struct dkim_key *dkim_keycache_put(struct dkim_keycache *c, const char *rec, size_t len, struct dkim_key *key)
{
	struct entry *e;
	char *copy = malloc(len + 1);

	if (!copy)
		return NULL;
	memcpy(copy, rec, len);
	copy[len] = '\0';
	if (c->count < c->cap) {
		e = &c->e[c->count++];
	} else {
		e = &c->e[0];
		for (size_t i = 1; i < c->count; i++) {
			if (c->e[i].used < e->used)
				e = &c->e[i];
		}
		free(e->rec);
		dkim_key_free(&e->key);
	}
	e->rec = copy;
	e->len = len;
	e->used = ++c->clock;
	e->key = *key;
	memset(key, 0, sizeof(*key));
	return &e->key;
}
