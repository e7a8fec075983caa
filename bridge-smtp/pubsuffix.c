#include "bridge-smtp/pubsuffix.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RULE_NORMAL = 1, RULE_WILDCARD = 2, RULE_EXCEPTION = 4 };

struct slot {
	char *key;
	unsigned char flags;
};

struct psl {
	struct slot *slots;
	size_t cap;   /* power of two */
	size_t count;
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static struct slot *find(const struct psl *p, const char *key, size_t n)
{
	size_t i = (size_t)hash(key, n) & (p->cap - 1);

	while (p->slots[i].key) {
		if (strlen(p->slots[i].key) == n && memcmp(p->slots[i].key, key, n) == 0)
			return &p->slots[i];
		i = (i + 1) & (p->cap - 1);
	}
	return &p->slots[i];
}

static int grow(struct psl *p)
{
	struct psl bigger = { NULL, p->cap ? p->cap * 2 : 1024, 0 };

	if (!(bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots))))
		return -1;
	for (size_t i = 0; i < p->cap; i++) {
		if (p->slots[i].key)
			*find(&bigger, p->slots[i].key, strlen(p->slots[i].key)) = p->slots[i];
	}
	free(p->slots);
	p->slots = bigger.slots;
	p->cap = bigger.cap;
	return 0;
}

static int add(struct psl *p, const char *key, size_t n, unsigned char flag)
{
	struct slot *s;

	if ((p->count + 1) * 2 > p->cap && grow(p) < 0)
		return -1;
	s = find(p, key, n);
	if (!s->key) {
		if (!(s->key = strndup(key, n)))
			return -1;
		p->count++;
	}
	s->flags |= flag;
	return 0;
}

static unsigned char flags_of(const struct psl *p, const char *key, size_t n)
{
	return p->cap ? find(p, key, n)->flags : 0;
}

/* ---- punycode (RFC 3492) ---- */

static int utf8_next(const unsigned char **s, const unsigned char *end, uint32_t *cp)
{
	const unsigned char *p = *s;
	uint32_t c = *p++;
	int extra;

	if (c < 0x80)
		extra = 0;
	else if ((c & 0xe0) == 0xc0)
		extra = 1, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		extra = 2, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		extra = 3, c &= 0x07;
	else
		return -1;
	if (end - p < extra)
		return -1;
	for (int i = 0; i < extra; i++) {
		if ((*p & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (*p++ & 0x3f);
	}
	if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*s = p;
	*cp = c;
	return 0;
}

static char digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + d - 26);
}

static uint32_t adapt(uint32_t delta, uint32_t npoints, int first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 * delta) / (delta + 38);
}

int psl_label_to_ascii(const char *label, size_t len, char *out, size_t outlen)
{
	uint32_t cps[64];
	size_t n = 0, o = 0, b = 0, h;
	const unsigned char *s = (const unsigned char *)label, *end = s + len;
	uint32_t cur = 0x80, delta = 0, bias = 72;
	int ascii = 1;

	while (s < end) {
		if (n == 64 || utf8_next(&s, end, &cps[n]) < 0)
			return -1;
		if (cps[n] >= 0x80)
			ascii = 0;
		n++;
	}
#define PUT(c) do { if (o + 1 >= outlen) return -1; out[o++] = (c); } while (0)
	if (ascii) {
		for (size_t i = 0; i < n; i++)
			PUT((char)tolower((int)cps[i]));
		out[o] = '\0';
		return 0;
	}
	PUT('x'); PUT('n'); PUT('-'); PUT('-');
	for (size_t i = 0; i < n; i++) {
		if (cps[i] < 0x80) {
			PUT((char)tolower((int)cps[i]));
			b++;
		}
	}
	if (b)
		PUT('-');
	h = b;
	while (h < n) {
		uint32_t m = UINT32_MAX;
		for (size_t i = 0; i < n; i++) {
			if (cps[i] >= cur && cps[i] < m)
				m = cps[i];
		}
		delta += (m - cur) * (uint32_t)(h + 1);
		cur = m;
		for (size_t i = 0; i < n; i++) {
			if (cps[i] < cur)
				delta++;
			if (cps[i] == cur) {
				uint32_t q = delta;
				for (uint32_t k = 36;; k += 36) {
					uint32_t t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
					if (q < t)
						break;
					PUT(digit(t + (q - t) % (36 - t)));
					q = (q - t) / (36 - t);
				}
				PUT(digit(q));
				bias = adapt(delta, (uint32_t)(h + 1), h == b);
				delta = 0;
				h++;
			}
		}
		delta++;
		cur++;
	}
#undef PUT
	out[o] = '\0';
	return 0;
}

/* Converts a rule (or name) to lower-case A-labels in out. */
static int to_ascii(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0, i = 0;

	while (i <= n) {
		size_t j = i;
		while (j < n && s[j] != '.')
			j++;
		if (o && o + 1 < outlen)
			out[o++] = '.';
		if (psl_label_to_ascii(s + i, j - i, out + o, outlen - o) < 0)
			return -1;
		o += strlen(out + o);
		i = j + 1;
	}
	return 0;
}

