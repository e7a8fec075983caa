/* MIME encoder: writes unmodified parsed parts and fields byte for byte and
 * encodes modified or built ones from their structured values. */
#include "bridge-smtp/mime_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FOLD_AT 78
#define WORD_PAYLOAD 63 /* 75 minus "=?UTF-8?Q?" and "?=" */

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static int needs_encoding(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		if (c < 0x20 || c >= 0x7f)
			return 1;
		if (i + 1 < n && ((c == '=' && w[i + 1] == '?') || (c == '?' && w[i + 1] == '=')))
			return 1;
	}
	return 0;
}

static int q_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

struct folder {
	struct buf *out;
	const char *eol;
	size_t eol_len, col;
};

/* Writes white space ws and token t, folding before ws when the line would
 * pass FOLD_AT (folding keeps the white space, so unfolding restores it). */
static int put_token(struct folder *f, const char *ws, size_t wl, const char *t, size_t tl)
{
	if (wl && f->col + wl + tl > FOLD_AT && f->col > 0) {
		if (buf_append(f->out, f->eol, f->eol_len) < 0)
			return -1;
		f->col = 0;
	}
	if (buf_append(f->out, ws, wl) < 0 || buf_append(f->out, t, tl) < 0)
		return -1;
	f->col += wl + tl;
	return 0;
}

static const char hexd[] = "0123456789ABCDEF";

/* Encodes s[0..n) as a run of encoded words; the first follows ws. */
static int put_encoded(struct folder *f, const char *ws, size_t wl, const char *s, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t qlen = 0;
	for (size_t i = 0; i < n; i++)
		qlen += (q_safe((unsigned char)s[i]) || s[i] == ' ') ? 1 : 3;
	int use_b = qlen > (n + 2) / 3 * 4;
	char word[128];
	size_t i = 0;
	int first = 1;

	while (i < n) {
		/* take whole characters while the word stays short enough */
		size_t j = i, enc = 0;
		while (j < n) {
			size_t cl = utf8_len((unsigned char)s[j]);
			if (j + cl > n)
				cl = n - j;
			size_t add;
			if (use_b) {
				add = ((j + cl - i) + 2) / 3 * 4 - enc;
			} else {
				add = 0;
				for (size_t k = j; k < j + cl; k++)
					add += (q_safe((unsigned char)s[k]) || s[k] == ' ') ? 1 : 3;
			}
			if (enc + add > WORD_PAYLOAD && j > i)
				break;
			enc += add;
			j += cl;
		}
		size_t w = 0;
		memcpy(word, use_b ? "=?UTF-8?B?" : "=?UTF-8?Q?", 10);
		w = 10;
		if (use_b) {
			const unsigned char *p = (const unsigned char *)s;
			for (size_t k = i; k < j; k += 3) {
				unsigned v = (unsigned)p[k] << 16;
				if (k + 1 < j)
					v |= (unsigned)p[k + 1] << 8;
				if (k + 2 < j)
					v |= p[k + 2];
				word[w++] = b64[(v >> 18) & 63];
				word[w++] = b64[(v >> 12) & 63];
				word[w++] = k + 1 < j ? b64[(v >> 6) & 63] : '=';
				word[w++] = k + 2 < j ? b64[v & 63] : '=';
			}
		} else {
			for (size_t k = i; k < j; k++) {
				unsigned char c = (unsigned char)s[k];
				if (c == ' ') {
					word[w++] = '_';
				} else if (q_safe(c)) {
					word[w++] = (char)c;
				} else {
					word[w++] = '=';
					word[w++] = hexd[c >> 4];
					word[w++] = hexd[c & 15];
				}
			}
		}
		word[w++] = '?';
		word[w++] = '=';
		if (put_token(f, first ? ws : " ", first ? wl : 1, word, w) < 0)
			return -1;
		first = 0;
		i = j;
	}
	return 0;
}

