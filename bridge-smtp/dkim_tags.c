#include "bridge-smtp/dkim_tags.h"

#include <stdio.h>
#include <string.h>

static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum_(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static int fail(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return -1;
}

int dkim_tags_parse(const char *text, size_t len, struct dkim_taglist *out, char *err, size_t errlen)
{
	size_t i = 0;

	out->count = 0;
	for (;;) {
		struct dkim_tag t;
		size_t vstart, vend;

		while (i < len && is_fws(text[i]))
			i++;
		if (i == len)
			return 0; /* empty list, or a trailing ';' */
		if (!is_alpha(text[i]))
			return fail(err, errlen, "bad tag name");
		t.name = text + i;
		while (i < len && is_alnum_(text[i]))
			i++;
		t.name_len = (size_t)(text + i - t.name);
		while (i < len && is_fws(text[i]))
			i++;
		if (i == len || text[i] != '=')
			return fail(err, errlen, "missing '=' after tag name");
		i++;
		while (i < len && is_fws(text[i]))
			i++;
		vstart = vend = i;
		while (i < len && text[i] != ';') {
			unsigned char c = (unsigned char)text[i];
			/* Visible bytes first: all of b= and p= is made of them. */
			if (c > 0x20 && c != 0x7f) {
				vend = ++i;
				continue;
			}
			if (c < 0x20 && !is_fws((char)c))
				return fail(err, errlen, "control character in tag value");
			if (c == 0x7f)
				return fail(err, errlen, "control character in tag value");
			if (!is_fws((char)c))
				vend = i + 1;
			i++;
		}
		t.value = text + vstart;
		t.value_len = vend - vstart;
		t.value_off = vstart;
		t.end_off = i;
		for (size_t k = 0; k < out->count; k++) {
			if (out->tags[k].name_len == t.name_len &&
			    memcmp(out->tags[k].name, t.name, t.name_len) == 0)
				return fail(err, errlen, "duplicate tag");
		}
		if (out->count == DKIM_TAGS_MAX)
			return fail(err, errlen, "too many tags");
		out->tags[out->count++] = t;
		if (i == len)
			return 0;
		i++; /* the ';' */
	}
}

const struct dkim_tag *dkim_tags_get(const struct dkim_taglist *tl, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < tl->count; i++) {
		if (tl->tags[i].name_len == n && memcmp(tl->tags[i].name, name, n) == 0)
			return &tl->tags[i];
	}
	return NULL;
}

int dkim_tag_is(const struct dkim_tag *t, const char *s)
{
	return t && strlen(s) == t->value_len && memcmp(t->value, s, t->value_len) == 0;
}
