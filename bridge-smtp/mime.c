/* MIME tree: arena, parser, accessors, building and comparing.  The parser
 * keeps byte spans into the input so that unmodified parts can be written
 * back as they were read (see mime_encode.c). */
#include "bridge-smtp/mime_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena --------------------------------------------------------------- */

#define CHUNK_MIN 8192

void *mime_alloc(struct mime_msg *m, size_t n)
{
	struct arena_chunk *c = m->chunks;
	size_t al = sizeof(max_align_t);

	n = (n + al - 1) / al * al;
	if (!n)
		n = al;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_MIN / 2 ? n : CHUNK_MIN;
		if (cap > SIZE_MAX - sizeof(*c))
			return NULL;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->used = 0;
		if (n > CHUNK_MIN / 2 && m->chunks) {
			/* big blocks go behind the current chunk, which keeps its room */
			c->next = m->chunks->next;
			m->chunks->next = c;
		} else {
			c->next = m->chunks;
			m->chunks = c;
		}
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void *mime_zalloc(struct mime_msg *m, size_t n)
{
	void *p = mime_alloc(m, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *mime_strndup(struct mime_msg *m, const char *s, size_t n)
{
	char *p = mime_alloc(m, n + 1);
	if (p) {
		if (n)
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* ---- errors -------------------------------------------------------------- */

void mime_err(struct mime_msg *m, enum mime_error_code code, const char *at,
	const struct mime_part *p)
{
	m->nerr_total++;
	if (m->nerr < MIME_MAX_ERRORS) {
		struct mime_error *e = &m->errs[m->nerr++];
		e->code = code;
		e->offset = (at && m->in) ? (size_t)(at - m->in) : 0;
		e->part = p;
	}
}

const char *mime_error_name(enum mime_error_code code)
{
	switch (code) {
	case MIME_E_NO_BLANK_LINE: return "no-blank-line";
	case MIME_E_BAD_HEADER: return "bad-header";
	case MIME_E_LONG_LINE: return "long-line";
	case MIME_E_TOO_MANY_HEADERS: return "too-many-headers";
	case MIME_E_HEADERS_TOO_BIG: return "headers-too-big";
	case MIME_E_NO_BOUNDARY: return "no-boundary";
	case MIME_E_NO_DELIMITER: return "no-delimiter";
	case MIME_E_NO_CLOSE: return "no-close-delimiter";
	case MIME_E_DEPTH: return "too-deep";
	case MIME_E_TOO_MANY_PARTS: return "too-many-parts";
	case MIME_E_BAD_BASE64: return "bad-base64";
	case MIME_E_BAD_QP: return "bad-quoted-printable";
	case MIME_E_BAD_ENCODED_WORD: return "bad-encoded-word";
	case MIME_E_BAD_PARAM: return "bad-parameter";
	case MIME_E_UNKNOWN_CHARSET: return "unknown-charset";
	case MIME_E_BAD_CHARSET_DATA: return "bad-charset-data";
	case MIME_E_UNKNOWN_CTE: return "unknown-transfer-encoding";
	}
	return "unknown-error";
}

const struct mime_error *mime_msg_errors(const struct mime_msg *m, size_t *n, size_t *total)
{
	*n = m->nerr;
	if (total)
		*total = m->nerr_total;
	return m->errs;
}

/* ---- message lifecycle --------------------------------------------------- */

static struct mime_msg *msg_alloc(void)
{
	struct mime_msg *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cd = (iconv_t)-1;
	m->eol = "\r\n";
	m->eol_len = 2;
	struct mime_limits d = MIME_LIMITS_DEFAULT;
	m->lim = d;
	buf_init(&m->scratch, 0);
	buf_init(&m->scratch2, 0);
	return m;
}

void mime_msg_free(struct mime_msg *m)
{
	if (!m)
		return;
	struct arena_chunk *c = m->chunks;
	while (c) {
		struct arena_chunk *nx = c->next;
		free(c);
		c = nx;
	}
	if (m->cd != (iconv_t)-1)
		iconv_close(m->cd);
	buf_free(&m->scratch);
	buf_free(&m->scratch2);
	free(m);
}

struct mime_part *mime_msg_root(const struct mime_msg *m)
{
	return m->root;
}

/* ---- parser -------------------------------------------------------------- */

/* One line: content [s, ce), line end [ce, e). */
struct line {
	const char *s, *ce, *e;
};

static void next_line(const char *s, const char *end, struct line *l)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	l->s = s;
	if (!nl) {
		l->ce = l->e = end;
		return;
	}
	l->e = nl + 1;
	l->ce = (nl > s && nl[-1] == '\r') ? nl - 1 : nl;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int append_header(struct mime_msg *m, struct mime_part *p, enum hkind kind,
	const char *s, const char *e, const char *colon)
{
	struct mime_header *h = mime_alloc(m, sizeof(*h));
	if (!h)
		return -1;
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->raw = s;
	h->raw_len = (size_t)(e - s);
	if (kind == H_RAW) {
		const char *ne = colon;
		while (ne > s && is_wsp(ne[-1]))
			ne--;
		if (!(h->name = mime_strndup(m, s, (size_t)(ne - s))))
			return -1;
		h->val = colon + 1;
		const char *ve = e;
		if (ve > h->val && ve[-1] == '\n')
			ve--;
		if (ve > h->val && ve[-1] == '\r')
			ve--;
		h->val_len = (size_t)(ve - h->val);
	} else {
		h->name = "";
	}
	h->prev = p->hlast;
	if (p->hlast)
		p->hlast->next = h;
	else
		p->hfirst = h;
	p->hlast = h;
	return 0;
}

/* Finds the field name's colon on a header line, or NULL if the line is not
 * a field (name: printable ASCII; white space before the colon is obsolete
 * syntax we accept). */
static const char *field_colon(const char *s, const char *ce)
{
	const char *p = s;
	while (p < ce && *p > 32 && *p < 127 && *p != ':')
		p++;
	if (p == s)
		return NULL;
	while (p < ce && is_wsp(*p))
		p++;
	return (p < ce && *p == ':') ? p : NULL;
}

/* Header section of a part starting at s; returns the body start. */
static const char *parse_header(struct mime_msg *m, struct mime_part *p,
	const char *s, const char *end)
{
	const char *pos = s;
	unsigned count = 0;
	int long_line = 0;

	while (pos < end) {
		struct line l;
		next_line(pos, end, &l);
		if (l.ce == l.s && l.e > l.s) {
			if (long_line)
				mime_err(m, MIME_E_LONG_LINE, s, p);
			p->sep_off = (size_t)(l.s - s);
			p->sep_len = (size_t)(l.e - l.s);
			return l.e;
		}
		/* a field: this line plus continuation lines */
		const char *fe = l.e;
		if ((size_t)(l.ce - l.s) > 998)
			long_line = 1;
		while (fe < end && is_wsp(*fe)) {
			struct line c;
			next_line(fe, end, &c);
			if ((size_t)(c.ce - c.s) > 998)
				long_line = 1;
			fe = c.e;
		}
		if (count >= m->lim.max_headers || (size_t)(fe - s) > m->lim.max_header_bytes) {
			/* keep the rest of the section as raw bytes */
			mime_err(m, count >= m->lim.max_headers ? MIME_E_TOO_MANY_HEADERS
				: MIME_E_HEADERS_TOO_BIG, pos, p);
			const char *q = pos;
			for (;;) {
				if (q >= end)
					break;
				struct line c;
				next_line(q, end, &c);
				if (c.ce == c.s && c.e > c.s)
					break;
				q = c.e;
			}
			if (append_header(m, p, H_JUNK, pos, q, NULL) < 0)
				return NULL;
			pos = q;
			continue;
		}
		const char *colon = is_wsp(*l.s) ? NULL : field_colon(l.s, l.ce);
		if (!colon)
			mime_err(m, MIME_E_BAD_HEADER, l.s, p);
		if (append_header(m, p, colon ? H_RAW : H_JUNK, l.s, fe, colon) < 0)
			return NULL;
		count++;
		pos = fe;
	}
	if (long_line)
		mime_err(m, MIME_E_LONG_LINE, s, p);
	/* a body part made only of header lines is most likely a body whose
	 * empty line was lost */
	if (end > s && p->parent && p->parent->kind == MIME_MULTIPART)
		mime_err(m, MIME_E_NO_BLANK_LINE, s, p);
	p->sep_off = (size_t)(end - s);
	p->sep_len = 0;
	return end;
}

static int parse_part(struct mime_msg *m, struct mime_part *p, const char *s,
	const char *end, int digest_child);

static struct mime_part *new_child(struct mime_msg *m, struct mime_part *parent)
{
	struct mime_part *c = mime_zalloc(m, sizeof(*c));
	if (!c)
		return NULL;
	c->parent = parent;
	c->depth = parent->depth + 1;
	if (parent->last)
		parent->last->next = c;
	else
		parent->first = c;
	parent->last = c;
	parent->nchildren++;
	m->nparts++;
	return c;
}

/* Is the line at l a delimiter for boundary b?  1: delimiter, 2: close. */
static int delim_kind(const struct line *l, const char *b, size_t bl)
{
	const char *q = l->s + 2 + bl;
	if ((size_t)(l->ce - l->s) < 2 + bl || l->s[0] != '-' || l->s[1] != '-' ||
	    memcmp(l->s + 2, b, bl) != 0)
		return 0;
	if (l->ce - q >= 2 && q[0] == '-' && q[1] == '-')
		return 2;
	for (; q < l->ce; q++)
		if (!is_wsp(*q))
			return 0;
	return 1;
}

static int parse_multipart(struct mime_msg *m, struct mime_part *p, const char *body,
	const char *end, int digest)
{
	const char *b = p->boundary;
	size_t bl = strlen(b);
	const char *pos = body, *child_start = NULL;
	struct mime_part *cur = NULL;
	int found_close = 0, found_any = 0, capped = 0;
	/* the needle is "--boundary" at the start of a line */
	char *needle = mime_alloc(m, bl + 3);
	if (!needle)
		return -1;
	needle[0] = needle[1] = '-';
	memcpy(needle + 2, b, bl + 1);

	while (pos < end) {
		const char *hit = memmem(pos, (size_t)(end - pos), needle, bl + 2);
		if (!hit)
			break;
		if (hit != body && hit[-1] != '\n') {
			pos = hit + 1;
			continue;
		}
		struct line l;
		next_line(hit, end, &l);
		int k = delim_kind(&l, b, bl);
		if (!k) {
			pos = l.e;
			continue;
		}
		/* the line end before the delimiter belongs to it */
		const char *ds = hit;
		const char *floor = cur ? child_start : body;
		if (ds > floor && ds[-1] == '\n') {
			ds--;
			if (ds > floor && ds[-1] == '\r')
				ds--;
		}
		if (!found_any)
			p->preamble_len = (size_t)(ds - body);
		found_any = 1;
		if (cur) {
			cur->raw_len = (size_t)(ds - child_start);
		}
		if (k == 2) {
			p->close = ds;
			p->close_len = (size_t)(l.e - ds);
			p->epilogue = l.e;
			p->epilogue_len = (size_t)(end - l.e);
			found_close = 1;
			cur = NULL;
			break;
		}
		if (m->nparts >= m->lim.max_parts) {
			/* stop splitting: the last part keeps the rest as raw bytes */
			if (!capped)
				mime_err(m, MIME_E_TOO_MANY_PARTS, hit, p);
			capped = 1;
			if (cur) {
				cur->raw_len = (size_t)(end - child_start);
				cur = NULL;
				break;
			}
		}
		if (!(cur = new_child(m, p)))
			return -1;
		cur->delim = ds;
		cur->delim_len = (size_t)(l.e - ds);
		cur->raw = child_start = l.e;
		pos = l.e;
		if (capped) {
			cur->raw_len = (size_t)(end - child_start);
			cur = NULL;
			found_close = 1; /* nothing more to report */
			break;
		}
	}
	if (cur)
		cur->raw_len = (size_t)(end - child_start);
	if (!found_any) {
		mime_err(m, MIME_E_NO_DELIMITER, body, p);
		p->kind = MIME_LEAF;
		p->preamble_len = 0;
		return 0;
	}
	if (!p->first)
		mime_err(m, MIME_E_NO_DELIMITER, body, p);
	if (!found_close)
		mime_err(m, MIME_E_NO_CLOSE, end, p);
	for (struct mime_part *c = p->first; c; c = c->next)
		if (parse_part(m, c, c->raw, c->raw + c->raw_len, digest) < 0)
			return -1;
	return 0;
}

static struct mime_header *find_raw(const struct mime_part *p, const char *name)
{
	for (struct mime_header *h = p->hfirst; h; h = h->next)
		if (h->kind != H_JUNK && strcasecmp(h->name, name) == 0)
			return h;
	return NULL;
}

static int hdr_params(struct mime_msg *m, struct mime_header *h);

/* Fills p's type, subtype and cte caches. */
static int content_type(struct mime_msg *m, struct mime_part *p)
{
	if (p->ct_done)
		return 0;
	struct mime_header *h = find_raw(p, "content-type");
	const char *t = NULL;
	if (h) {
		if (hdr_params(m, h) < 0)
			return -1;
		t = h->main;
	}
	const char *slash = t ? strchr(t, '/') : NULL;
	if (!slash || slash == t || !slash[1]) {
		int digest = p->parent && p->parent->kind == MIME_MULTIPART &&
			content_type(m, p->parent) == 0 &&
			strcmp(p->parent->subtype, "digest") == 0;
		p->type = digest ? "message" : "text";
		p->subtype = digest ? "rfc822" : "plain";
	} else {
		if (!(p->type = mime_strndup(m, t, (size_t)(slash - t))))
			return -1;
		p->subtype = slash + 1;
	}
	struct mime_header *ce = find_raw(p, "content-transfer-encoding");
	p->cte = MIME_CTE_7BIT;
	if (ce) {
		if (ce->kind == H_RAW)
			p->cte = mime_cte_parse(ce->val, ce->val_len);
		else
			p->cte = mime_cte_parse(ce->val, strlen(ce->val));
	}
	p->ct_done = 1;
	return 0;
}

static const char *param_of(struct mime_header *h, const char *name)
{
	for (size_t i = 0; i < h->nplist; i++)
		if (strcmp(h->plist[i].name, name) == 0)
			return h->plist[i].value;
	return NULL;
}

static int parse_part(struct mime_msg *m, struct mime_part *p, const char *s,
	const char *end, int digest_child)
{
	(void)digest_child;
	p->raw = s;
	p->raw_len = (size_t)(end - s);
	const char *body = parse_header(m, p, s, end);
	if (!body)
		return -1;
	if (content_type(m, p) < 0)
		return -1;
	if (p->cte == MIME_CTE_UNKNOWN)
		mime_err(m, MIME_E_UNKNOWN_CTE, s, p);
	p->kind = MIME_LEAF;
	if (strcmp(p->type, "multipart") == 0) {
		struct mime_header *h = find_raw(p, "content-type");
		const char *b = h ? param_of(h, "boundary") : NULL;
		if (!b || !*b || strlen(b) > 998) {
			mime_err(m, MIME_E_NO_BOUNDARY, s, p);
			return 0;
		}
		if (p->depth >= m->lim.max_depth) {
			mime_err(m, MIME_E_DEPTH, s, p);
			return 0;
		}
		p->boundary = b;
		p->kind = MIME_MULTIPART;
		return parse_multipart(m, p, body, end, strcmp(p->subtype, "digest") == 0);
	}
	if (strcmp(p->type, "message") == 0 &&
	    (strcmp(p->subtype, "rfc822") == 0 || strcmp(p->subtype, "global") == 0) &&
	    (p->cte == MIME_CTE_7BIT || p->cte == MIME_CTE_8BIT || p->cte == MIME_CTE_BINARY)) {
		if (p->depth >= m->lim.max_depth) {
			mime_err(m, MIME_E_DEPTH, s, p);
			return 0;
		}
		if (m->nparts >= m->lim.max_parts) {
			mime_err(m, MIME_E_TOO_MANY_PARTS, s, p);
			return 0;
		}
		p->kind = MIME_MESSAGE;
		struct mime_part *c = new_child(m, p);
		if (!c)
			return -1;
		return parse_part(m, c, body, end, 0);
	}
	return 0;
}

int mime_parse(const char *data, size_t len, unsigned flags,
	const struct mime_limits *lim, struct mime_msg **out)
{
	struct mime_msg *m = msg_alloc();

	*out = NULL;
	if (!m)
		return -1;
	if (lim)
		m->lim = *lim;
	if (flags & MIME_PARSE_COPY) {
		char *c = mime_alloc(m, len + 1);
		if (!c)
			goto fail;
		if (len)
			memcpy(c, data, len);
		data = c;
	}
	if (!data)
		data = "";
	m->in = data;
	const char *nl = memchr(data, '\n', len);
	if (nl && !(nl > data && nl[-1] == '\r')) {
		m->eol = "\n";
		m->eol_len = 1;
	}
	m->root = mime_zalloc(m, sizeof(*m->root));
	if (!m->root)
		goto fail;
	m->nparts = 1;
	if (parse_part(m, m->root, data, data + len, 0) < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	mime_msg_free(m);
	return -1;
}

/* ---- tree access --------------------------------------------------------- */

enum mime_kind mime_part_kind(const struct mime_part *p) { return p->kind; }
struct mime_part *mime_part_parent(const struct mime_part *p) { return p->parent; }
struct mime_part *mime_part_first_child(const struct mime_part *p) { return p->first; }
struct mime_part *mime_part_next(const struct mime_part *p) { return p->next; }
size_t mime_part_child_count(const struct mime_part *p) { return p->nchildren; }
unsigned mime_part_depth(const struct mime_part *p) { return p->depth; }

struct mime_part *mime_part_walk(const struct mime_part *root, const struct mime_part *p)
{
	if (p->first)
		return p->first;
	while (p && p != root) {
		if (p->next)
			return p->next;
		p = p->parent;
	}
	return NULL;
}

/* ---- header access ------------------------------------------------------- */

static struct mime_header *skip_junk(struct mime_header *h)
{
	while (h && h->kind == H_JUNK)
		h = h->next;
	return h;
}

struct mime_header *mime_header_first(const struct mime_part *p)
{
	return skip_junk(p->hfirst);
}

struct mime_header *mime_header_next(const struct mime_header *h)
{
	return skip_junk(h->next);
}

struct mime_header *mime_header_find(const struct mime_part *p, const char *name,
	const struct mime_header *after)
{
	struct mime_header *h = after ? after->next : p->hfirst;
	for (; h; h = h->next)
		if (h->kind != H_JUNK && strcasecmp(h->name, name) == 0)
			return h;
	return NULL;
}

const char *mime_header_name(const struct mime_header *h)
{
	return h->name;
}

const char *mime_header_raw(const struct mime_header *h, size_t *len)
{
	if (h->kind != H_RAW) {
		*len = 0;
		return NULL;
	}
	*len = h->val_len;
	return h->val;
}

const char *mime_decode_text(struct mime_msg *m, const char *raw, size_t len, size_t *outlen)
{
	buf_reset(&m->scratch);
	if (mime_decode_words(m, raw, len, &m->scratch) < 0)
		return NULL;
	char *r = mime_strndup(m, m->scratch.data ? m->scratch.data : "", m->scratch.len);
	if (r && outlen)
		*outlen = m->scratch.len;
	return r;
}

const char *mime_header_value(struct mime_msg *m, struct mime_header *h, size_t *len)
{
	if (!h->dec_done) {
		if (h->kind == H_TEXT) {
			h->dec = h->val;
			h->dec_len = h->val_len;
		} else if (h->kind == H_PARAMS) {
			/* the value a reader of the encoded field would see */
			struct buf b = BUF_INIT;
			if (mime_encode_header(m, h, &b) < 0) {
				buf_free(&b);
				return NULL;
			}
			size_t skip = strlen(h->name) + 1;
			h->dec = mime_decode_text(m, b.data + skip, b.len - skip, &h->dec_len);
			buf_free(&b);
			if (!h->dec)
				return NULL;
		} else if (h->kind == H_RAW) {
			if (!(h->dec = mime_decode_text(m, h->val, h->val_len, &h->dec_len)))
				return NULL;
		} else {
			h->dec = "";
			h->dec_len = 0;
		}
		h->dec_done = 1;
	}
	if (len)
		*len = h->dec_len;
	return h->dec;
}

const char *mime_part_header(struct mime_msg *m, const struct mime_part *p, const char *name)
{
	struct mime_header *h = mime_header_find(p, name, NULL);
	return h ? mime_header_value(m, h, NULL) : NULL;
}

static int hdr_params(struct mime_msg *m, struct mime_header *h)
{
	if (h->plist_done)
		return 0;
	if (h->kind == H_PARAMS) {
		h->plist = h->params;
		h->nplist = h->nparams;
		char *mv = mime_strndup(m, h->val, h->val_len);
		if (!mv)
			return -1;
		for (char *c = mv; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c + 32);
		h->main = mv;
	} else {
		const char *v = h->kind == H_RAW ? h->val : (h->val ? h->val : "");
		size_t vl = h->kind == H_RAW ? h->val_len : h->val_len;
		if (mime_parse_params(m, v, vl, &h->main, &h->plist, &h->nplist) < 0)
			return -1;
	}
	h->plist_done = 1;
	return 0;
}

const char *mime_header_param(struct mime_msg *m, struct mime_header *h, const char *name)
{
	if (hdr_params(m, h) < 0)
		return NULL;
	for (size_t i = 0; i < h->nplist; i++)
		if (strcasecmp(h->plist[i].name, name) == 0)
			return h->plist[i].value;
	return NULL;
}

size_t mime_header_param_count(struct mime_msg *m, struct mime_header *h)
{
	return hdr_params(m, h) < 0 ? 0 : h->nplist;
}

int mime_header_param_at(struct mime_msg *m, struct mime_header *h, size_t i,
	const char **name, const char **value)
{
	if (hdr_params(m, h) < 0 || i >= h->nplist)
		return -1;
	*name = h->plist[i].name;
	*value = h->plist[i].value;
	return 0;
}

const char *mime_decode_param(struct mime_msg *m, const char *raw, size_t len, const char *name)
{
	const char *mv;
	struct mparam *l;
	size_t n;

	if (mime_parse_params(m, raw, len, &mv, &l, &n) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(l[i].name, name) == 0)
			return l[i].value;
	return NULL;
}

/* ---- content access ------------------------------------------------------ */

const char *mime_part_type(struct mime_msg *m, const struct mime_part *p)
{
	return content_type(m, (struct mime_part *)p) < 0 ? NULL : p->type;
}

const char *mime_part_subtype(struct mime_msg *m, const struct mime_part *p)
{
	return content_type(m, (struct mime_part *)p) < 0 ? NULL : p->subtype;
}

enum mime_cte mime_part_cte(struct mime_msg *m, const struct mime_part *p)
{
	return content_type(m, (struct mime_part *)p) < 0 ? MIME_CTE_UNKNOWN : p->cte;
}

static const char *lowered_param(struct mime_msg *m, const struct mime_part *p,
	const char *field, const char *name)
{
	struct mime_header *h = find_raw(p, field);
	const char *v = h ? mime_header_param(m, h, name) : NULL;
	if (!v)
		return NULL;
	char *c = mime_strndup(m, v, strlen(v));
	for (char *q = c; q && *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q + 32);
	return c;
}

const char *mime_part_charset(struct mime_msg *m, const struct mime_part *p)
{
	return lowered_param(m, p, "content-type", "charset");
}

const char *mime_part_disposition(struct mime_msg *m, const struct mime_part *p)
{
	struct mime_header *h = find_raw(p, "content-disposition");
	if (!h || hdr_params(m, h) < 0 || !h->main[0])
		return NULL;
	return h->main;
}

const char *mime_part_filename(struct mime_msg *m, const struct mime_part *p)
{
	struct mime_header *h = find_raw(p, "content-disposition");
	const char *v = h ? mime_header_param(m, h, "filename") : NULL;
	if (!v && (h = find_raw(p, "content-type")))
		v = mime_header_param(m, h, "name");
	return v;
}

const char *mime_part_raw_body(const struct mime_part *p, size_t *len)
{
	if (!p->raw) {
		*len = 0;
		return NULL;
	}
	size_t off = p->sep_off + p->sep_len;
	*len = p->raw_len - off;
	return p->raw + off;
}

const char *mime_part_body(struct mime_msg *m, struct mime_part *p, size_t *len)
{
	if (p->body_done) {
		*len = p->dbody_len;
		return p->dbody;
	}
	if (p->body_set) {
		p->dbody = p->nbody;
		p->dbody_len = p->nbody_len;
	} else {
		size_t rl;
		const char *r = mime_part_raw_body(p, &rl);
		if (content_type(m, p) < 0)
			return NULL;
		if (!r)
			r = "";
		if (p->kind == MIME_LEAF && (p->cte == MIME_CTE_BASE64 || p->cte == MIME_CTE_QP)) {
			int bad = 0;
			buf_reset(&m->scratch);
			if ((p->cte == MIME_CTE_BASE64 ? mime_b64_decode(m, r, rl, &m->scratch, &bad)
				: mime_qp_decode(r, rl, &m->scratch, &bad, 0)) < 0)
				return NULL;
			if (bad)
				mime_err(m, p->cte == MIME_CTE_BASE64 ? MIME_E_BAD_BASE64 : MIME_E_BAD_QP, r, p);
			if (!(p->dbody = mime_strndup(m, m->scratch.data ? m->scratch.data : "", m->scratch.len)))
				return NULL;
			p->dbody_len = m->scratch.len;
		} else if (rl == 0) {
			p->dbody = "";
			p->dbody_len = 0;
		} else {
			/* copied: the input need not have a NUL after the body */
			if (!(p->dbody = mime_strndup(m, r, rl)))
				return NULL;
			p->dbody_len = rl;
		}
	}
	p->body_done = 1;
	*len = p->dbody_len;
	return p->dbody;
}

const char *mime_part_text(struct mime_msg *m, struct mime_part *p, size_t *len)
{
	if (!p->text_done) {
		size_t bl;
		const char *b = mime_part_body(m, p, &bl);
		if (!b)
			return NULL;
		const char *cs = mime_part_charset(m, p);
		buf_reset(&m->scratch2);
		if (mime_conv_utf8(m, cs ? cs : "", cs ? strlen(cs) : 0, b, bl, &m->scratch2) < 0)
			return NULL;
		if (!(p->text = mime_strndup(m, m->scratch2.data ? m->scratch2.data : "", m->scratch2.len)))
			return NULL;
		p->text_len = m->scratch2.len;
		p->text_done = 1;
	}
	if (len)
		*len = p->text_len;
	return p->text;
}

/* ---- building ------------------------------------------------------------ */

struct mime_msg *mime_msg_new(void)
{
	struct mime_msg *m = msg_alloc();
	if (!m)
		return NULL;
	m->root = mime_zalloc(m, sizeof(*m->root));
	if (!m->root) {
		mime_msg_free(m);
		return NULL;
	}
	m->root->dirty = 1;
	m->nparts = 1;
	return m;
}

static void touch(struct mime_part *p)
{
	p->ct_done = 0;
	p->text_done = 0;
	for (; p; p = p->parent)
		p->dirty = 1;
}

static int valid_name(const char *n)
{
	if (!n || !*n)
		return 0;
	for (; *n; n++)
		if (*n <= 32 || *n >= 127 || *n == ':')
			return 0;
	return 1;
}

static void link_header(struct mime_part *p, struct mime_header *h)
{
	h->prev = p->hlast;
	h->next = NULL;
	if (p->hlast)
		p->hlast->next = h;
	else
		p->hfirst = h;
	p->hlast = h;
}

static void unlink_header(struct mime_part *p, struct mime_header *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		p->hfirst = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		p->hlast = h->prev;
}

static struct mime_header *new_header(struct mime_msg *m, const char *name,
	enum hkind kind, const char *value)
{
	if (!valid_name(name) || !value || !mime_utf8_valid(value, strlen(value)))
		return NULL;
	size_t a = 0, n = strlen(value);
	while (a < n && (value[a] == ' ' || value[a] == '\t'))
		a++;
	while (n > a && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	struct mime_header *h = mime_zalloc(m, sizeof(*h));
	if (!h || !(h->name = mime_strndup(m, name, strlen(name))) ||
	    !(h->val = mime_strndup(m, value + a, n - a)))
		return NULL;
	h->val_len = n - a;
	h->kind = kind;
	return h;
}

int mime_header_add(struct mime_msg *m, struct mime_part *p, const char *name,
	const char *value)
{
	struct mime_header *h = new_header(m, name, H_TEXT, value);
	if (!h)
		return -1;
	link_header(p, h);
	touch(p);
	return 0;
}

int mime_header_remove(struct mime_msg *m, struct mime_part *p, const char *name)
{
	int n = 0;
	(void)m;
	for (struct mime_header *h = p->hfirst, *nx; h; h = nx) {
		nx = h->next;
		if (h->kind != H_JUNK && strcasecmp(h->name, name) == 0) {
			unlink_header(p, h);
			n++;
		}
	}
	if (n)
		touch(p);
	return n;
}

int mime_header_set(struct mime_msg *m, struct mime_part *p, const char *name,
	const char *value)
{
	struct mime_header *h = new_header(m, name, H_TEXT, value);
	if (!h)
		return -1;
	mime_header_remove(m, p, name);
	link_header(p, h);
	touch(p);
	return 0;
}

static int set_params_header(struct mime_msg *m, struct mime_part *p, const char *field,
	const char *value, const char *const *params, const char *boundary)
{
	size_t np = 0;
	for (; params && params[np * 2]; np++)
		if (!params[np * 2 + 1] || !valid_name(params[np * 2]) ||
		    !mime_utf8_valid(params[np * 2 + 1], strlen(params[np * 2 + 1])))
			return -1;
	struct mime_header *h = new_header(m, field, H_PARAMS, value);
	if (!h)
		return -1;
	for (const char *c = h->val; *c; c++)
		if (*c <= 32 || *c >= 127 || *c == ';' || *c == '"')
			return -1;
	h->params = mime_alloc(m, (np + 1) * sizeof(*h->params));
	if (!h->params)
		return -1;
	for (size_t i = 0; i < np; i++) {
		if (boundary && strcasecmp(params[i * 2], "boundary") == 0)
			continue;
		char *nm = mime_strndup(m, params[i * 2], strlen(params[i * 2]));
		if (!nm || !(h->params[h->nparams].value = mime_strndup(m, params[i * 2 + 1],
			strlen(params[i * 2 + 1]))))
			return -1;
		for (char *c = nm; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c + 32);
		h->params[h->nparams++].name = nm;
	}
	if (boundary) {
		h->params[h->nparams].name = "boundary";
		h->params[h->nparams++].value = boundary;
	}
	mime_header_remove(m, p, field);
	link_header(p, h);
	touch(p);
	return 0;
}

/* A boundary made only of characters base64 and quoted-printable output
 * cannot produce in this order ("=_"), so collisions are rare; mime_encode
 * still checks. */
static char *fresh_boundary(struct mime_msg *m)
{
	char tmp[48];
	unsigned x = ++m->boundary_seq;
	uint64_t h = (uint64_t)x * 0x9e3779b97f4a7c15ull;
	snprintf(tmp, sizeof(tmp), "=_scop_%u_%016llx", x, (unsigned long long)h);
	return mime_strndup(m, tmp, strlen(tmp));
}

char *mime_new_boundary(struct mime_msg *m)
{
	return fresh_boundary(m);
}

int mime_part_set_type(struct mime_msg *m, struct mime_part *p, const char *type,
	const char *const *params)
{
	const char *slash = type ? strchr(type, '/') : NULL;
	if (!slash || slash == type || !slash[1])
		return -1;
	enum mime_kind k = MIME_LEAF;
	if (strncasecmp(type, "multipart/", 10) == 0)
		k = MIME_MULTIPART;
	else if (strcasecmp(type, "message/rfc822") == 0 || strcasecmp(type, "message/global") == 0)
		k = MIME_MESSAGE;
	if (p->first && k != p->kind)
		return -1;
	if (k != MIME_LEAF && p->body_set)
		return -1;
	char *b = NULL;
	if (k == MIME_MULTIPART && !(b = fresh_boundary(m)))
		return -1;
	if (set_params_header(m, p, "Content-Type", type, params, b) < 0)
		return -1;
	p->kind = k;
	p->boundary = b;
	if (k != MIME_LEAF)
		mime_header_remove(m, p, "Content-Transfer-Encoding");
	return 0;
}

int mime_part_set_disposition(struct mime_msg *m, struct mime_part *p,
	const char *disposition, const char *const *params)
{
	return set_params_header(m, p, "Content-Disposition", disposition, params, NULL);
}

/* Picks a transfer encoding: 7bit when the data is already short lines of
 * ASCII with the message's line ends, else quoted-printable for mostly-ASCII
 * text, else base64. */
static enum mime_cte choose_cte(struct mime_msg *m, struct mime_part *p,
	const unsigned char *d, size_t n)
{
	size_t high = 0, col = 0, maxcol = 0;
	int ctl = 0, crlf = m->eol_len == 2;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = d[i];
		if (c >= 32 && c < 127) {
			col++;
			continue;
		}
		if (c == '\n') {
			if (crlf && !(i > 0 && d[i - 1] == '\r'))
				ctl = 1;
			if (col > maxcol)
				maxcol = col;
			col = 0;
			continue;
		}
		if (c == '\r') {
			if (!crlf || i + 1 >= n || d[i + 1] != '\n')
				ctl = 1;
			continue;
		}
		if (c >= 0x80)
			high++;
		else if (c != '\t')
			ctl = 1;
		col++;
		if (ctl && high * 8 > n)
			return MIME_CTE_BASE64; /* binary: no need to look further */
	}
	if (col > maxcol)
		maxcol = col;
	if (!ctl && !high && maxcol <= 76)
		return MIME_CTE_7BIT;
	if (content_type(m, p) == 0 && strcmp(p->type, "text") == 0 && high * 8 <= n &&
	    memchr(d, 0, n) == NULL)
		return MIME_CTE_QP;
	return MIME_CTE_BASE64;
}

int mime_part_set_body(struct mime_msg *m, struct mime_part *p, const void *data, size_t len)
{
	if (p->kind != MIME_LEAF || (!data && len))
		return -1;
	char *c = mime_strndup(m, data ? data : "", len);
	if (!c)
		return -1;
	enum mime_cte cte = choose_cte(m, p, (const unsigned char *)c, len);
	static const char *const names[] = { "7bit", "8bit", "binary", "quoted-printable", "base64", "" };
	if (mime_header_set(m, p, "Content-Transfer-Encoding", names[cte]) < 0)
		return -1;
	p->nbody = c;
	p->nbody_len = len;
	p->body_set = 1;
	p->body_done = 0;
	touch(p);
	return 0;
}

struct mime_part *mime_part_add_child(struct mime_msg *m, struct mime_part *parent)
{
	if (parent->kind == MIME_LEAF || (parent->kind == MIME_MESSAGE && parent->first))
		return NULL;
	if (m->nparts >= m->lim.max_parts || parent->depth + 1 > m->lim.max_depth)
		return NULL;
	struct mime_part *c = new_child(m, parent);
	if (!c)
		return NULL;
	c->kind = MIME_LEAF;
	touch(c);
	return c;
}

/* ---- comparing ----------------------------------------------------------- */

static int differ(char *why, size_t wl, const struct mime_part *p, const char *fmt, const char *what)
{
	if (why && wl)
		snprintf(why, wl, "part at depth %u: %s %s", p->depth, fmt, what ? what : "");
	return 0;
}

static int params_equal(struct mime_msg *a, struct mime_header *ha, struct mime_msg *b,
	struct mime_header *hb)
{
	if (hdr_params(a, ha) < 0 || hdr_params(b, hb) < 0)
		return 0;
	if (strcmp(ha->main, hb->main) != 0)
		return 0;
	size_t i = 0, j = 0;
	for (;;) {
		while (i < ha->nplist && strcmp(ha->plist[i].name, "boundary") == 0)
			i++;
		while (j < hb->nplist && strcmp(hb->plist[j].name, "boundary") == 0)
			j++;
		if (i == ha->nplist || j == hb->nplist)
			return i == ha->nplist && j == hb->nplist;
		if (strcmp(ha->plist[i].name, hb->plist[j].name) != 0 ||
		    strcmp(ha->plist[i].value, hb->plist[j].value) != 0)
			return 0;
		i++, j++;
	}
}

static int part_equal(struct mime_msg *a, struct mime_part *pa, struct mime_msg *b,
	struct mime_part *pb, char *why, size_t wl)
{
	if (pa->kind != pb->kind)
		return differ(why, wl, pa, "kind differs", NULL);
	struct mime_header *ha = mime_header_first(pa), *hb = mime_header_first(pb);
	for (; ha && hb; ha = mime_header_next(ha), hb = mime_header_next(hb)) {
		if (strcasecmp(ha->name, hb->name) != 0)
			return differ(why, wl, pa, "field name differs:", ha->name);
		if (!strcasecmp(ha->name, "content-type") || !strcasecmp(ha->name, "content-disposition")) {
			if (!params_equal(a, ha, b, hb))
				return differ(why, wl, pa, "parameters differ in", ha->name);
			continue;
		}
		size_t la, lb;
		const char *va = mime_header_value(a, ha, &la), *vb = mime_header_value(b, hb, &lb);
		if (!va || !vb || la != lb || memcmp(va, vb, la) != 0)
			return differ(why, wl, pa, "value differs:", ha->name);
	}
	if (ha || hb)
		return differ(why, wl, pa, "field count differs", NULL);
	if (pa->kind == MIME_LEAF) {
		size_t la, lb;
		const char *ba = mime_part_body(a, pa, &la), *bb = mime_part_body(b, pb, &lb);
		if (!ba || !bb || la != lb || memcmp(ba, bb, la) != 0)
			return differ(why, wl, pa, "body differs", NULL);
		return 1;
	}
	if (pa->nchildren != pb->nchildren)
		return differ(why, wl, pa, "child count differs", NULL);
	for (struct mime_part *ca = pa->first, *cb = pb->first; ca; ca = ca->next, cb = cb->next)
		if (!part_equal(a, ca, b, cb, why, wl))
			return 0;
	return 1;
}

int mime_msg_equal(struct mime_msg *a, struct mime_msg *b, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	return part_equal(a, a->root, b, b->root, why, whylen);
}