int mime_encode_text_value(const char *eol, size_t eol_len, size_t col,
	const char *v, size_t n, struct buf *out)
{
	struct folder f = { out, eol, eol_len, col };
	size_t i = 0;

	while (i < n) {
		size_t ws = i;
		while (i < n && is_ws(v[i]))
			i++;
		size_t we = i, ts = i;
		while (i < n && !is_ws(v[i]))
			i++;
		size_t te = i;
		if (ts == te) {
			/* trailing white space (values are trimmed; kept for safety) */
			if (buf_append(out, v + ws, we - ws) < 0)
				return -1;
			break;
		}
		if (!needs_encoding(v + ts, te - ts)) {
			if (put_token(&f, v + ws, we - ws, v + ts, te - ts) < 0)
				return -1;
			continue;
		}
		/* extend over following words that need encoding too: white space
		 * between encoded words is dropped by readers, so it goes inside */
		size_t re = te;
		for (;;) {
			size_t j = re;
			while (j < n && is_ws(v[j]))
				j++;
			size_t k = j;
			while (k < n && !is_ws(v[k]))
				k++;
			if (k == j || !needs_encoding(v + j, k - j))
				break;
			re = k;
		}
		if (put_encoded(&f, v + ws, we - ws, v + ts, re - ts) < 0)
			return -1;
		i = re;
	}
	return 0;
}

/* ---- parameters ---------------------------------------------------------- */

static int tspecial(unsigned char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static int attr_char(unsigned char c)
{
	return c > 32 && c < 127 && !tspecial(c) && c != '*' && c != '\'' && c != '%';
}

static int put_piece(struct folder *f, const char *s, size_t n)
{
	if (f->col + 2 + n + 1 > FOLD_AT) { /* room for a following ";" */
		if (buf_putc(f->out, ';') < 0 || buf_append(f->out, f->eol, f->eol_len) < 0 ||
		    buf_putc(f->out, ' ') < 0)
			return -1;
		f->col = 1;
	} else {
		if (buf_append(f->out, "; ", 2) < 0)
			return -1;
		f->col += 2;
	}
	if (buf_append(f->out, s, n) < 0)
		return -1;
	f->col += n;
	return 0;
}

static int put_param(struct folder *f, const char *name, const char *v)
{
	size_t n = strlen(v), nl = strlen(name);
	struct buf p = BUF_INIT;
	int plain = n <= 60 && !memmem(v, n, "=?", 2), token = n > 0, rc = -1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 32 || c >= 127)
			plain = 0;
		if (c <= 32 || c >= 127 || tspecial(c))
			token = 0;
	}
	if (strcmp(name, "boundary") == 0)
		plain = 1;
	if (plain) {
		if (buf_append(&p, name, nl) < 0 || buf_putc(&p, '=') < 0)
			goto out;
		if (!token && buf_putc(&p, '"') < 0)
			goto out;
		for (size_t i = 0; i < n; i++)
			if (((v[i] == '"' || v[i] == '\\') && !token && buf_putc(&p, '\\') < 0) ||
			    buf_putc(&p, v[i]) < 0)
				goto out;
		if (!token && buf_putc(&p, '"') < 0)
			goto out;
		rc = put_piece(f, p.data, p.len);
		goto out;
	}
	/* RFC 2231: charset'', percent-encoding, sections of at most ~50 chars */
	struct buf e = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		char t[3] = { '%', hexd[c >> 4], hexd[c & 15] };
		if ((attr_char(c) ? buf_putc(&e, (char)c) : buf_append(&e, t, 3)) < 0) {
			buf_free(&e);
			goto out;
		}
	}
	if (e.len + nl + 10 <= 70) {
		rc = buf_printf(&p, "%s*=utf-8''%s", name, e.data ? e.data : "");
		if (rc == 0)
			rc = put_piece(f, p.data, p.len);
		buf_free(&e);
		goto out;
	}
	size_t i = 0;
	for (int sec = 0; i < e.len; sec++) {
		size_t j = i + 50 < e.len ? i + 50 : e.len;
		/* do not split a %XX */
		if (j < e.len && j >= 1 && e.data[j - 1] == '%')
			j -= 1;
		else if (j < e.len && j >= 2 && e.data[j - 2] == '%')
			j -= 2;
		buf_reset(&p);
		if (buf_printf(&p, "%s*%d*=%s%.*s", name, sec, sec == 0 ? "utf-8''" : "",
			(int)(j - i), e.data + i) < 0 || put_piece(f, p.data, p.len) < 0) {
			buf_free(&e);
			goto out;
		}
		i = j;
	}
	buf_free(&e);
	rc = 0;
