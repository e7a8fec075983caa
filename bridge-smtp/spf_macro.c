/* SPF macro-strings (RFC 7208 section 7): syntax check and expansion. */
#include "bridge-smtp/spf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* Expansions are bounded: a domain is at most 253 octets after truncation
 * and an explanation is one header line. */
#define MACRO_MAX_OUT 4096

static int is_delim(char c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

static int letter_ok(char c, int is_exp)
{
	switch (c | 0x20) {
	case 's': case 'l': case 'o': case 'd': case 'i': case 'p': case 'h': case 'v':
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	case 'c': case 'r': case 't':
		return is_exp && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
	default:
		return 0;
	}
}

struct macro {
	char letter;      /* as written (upper case asks for URL escaping) */
	unsigned digits;  /* 0: all parts */
	int reverse;
	char delims[8];   /* NUL-terminated set; empty means "." */
};

/* Parses "%{...}" at s[*pos] (s[*pos] == '%', s[*pos+1] == '{'). */
static int parse_expand(const char *s, size_t len, size_t *pos, int is_exp, struct macro *m)
{
	size_t p = *pos + 2;
	memset(m, 0, sizeof(*m));
	if (p >= len || !letter_ok(s[p], is_exp))
		return -1;
	m->letter = s[p++];
	int have_digits = 0;
	while (p < len && s[p] >= '0' && s[p] <= '9') {
		if (m->digits < 1000)
			m->digits = m->digits * 10 + (unsigned)(s[p] - '0');
		have_digits = 1;
		p++;
	}
	if (have_digits && m->digits == 0)
		return -1; /* "%{d0}": zero parts makes no sense */
	if (p < len && (s[p] == 'r' || s[p] == 'R')) {
		m->reverse = 1;
		p++;
	}
	size_t nd = 0;
	while (p < len && is_delim(s[p])) {
		if (strchr(m->delims, s[p]) == NULL && nd + 1 < sizeof(m->delims))
			m->delims[nd++] = s[p];
		p++;
	}
	if (p >= len || s[p] != '}')
		return -1;
	*pos = p + 1;
	return 0;
}

/* Walks the macro-string, calling nothing: just syntax.  Spaces are
 * literal only in explanations (explain-string allows SP). */
int spf_macro_check(const char *s, size_t len, int is_exp)
{
	size_t p = 0;
	while (p < len) {
		unsigned char c = (unsigned char)s[p];
		if (c == '%') {
			if (p + 1 >= len)
				return -1;
			char n = s[p + 1];
			if (n == '%' || n == '_' || n == '-') {
				p += 2;
			} else if (n == '{') {
				struct macro m;
				if (parse_expand(s, len, &p, is_exp, &m) != 0)
					return -1;
			} else {
				return -1;
			}
		} else if ((c >= 0x21 && c <= 0x7E) || (is_exp && c == ' ')) {
			p++;
		} else {
			return -1;
		}
	}
	return 0;
}

static void ip_nibbles(const struct spf_request *req, struct buf *b)
{
	if (req->family == 4) {
		buf_printf(b, "%u.%u.%u.%u", req->ip[0], req->ip[1], req->ip[2], req->ip[3]);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		if (i > 0)
			buf_putc(b, '.');
		buf_putc(b, hex[req->ip[i] >> 4]);
		buf_putc(b, '.');
		buf_putc(b, hex[req->ip[i] & 15]);
	}
}

/* The raw value of a macro letter, into b. */
static void macro_value(char letter, const struct spf_request *req, const char *d, const char *p, struct buf *b)
{
	const char *sender = req->sender != NULL ? req->sender : "";
	const char *at = strrchr(sender, '@');
	char addr[INET6_ADDRSTRLEN];
	switch (letter | 0x20) {
	case 's': buf_puts(b, sender); break;
	case 'l':
		if (at != NULL && at > sender)
			buf_append(b, sender, (size_t)(at - sender));
		else
			buf_puts(b, "postmaster");
		break;
	case 'o': buf_puts(b, at != NULL ? at + 1 : sender); break;
	case 'd': buf_puts(b, d != NULL ? d : ""); break;
	case 'i': ip_nibbles(req, b); break;
	case 'p': buf_puts(b, p != NULL ? p : "unknown"); break;
	case 'v': buf_puts(b, req->family == 4 ? "in-addr" : "ip6"); break;
	case 'h': buf_puts(b, req->helo != NULL && req->helo[0] ? req->helo : "unknown"); break;
	case 'c':
		buf_puts(b, inet_ntop(req->family == 4 ? AF_INET : AF_INET6, req->ip, addr, sizeof(addr)) ? addr : "unknown");
		break;
	case 'r': buf_puts(b, req->receiver != NULL ? req->receiver : "unknown"); break;
	case 't': buf_printf(b, "%lld", (long long)(req->now ? req->now : time(NULL))); break;
	}
}

/* Splits value at the delimiters, optionally reverses, keeps the rightmost
 * digits parts and joins them with dots (RFC 7208 section 7.3). */
static int transform(const struct macro *m, const char *v, size_t vlen, struct buf *out)
{
	const char *delims = m->delims[0] ? m->delims : ".";
	size_t nparts = 1;
	for (size_t i = 0; i < vlen; i++)
		if (v[i] != '\0' && strchr(delims, v[i]) != NULL)
			nparts++;
	struct { size_t off, len; } *parts = calloc(nparts, sizeof(*parts));
	if (parts == NULL)
		return -1;
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= vlen; i++) {
		if (i == vlen || (v[i] != '\0' && strchr(delims, v[i]) != NULL)) {
			parts[k].off = start;
			parts[k].len = i - start;
			k++;
			start = i + 1;
		}
	}
	if (m->reverse)
		for (size_t i = 0; i < nparts / 2; i++) {
			size_t j = nparts - 1 - i;
			size_t o = parts[i].off, l = parts[i].len;
			parts[i] = parts[j];
			parts[j].off = o;
			parts[j].len = l;
		}
	size_t first = (m->digits && m->digits < nparts) ? nparts - m->digits : 0;
	int rc = 0;
	for (size_t i = first; i < nparts && rc == 0; i++) {
		if (i > first)
			rc = buf_putc(out, '.');
		if (rc == 0)
			rc = buf_append(out, v + parts[i].off, parts[i].len);
	}
	free(parts);
	return rc;
}

