/* Internals shared by mime.c (tree, parser, accessors), mime_codec.c
 * (transfer encodings, charsets, encoded words, parameters) and
 * mime_encode.c.  Not part of the API: use mime.h. */
#ifndef SCOP_MIME_INT_H
#define SCOP_MIME_INT_H

#include <iconv.h>
#include <stddef.h>

#include "bridge-smtp/mime.h"
#include "common/buf.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

enum hkind {
	H_RAW,    /* parsed field: raw bytes kept */
	H_JUNK,   /* parsed bytes that are not a field; written back, never listed */
	H_TEXT,   /* built: UTF-8 value, encoded as unstructured text */
	H_PARAMS, /* built: value plus parameters (Content-Type, -Disposition) */
};

struct mparam {
	const char *name;  /* lowercased */
	const char *value; /* UTF-8 */
};

struct mime_header {
	struct mime_header *next, *prev;
	enum hkind kind;
	const char *name;              /* NUL-terminated; "" for junk */
	const char *raw; size_t raw_len; /* H_RAW/H_JUNK: whole field with line end */
	const char *val; size_t val_len; /* H_RAW: value after ':'; built: value */
	struct mparam *params; size_t nparams; /* H_PARAMS */
	/* caches */
	const char *dec; size_t dec_len;
	const char *main;              /* lowercased value before the first ';' */
	struct mparam *plist; size_t nplist;
	unsigned dec_done : 1, plist_done : 1;
};

struct mime_part {
	struct mime_part *parent, *first, *last, *next;
	enum mime_kind kind;
	unsigned depth, nchildren;
	struct mime_header *hfirst, *hlast;
	/* parsed spans; raw == NULL for built parts */
	const char *raw; size_t raw_len; /* the whole part */
	size_t sep_off, sep_len;         /* the empty line ending the header */
	const char *delim; size_t delim_len; /* delimiter line before this part */
	/* multipart */
	const char *boundary;            /* NUL-terminated, or NULL */
	size_t preamble_len;             /* from body start */
	const char *close; size_t close_len; /* close delimiter, line ends included */
	const char *epilogue; size_t epilogue_len;
	/* modification state */
	unsigned dirty : 1, body_set : 1;
	const char *nbody; size_t nbody_len;
	/* caches */
	unsigned ct_done : 1, body_done : 1, text_done : 1;
	const char *type, *subtype;
	enum mime_cte cte;
	const char *dbody; size_t dbody_len;
	const char *text; size_t text_len;
};

struct mime_msg {
	struct arena_chunk *chunks;
	struct mime_part *root;
	struct mime_limits lim;
	unsigned nparts;
	const char *eol; size_t eol_len;
	struct mime_error errs[MIME_MAX_ERRORS];
	size_t nerr, nerr_total;
	const char *in; /* start of input, for error offsets */
	/* one cached iconv descriptor: most mail uses one foreign charset */
	char cd_name[48];
	iconv_t cd;
	unsigned boundary_seq;
	struct buf scratch, scratch2;
};

void *mime_alloc(struct mime_msg *m, size_t n);
char *mime_strndup(struct mime_msg *m, const char *s, size_t n);
void mime_err(struct mime_msg *m, enum mime_error_code code, const char *at,
	const struct mime_part *p);

/* mime_codec.c */
int mime_ascii_casecmp_n(const char *a, size_t alen, const char *b);
/* Appends bytes in charset converted to UTF-8 (invalid -> U+FFFD). */
int mime_conv_utf8(struct mime_msg *m, const char *charset, size_t cslen,
	const char *in, size_t n, struct buf *out);
int mime_utf8_valid(const char *s, size_t n);
int mime_b64_decode(struct mime_msg *m, const char *in, size_t n, struct buf *out, int *bad);
int mime_qp_decode(const char *in, size_t n, struct buf *out, int *bad, int q_mode);
int mime_b64_encode(const char *in, size_t n, const char *eol, size_t eol_len, struct buf *out);
int mime_qp_encode(const char *in, size_t n, const char *eol, size_t eol_len, struct buf *out);
/* Decodes an unstructured value to UTF-8, appended to out. */
int mime_decode_words(struct mime_msg *m, const char *raw, size_t len, struct buf *out);
/* Parses a structured value: main value (lowercased) and merged parameters. */
int mime_parse_params(struct mime_msg *m, const char *raw, size_t len,
	const char **main, struct mparam **list, size_t *n);
enum mime_cte mime_cte_parse(const char *v, size_t n);

/* mime.c: a boundary not yet used in this message */
char *mime_new_boundary(struct mime_msg *m);

/* mime_encode.c */
int mime_encode_header(struct mime_msg *m, const struct mime_header *h, struct buf *out);
int mime_encode_text_value(const char *eol, size_t eol_len, size_t col,
	const char *v, size_t n, struct buf *out);

#endif
