/* The From: header field (RFC 5322 3.6.2) of a message being received,
 * for the submission sender check.
 *
 * Two parts:
 *  - a streaming collector: the session feeds it the message octets as
 *    they arrive (split anywhere), and it keeps the unfolded value of the
 *    first From field and counts From fields, up to the end of the header
 *    section.  Constant memory; everything after the header is skipped.
 *  - a reader of the value as a mailbox-list: "Name <a@b>, c@d (comment)",
 *    quoted strings, nested comments, obsolete routes.  It extracts the
 *    addresses; what a display name says is never taken for an address.
 *
 * Strictness: a NUL octet, group syntax ("list: a@b;"), an unquoted '@' or a second
 * '<' outside an address, unbalanced quotes, comments or brackets, and
 * an address without local part or domain are malformed (-1): the
 * submission check refuses what it cannot read instead of guessing.
 *
 * Memory: the collector is a plain struct the caller owns (no heap);
 * the reader writes into caller buffers.
 */
#ifndef SCOP_SMTP_FROMHDR_H
#define SCOP_SMTP_FROMHDR_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_FROMHDR_MAX 2048 /* value octets kept; more sets overflow */

struct smtp_fromhdr {
	int state;
	unsigned n_from;   /* From fields seen */
	bool capturing;    /* inside the first From field */
	bool overflow;     /* its value was longer than SMTP_FROMHDR_MAX */
	bool header_done;  /* the empty line after the header was seen */
	char name[8];      /* start of the current field name */
	size_t name_len;
	size_t len;
	char value[SMTP_FROMHDR_MAX];
};

void smtp_fromhdr_init(struct smtp_fromhdr *h);
void smtp_fromhdr_feed(struct smtp_fromhdr *h, const char *p, size_t n);

/* The next address of a mailbox-list value[0..len) from *pos on, written
 * to addr[addrlen] without angle brackets or comments (quoted local parts
 * keep their quotes).  Returns 1 with an address, 0 at the end, -1 when
 * the value is malformed or an address does not fit. */
int smtp_fromhdr_next(const char *value, size_t len, size_t *pos, char *addr, size_t addrlen);

#endif