static int url_escape(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '.' || c == '_' || c == '~';
		if ((unreserved ? buf_putc(out, (char)c) : buf_printf(out, "%%%02X", c)) != 0)
			return -1;
	}
	return 0;
}

char *spf_macro_expand(const char *s, size_t len, const struct spf_request *req,
	const char *d, const char *p, int is_exp)
{
	struct buf out;
	buf_init(&out, MACRO_MAX_OUT);
	size_t pos = 0;
	while (pos < len) {
		unsigned char c = (unsigned char)s[pos];
		int rc = 0;
		if (c != '%') {
			if (!((c >= 0x21 && c <= 0x7E) || (is_exp && c == ' ')))
				goto bad;
			rc = buf_putc(&out, (char)c);
			pos++;
		} else if (pos + 1 >= len) {
			goto bad;
		} else if (s[pos + 1] == '%' || s[pos + 1] == '_' || s[pos + 1] == '-') {
			const char *lit = s[pos + 1] == '%' ? "%" : s[pos + 1] == '_' ? " " : "%20";
			rc = buf_puts(&out, lit);
			pos += 2;
		} else if (s[pos + 1] == '{') {
			struct macro m;
			if (parse_expand(s, len, &pos, is_exp, &m) != 0)
				goto bad;
			struct buf raw, tr;
			buf_init(&raw, MACRO_MAX_OUT);
			buf_init(&tr, MACRO_MAX_OUT);
			macro_value(m.letter, req, d, p, &raw);
			rc = transform(&m, raw.data ? raw.data : "", raw.len, &tr);
			if (rc == 0 && tr.len > 0) {
				if (m.letter >= 'A' && m.letter <= 'Z')
					rc = url_escape(tr.data, tr.len, &out);
				else
					rc = buf_append(&out, tr.data, tr.len);
			}
			buf_free(&raw);
			buf_free(&tr);
		} else {
			goto bad;
		}
		if (rc != 0)
			goto bad;
	}
	return buf_detach(&out, NULL);
bad:
	buf_free(&out);
	return NULL;
}
