/* The tag=value lists of RFC 6376 section 3.2, used by DKIM-Signature
 * header fields, DKIM key records and DMARC records.
 *
 * The parser takes the text as it is (folding CRLFs allowed, treated as
 * white space) and records, for each tag, pointers into that text: the
 * name, and the value with leading and trailing white space removed
 * (white space inside the value is kept, as written).
 *
 * Memory: a struct dkim_taglist points into the caller's text.
 *
 * Errors: dkim_tags_parse returns 0, or -1 for a syntax error (a tag name
 * that is not ALPHA *(ALNUM / "_"), a missing "=", a control character,
 * an empty tag-spec between two semicolons), a repeated tag name, or more
 * than DKIM_TAGS_MAX tags.  Bytes 0x80-0xFF are allowed in values (RFC
 * 8616 lets UTF-8 appear in some).  err gets a short reason when not NULL.
 */
#ifndef SCOP_DKIM_TAGS_H
#define SCOP_DKIM_TAGS_H

#include <stddef.h>

#define DKIM_TAGS_MAX 64

struct dkim_tag {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	size_t value_off; /* offset of the value (or of where it would start) in the text */
	size_t end_off;   /* offset just past the tag-spec (before ';' or end) */
};

struct dkim_taglist {
	struct dkim_tag tags[DKIM_TAGS_MAX];
	size_t count;
};

int dkim_tags_parse(const char *text, size_t len, struct dkim_taglist *out, char *err, size_t errlen);

/* The tag named name (case-sensitive, as RFC 6376 says), or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_taglist *tl, const char *name);

/* 1 when the tag value equals s exactly (case-sensitive), else 0. */
int dkim_tag_is(const struct dkim_tag *t, const char *s);

#endif
