/* Authentication-Results header fields (RFC 8601): writing ours, and
 * parsing what arrives (to read an upstream's verdicts, or to spot and
 * remove forged fields that claim our authserv-id).
 *
 * The structs are fixed-size and caller-owned; no allocation.  Text that
 * does not fit is an error, not a truncation.
 *
 * Writing: authres_write() produces "Authentication-Results: id;\r\n\t
 * method=result reason=... ptype.prop=value; ...\r\n", quoting values
 * that are not RFC 2045 tokens and dropping characters that could not
 * appear in a header (CR, LF, other controls).
 *
 * Parsing: authres_parse() takes the field value (after the colon; folded
 * or not), allows comments anywhere CFWS may appear, and returns -1 for
 * anything outside the grammar of RFC 8601 section 2.2, more than
 * AUTHRES_MAX_RESULTS results, or more than AUTHRES_MAX_PROPS properties
 * in one result.  Comments are skipped, not kept.
 */
#ifndef SCOP_AUTHRES_H
#define SCOP_AUTHRES_H

#include <stddef.h>

#include "common/buf.h"

struct dkim_result;
struct dmarc_outcome;

#define AUTHRES_MAX_RESULTS 16
#define AUTHRES_MAX_PROPS 8

struct authres_prop {
	char ptype[16];     /* smtp, header, body, policy */
	char property[64];  /* mailfrom, d, s, b, from, ... */
	char value[256];
};

struct authres_result {
	char method[32];    /* dkim, spf, dmarc, arc, ... (lower case) */
	char version[8];    /* method version, "" when absent */
	char result[32];    /* pass, fail, ... (lower case) */
	char reason[256];   /* "" when absent */
	char comment[128];  /* writing only: a comment after the result, "" for none */
	struct authres_prop props[AUTHRES_MAX_PROPS];
	size_t nprops;
};

struct authres {
	char authserv_id[256];
	int version;        /* 0 when absent */
	struct authres_result results[AUTHRES_MAX_RESULTS];
	size_t count;       /* 0: the "none" form */
};

int authres_parse(const char *value, size_t len, struct authres *out);

/* 1 when an arriving field (value after the colon) names authserv_id
 * (case-insensitively), so it must be removed before ours is added (RFC
 * 8601 section 5); also for fields too broken to parse, as long as their
 * first word is that id.  0 otherwise. */
int authres_claims(const char *value, size_t len, const char *authserv_id);
/* Appends the whole field, CRLF-terminated, to out. */
int authres_write(const struct authres *ar, struct buf *out);

/* Helpers that fill one result; return -1 when the array is full. */
int authres_add(struct authres *ar, const char *method, const char *result, const char *reason);
int authres_add_prop(struct authres *ar, const char *ptype, const char *property, const char *value);
int authres_add_dkim(struct authres *ar, const struct dkim_result *r);
int authres_add_dmarc(struct authres *ar, const struct dmarc_outcome *o);

#endif