out:
	buf_free(&p);
	return rc;
}

int mime_encode_header(struct mime_msg *m, const struct mime_header *h, struct buf *out)
{
	size_t nl = strlen(h->name);

	if (h->kind == H_RAW || h->kind == H_JUNK) {
		if (buf_append(out, h->raw, h->raw_len) < 0)
			return -1;
		/* a last field without a line end must not run into what follows */
		if (h->raw_len && h->raw[h->raw_len - 1] != '\n')
			return buf_append(out, m->eol, m->eol_len);
		return 0;
	}
	if (buf_append(out, h->name, nl) < 0 || buf_append(out, ": ", 2) < 0)
		return -1;
	if (h->kind == H_TEXT) {
		if (mime_encode_text_value(m->eol, m->eol_len, nl + 2, h->val, h->val_len, out) < 0)
			return -1;
	} else {
		struct folder f = { out, m->eol, m->eol_len, nl + 2 + h->val_len };
		if (buf_append(out, h->val, h->val_len) < 0)
			return -1;
		for (size_t i = 0; i < h->nparams; i++)
			if (put_param(&f, h->params[i].name, h->params[i].value) < 0)
				return -1;
	}
	return buf_append(out, m->eol, m->eol_len);
}

/* ---- parts --------------------------------------------------------------- */

/* Does "--b" start a line anywhere in s? */
static int has_delim(const char *s, size_t n, const char *b, size_t bl)
{
	const char *p = s, *end = s + n;
	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), b, bl);
		if (!hit)
			return 0;
		if (hit - s >= 2 && hit[-1] == '-' && hit[-2] == '-' && (hit - s == 2 || hit[-3] == '\n')) {
			/* a delimiter only if "--" or white space to the line end follows */
			const char *q = hit + bl;
			if (end - q >= 2 && q[0] == '-' && q[1] == '-')
				return 1;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (q == end || *q == '\n' || (*q == '\r' && q + 1 < end && q[1] == '\n'))
				return 1;
		}
		p = hit + 1;
	}
	return 0;
}

static int enc_part(struct mime_msg *m, struct mime_part *p, struct buf *out);

static int enc_headers(struct mime_msg *m, struct mime_part *p, struct buf *out)
{
	for (struct mime_header *h = p->hfirst; h; h = h->next)
		if (mime_encode_header(m, h, out) < 0)
			return -1;
	if (p->raw && p->sep_len)
		return buf_append(out, p->raw + p->sep_off, p->sep_len);
	return buf_append(out, m->eol, m->eol_len);
}

/* Gives a multipart a new boundary: its Content-Type field is replaced, in
 * place, by a built one with the same type and parameters. */
static int rebound(struct mime_msg *m, struct mime_part *p, const char *b)
{
	struct mime_header *old = mime_header_find(p, "content-type", NULL);
	size_t np = old ? mime_header_param_count(m, old) : 0;
	struct mime_header *nh = mime_alloc(m, sizeof(*nh));
	struct mparam *pl = mime_alloc(m, (np + 1) * sizeof(*pl));
	if (!nh || !pl)
		return -1;
	memset(nh, 0, sizeof(*nh));
	nh->kind = H_PARAMS;
	nh->name = "Content-Type";
	const char *ty = mime_part_type(m, p), *st = mime_part_subtype(m, p);
	if (!ty || !st)
		return -1;
	size_t tvl = strlen(ty) + strlen(st) + 2;
	char *tv = mime_alloc(m, tvl);
	if (!tv)
		return -1;
	snprintf(tv, tvl, "%s/%s", ty, st);
	nh->val = tv;
	nh->val_len = strlen(tv);
	for (size_t i = 0; i < np; i++) {
		const char *n, *v;
		mime_header_param_at(m, old, i, &n, &v);
		if (strcmp(n, "boundary") != 0) {
			pl[nh->nparams].name = n;
			pl[nh->nparams++].value = v;
		}
	}
	pl[nh->nparams].name = "boundary";
	pl[nh->nparams++].value = b;
	nh->params = pl;
	if (old) {
		nh->prev = old->prev;
		nh->next = old->next;
		if (old->prev)
			old->prev->next = nh;
		else
			p->hfirst = nh;
		if (old->next)
			old->next->prev = nh;
		else
			p->hlast = nh;
	} else {
		nh->prev = p->hlast;
		if (p->hlast)
			p->hlast->next = nh;
		else
			p->hfirst = nh;
		p->hlast = nh;
	}
	p->boundary = b;
	return 0;
}

