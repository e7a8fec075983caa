/* A small, careful splitter for a message's header block, for DKIM.
 *
 * Input is a raw message as on the wire: header fields, an empty line, the
 * body, with CRLF line endings.  Only CRLF ends a line; a lone CR or LF is
 * an ordinary byte (DKIM canonicalization must see the bytes as they are).
 * Continuation lines start with SP or HTAB.
 *
 * Memory: struct mailhdr points into the caller's message, which must
 * outlive it; only the field array is owned (mailhdr_free releases it).
 *
 * Errors: mailhdr_split returns 0, MAILHDR_ENOMEM, or MAILHDR_EMALFORMED
 * when a header line has no colon, a field name is empty or has bytes
 * outside 33..126, the first line is a continuation, or there are more
 * than MAILHDR_MAX_FIELDS fields.  A message without an empty line is all
 * header (no body).
 */
#ifndef SCOP_MAILHDR_H
#define SCOP_MAILHDR_H

#include <stddef.h>

#include "common/buf.h"

#define MAILHDR_MAX_FIELDS 2000
#define MAILHDR_ENOMEM (-1)
#define MAILHDR_EMALFORMED (-2)

struct mailhdr_field {
	const char *name;  /* field name as written, without the colon */
	size_t name_len;
	const char *raw;   /* the whole field: name, colon, value, final CRLF */
	size_t raw_len;
	const char *value; /* after the colon, up to (not including) the final CRLF */
	size_t value_len;
};

struct mailhdr {
	struct mailhdr_field *fields;
	size_t count;
	size_t cap;
	size_t body_off; /* offset of the body; the message length when there is none */
};

int mailhdr_split(const char *msg, size_t len, struct mailhdr *out);
/* The same into a struct mailhdr already in use (or zeroed), keeping its
 * field array: splitting message after message then allocates only when
 * a header block has more fields than any before.  On failure out has no
 * fields but keeps its array (mailhdr_free still releases it). */
int mailhdr_resplit(const char *msg, size_t len, struct mailhdr *out);

/* Where the body starts, as mailhdr_split would set body_off, without
 * splitting: just past the first empty line, or len when there is none.
 * For a malformed header block it still finds that line (mailhdr_split
 * on msg[0..result] then fails just as it does on the whole message). */
size_t mailhdr_body_off(const char *msg, size_t len);
void mailhdr_free(struct mailhdr *h);

/* Case-insensitive comparison of the field name with name (NUL-terminated). */
int mailhdr_name_is(const struct mailhdr_field *f, const char *name);

/* Appends the value with CRLFs of folding removed (the WSP after them
 * kept) to out.  Returns 0 or -1 when memory runs out. */
int mailhdr_unfold(const char *value, size_t len, struct buf *out);

/* The domain of the one address in the one From field (lower case), for
 * DMARC.  -1 when there is no From field or more than one, the field
 * lists several addresses, or no domain can be found.  A small reader of
 * the common forms ("Name <a@b>", "a@b (comment)"), not a full RFC 5322
 * address parser. */
int mailhdr_from_domain(const struct mailhdr *h, char *out, size_t outlen);

#endif
