#include "homeserver/router.h"

#include <stdlib.h>
#include <string.h>

struct route {
	char *method;
	char *segs[ROUTE_MAX_SEGMENTS]; /* placeholders keep their braces */
	size_t nsegs;
	void *handler;
	unsigned flags;
};

struct router {
	struct route *routes;
	size_t n, cap;
};

struct router *router_new(void)
{
	return calloc(1, sizeof(struct router));
}

static void route_clear(struct route *rt)
{
	free(rt->method);
	for (size_t i = 0; i < rt->nsegs; i++)
		free(rt->segs[i]);
}

void router_free(struct router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		route_clear(&r->routes[i]);
	free(r->routes);
	free(r);
}

static int is_placeholder(const char *s)
{
	size_t n = strlen(s);
	return n > 2 && s[0] == '{' && s[n - 1] == '}';
}

int router_add(struct router *r, const char *method, const char *tmpl,
	       void *handler, unsigned flags)
{
	struct route rt;
	const char *p = tmpl;
	size_t nparams = 0;

	memset(&rt, 0, sizeof(rt));
	if (!method || !tmpl || tmpl[0] != '/')
		return -1;
	while (*p == '/') {
		const char *start = ++p;
		while (*p && *p != '/')
			p++;
		if (p == start || rt.nsegs == ROUTE_MAX_SEGMENTS)
			goto fail;
		rt.segs[rt.nsegs] = strndup(start, (size_t)(p - start));
		if (!rt.segs[rt.nsegs])
			goto fail;
		if (is_placeholder(rt.segs[rt.nsegs]) && ++nparams > ROUTE_MAX_PARAMS) {
			rt.nsegs++;
			goto fail;
		}
		rt.nsegs++;
	}
	if (*p)
		goto fail;
	rt.method = strdup(method);
	if (!rt.method)
		goto fail;
	rt.handler = handler;
	rt.flags = flags;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct route *nr = realloc(r->routes, cap * sizeof(*nr));
		if (!nr)
			goto fail;
		r->routes = nr;
		r->cap = cap;
	}
	r->routes[r->n++] = rt;
	return 0;
fail:
	route_clear(&rt);
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *percent_decode(const char *src, size_t n, int plus_is_space)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (src[i] == '%') {
			int hi, lo;
			if (i + 2 >= n)
				goto bad;
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (src[i] == '+' && plus_is_space) {
			*o++ = ' ';
		} else if (src[i] == '\0') {
			goto bad;
		} else {
			*o++ = src[i];
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* Splits path into segments (pointers into path, with lengths); -1 when
 * there are too many or the path is not absolute. */
static int split_path(const char *path, const char **seg, size_t *len, size_t *n)
{
	const char *p = path;
	*n = 0;
	if (*p != '/')
		return -1;
	while (*p == '/') {
		const char *start = ++p;
		while (*p && *p != '/')
			p++;
		if (*n == ROUTE_MAX_SEGMENTS)
			return -1;
		seg[*n] = start;
		len[*n] = (size_t)(p - start);
		(*n)++;
	}
	/* A single trailing slash is tolerated ("/versions/"), as Synapse does. */
	if (*n > 1 && len[*n - 1] == 0)
		(*n)--;
	return 0;
}

static int route_matches(const struct route *rt, const char **seg, const size_t *len, size_t n)
{
	if (rt->nsegs != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (is_placeholder(rt->segs[i])) {
			if (len[i] == 0)
				return 0;
		} else if (strlen(rt->segs[i]) != len[i] || memcmp(rt->segs[i], seg[i], len[i]) != 0) {
			return 0;
		}
	}
	return 1;
}

enum route_result router_match(const struct router *r, const char *method,
			       const char *path, struct route_match *m)
{
	const char *seg[ROUTE_MAX_SEGMENTS];
	size_t len[ROUTE_MAX_SEGMENTS], n;
	int path_seen = 0;

	memset(m, 0, sizeof(*m));
	if (split_path(path, seg, len, &n) < 0)
		return ROUTE_NOT_FOUND;
	for (size_t i = 0; i < r->n; i++) {
		const struct route *rt = &r->routes[i];
		if (!route_matches(rt, seg, len, n))
			continue;
		path_seen = 1;
		if (strcmp(rt->method, method) != 0)
			continue;
		m->handler = rt->handler;
		m->flags = rt->flags;
		for (size_t s = 0; s < n; s++) {
			if (!is_placeholder(rt->segs[s]))
				continue;
			m->names[m->nparams] = rt->segs[s];
			m->params[m->nparams] = percent_decode(seg[s], len[s], 0);
			if (!m->params[m->nparams]) {
				route_match_free(m);
				return ROUTE_ERROR;
			}
			m->nparams++;
		}
		return ROUTE_FOUND;
	}
	return path_seen ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}

void route_match_free(struct route_match *m)
{
	for (size_t i = 0; i < m->nparams; i++)
		free(m->params[i]);
	m->nparams = 0;
}
