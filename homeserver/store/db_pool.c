/* Database connection pool.  See db_pool.h. */
#include "homeserver/store/db_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct db_pool {
	enum db_kind kind;
	const char *name;
	char *conninfo;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	int max;   /* connections allowed */
	int total; /* connections open or being opened */
	int nidle;
	struct db_conn **idle;
};

enum db_kind db_kind_of(const char *backend)
{
	return strcmp(backend, "postgres") == 0 || strcmp(backend, "psycopg2") == 0 ? DB_POSTGRES
										    : DB_SQLITE;
}

enum store_rc db_pool_open(enum db_kind kind, const char *conninfo, int max, const char *name,
			   struct db_pool **out, char *err, size_t errlen)
{
	struct db_pool *p;
	struct db_conn *c;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p || max < 1 || !(p->conninfo = strdup(conninfo)) ||
	    !(p->idle = calloc((size_t)max, sizeof(*p->idle)))) {
		if (p)
			free(p->conninfo);
		free(p);
		snprintf(err, errlen, "%s: out of memory", name);
		return STORE_ERROR;
	}
	p->kind = kind;
	p->name = name;
	p->max = max;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	if (db_connect(kind, conninfo, &c, err, errlen) != STORE_OK) {
		db_pool_close(p);
		return STORE_ERROR;
	}
	p->total = 1;
	p->idle[p->nidle++] = c;
	*out = p;
	return STORE_OK;
}

void db_pool_close(struct db_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nidle; i++)
		db_disconnect(p->idle[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	explicit_bzero(p->conninfo, strlen(p->conninfo));
	free(p->conninfo);
	free(p->idle);
	free(p);
}

enum db_kind db_pool_kind(const struct db_pool *p)
{
	return p->kind;
}

struct db_conn *db_pool_get(struct db_pool *p)
{
	struct db_conn *c = NULL;
	char err[256];

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->nidle == 0 && p->total >= p->max)
			pthread_cond_wait(&p->freed, &p->lock);
		if (p->nidle == 0)
			break;
		c = p->idle[--p->nidle];
		if (db_alive(c)) {
			pthread_mutex_unlock(&p->lock);
			return c;
		}
		/* The server dropped it (restart, terminated session): replace. */
		log_warn("%s: replacing a lost database connection", p->name);
		db_disconnect(c);
		c = NULL;
		p->total--;
	}
	p->total++;
	pthread_mutex_unlock(&p->lock);
	if (db_connect(p->kind, p->conninfo, &c, err, sizeof(err)) != STORE_OK) {
		log_error("%s: %s", p->name, err);
		pthread_mutex_lock(&p->lock);
		p->total--;
		pthread_cond_signal(&p->freed);
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	return c;
}

void db_pool_put(struct db_pool *p, struct db_conn *c)
{
	int drop;
	if (!c)
		return;
	db_rollback(c); /* a no-op unless a caller left a transaction open */
	pthread_mutex_lock(&p->lock);
	drop = db_broken(c);
	if (drop)
		p->total--;
	else
		p->idle[p->nidle++] = c;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
	if (drop)
		db_disconnect(c);
}
