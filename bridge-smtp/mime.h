/* MIME messages: RFC 5322 header fields, RFC 2045-2049 bodies and multiparts,
 * RFC 2047 encoded words, RFC 2231 parameters.  Parses mail to a tree and
 * encodes a tree back to mail.
 *
 * Memory: a struct mime_msg owns an arena; every part, header and string the
 * accessors return lives in it and is released by mime_msg_free().  Returned
 * pointers stay valid until then, even after later calls (values are decoded
 * lazily and cached).  Without MIME_PARSE_COPY the tree points into the input
 * buffer, which must then outlive the message; with it the parser copies the
 * input once into the arena.
 *
 * Errors: parsing never fails on bad input.  Malformed mail (missing
 * boundaries, bad base64, broken encoded words, huge headers, too deep
 * nesting ...) yields a best-effort tree and a list of struct mime_error.
 * Functions returning int give 0 on success and -1 on a bad argument or when
 * memory runs out; pointer-returning ones give NULL only for "absent" (or
 * when memory runs out).  Decoding accessors may append errors (bad base64 in
 * a body is found when the body is first decoded).
 *
 * Round trips: mime_encode() writes the input's bytes back for every header
 * and part that was not modified, so parse then encode of an unmodified
 * message is byte-identical.  Modified and newly built parts are encoded from
 * their structured values: header folding at 78 columns, RFC 2047 encoded
 * words for non-ASCII text, RFC 2231 for non-ASCII or long parameters,
 * 7bit/8bit/quoted-printable/base64 chosen by content, and multipart
 * boundaries that occur nowhere in the content.  Encoding a built tree and
 * parsing the result gives a tree mime_msg_equal() to it.
 *
 * Threads: a message is used by one thread at a time; there is no global
 * state.
 */
#ifndef SCOP_MIME_H
#define SCOP_MIME_H

#include <stddef.h>

#include "common/buf.h"

struct mime_msg;
struct mime_part;
struct mime_header;

/* ---- errors -------------------------------------------------------------- */

enum mime_error_code {
	MIME_E_NO_BLANK_LINE = 1, /* body part with no empty line after its header */
	MIME_E_BAD_HEADER,        /* line in a header section that is not a field */
	MIME_E_LONG_LINE,         /* header line longer than 998 octets */
	MIME_E_TOO_MANY_HEADERS,  /* past limits.max_headers: rest kept as raw bytes */
	MIME_E_HEADERS_TOO_BIG,   /* past limits.max_header_bytes: rest kept raw */
	MIME_E_NO_BOUNDARY,       /* multipart/ * without a boundary: kept as a leaf */
	MIME_E_NO_DELIMITER,      /* multipart body without any delimiter line */
	MIME_E_NO_CLOSE,          /* multipart without a close delimiter */
	MIME_E_DEPTH,             /* nested deeper than limits.max_depth: kept as a leaf */
	MIME_E_TOO_MANY_PARTS,    /* past limits.max_parts: kept as a leaf */
	MIME_E_BAD_BASE64,        /* characters outside base64 or bad length (skipped) */
	MIME_E_BAD_QP,            /* '=' not followed by hex or line end (kept) */
	MIME_E_BAD_ENCODED_WORD,  /* =?...?= that does not decode (kept as text) */
	MIME_E_BAD_PARAM,         /* parameter syntax (best-effort value kept) */
	MIME_E_UNKNOWN_CHARSET,   /* charset iconv does not know (read as UTF-8) */
	MIME_E_BAD_CHARSET_DATA,  /* bytes invalid in their charset (U+FFFD) */
	MIME_E_UNKNOWN_CTE,       /* unknown Content-Transfer-Encoding (raw bytes) */
};

struct mime_error {
	enum mime_error_code code;
	size_t offset;                 /* into the input; 0 for built parts */
	const struct mime_part *part;  /* part it concerns, NULL if none */
};

/* Static string naming the code, e.g. "no-close-delimiter". */
const char *mime_error_name(enum mime_error_code code);

/* At most MIME_MAX_ERRORS are kept; mime_msg_errors() reports the total in
 * *total when total is not NULL. */
#define MIME_MAX_ERRORS 64
const struct mime_error *mime_msg_errors(const struct mime_msg *m, size_t *n, size_t *total);

/* ---- parsing ------------------------------------------------------------- */

