/* spam_msg.h over raw message text: a deliberately small MIME walker
 * (header fields, multipart boundaries, base64 and quoted-printable,
 * RFC 2047 words with their bytes taken as they are).  It exists so the
 * filter works and can be measured without the bridge's full MIME parser;
 * spam_msg_mime.c is the adapter over that parser. */
#include "bridge-smtp/spam_msg.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#define FIELD_MAX 8192 /* bytes of one unfolded header value we look at */
#define CT_MAX 512

struct walk {
	struct spam_tokens *t;
	struct buf val;  /* unfolded header value */
	struct buf dec;  /* decoded header value / body */
	unsigned parts;
};

struct part_info {
	char ctype[CT_MAX];  /* Content-Type value as written */
	char cte[32];        /* Content-Transfer-Encoding, lowercased */
	char disp[CT_MAX];   /* Content-Disposition value */
};

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static int eq_ci(const char *a, size_t n, const char *lit)
{
	if (strlen(lit) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lit[i])
			return 0;
	return 1;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)lower((char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int base64_decode(const char *s, size_t n, struct buf *out)
{
	unsigned acc = 0;
	int bits = 0;

	/* Output is at most 3/4 of the input: reserve once, write directly. */
	if (buf_reserve(out, n / 4 * 3 + 4) < 0)
		return -1;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->data[out->len++] = (char)((acc >> bits) & 0xff);
		}
	}
	out->data[out->len] = '\0';
	return 0;
}

/* Quoted-printable; in_header makes '_' a space (RFC 2047 "Q"). */
static int qp_decode(const char *s, size_t n, int in_header, struct buf *out)
{
	if (buf_reserve(out, n + 1) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			c = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
			i += 2;
		} else if (c == '=' && i + 1 < n && (s[i + 1] == '\n' || s[i + 1] == '\r')) {
			i++;
			if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
			continue;
		} else if (c == '_' && in_header) {
			c = ' ';
		}
		out->data[out->len++] = c;
	}
	out->data[out->len] = '\0';
	return 0;
}

/* RFC 2047: decodes =?charset?B|Q?text?= words, dropping white space
 * between adjacent ones; the charset is not converted. */
static int decode_words(const char *s, size_t n, struct buf *out)
{
	size_t i = 0;
	int last_word = 0;
	size_t ws_start = 0;

	buf_reset(out);
	if (n < 2 || !memmem(s, n, "=?", 2))
		return buf_append(out, s, n);
	while (i < n) {
		if (s[i] == '=' && i + 1 < n && s[i + 1] == '?') {
			size_t q1 = i + 2, q2, end;
			while (q1 < n && s[q1] != '?')
				q1++;
			q2 = q1 + 2;
			if (q2 < n && s[q2] == '?') {
				end = q2 + 1;
				while (end + 1 < n && !(s[end] == '?' && s[end + 1] == '='))
					end++;
				if (end + 1 < n) {
					char enc = lower(s[q1 + 1]);
					if (enc == 'b' || enc == 'q') {
						if (last_word)
							out->len = ws_start; /* drop the gap */
						int rc = enc == 'b' ? base64_decode(s + q2 + 1, end - q2 - 1, out)
								    : qp_decode(s + q2 + 1, end - q2 - 1, 1, out);
						if (rc < 0)
							return -1;
						i = end + 2;
						last_word = 1;
						ws_start = out->len;
						continue;
					}
				}
			}
		}
		if (s[i] != ' ' && s[i] != '\t')
			last_word = 0;
		if (buf_putc(out, s[i]) < 0)
			return -1;
		i++;
	}
	return 0;
}

/* Finds parameter name (lowercase literal) in a structured value and
 * copies its value (quotes removed) into out. */
static int param(const char *v, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name), vlen = strlen(v);

	for (size_t i = 0; i + nlen < vlen; i++) {
		if ((i > 0 && v[i - 1] != ';' && v[i - 1] != ' ' && v[i - 1] != '\t') ||
		    !eq_ci(v + i, nlen, name) || v[i + nlen] != '=')
			continue;
		const char *p = v + i + nlen + 1;
		size_t k = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"' && k + 1 < outlen)
				out[k++] = *p++;
		} else {
			while (*p && *p != ';' && *p != ' ' && *p != '\t' && k + 1 < outlen)
				out[k++] = *p++;
		}
		out[k] = '\0';
		return k > 0;
	}
	return 0;
}

