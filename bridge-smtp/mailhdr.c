#include "bridge-smtp/mailhdr.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Length of the line at p (through its CRLF, or to the end). */
static size_t line_len(const char *p, size_t n)
{
	const char *q = p;
	size_t left = n;

	while (left > 1) {
		const char *cr = memchr(q, '\r', left - 1);
		if (!cr)
			break;
		if (cr[1] == '\n')
			return (size_t)(cr - p) + 2;
		left -= (size_t)(cr - q) + 1;
		q = cr + 1;
	}
	return n;
}

static int push(struct mailhdr *h, const struct mailhdr_field *f)
{
	if (h->count == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 32;
		struct mailhdr_field *nf;
		if (cap > MAILHDR_MAX_FIELDS)
			cap = MAILHDR_MAX_FIELDS;
		if (h->count >= cap)
			return MAILHDR_EMALFORMED;
		nf = realloc(h->fields, cap * sizeof(*nf));
		if (!nf)
			return MAILHDR_ENOMEM;
		h->fields = nf;
		h->cap = cap;
	}
	h->fields[h->count++] = *f;
	return 0;
}

static int finish_field(struct mailhdr *h, const char *start, size_t raw_len)
{
	struct mailhdr_field f;
	const char *colon = memchr(start, ':', raw_len);
	size_t end;

	if (!colon || colon == start)
		return MAILHDR_EMALFORMED;
	f.raw = start;
	f.raw_len = raw_len;
	f.name = start;
	f.name_len = (size_t)(colon - start);
	/* RFC 5322 allows no WSP in names, but "Subject : x" is seen; the
	 * name ends at the first WSP before the colon. */
	while (f.name_len && (start[f.name_len - 1] == ' ' || start[f.name_len - 1] == '\t'))
		f.name_len--;
	if (f.name_len == 0)
		return MAILHDR_EMALFORMED;
	for (size_t i = 0; i < f.name_len; i++) {
		unsigned char c = (unsigned char)start[i];
		if (c < 33 || c > 126)
			return MAILHDR_EMALFORMED;
	}
	end = raw_len;
	if (end >= 2 && start[end - 2] == '\r' && start[end - 1] == '\n')
		end -= 2;
	f.value = colon + 1;
	f.value_len = end - (size_t)(f.value - start);
	return push(h, &f);
}

static int split(const char *msg, size_t len, struct mailhdr *out)
{
	size_t off = 0;
	const char *cur = NULL; /* start of the field being collected */
	int rc;

	out->count = 0;
	out->body_off = len;
	while (off < len) {
		size_t ll = line_len(msg + off, len - off);
		const char *line = msg + off;

		if (ll == 2 && line[0] == '\r') { /* the empty line */
			if (cur && (rc = finish_field(out, cur, (size_t)(line - cur))) < 0)
				goto fail;
			out->body_off = off + 2;
			return 0;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (!cur) {
				rc = MAILHDR_EMALFORMED;
				goto fail;
			}
		} else {
			if (cur && (rc = finish_field(out, cur, (size_t)(line - cur))) < 0)
				goto fail;
			cur = line;
		}
		off += ll;
	}
	if (cur && (rc = finish_field(out, cur, (size_t)(msg + len - cur))) < 0)
		goto fail;
	return 0;
fail:
	out->count = 0;
	return rc;
}

int mailhdr_split(const char *msg, size_t len, struct mailhdr *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = split(msg, len, out)) < 0)
		mailhdr_free(out);
	return rc;
}

int mailhdr_resplit(const char *msg, size_t len, struct mailhdr *out)
{
	return split(msg, len, out);
}

size_t mailhdr_body_off(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;

	/* Every CRLF ends a line, so the empty line is a CRLF at the very
	 * start or the second half of the first CRLF CRLF. */
	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		return 2;
	while (end - p >= 4 && (p = memchr(p, '\r', (size_t)(end - p) - 3))) {
		if (p[1] == '\n' && p[2] == '\r' && p[3] == '\n')
			return (size_t)(p - msg) + 4;
		p++;
	}
	return len;
}

void mailhdr_free(struct mailhdr *h)
{
	free(h->fields);
	h->fields = NULL;
	h->count = h->cap = 0;
}

int mailhdr_name_is(const struct mailhdr_field *f, const char *name)
{
	return strlen(name) == f->name_len && strncasecmp(f->name, name, f->name_len) == 0;
}

int mailhdr_unfold(const char *value, size_t len, struct buf *out)
{
	size_t i = 0, start = 0;

	while (i + 1 < len) {
		if (value[i] == '\r' && value[i + 1] == '\n') {
			if (buf_append(out, value + start, i - start) < 0)
				return -1;
			i += 2;
			start = i;
		} else {
			i++;
		}
	}
	return buf_append(out, value + start, len - start);
}

int mailhdr_from_domain(const struct mailhdr *h, char *out, size_t outlen)
{
	const struct mailhdr_field *from = NULL;
	struct buf v = BUF_INIT;
	char *addr, *at, *end;
	int depth = 0, quoted = 0, rc = -1;
	size_t k = 0, n;

	for (size_t i = 0; i < h->count; i++) {
		if (mailhdr_name_is(&h->fields[i], "from")) {
			if (from)
				return -1;
			from = &h->fields[i];
		}
	}
	if (!from || mailhdr_unfold(from->value, from->value_len, &v) < 0 || !v.data)
		goto out;
	/* Drop comments and quoted strings; a comma outside them means a list. */
	for (size_t i = 0; i < v.len; i++) {
		char c = v.data[i];
		if (quoted) {
			if (c == '\\' && i + 1 < v.len)
				i++;
			else if (c == '"')
				quoted = 0;
			continue;
		}
		if (depth) {
			if (c == '\\' && i + 1 < v.len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '"') {
			quoted = 1;
		} else if (c == '(') {
			depth = 1;
		} else if (c == ',') {
			goto out;
		} else {
			v.data[k++] = c;
		}
	}
	v.data[k] = '\0';
	addr = v.data;
	if ((at = strrchr(addr, '<'))) {
		addr = at + 1;
		if (!(end = strchr(addr, '>')))
			goto out;
		*end = '\0';
	}
	if (!(at = strrchr(addr, '@')))
		goto out;
	at++;
	while (*at == ' ' || *at == '\t')
		at++;
	n = strcspn(at, " \t");
	if (n == 0 || n >= outlen || at[n + strspn(at + n, " \t")] != '\0')
		goto out;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)at[i];
		if (!isalnum(c) && c != '-' && c != '.' && c != '_' && c < 0x80)
			goto out;
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	if (out[n - 1] == '.')
		out[n - 1] = '\0';
	rc = out[0] ? 0 : -1;
out:
	buf_free(&v);
	return rc;
}
