/* Deterministic mail corpus generator, for round-trip tests, fuzz seeds and
 * benchmarks.
 *
 * Message n of seed s is always the same (on any machine with the same
 * glibc charset tables): each message has its own PRNG stream derived from
 * (s, n), so messages can be generated in any order.
 *
 * mailgen_build() builds a valid message as a tree through the mime.h API:
 * nested multiparts, message/rfc822, text in several charsets, binary
 * attachments, non-ASCII header text and file names, long lines, 8-bit.
 * mailgen_raw() writes raw mail text: built messages encoded and then, for
 * most, damaged (truncated, line ends mixed, boundaries lost, bytes flipped,
 * huge headers, very deep nesting, bad encoded words ...).
 *
 * A struct mailgen is a context (charset converters, scratch space); one per
 * thread.  Functions return NULL or -1 only when memory runs out.
 */
#ifndef SCOP_MAILGEN_H
#define SCOP_MAILGEN_H

#include <stdint.h>

#include "bridge-smtp/mime.h"
#include "common/buf.h"

struct mailgen;

struct mailgen *mailgen_new(uint64_t seed);
void mailgen_free(struct mailgen *g);

/* A new message tree (free with mime_msg_free()). */
struct mime_msg *mailgen_build(struct mailgen *g, uint64_t n);

/* Appends raw text of message n to out. */
int mailgen_raw(struct mailgen *g, uint64_t n, struct buf *out);

#endif
