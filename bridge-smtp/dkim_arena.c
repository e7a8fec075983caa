#include "bridge-smtp/dkim_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 16

struct dkim_arena_chunk {
	struct dkim_arena_chunk *next;
	/* Keeps data ALIGN-aligned whatever the pointer size. */
	unsigned char pad[ALIGN - sizeof(void *) % ALIGN];
	unsigned char data[];
};

static size_t round_up(size_t n)
{
	return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

void *dkim_arena_alloc(struct dkim_arena *a, size_t n)
{
	struct dkim_arena_chunk *c;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = round_up(n ? n : 1);
	a->peak += n;
	if (a->cap - a->used >= n) {
		void *p = a->block + a->used;
		a->used += n;
		return p;
	}
	/* malloc aligns to 16 on the platforms we build for; the chunk
	 * header is padded to keep that. */
	if (!(c = malloc(sizeof(*c) + n)))
		return NULL;
	c->next = a->spill;
	a->spill = c;
	return c->data;
}

char *dkim_arena_strndup(struct dkim_arena *a, const char *s, size_t n)
{
	char *p = n < SIZE_MAX ? dkim_arena_alloc(a, n + 1) : NULL;

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static void free_spill(struct dkim_arena *a)
{
	while (a->spill) {
		struct dkim_arena_chunk *c = a->spill;
		a->spill = c->next;
		free(c);
	}
}

void dkim_arena_reset(struct dkim_arena *a)
{
	size_t want = a->peak < DKIM_ARENA_KEEP_MAX ? a->peak : DKIM_ARENA_KEEP_MAX;

	free_spill(a);
	if (want > a->cap) {
		/* Spilling means the block was too small: grow it to the
		 * peak, so the next such message fits.  A failed malloc only
		 * means that message spills again. */
		unsigned char *nb = malloc(want);
		if (nb) {
			free(a->block);
			a->block = nb;
			a->cap = want;
		}
	}
	a->used = 0;
	a->peak = 0;
}

void dkim_arena_free(struct dkim_arena *a)
{
	free_spill(a);
	free(a->block);
	memset(a, 0, sizeof(*a));
}
