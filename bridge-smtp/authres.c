#include "bridge-smtp/authres.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dmarc.h"

/* ---- parsing ---- */

struct lex {
	const char *s;
	size_t n, i;
};

static int at_end(const struct lex *l)
{
	return l->i >= l->n;
}

static int peek(const struct lex *l)
{
	return at_end(l) ? -1 : (unsigned char)l->s[l->i];
}

static int skip_cfws(struct lex *l)
{
	for (;;) {
		int c = peek(l);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			l->i++;
		} else if (c == '(') {
			int depth = 0;
			do {
				c = peek(l);
				if (c < 0)
					return -1; /* unterminated comment */
				if (c == '\\') {
					l->i++;
					if (at_end(l))
						return -1;
				} else if (c == '(') {
					if (++depth > 32)
						return -1;
				} else if (c == ')') {
					depth--;
				}
				l->i++;
			} while (depth > 0);
		} else {
			return 0;
		}
	}
}

static int is_tspecial(int c)
{
	return c && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static int is_token_char(int c)
{
	return c > ' ' && c != 0x7f && !is_tspecial(c);
}

static int is_ldh(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

static int put(char *out, size_t outsz, size_t *o, int c)
{
	if (*o + 1 >= outsz)
		return -1;
	out[(*o)++] = (char)c;
	out[*o] = '\0';
	return 0;
}

static int read_keyword(struct lex *l, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	if (!isalnum(peek(l)))
		return -1;
	while (is_ldh(peek(l))) {
		if (put(out, outsz, &o, tolower(peek(l))) < 0)
			return -1;
		l->i++;
	}
	return 0;
}

static int read_quoted(struct lex *l, char *out, size_t outsz, size_t *o)
{
	l->i++; /* opening quote */
	for (;;) {
		int c = peek(l);
		if (c < 0)
			return -1;
		l->i++;
		if (c == '"')
			return 0;
		if (c == '\\') {
			if (at_end(l))
				return -1;
			c = peek(l);
			l->i++;
		}
		if (c == '\r' || c == '\n')
			continue; /* folding inside the string */
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return -1;
		if (put(out, outsz, o, c) < 0)
			return -1;
	}
}

/* value = token / quoted-string */
static int read_value(struct lex *l, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	if (peek(l) == '"')
		return read_quoted(l, out, outsz, &o);
	while (is_token_char(peek(l))) {
		if (put(out, outsz, &o, peek(l)) < 0)
			return -1;
		l->i++;
	}
	return o ? 0 : -1;
}

/* pvalue = value / [[local-part] "@"] domain-name */
static int read_pvalue(struct lex *l, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	if (peek(l) == '"' && read_quoted(l, out, outsz, &o) < 0)
		return -1;
	for (;;) {
		int c = peek(l);
		if (c < 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(' ||
		    c == ')' || c == '"' || c < ' ' || c == 0x7f)
			break;
		if (put(out, outsz, &o, c) < 0)
			return -1;
		l->i++;
	}
	return o ? 0 : -1;
}

static int expect(struct lex *l, int c)
{
	if (skip_cfws(l) < 0 || peek(l) != c)
		return -1;
	l->i++;
	return skip_cfws(l);
}

static int parse_resinfo(struct lex *l, struct authres_result *r)
{
	char kw[64];

	memset(r, 0, sizeof(*r));
	if (read_keyword(l, r->method, sizeof(r->method)) < 0 || skip_cfws(l) < 0)
		return -1;
	if (peek(l) == '/') {
		size_t o = 0;
		l->i++;
		if (skip_cfws(l) < 0 || !isdigit(peek(l)))
			return -1;
		while (isdigit(peek(l))) {
			if (put(r->version, sizeof(r->version), &o, peek(l)) < 0)
				return -1;
			l->i++;
		}
	}
	if (expect(l, '=') < 0 || read_keyword(l, r->result, sizeof(r->result)) < 0)
		return -1;
	for (;;) {
		if (skip_cfws(l) < 0)
			return -1;
		if (at_end(l) || peek(l) == ';')
			return 0;
		if (read_keyword(l, kw, sizeof(kw)) < 0 || skip_cfws(l) < 0)
			return -1;
		if (strcmp(kw, "reason") == 0 && peek(l) == '=') {
			if (r->reason[0] || r->nprops || expect(l, '=') < 0 ||
			    read_value(l, r->reason, sizeof(r->reason)) < 0)
				return -1;
			continue;
		}
		if (r->nprops == AUTHRES_MAX_PROPS || strlen(kw) >= sizeof(r->props[0].ptype))
			return -1;
		struct authres_prop *p = &r->props[r->nprops];
		memcpy(p->ptype, kw, strlen(kw) + 1);
		if (expect(l, '.') < 0 || read_keyword(l, p->property, sizeof(p->property)) < 0 ||
		    expect(l, '=') < 0 || read_pvalue(l, p->value, sizeof(p->value)) < 0)
			return -1;
		r->nprops++;
	}
}

int authres_parse(const char *value, size_t len, struct authres *out)
{
	struct lex l = { value, len, 0 };

	memset(out, 0, sizeof(*out));
	if (skip_cfws(&l) < 0 || read_value(&l, out->authserv_id, sizeof(out->authserv_id)) < 0 ||
	    skip_cfws(&l) < 0)
		return -1;
	if (isdigit(peek(&l))) {
		while (isdigit(peek(&l))) {
			if (out->version > 1000)
				return -1;
			out->version = out->version * 10 + (peek(&l) - '0');
			l.i++;
		}
		if (skip_cfws(&l) < 0)
			return -1;
	}
	if (peek(&l) != ';')
		return -1;
	while (peek(&l) == ';') {
		size_t save;
		l.i++;
		if (skip_cfws(&l) < 0)
			return -1;
		if (at_end(&l))
			break; /* a trailing ';' is common enough to allow */
		save = l.i;
		if (out->count == 0) {
			char kw[8];
			if (read_keyword(&l, kw, sizeof(kw)) == 0 && strcmp(kw, "none") == 0 &&
			    skip_cfws(&l) == 0 && at_end(&l))
				return 0;
			l.i = save;
		}
		if (out->count == AUTHRES_MAX_RESULTS || parse_resinfo(&l, &out->results[out->count]) < 0)
			return -1;
		out->count++;
	}
	if (skip_cfws(&l) < 0 || !at_end(&l))
		return -1;
	return out->count ? 0 : -1;
}

int authres_claims(const char *value, size_t len, const char *authserv_id)
{
	struct lex l = { value, len, 0 };
	char id[256];

	/* Only the authserv-id matters, so read just that much: the rest of
	 * a forged field may be junk. */
	if (skip_cfws(&l) < 0 || read_value(&l, id, sizeof(id)) < 0)
		return 0;
	return strcasecmp(id, authserv_id) == 0;
}

/* ---- writing ---- */

static int safe_char(int c)
{
	return (c >= ' ' || c == '\t') && c != 0x7f;
}

/* RFC 5322 atext and '.': what a dot-atom local part or a domain holds. */
static int is_atext(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

/* Writes v as a token when it is one, else as a quoted-string.  For
 * property values (pvalue), "local@domain" and base64 forms (header.b)
 * stay unquoted as other implementations write them. */
static int put_value(struct buf *b, const char *v, int pvalue)
{
	int token = *v != '\0', ats = 0;

	for (const char *p = v; *p; p++) {
		int c = (unsigned char)*p;
		if (pvalue && c == '@' && ++ats == 1)
			continue;
		if (pvalue ? !is_atext(c) : !is_token_char(c))
			token = 0;
	}
	if (token)
		return buf_puts(b, v);
	if (buf_putc(b, '"') < 0)
		return -1;
	for (const char *p = v; *p; p++) {
		if (!safe_char((unsigned char)*p))
			continue;
		if ((*p == '"' || *p == '\\') && buf_putc(b, '\\') < 0)
			return -1;
		if (buf_putc(b, *p) < 0)
			return -1;
	}
	return buf_putc(b, '"');
}

static int put_keyword(struct buf *b, const char *k)
{
	for (const char *p = k; *p; p++) {
		if (is_ldh((unsigned char)*p) && buf_putc(b, *p) < 0)
			return -1;
	}
	return 0;
}

int authres_write(const struct authres *ar, struct buf *out)
{
	if (buf_puts(out, "Authentication-Results: ") < 0 || put_value(out, ar->authserv_id, 0) < 0)
		return -1;
	if (ar->version > 0 && buf_printf(out, " %d", ar->version) < 0)
		return -1;
	if (ar->count == 0)
		return buf_puts(out, "; none\r\n");
	for (size_t i = 0; i < ar->count; i++) {
		const struct authres_result *r = &ar->results[i];
		if (buf_puts(out, ";\r\n\t") < 0 || put_keyword(out, r->method) < 0)
			return -1;
		if (r->version[0] && (buf_putc(out, '/') < 0 || put_keyword(out, r->version) < 0))
			return -1;
		if (buf_putc(out, '=') < 0 || put_keyword(out, r->result) < 0)
			return -1;
		if (r->comment[0]) {
			if (buf_puts(out, " (") < 0)
				return -1;
			for (const char *p = r->comment; *p; p++) {
				if (safe_char((unsigned char)*p) && !strchr("()\\", *p) && buf_putc(out, *p) < 0)
					return -1;
			}
			if (buf_putc(out, ')') < 0)
				return -1;
		}
		if (r->reason[0] && (buf_puts(out, " reason=") < 0 || put_value(out, r->reason, 0) < 0))
			return -1;
		for (size_t k = 0; k < r->nprops; k++) {
			const struct authres_prop *p = &r->props[k];
			if (buf_putc(out, ' ') < 0 || put_keyword(out, p->ptype) < 0 || buf_putc(out, '.') < 0 ||
			    put_keyword(out, p->property) < 0 || buf_putc(out, '=') < 0 ||
			    put_value(out, p->value, 1) < 0)
				return -1;
		}
	}
	return buf_puts(out, "\r\n");
}

static int copy(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstsz)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int authres_add(struct authres *ar, const char *method, const char *result, const char *reason)
{
	struct authres_result *r;

	if (ar->count == AUTHRES_MAX_RESULTS)
		return -1;
	r = &ar->results[ar->count];
	memset(r, 0, sizeof(*r));
	if (copy(r->method, sizeof(r->method), method) < 0 || copy(r->result, sizeof(r->result), result) < 0 ||
	    (reason && copy(r->reason, sizeof(r->reason), reason) < 0))
		return -1;
	ar->count++;
	return 0;
}

int authres_add_prop(struct authres *ar, const char *ptype, const char *property, const char *value)
{
	struct authres_result *r;
	struct authres_prop *p;

	if (ar->count == 0)
		return -1;
	r = &ar->results[ar->count - 1];
	if (r->nprops == AUTHRES_MAX_PROPS)
		return -1;
	p = &r->props[r->nprops];
	if (copy(p->ptype, sizeof(p->ptype), ptype) < 0 || copy(p->property, sizeof(p->property), property) < 0 ||
	    copy(p->value, sizeof(p->value), value) < 0)
		return -1;
	r->nprops++;
	return 0;
}

int authres_add_dkim(struct authres *ar, const struct dkim_result *d)
{
	const char *reason = d->status == DKIM_PASS || !d->reason[0] ? NULL : d->reason;

	if (authres_add(ar, "dkim", dkim_status_name(d->status), reason) < 0)
		return -1;
	if (d->testing || d->partial_body)
		snprintf(ar->results[ar->count - 1].comment, sizeof(ar->results[0].comment), "%s%s%s",
			 d->testing ? "key in test mode" : "", d->testing && d->partial_body ? ", " : "",
			 d->partial_body ? "body extends past l=" : "");
	if (!d->domain[0])
		return 0;
	if (authres_add_prop(ar, "header", "d", d->domain) < 0 ||
	    authres_add_prop(ar, "header", "i", d->identity) < 0 ||
	    authres_add_prop(ar, "header", "s", d->selector) < 0 ||
	    authres_add_prop(ar, "header", "a",
			     d->algo == DKIM_ALGO_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256") < 0 ||
	    (d->b_prefix[0] && authres_add_prop(ar, "header", "b", d->b_prefix) < 0))
		return -1;
	return 0;
}

int authres_add_dmarc(struct authres *ar, const struct dmarc_outcome *o)
{
	if (authres_add(ar, "dmarc", dmarc_result_name(o->result), NULL) < 0)
		return -1;
	if (o->have_record)
		snprintf(ar->results[ar->count - 1].comment, sizeof(ar->results[0].comment), "p=%s sp=%s dis=%s%s",
			 dmarc_policy_name(o->rec.p), dmarc_policy_name(o->rec.sp), dmarc_policy_name(o->disposition),
			 o->sampled_out ? " pct-sampled-out" : "");
	if (o->from_domain[0] && authres_add_prop(ar, "header", "from", o->from_domain) < 0)
		return -1;
	return 0;
}