static void copy_field(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static int walk_part(struct walk *w, const char *p, size_t len, unsigned depth);

/* Header section at p; sets *body to the offset of the body. */
static int headers(struct walk *w, const char *p, size_t len, struct part_info *pi, size_t *body)
{
	size_t i = 0;

	while (i < len) {
		size_t eol = i, name_end;
		while (eol < len && p[eol] != '\n')
			eol++;
		if (eol == i || (eol == i + 1 && p[i] == '\r')) { /* empty line */
			*body = eol < len ? eol + 1 : len;
			return 0;
		}
		name_end = i;
		while (name_end < eol && p[name_end] != ':' && p[name_end] != ' ' && p[name_end] != '\t')
			name_end++;
		if (name_end == eol || p[name_end] != ':' || name_end == i) {
			/* Not a field: the header section ends here. */
			*body = i;
			return 0;
		}
		/* Unfold continuation lines into w->val. */
		buf_reset(&w->val);
		size_t vs = name_end + 1, next = eol < len ? eol + 1 : len;
		for (;;) {
			size_t e = eol;
			if (e > vs && p[e - 1] == '\r')
				e--;
			if (w->val.len + (e - vs) <= FIELD_MAX && buf_append(&w->val, p + vs, e - vs) < 0)
				return -1;
			if (next >= len || (p[next] != ' ' && p[next] != '\t'))
				break;
			vs = next;
			eol = next;
			while (eol < len && p[eol] != '\n')
				eol++;
			next = eol < len ? eol + 1 : len;
		}
		char name[64];
		size_t nl = name_end - i;
		if (nl < sizeof(name)) {
			const char *v = w->val.data ? w->val.data : "";
			size_t vl = w->val.len;
			while (vl && (*v == ' ' || *v == '\t')) {
				v++;
				vl--;
			}
			memcpy(name, p + i, nl);
			name[nl] = '\0';
			if (decode_words(v, vl, &w->dec) < 0 ||
			    spam_tok_header(w->t, name, w->dec.data ? w->dec.data : "", w->dec.len) < 0)
				return -1;
			if (eq_ci(name, nl, "content-type"))
				copy_field(pi->ctype, sizeof(pi->ctype), v, vl);
			else if (eq_ci(name, nl, "content-disposition"))
				copy_field(pi->disp, sizeof(pi->disp), v, vl);
			else if (eq_ci(name, nl, "content-transfer-encoding")) {
				copy_field(pi->cte, sizeof(pi->cte), v, vl);
				for (char *c = pi->cte; *c; c++)
					*c = lower(*c);
			}
		}
		i = next;
	}
	*body = len;
	return 0;
}

static int multipart(struct walk *w, const char *b, size_t len, const char *boundary, unsigned depth)
{
	size_t blen = strlen(boundary);
	size_t i = 0, start = 0;
	int in_part = 0;

	while (i < len) {
		size_t eol = i;
		while (eol < len && b[eol] != '\n')
			eol++;
		if (eol - i >= 2 + blen && b[i] == '-' && b[i + 1] == '-' &&
		    memcmp(b + i + 2, boundary, blen) == 0) {
			int close = eol - i >= 4 + blen && b[i + 2 + blen] == '-' && b[i + 3 + blen] == '-';
			if (in_part) {
				size_t end = i;
				/* The line break before a delimiter belongs to it. */
				if (end > start && b[end - 1] == '\n')
					end--;
				if (end > start && b[end - 1] == '\r')
					end--;
				if (walk_part(w, b + start, end - start, depth + 1) < 0)
					return -1;
			}
			if (close)
				return 0;
			in_part = 1;
			start = eol < len ? eol + 1 : len;
		}
		i = eol < len ? eol + 1 : len;
	}
	if (in_part && walk_part(w, b + start, len - start, depth + 1) < 0)
		return -1;
	return 0;
}

static int walk_part(struct walk *w, const char *p, size_t len, unsigned depth)
{
	struct part_info pi;
	size_t body = 0;
	char type[80] = "text/plain";
	char boundary[200], fname[256];

	if (depth > SPAM_MSG_MAX_DEPTH || ++w->parts > SPAM_MSG_MAX_PARTS) {
		w->t->truncated = 1;
		return 0;
	}
	memset(&pi, 0, sizeof(pi));
	if (headers(w, p, len, &pi, &body) < 0)
		return -1;
	if (pi.ctype[0]) {
		size_t k = 0;
		for (const char *c = pi.ctype; *c && *c != ';' && *c != ' ' && k + 1 < sizeof(type); c++)
			type[k++] = lower(*c);
		type[k] = '\0';
	}
	p += body;
	len -= body;
	if (strncmp(type, "multipart/", 10) == 0 && param(pi.ctype, "boundary", boundary, sizeof(boundary)))
		return multipart(w, p, len, boundary, depth);
	if (strcmp(type, "message/rfc822") == 0)
		return walk_part(w, p, len, depth + 1);
	int is_text = strcmp(type, "text/plain") == 0 || strcmp(type, "text/html") == 0;
	if (!is_text || strncmp(pi.disp, "attachment", 10) == 0) {
		const char *fn = NULL;
		if (param(pi.disp, "filename", fname, sizeof(fname)) || param(pi.ctype, "name", fname, sizeof(fname)))
			fn = fname;
		return spam_tok_attachment(w->t, type, fn);
	}
	buf_reset(&w->dec);
	const char *text = p;
	size_t tlen = len;
	if (strcmp(pi.cte, "base64") == 0 || strcmp(pi.cte, "quoted-printable") == 0) {
		int rc = pi.cte[0] == 'b' ? base64_decode(p, len, &w->dec) : qp_decode(p, len, 0, &w->dec);
		if (rc < 0)
			return -1;
		text = w->dec.data ? w->dec.data : "";
		tlen = w->dec.len;
	}
	return type[5] == 'h' ? spam_tok_html(w->t, text, tlen) : spam_tok_text(w->t, text, tlen);
}

int spam_msg_tokenize(struct spam_tokens *t, const char *msg, size_t len)
{
	struct walk w = { .t = t, .parts = 0 };
	int rc;

	if (len >= 5 && memcmp(msg, "From ", 5) == 0) {
		const char *nl = memchr(msg, '\n', len);
		size_t skip = nl ? (size_t)(nl - msg) + 1 : len;
		msg += skip;
		len -= skip;
	}
	buf_init(&w.val, 0);
	buf_init(&w.dec, 0);
	rc = walk_part(&w, msg, len, 0);
	buf_free(&w.val);
	buf_free(&w.dec);
	return rc;
}