struct mime_limits {
	unsigned max_depth;       /* nesting of multiparts and message/rfc822 */
	unsigned max_parts;       /* parts in one message */
	unsigned max_headers;     /* fields in one header section */
	size_t max_header_bytes;  /* bytes of one header section */
};
#define MIME_LIMITS_DEFAULT { 64, 10000, 1000, 1u << 20 }

enum mime_parse_flags {
	MIME_PARSE_COPY = 1, /* copy the input into the arena */
};

/* Parses len bytes of mail (CRLF or LF line ends; anything else is kept as
 * data).  lim NULL means MIME_LIMITS_DEFAULT.  Returns 0 and a message in
 * *out, or -1 (*out NULL) only when memory runs out. */
int mime_parse(const char *data, size_t len, unsigned flags,
	const struct mime_limits *lim, struct mime_msg **out);

void mime_msg_free(struct mime_msg *m);

/* The top-level part: the message itself (its header is the message
 * header). */
struct mime_part *mime_msg_root(const struct mime_msg *m);

/* ---- the tree ------------------------------------------------------------ */

enum mime_kind {
	MIME_LEAF,      /* a body: text, image, ... (or a multipart kept as a leaf) */
	MIME_MULTIPART, /* children are the body parts */
	MIME_MESSAGE,   /* message/rfc822 (not base64/QP-encoded): one child,
	                   the encapsulated message */
};

enum mime_kind mime_part_kind(const struct mime_part *p);
struct mime_part *mime_part_parent(const struct mime_part *p);
struct mime_part *mime_part_first_child(const struct mime_part *p);
struct mime_part *mime_part_next(const struct mime_part *p);
size_t mime_part_child_count(const struct mime_part *p);
unsigned mime_part_depth(const struct mime_part *p); /* root is 0 */
/* Depth-first pre-order walk of the subtree under root: starts with
 * p = root, returns NULL after the last part. */
struct mime_part *mime_part_walk(const struct mime_part *root, const struct mime_part *p);

/* ---- header fields ------------------------------------------------------- */

struct mime_header *mime_header_first(const struct mime_part *p);
struct mime_header *mime_header_next(const struct mime_header *h);
/* Next field named name (ASCII case-insensitive) after `after` (NULL: from
 * the first). */
struct mime_header *mime_header_find(const struct mime_part *p, const char *name,
	const struct mime_header *after);
/* Field name as written (NUL-terminated). */
const char *mime_header_name(const struct mime_header *h);
/* Raw value as in the input: the bytes after the colon, folding kept,
 * without the final line end; not NUL-terminated.  NULL for built fields. */
const char *mime_header_raw(const struct mime_header *h, size_t *len);
/* Unfolded, trimmed, RFC 2047-decoded value as UTF-8 (invalid bytes become
 * U+FFFD), NUL-terminated.  len may be NULL. */
const char *mime_header_value(struct mime_msg *m, struct mime_header *h, size_t *len);
/* Value of the first field named name, or NULL. */
const char *mime_part_header(struct mime_msg *m, const struct mime_part *p, const char *name);

/* Parameters of a structured field (Content-Type, Content-Disposition):
 * RFC 2045 name=value and RFC 2231 continuations and charsets, decoded to
 * UTF-8 (quoted values with RFC 2047 words are decoded too, as mailers send
 * them).  Names are matched case-insensitively. */
const char *mime_header_param(struct mime_msg *m, struct mime_header *h, const char *name);
size_t mime_header_param_count(struct mime_msg *m, struct mime_header *h);
/* i-th parameter (name lowercased); -1 when i is out of range. */
int mime_header_param_at(struct mime_msg *m, struct mime_header *h, size_t i,
	const char **name, const char **value);

/* ---- content ------------------------------------------------------------- */

enum mime_cte {
	MIME_CTE_7BIT, MIME_CTE_8BIT, MIME_CTE_BINARY,
	MIME_CTE_QP, MIME_CTE_BASE64, MIME_CTE_UNKNOWN,
};

/* Lowercased media type and subtype ("text", "plain"); the defaults of RFC
 * 2045/2046 apply (text/plain, message/rfc822 in multipart/digest). */
const char *mime_part_type(struct mime_msg *m, const struct mime_part *p);
const char *mime_part_subtype(struct mime_msg *m, const struct mime_part *p);
/* Lowercased charset parameter, or NULL. */
const char *mime_part_charset(struct mime_msg *m, const struct mime_part *p);
/* Lowercased disposition ("attachment", "inline") or NULL. */
const char *mime_part_disposition(struct mime_msg *m, const struct mime_part *p);
/* Content-Disposition filename, else Content-Type name, or NULL. */
const char *mime_part_filename(struct mime_msg *m, const struct mime_part *p);
enum mime_cte mime_part_cte(struct mime_msg *m, const struct mime_part *p);

