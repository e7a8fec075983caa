#include "homeserver/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
	char *key;
	double tokens;
	int64_t updated_ms;
};

/* A small open list: the number of distinct clients hammering a login
 * endpoint at once is modest, and a linear scan over a few thousand keys
 * is cheaper than the argon2 hash each login costs anyway. */
struct ratelimit {
	pthread_mutex_t lock;
	double per_second, burst;
	struct bucket *b;
	size_t n, max;
};

struct ratelimit *ratelimit_new(double per_second, double burst_count, size_t max_keys)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->b = calloc(max_keys ? max_keys : 1, sizeof(struct bucket));
	if (!rl->b) {
		free(rl);
		return NULL;
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->per_second = per_second;
	rl->burst = burst_count < 1 ? 1 : burst_count;
	rl->max = max_keys ? max_keys : 1;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < rl->n; i++)
		free(rl->b[i].key);
	free(rl->b);
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static void refill(struct ratelimit *rl, struct bucket *b, int64_t now_ms)
{
	if (now_ms > b->updated_ms) {
		b->tokens += (double)(now_ms - b->updated_ms) * rl->per_second / 1000.0;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
		b->updated_ms = now_ms;
	}
}

/* Finds or makes the bucket for key; NULL only when memory runs out. */
static struct bucket *lookup(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	size_t victim = 0;

	for (size_t i = 0; i < rl->n; i++)
		if (strcmp(rl->b[i].key, key) == 0)
			return &rl->b[i];
	if (rl->n == rl->max) {
		for (size_t i = 0; i < rl->n; i++) {
			refill(rl, &rl->b[i], now_ms);
			if (rl->b[i].tokens >= rl->burst) {
				victim = i;
				break;
			}
			if (rl->b[i].updated_ms < rl->b[victim].updated_ms)
				victim = i;
		}
		free(rl->b[victim].key);
		rl->b[victim] = rl->b[--rl->n];
	}
	rl->b[rl->n].key = strdup(key);
	if (!rl->b[rl->n].key)
		return NULL;
	rl->b[rl->n].tokens = rl->burst;
	rl->b[rl->n].updated_ms = now_ms;
	return &rl->b[rl->n++];
}

int64_t ratelimit_check(struct ratelimit *rl, const char *key, int64_t now_ms, int take)
{
	struct bucket *b;
	int64_t wait = 0;

	pthread_mutex_lock(&rl->lock);
	b = lookup(rl, key, now_ms);
	if (!b) {
		/* Out of memory: refusing would lock everyone out; allow. */
		pthread_mutex_unlock(&rl->lock);
		return 0;
	}
	refill(rl, b, now_ms);
	if (b->tokens >= 1.0) {
		if (take)
			b->tokens -= 1.0;
	} else if (rl->per_second > 0) {
		wait = (int64_t)((1.0 - b->tokens) * 1000.0 / rl->per_second) + 1;
	} else {
		wait = INT32_MAX;
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void ratelimit_charge(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	struct bucket *b;
	pthread_mutex_lock(&rl->lock);
	b = lookup(rl, key, now_ms);
	if (b) {
		refill(rl, b, now_ms);
		b->tokens -= 1.0;
		if (b->tokens < 0)
			b->tokens = 0;
	}
	pthread_mutex_unlock(&rl->lock);
}
