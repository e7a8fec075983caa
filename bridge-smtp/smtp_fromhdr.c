/* From: header collector and mailbox-list reader; see smtp_fromhdr.h. */
#include "bridge-smtp/smtp_fromhdr.h"

#include <string.h>
#include <strings.h>

enum {
	H_LINE_START = 0, /* at the start of a header line */
	H_NAME,           /* in a field name */
	H_VALUE,          /* in a field value */
	H_VALUE_CR,       /* a CR in a value: CRLF ends the line */
	H_EMPTY_CR,       /* a line that starts with CR: maybe the end */
	H_BODY,           /* past the header section */
};

void smtp_fromhdr_init(struct smtp_fromhdr *h)
{
	h->state = H_LINE_START;
	h->n_from = 0;
	h->capturing = false;
	h->overflow = false;
	h->header_done = false;
	h->name_len = 0;
	h->len = 0;
}

static void keep(struct smtp_fromhdr *h, char c)
{
	if (!h->capturing)
		return;
	if (h->len < sizeof(h->value))
		h->value[h->len++] = c;
	else
		h->overflow = true;
}

static void name_end(struct smtp_fromhdr *h)
{
	h->capturing = false;
	if (h->name_len == 4 && strncasecmp(h->name, "from", 4) == 0 && h->n_from++ == 0)
		h->capturing = true;
	h->state = H_VALUE;
}

void smtp_fromhdr_feed(struct smtp_fromhdr *h, const char *p, size_t n)
{
	for (size_t i = 0; i < n && h->state != H_BODY; i++) {
		char c = p[i];
		switch (h->state) {
		case H_LINE_START:
			if (c == ' ' || c == '\t') {
				h->state = H_VALUE; /* folded: the same field goes on */
				keep(h, c);
			} else if (c == '\r') {
				h->state = H_EMPTY_CR;
			} else {
				h->capturing = false;
				h->name_len = 0;
				h->state = H_NAME;
				i--; /* read it as the name's first octet */
			}
			break;
		case H_NAME:
			if (c == ':') {
				name_end(h);
			} else if (c == '\r') {
				h->state = H_VALUE_CR; /* no colon: not a field we want */
			} else if (c == ' ' || c == '\t') {
				/* obs-optional: WSP before the colon */
			} else if (h->name_len < sizeof(h->name)) {
				h->name[h->name_len++] = c;
			}
			break;
		case H_VALUE:
			if (c == '\r')
				h->state = H_VALUE_CR;
			else
				keep(h, c);
			break;
		case H_VALUE_CR:
			if (c == '\n') {
				h->state = H_LINE_START;
			} else {
				keep(h, '\r');
				if (c != '\r') {
					keep(h, c);
					h->state = H_VALUE;
				}
			}
			break;
		case H_EMPTY_CR:
			if (c == '\n') {
				h->state = H_BODY;
				h->capturing = false;
				h->header_done = true;
			} else {
				h->capturing = false;
				h->state = c == '\r' ? H_VALUE_CR : H_VALUE;
			}
			break;
		}
	}
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips a comment starting at v[*i] == '('; -1 when it never closes. */
static int skip_comment(const char *v, size_t len, size_t *i)
{
	int depth = 0;
	for (; *i < len; (*i)++) {
		char c = v[*i];
		if (c == '\\') {
			(*i)++;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && --depth == 0) {
			(*i)++;
			return 0;
		}
	}
	return -1;
}

/* Appends a quoted string starting at v[*i] == '"' to out (quotes and
 * escapes kept) when out is not NULL; -1 when it never closes or out is
 * full. */
static int take_quoted(const char *v, size_t len, size_t *i, char *out, size_t outlen, size_t *k)
{
	for (size_t start = *i; *i < len; (*i)++) {
		char c = v[*i];
		if (c == '\0' || (c == '\\' && *i + 1 < len && v[*i + 1] == '\0'))
			return -1;
		if (out) {
			if (*k + 1 >= outlen)
				return -1;
			out[(*k)++] = c;
		}
		if (c == '\\') {
			if (*i + 1 >= len)
				return -1;
			(*i)++;
			if (out) {
				if (*k + 1 >= outlen)
					return -1;
				out[(*k)++] = v[*i];
			}
		} else if (c == '"' && *i != start) {
			(*i)++;
			return 0;
		}
	}
	return -1;
}

/* A well-formed enough address: exactly one '@' outside quotes, with a
 * local part before it and a domain of no specials after it. */
static bool addr_ok(const char *a)
{
	const char *at = NULL;
	bool quoted = false;
	for (const char *p = a; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = false;
		} else if (*p == '"') {
			if (at)
				return false;
			quoted = true;
		} else if (*p == '@') {
			if (at)
				return false;
			at = p;
		} else if (at && strchr("<>,;:()\\[", *p) && !(*p == '[' && p == at + 1)) {
			return false;
		}
	}
	return !quoted && at && at != a && at[1];
}

int smtp_fromhdr_next(const char *v, size_t len, size_t *pos, char *addr, size_t addrlen)
{
	if (addrlen < 2)
		return -1;
	for (;;) {
		size_t i = *pos;
		if (i >= len)
			return 0;
		/* One mailbox: up to a comma outside quotes, comments and
		 * angle brackets.  addr collects it without comments and
		 * unquoted spaces; at a '<' it starts again, so it ends up
		 * holding the bracketed address or the bare addr-spec. */
		size_t k = 0;
		bool in_angle = false, had_angle = false, after_angle = false, any = false, bare_at = false;
		while (i < len) {
			char c = v[i];
			if (c == '\0')
				return -1; /* a NUL would cut the address short */
			if (c == '(') {
				if (skip_comment(v, len, &i) < 0)
					return -1;
				continue;
			}
			if (is_wsp(c)) {
				i++;
				continue;
			}
			if (c == ',' && !in_angle)
				break;
			if (after_angle)
				return -1; /* only comments and spaces after <...> */
			any = true;
			if (c == '"') {
				/* A quoted display name outside brackets is skipped;
				 * a quoted local part is kept. */
				bool want = in_angle || !had_angle;
				if (take_quoted(v, len, &i, want ? addr : NULL, addrlen, &k) < 0)
					return -1;
				continue;
			}
			if (c == '<') {
				/* Before the brackets stands a display name, and an
				 * unquoted '@' is no part of an RFC 5322 phrase:
				 * "alice@example.org <mallory@evil.example>" is
				 * refused rather than shown as alice. */
				if (in_angle || had_angle || bare_at)
					return -1;
				in_angle = had_angle = true;
				k = 0; /* what came before was a display name */
				i++;
				continue;
			}
			if (c == '>') {
				if (!in_angle)
					return -1;
				in_angle = false;
				after_angle = true;
				i++;
				continue;
			}
			if (!in_angle && (c == ':' || c == ';'))
				return -1; /* group syntax has no place in From */
			if (k + 1 >= addrlen)
				return -1;
			if (c == '@' && !in_angle)
				bare_at = true;
			addr[k++] = c;
			i++;
		}
		if (in_angle)
			return -1;
		*pos = i < len ? i + 1 : i;
		if (!any)
			continue; /* an empty list element (obs-mbox-list) */
		addr[k] = '\0';
		char *a = addr;
		if (had_angle && a[0] == '@') {
			/* obs-route "@relay1,@relay2:" before the address */
			char *colon = strchr(a, ':');
			if (!colon)
				return -1;
			memmove(a, colon + 1, strlen(colon + 1) + 1);
		}
		return addr_ok(a) ? 1 : -1;
	}
}
