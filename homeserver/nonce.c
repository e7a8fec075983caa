#include "homeserver/nonce.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"

#define NONCE_MAX 1024
#define NONCE_LIFETIME_MS (60 * 1000)

struct nonce_entry {
	char value[NONCE_LEN + 1];
	int64_t issued_ms;
};

struct nonces {
	pthread_mutex_t lock;
	struct nonce_entry e[NONCE_MAX];
	size_t n;
};

struct nonces *nonces_new(void)
{
	struct nonces *n = calloc(1, sizeof(*n));
	if (n)
		pthread_mutex_init(&n->lock, NULL);
	return n;
}

void nonces_free(struct nonces *n)
{
	if (!n)
		return;
	pthread_mutex_destroy(&n->lock);
	free(n);
}

static void expire(struct nonces *n, int64_t now_ms)
{
	for (size_t i = 0; i < n->n;) {
		if (now_ms - n->e[i].issued_ms > NONCE_LIFETIME_MS)
			n->e[i] = n->e[--n->n];
		else
			i++;
	}
}

int nonces_issue(struct nonces *n, int64_t now_ms, char out[NONCE_LEN + 1])
{
	if (scop_random_token(out, NONCE_LEN) < 0)
		return -1;
	pthread_mutex_lock(&n->lock);
	expire(n, now_ms);
	if (n->n == NONCE_MAX) {
		size_t oldest = 0;
		for (size_t i = 1; i < n->n; i++)
			if (n->e[i].issued_ms < n->e[oldest].issued_ms)
				oldest = i;
		n->e[oldest] = n->e[--n->n];
	}
	memcpy(n->e[n->n].value, out, NONCE_LEN + 1);
	n->e[n->n].issued_ms = now_ms;
	n->n++;
	pthread_mutex_unlock(&n->lock);
	return 0;
}

int nonces_take(struct nonces *n, const char *nonce, int64_t now_ms)
{
	int found = 0;
	pthread_mutex_lock(&n->lock);
	expire(n, now_ms);
	for (size_t i = 0; i < n->n; i++) {
		if (scop_ct_equal(n->e[i].value, NONCE_LEN, nonce, strlen(nonce))) {
			n->e[i] = n->e[--n->n];
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&n->lock);
	return found;
}
