/* DKIM canonicalization (RFC 6376 section 3.4): header fields one at a
 * time, and the body as a stream hashed with SHA-256 as it arrives.
 *
 * Body: only CRLF ends a line; a lone CR or LF is content.  "simple"
 * drops trailing empty lines and turns an empty body into one CRLF;
 * "relaxed" also removes WSP at line ends, shrinks WSP runs to one SP, and
 * leaves an empty body empty.  With a limit (l=) only that many
 * canonical bytes are hashed; the total is still counted so a verifier
 * can tell whether the body goes on past l=.
 *
 * Memory: dkim_body_new allocates; dkim_body_free releases (NULL is fine).
 * Errors: functions return 0, or -1 on an OpenSSL or allocation failure.
 */
#ifndef SCOP_DKIM_CANON_H
#define SCOP_DKIM_CANON_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/buf.h"

enum dkim_canon {
	DKIM_CANON_SIMPLE = 0,
	DKIM_CANON_RELAXED = 1,
};

/* Appends the canonical form of one header field (raw bytes, name through
 * the final CRLF if any) to out, always ending in CRLF. */
int dkim_canon_header(enum dkim_canon c, const char *raw, size_t len, struct buf *out);

struct dkim_body;

/* limit < 0: no limit. */
struct dkim_body *dkim_body_new(enum dkim_canon c, long long limit);
/* The same with a SHA-256 fetched beforehand (EVP_MD_fetch), which saves
 * OpenSSL 3's implicit fetch per message; NULL means EVP_sha256().  The
 * body takes its own reference. */
struct dkim_body *dkim_body_new_md(enum dkim_canon c, long long limit, const EVP_MD *sha256);
/* Makes b ready for another body (hash context and memory kept), as if
 * made anew with these settings and the same SHA-256. */
int dkim_body_restart(struct dkim_body *b, enum dkim_canon c, long long limit);
int dkim_body_update(struct dkim_body *b, const void *data, size_t n);
/* Finishes the hash into digest[32]; *total (may be NULL) gets the length
 * of the whole canonical body, hashed or not. */
int dkim_body_final(struct dkim_body *b, unsigned char digest[32], unsigned long long *total);
void dkim_body_free(struct dkim_body *b);

#endif