static int load_line(struct psl *p, const char *line, size_t n)
{
	char rule[512];
	unsigned char flag = RULE_NORMAL;
	size_t k = 0;

	while (k < n && !isspace((unsigned char)line[k]))
		k++;
	n = k; /* the rule is the first word */
	if (n == 0 || (n >= 2 && line[0] == '/' && line[1] == '/'))
		return 0;
	if (line[0] == '!') {
		flag = RULE_EXCEPTION;
		line++, n--;
	} else if (n >= 2 && line[0] == '*' && line[1] == '.') {
		flag = RULE_WILDCARD;
		line += 2, n -= 2;
	}
	if (n == 0 || to_ascii(line, n, rule, sizeof(rule)) < 0)
		return 0; /* skip what we cannot use rather than refuse the list */
	return add(p, rule, strlen(rule), flag);
}

struct psl *psl_load_buffer(const char *text, size_t len, char *err, size_t errlen)
{
	struct psl *p = calloc(1, sizeof(*p));
	size_t i = 0;

	if (!p || grow(p) < 0)
		goto nomem;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		if (load_line(p, text + i, n) < 0)
			goto nomem;
		i += n + 1;
	}
	return p;
nomem:
	psl_free(p);
	if (err && errlen)
		snprintf(err, errlen, "out of memory");
	return NULL;
}

struct psl *psl_load(const char *path, char *err, size_t errlen)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	struct psl *p;

	if (!path)
		path = PSL_DEFAULT_PATH;
	if (!(f = fopen(path, "rb"))) {
		if (err && errlen)
			snprintf(err, errlen, "cannot open public suffix list %s", path);
		return NULL;
	}
	do {
		if (len + 65536 > cap) {
			char *t = realloc(text, cap = len + 65536 * 4);
			if (!t) {
				free(text);
				fclose(f);
				if (err && errlen)
					snprintf(err, errlen, "out of memory");
				return NULL;
			}
			text = t;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	p = psl_load_buffer(text, len, err, errlen);
	free(text);
	if (p && p->count == 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s has no rules", path);
		psl_free(p);
		return NULL;
	}
	return p;
}

void psl_free(struct psl *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->cap; i++)
		free(p->slots[i].key);
	free(p->slots);
	free(p);
}

size_t psl_rule_count(const struct psl *p)
{
	return p->count;
}

/* Lower-cases name into out without a trailing dot; checks it is made of
 * non-empty labels of at most 63 bytes. */
static int normalize(const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name), label = 0;

	if (n && name[n - 1] == '.')
		n--;
	if (n == 0 || n >= outlen || n > 253)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (c <= ' ' || c == 0x7f || ++label > 63) {
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	if (label == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

static int suffix_labels(const struct psl *p, const char *d)
{
	const char *starts[128];
	int n = 0, best = 1;

	starts[n++] = d;
	for (const char *s = d; *s; s++) {
		if (*s == '.') {
			if (n == 128)
				return -1;
			starts[n++] = s + 1;
		}
	}
	/* An exception rule wins outright: the suffix is the rule less its
	 * first label. */
	for (int i = 0; i < n; i++) {
		if (flags_of(p, starts[i], strlen(starts[i])) & RULE_EXCEPTION)
			return n - i - 1;
	}
	for (int i = 0; i < n; i++) {
		int labels = n - i;
		if (labels <= best)
			break;
		if ((flags_of(p, starts[i], strlen(starts[i])) & RULE_NORMAL) ||
		    (i + 1 < n && (flags_of(p, starts[i + 1], strlen(starts[i + 1])) & RULE_WILDCARD)))
			best = labels;
	}
	return best;
}

/* normalize(), then U-labels to A-labels when the name has any. */
static int normalize_ascii(const char *name, char *out, size_t outlen)
{
	char tmp[256];

	if (normalize(name, tmp, sizeof(tmp)) < 0)
		return -1;
	for (const char *s = tmp; *s; s++) {
		if ((unsigned char)*s >= 0x80)
			return to_ascii(tmp, strlen(tmp), out, outlen) < 0 || strlen(out) > 253 ? -1 : 0;
	}
	if (strlen(tmp) >= outlen)
		return -1;
	strcpy(out, tmp);
	return 0;
}

int psl_suffix_labels(const struct psl *p, const char *name)
{
	char d[256];

	if (normalize_ascii(name, d, sizeof(d)) < 0)
		return -1;
	return suffix_labels(p, d);
}

int psl_org_domain(const struct psl *p, const char *name, char *out, size_t outlen)
{
	char d[256];
	int labels, total = 1;
	const char *s;

	if (normalize_ascii(name, d, sizeof(d)) < 0 || (labels = suffix_labels(p, d)) < 0)
		return -1;
	for (s = d; *s; s++)
		total += *s == '.';
	s = d;
	/* Keep labels + 1 from the right (or the whole name). */
	for (int skip = total - labels - 1; skip > 0; skip--)
		s = strchr(s, '.') + 1;
	if (strlen(s) >= outlen)
		return -1;
	strcpy(out, s);
	return 0;
}