static int enc_multipart(struct mime_msg *m, struct mime_part *p, struct buf *out)
{
	struct buf tmp = BUF_INIT;
	size_t *off = malloc((p->nchildren + 1) * sizeof(*off));
	size_t k = 0, rawb_len = 0;
	int rc = -1, use_raw = 1;
	const char *rawb = p->raw ? mime_part_raw_body(p, &rawb_len) : NULL;

	if (!off)
		return -1;
	for (struct mime_part *c = p->first; c; c = c->next) {
		off[k++] = tmp.len;
		if (enc_part(m, c, &tmp) < 0)
			goto out;
	}
	off[k] = tmp.len;
	const char *b = p->boundary;
	if (!b || has_delim(tmp.data, tmp.len, b, strlen(b))) {
		do {
			if (!(b = mime_new_boundary(m)))
				goto out;
		} while (has_delim(tmp.data, tmp.len, b, strlen(b)) ||
			(rawb && has_delim(rawb, rawb_len, b, strlen(b))));
		if (rebound(m, p, b) < 0)
			goto out;
		use_raw = 0;
	}
	size_t bl = strlen(b);
	if (enc_headers(m, p, out) < 0)
		goto out;
	if (rawb && buf_append(out, rawb, p->preamble_len) < 0)
		goto out;
	k = 0;
	for (struct mime_part *c = p->first; c; c = c->next, k++) {
		if (use_raw && c->delim) {
			if (buf_append(out, c->delim, c->delim_len) < 0)
				goto out;
		} else if (((k > 0 || (rawb && p->preamble_len)) && buf_append(out, m->eol, m->eol_len) < 0) ||
			buf_append(out, "--", 2) < 0 || buf_append(out, b, bl) < 0 ||
			buf_append(out, m->eol, m->eol_len) < 0) {
			goto out;
		}
		if (buf_append(out, tmp.data + off[k], off[k + 1] - off[k]) < 0)
			goto out;
	}
	if (use_raw && p->close) {
		if (buf_append(out, p->close, p->close_len) < 0)
			goto out;
	} else if (((k > 0 || (rawb && p->preamble_len)) && buf_append(out, m->eol, m->eol_len) < 0) ||
		buf_append(out, "--", 2) < 0 || buf_append(out, b, bl) < 0 ||
		buf_append(out, "--", 2) < 0 || buf_append(out, m->eol, m->eol_len) < 0) {
		goto out;
	}
	if (p->epilogue && buf_append(out, p->epilogue, p->epilogue_len) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&tmp);
	free(off);
	return rc;
}

static int enc_part(struct mime_msg *m, struct mime_part *p, struct buf *out)
{
	if (!p->dirty && p->raw)
		return buf_append(out, p->raw, p->raw_len);
	if (p->kind == MIME_MULTIPART)
		return enc_multipart(m, p, out);
	if (enc_headers(m, p, out) < 0)
		return -1;
	if (p->kind == MIME_MESSAGE)
		return p->first ? enc_part(m, p->first, out) : 0;
	if (!p->body_set) {
		size_t rl;
		const char *r = mime_part_raw_body(p, &rl);
		return r ? buf_append(out, r, rl) : 0;
	}
	switch (mime_part_cte(m, p)) {
	case MIME_CTE_QP:
		return mime_qp_encode(p->nbody, p->nbody_len, m->eol, m->eol_len, out);
	case MIME_CTE_BASE64:
		return mime_b64_encode(p->nbody, p->nbody_len, m->eol, m->eol_len, out);
	default:
		return buf_append(out, p->nbody, p->nbody_len);
	}
}

int mime_encode(struct mime_msg *m, struct buf *out)
{
	return enc_part(m, m->root, out);
}
