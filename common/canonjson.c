/* Matrix canonical JSON: see canonjson.h for the contract. */
#include "common/canonjson.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct member {
	const char *key;
	size_t keylen;
	json_t *value;
};

/* Returns 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

static int put_string(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	if (!utf8_valid((const unsigned char *)s, n))
		return -1;
	if (buf_reserve(out, n + 2) < 0 || buf_putc(out, '"') < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		/* Flush the unescaped run before this character. */
		if (buf_append(out, s + run, i - run) < 0)
			return -1;
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\t': esc[1] = 't'; break;
		case '\n': esc[1] = 'n'; break;
		case '\f': esc[1] = 'f'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		if (buf_append(out, esc, elen) < 0)
			return -1;
	}
	if (buf_append(out, s + run, n - run) < 0)
		return -1;
	return buf_putc(out, '"');
}

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);

	/* UTF-8 byte order is code point order; a prefix sorts first. */
	if (c)
		return c;
	return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static int encode(const json_t *v, struct buf *out, int flags, int depth);

static int encode_object(const json_t *v, struct buf *out, int flags, int depth)
{
	size_t n = json_object_size(v), i = 0;
	struct member *m;
	const char *key;
	size_t keylen;
	json_t *val;
	int rc = 0;

	if (n == 0)
		return buf_puts(out, "{}");
	m = malloc(n * sizeof(*m));
	if (!m)
		return -1;
	json_object_keylen_foreach((json_t *)v, key, keylen, val) {
		m[i].key = key;
		m[i].keylen = keylen;
		m[i].value = val;
		i++;
	}
	qsort(m, n, sizeof(*m), member_cmp);
	rc = buf_putc(out, '{');
	for (i = 0; rc == 0 && i < n; i++) {
		if (i && buf_putc(out, ',') < 0)
			rc = -1;
		else if (put_string(out, m[i].key, m[i].keylen) < 0 || buf_putc(out, ':') < 0)
			rc = -1;
		else
			rc = encode(m[i].value, out, flags, depth + 1);
	}
	free(m);
	return rc ? -1 : buf_putc(out, '}');
}

static int encode(const json_t *v, struct buf *out, int flags, int depth)
{
	if (!v || depth > CANONJSON_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return encode_object(v, out, flags, depth);
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		if (buf_putc(out, '[') < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (i && buf_putc(out, ',') < 0)
				return -1;
			if (encode(json_array_get(v, i), out, flags, depth + 1) < 0)
				return -1;
		}
		return buf_putc(out, ']');
	}
	case JSON_STRING:
		return put_string(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);
		if (!(flags & CANONJSON_LAX) && (i < CANONJSON_INT_MIN || i > CANONJSON_INT_MAX))
			return -1;
		return buf_printf(out, "%" JSON_INTEGER_FORMAT, i);
	}
	case JSON_REAL: {
		/* Lax only: a real with an integral value in the safe range is
		 * that integer (the spec's example turns 1e10 into 10000000000). */
		double d = json_real_value(v);
		if (!(flags & CANONJSON_LAX) || d != d || d < (double)CANONJSON_INT_MIN ||
		    d > (double)CANONJSON_INT_MAX || d != (double)(long long)d)
			return -1;
		return buf_printf(out, "%lld", (long long)d);
	}
	case JSON_TRUE:
		return buf_puts(out, "true");
	case JSON_FALSE:
		return buf_puts(out, "false");
	case JSON_NULL:
		return buf_puts(out, "null");
	}
	return -1;
}

int canonjson_encode(const json_t *v, struct buf *out, int flags)
{
	size_t mark = out->len;

	if (encode(v, out, flags, 0) < 0) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		return -1;
	}
	return 0;
}

char *canonjson_dumps(const json_t *v, size_t *len, int flags)
{
	struct buf b;

	buf_init(&b, 0);
	if (canonjson_encode(v, &b, flags) < 0 || buf_reserve(&b, 1) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, len);
}

/* Walks a parsed tree: depth, and (strict) no reals and no big integers.
 * Returns NULL when fine, else a static description. */
static const char *check_tree(const json_t *v, int strict, int depth)
{
	const char *key, *why;
	json_t *val;
	size_t i;

	if (depth > CANONJSON_MAX_DEPTH)
		return "nesting too deep";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, key, val)
			if ((why = check_tree(val, strict, depth + 1)))
				return why;
		return NULL;
	case JSON_ARRAY:
		json_array_foreach(v, i, val)
			if ((why = check_tree(val, strict, depth + 1)))
				return why;
		return NULL;
	case JSON_REAL:
		return strict ? "floating-point numbers are not allowed" : NULL;
	case JSON_INTEGER:
		if (strict && (json_integer_value(v) < CANONJSON_INT_MIN ||
			       json_integer_value(v) > CANONJSON_INT_MAX))
			return "integer out of the range [-(2^53)+1, 2^53-1]";
		return NULL;
	default:
		return NULL;
	}
}

json_t *canonjson_parse(const char *data, size_t len, int flags, char *err, size_t errlen)
{
	json_error_t jerr;
	const char *why;
	json_t *v;

	if (!data) {
		if (err && errlen)
			snprintf(err, errlen, "no input");
		return NULL;
	}
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!v) {
		if (err && errlen)
			snprintf(err, errlen, "bad JSON at line %d column %d: %s",
				 jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if ((why = check_tree(v, !(flags & CANONJSON_LAX), 0))) {
		if (err && errlen)
			snprintf(err, errlen, "%s", why);
		json_decref(v);
		return NULL;
	}
	return v;
}

int canonjson_is_strict(const json_t *v)
{
	return v && check_tree(v, 1, 0) == NULL;
}