/* The body as in the input (for a multipart: preamble, parts and epilogue);
 * not NUL-terminated.  NULL (and *len 0) for built parts. */
const char *mime_part_raw_body(const struct mime_part *p, size_t *len);
/* The body with its transfer encoding undone (always NUL-terminated, the NUL
 * not counted); for a multipart or message part, its raw body.  NULL only
 * when memory runs out. */
const char *mime_part_body(struct mime_msg *m, struct mime_part *p, size_t *len);
/* The decoded body converted from its charset to UTF-8 (NUL-terminated;
 * invalid bytes become U+FFFD).  Meant for text parts; works on any. */
const char *mime_part_text(struct mime_msg *m, struct mime_part *p, size_t *len);

/* ---- building and modifying ---------------------------------------------- */

/* A new message whose root is an empty leaf with no header fields.  New
 * parts are written with CRLF line ends; parts added to a parsed message use
 * its line end. */
struct mime_msg *mime_msg_new(void);

/* Appends a field.  name: printable ASCII without ':'; value: UTF-8 text
 * (leading and trailing white space is dropped; CR, LF and other controls
 * are allowed and go into encoded words).  -1 on a bad name or invalid
 * UTF-8. */
int mime_header_add(struct mime_msg *m, struct mime_part *p, const char *name,
	const char *value);
/* Removes every field named name, then appends one. */
int mime_header_set(struct mime_msg *m, struct mime_part *p, const char *name,
	const char *value);
/* Removes every field named name; returns how many. */
int mime_header_remove(struct mime_msg *m, struct mime_part *p, const char *name);

/* Sets Content-Type to "type/subtype" with parameters given as name, value
 * pairs ending in NULL (params may be NULL).  A multipart type gets a fresh
 * boundary and its part becomes MIME_MULTIPART; message/rfc822 makes it
 * MIME_MESSAGE.  Changing the kind of a part that has children is -1. */
int mime_part_set_type(struct mime_msg *m, struct mime_part *p, const char *type,
	const char *const *params);
/* Sets Content-Disposition ("attachment", "inline") with parameters as
 * above (e.g. "filename", "Résumé.pdf"). */
int mime_part_set_disposition(struct mime_msg *m, struct mime_part *p,
	const char *disposition, const char *const *params);
/* Replaces the body of a leaf with len bytes (copied).  Picks the transfer
 * encoding from the content and sets Content-Transfer-Encoding. */
int mime_part_set_body(struct mime_msg *m, struct mime_part *p, const void *data, size_t len);
/* Appends a new empty leaf to a multipart, or sets the (single) child of a
 * message/rfc822 part.  NULL on a leaf, a second message child, or when
 * memory runs out. */
struct mime_part *mime_part_add_child(struct mime_msg *m, struct mime_part *parent);

/* ---- encoding ------------------------------------------------------------ */

/* Appends the message to out.  Unmodified parts and fields are written as
 * they were read.  If a modified multipart's boundary now occurs in its
 * content, the part gets a fresh boundary (its Content-Type is rewritten in
 * the tree).  -1 when memory runs out (or out's limit is reached). */
int mime_encode(struct mime_msg *m, struct buf *out);

/* ---- comparing ----------------------------------------------------------- */

/* 1 when a and b are the same tree: same kinds and child counts; per part the
 * same fields in order (names case-insensitive, decoded values equal;
 * Content-Type and Content-Disposition compared as value plus parameter
 * list, ignoring boundary) and, for leaves, the same decoded body.  Else 0,
 * with a short reason in why (may be NULL). */
int mime_msg_equal(struct mime_msg *a, struct mime_msg *b, char *why, size_t whylen);

/* ---- decoders on their own (for other parsers and fuzzing) ----------------- */

/* Unfolds and decodes an unstructured header value (RFC 2047) to UTF-8 in
 * m's arena; errors go to m. */
const char *mime_decode_text(struct mime_msg *m, const char *raw, size_t len, size_t *outlen);
/* Looks up parameter name in a raw structured value such as
 * "text/plain; charset*=utf-8''%C3%A9".  NULL if absent. */
const char *mime_decode_param(struct mime_msg *m, const char *raw, size_t len, const char *name);

#endif
