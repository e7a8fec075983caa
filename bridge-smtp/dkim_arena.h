/* A scratch arena for per-message work: bump allocation from one block,
 * released all at once by dkim_arena_reset.  A verifier or signer keeps
 * one and resets it between messages, so once the block has grown to a
 * message's needs, handling the next message costs no malloc at all.
 *
 * When the block runs out, allocations spill into separate chunks (the
 * earlier pointers stay valid); the next reset frees the chunks and grows
 * the block to the peak seen, up to DKIM_ARENA_KEEP_MAX, so that one huge
 * message does not pin its memory for the life of the owner.
 *
 * Memory: pointers from dkim_arena_alloc are 16-byte aligned and valid
 * until the next reset or free.  A zeroed struct is an empty arena.
 * Errors: dkim_arena_alloc returns NULL when memory runs out (or n is so
 * large the size would overflow); the arena stays usable.
 */
#ifndef SCOP_DKIM_ARENA_H
#define SCOP_DKIM_ARENA_H

#include <stddef.h>

#define DKIM_ARENA_KEEP_MAX (1024 * 1024)

struct dkim_arena_chunk;

struct dkim_arena {
	unsigned char *block;
	size_t cap, used;
	size_t peak;                    /* bytes asked for since the last reset */
	struct dkim_arena_chunk *spill; /* chunks past the block, newest first */
};

void *dkim_arena_alloc(struct dkim_arena *a, size_t n);
/* Copies s[n] and a NUL into the arena. */
char *dkim_arena_strndup(struct dkim_arena *a, const char *s, size_t n);
void dkim_arena_reset(struct dkim_arena *a);
void dkim_arena_free(struct dkim_arena *a);

#endif
