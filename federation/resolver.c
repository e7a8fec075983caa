/* resolver.h: well-known over libcurl with a bounded cache, SRV over the
 * common DNS module, routes for outbound requests. */
#include "federation/resolver.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"

#define WK_CACHE_MAX 1024
#define WK_MIN_TTL (5 * 60L)
#define WK_MAX_TTL (48 * 3600L)
#define WK_DEFAULT_TTL (24 * 3600L)
#define WK_ERROR_TTL 3600L

struct wk_entry {
	char host[256];
	char *body;     /* NULL: cached failure */
	size_t len;
	time_t expires;
};

struct fed_resolver {
	char *dns_forwarder;
	unsigned dns_timeout_ms;
	long http_timeout_ms;
	char *ca_file;
	char **no_verify;
	char **overrides;

	pthread_mutex_t wk_lock;
	struct wk_entry *wk;
	size_t wk_n;

	/* Thread-safe itself (dns.h), so lookups run in parallel. */
	struct dns_resolver *dns;
	int own_dns; /* created here, not passed in the options */
};

static char **dup_list(const char *const *in)
{
	size_t n = 0;
	while (in != NULL && in[n] != NULL)
		n++;
	char **out = calloc(n + 1, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = strdup(in[i]);
		if (out[i] == NULL) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			free(out);
			return NULL;
		}
	}
	return out;
}

static void free_list(char **l)
{
	for (size_t i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

void fed_resolver_free(struct fed_resolver *r)
{
	if (r == NULL)
		return;
	if (r->own_dns)
		dns_resolver_free(r->dns);
	for (size_t i = 0; i < r->wk_n; i++)
		free(r->wk[i].body);
	free(r->wk);
	free(r->dns_forwarder);
	free(r->ca_file);
	free_list(r->no_verify);
	free_list(r->overrides);
	pthread_mutex_destroy(&r->wk_lock);
	free(r);
}

struct fed_resolver *fed_resolver_new(const struct fed_resolver_options *opt, char *err, size_t errlen)
{
	static const struct fed_resolver_options defaults;
	if (opt == NULL)
		opt = &defaults;
	struct fed_resolver *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->wk_lock, NULL);
	r->dns_timeout_ms = opt->dns_timeout_ms ? opt->dns_timeout_ms : 5000;
	r->http_timeout_ms = opt->http_timeout_ms ? opt->http_timeout_ms : 10000;
	r->no_verify = dup_list(opt->no_verify);
	r->overrides = dup_list(opt->overrides);
	r->wk = calloc(WK_CACHE_MAX, sizeof(*r->wk));
	if (r->no_verify == NULL || r->overrides == NULL || r->wk == NULL ||
	    (opt->dns_forwarder && (r->dns_forwarder = strdup(opt->dns_forwarder)) == NULL) ||
	    (opt->ca_file && (r->ca_file = strdup(opt->ca_file)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (opt->dns != NULL) {
		r->dns = opt->dns;
	} else {
		struct dns_resolver_options dopt = { .forwarder = r->dns_forwarder, .timeout_ms = r->dns_timeout_ms };
		char derr[200];
		if ((r->dns = dns_unbound_new(&dopt, derr, sizeof(derr))) == NULL) {
			snprintf(err, errlen, "DNS: %s", derr);
			goto fail;
		}
		r->own_dns = 1;
	}
	return r;
fail:
	fed_resolver_free(r);
	return NULL;
}

/* ---- well-known cache headers ---- */

static long clamp_ttl(long s)
{
	if (s < WK_MIN_TTL)
		return WK_MIN_TTL;
	if (s > WK_MAX_TTL)
		return WK_MAX_TTL;
	return s;
}

/* Finds directive name in a Cache-Control value; returns a pointer just
 * past it (at '=' or the end of the directive), or NULL. */
static const char *cc_find(const char *cc, const char *name)
{
	size_t n = strlen(name);
	const char *p = cc;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncasecmp(p, name, n) == 0 && (p[n] == '\0' || p[n] == '=' || p[n] == ',' ||
						    p[n] == ' ' || p[n] == '\t'))
			return p + n;
		/* Skip to the next directive, passing over a quoted value. */
		int quoted = 0;
		while (*p != '\0' && (quoted || *p != ',')) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
	}
	return NULL;
}

long fed_well_known_ttl(int ok, const char *cache_control, const char *expires, time_t now)
{
	if (!ok)
		return WK_ERROR_TTL;
	if (cache_control != NULL) {
		if (cc_find(cache_control, "no-store") != NULL || cc_find(cache_control, "no-cache") != NULL)
			return 0;
		const char *p = cc_find(cache_control, "max-age");
		if (p != NULL && *p == '=') {
			p++;
			if (*p == '"')
				p++;
			if (isdigit((unsigned char)*p)) {
				long v = 0;
				while (isdigit((unsigned char)*p)) {
					if (v < WK_MAX_TTL)
						v = v * 10 + (*p - '0');
					p++;
				}
				return clamp_ttl(v);
			}
		}
	}
	if (expires != NULL && *expires != '\0') {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(expires, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (end != NULL) {
			time_t t = timegm(&tm);
			return clamp_ttl(t > now ? (long)(t - now) : 0);
		}
		return WK_MIN_TTL; /* RFC 9111: an invalid Expires means already expired */
	}
	return WK_DEFAULT_TTL;
}

/* ---- overrides and routes ---- */

/* Looks up "host:port" in the overrides; copies "ADDR:APORT" to out. */
static int find_override(const struct fed_resolver *r, const char *hostport, char *out, size_t cap)
{
	size_t n = strlen(hostport);
	for (size_t i = 0; r->overrides[i] != NULL; i++) {
		const char *o = r->overrides[i];
		if (strncasecmp(o, hostport, n) == 0 && o[n] == ':') {
			snprintf(out, cap, "%s", o + n + 1);
			return 0;
		}
	}
	return -1;
}

/* host for use in a URL or CONNECT_TO entry: IPv6 addresses bracketed. */
static void url_host(const char *host, char *out, size_t cap)
{
	if (strchr(host, ':') != NULL)
		snprintf(out, cap, "[%s]", host);
	else
		snprintf(out, cap, "%s", host);
}

int fed_resolver_no_verify(const struct fed_resolver *r, const char *server_name)
{
	for (size_t i = 0; r->no_verify[i] != NULL; i++)
		if (strcasecmp(r->no_verify[i], server_name) == 0)
			return 1;
	return 0;
}

int fed_resolver_route(struct fed_resolver *r, const char *server_name, const struct fed_target *t,
		       const char *path, struct fed_route *route)
{
	char tls[300], host[300], hp[320], dest[320];
	memset(route, 0, sizeof(*route));
	url_host(t->tls_name, tls, sizeof(tls));
	url_host(t->host, host, sizeof(host));
	int n = snprintf(route->url, sizeof(route->url), "https://%s:%u%s", tls, t->port, path);
	if (n < 0 || (size_t)n >= sizeof(route->url))
		return -1;
	snprintf(hp, sizeof(hp), "%s:%u", host, t->port);
	if (find_override(r, hp, dest, sizeof(dest)) != 0)
		snprintf(dest, sizeof(dest), "%s", hp);
	snprintf(route->connect_to, sizeof(route->connect_to), "%s:%u:%s", tls, t->port, dest);
	snprintf(route->host_header, sizeof(route->host_header), "Host: %s", t->host_header);
	route->no_verify = fed_resolver_no_verify(r, server_name);
	route->ca_file = r->ca_file;
	return 0;
}

void fed_route_apply(struct fed_route *route, struct httpc_request *req)
{
	route->connect_list[0] = route->connect_to;
	route->connect_list[1] = NULL;
	req->url = route->url;
	req->connect_to = route->connect_list;
	req->no_verify = route->no_verify;
	req->ca_file = route->ca_file;
}

/* ---- well-known ---- */

static struct wk_entry *wk_find(struct fed_resolver *r, const char *host)
{
	for (size_t i = 0; i < r->wk_n; i++)
		if (strcasecmp(r->wk[i].host, host) == 0)
			return &r->wk[i];
	return NULL;
}

static void wk_store(struct fed_resolver *r, const char *host, const char *body, size_t len, long ttl)
{
	time_t now = time(NULL);
	pthread_mutex_lock(&r->wk_lock);
	struct wk_entry *e = wk_find(r, host);
	if (e == NULL) {
		if (r->wk_n < WK_CACHE_MAX) {
			e = &r->wk[r->wk_n++];
		} else {
			/* Full: replace the entry that expires first. */
			e = &r->wk[0];
			for (size_t i = 1; i < r->wk_n; i++)
				if (r->wk[i].expires < e->expires)
					e = &r->wk[i];
		}
	}
	free(e->body);
	memset(e, 0, sizeof(*e));
	snprintf(e->host, sizeof(e->host), "%s", host);
	e->expires = now + ttl;
	if (body != NULL && (e->body = malloc(len + 1)) != NULL) {
		memcpy(e->body, body, len);
		e->body[len] = '\0';
		e->len = len;
	}
	pthread_mutex_unlock(&r->wk_lock);
}

/* 1 and a copy of the body (NULL for a cached failure) when cached. */
static int wk_lookup(struct fed_resolver *r, const char *host, char **body, size_t *len)
{
	int hit = 0;
	*body = NULL;
	pthread_mutex_lock(&r->wk_lock);
	struct wk_entry *e = wk_find(r, host);
	if (e != NULL && e->expires > time(NULL)) {
		hit = 1;
		if (e->body != NULL && (*body = malloc(e->len + 1)) != NULL) {
			memcpy(*body, e->body, e->len + 1);
			*len = e->len;
		}
	}
	pthread_mutex_unlock(&r->wk_lock);
	return hit;
}

/* timeout_ms: this call's limit, at most r->http_timeout_ms. */
static int well_known_within(struct fed_resolver *r, long timeout_ms, const char *hostname, char **body,
			     size_t *len)
{
	if (wk_lookup(r, hostname, body, len))
		return *body != NULL ? 0 : -1;

	char url[600], host[300];
	url_host(hostname, host, sizeof(host));
	snprintf(url, sizeof(url), "https://%s/.well-known/matrix/server", host);
	/* All overrides: a redirect may lead to another of the names. */
	struct httpc_request req = {
		.url = url, .timeout_ms = timeout_ms, .max_body = FED_WELL_KNOWN_MAX,
		.max_redirects = 5, .ca_file = r->ca_file, .no_verify = fed_resolver_no_verify(r, hostname),
		.connect_to = (const char *const *)r->overrides,
	};
	struct httpc_response resp;
	int rc = httpc_request(&req, &resp);
	int ok = rc == HTTPC_OK && resp.status == 200;
	char cc[256], exp[128];
	int have_cc = ok && httpc_response_header(&resp, "Cache-Control", cc, sizeof(cc)) == 0;
	int have_exp = ok && httpc_response_header(&resp, "Expires", exp, sizeof(exp)) == 0;
	long ttl = fed_well_known_ttl(ok, have_cc ? cc : NULL, have_exp ? exp : NULL, time(NULL));
	if (!ok)
		log_debug("well-known for %s: %s", hostname, rc != HTTPC_OK ? resp.err : "not 200");
	/* A fetch cut short by the caller's budget says nothing about the
	 * server: not cached. */
	if (ttl > 0 && (ok || timeout_ms >= r->http_timeout_ms))
		wk_store(r, hostname, ok ? resp.body.data : NULL, ok ? resp.body.len : 0, ttl);
	if (!ok) {
		httpc_response_free(&resp);
		return -1;
	}
	*body = buf_detach(&resp.body, len);
	httpc_response_free(&resp);
	return *body != NULL ? 0 : -1;
}

static int fetch_well_known(void *ctx, const char *hostname, char **body, size_t *len)
{
	struct fed_resolver *r = ctx;
	return well_known_within(r, r->http_timeout_ms, hostname, body, len);
}

/* ---- SRV ---- */

/* Copies one SRV record of a dns.h answer into out: 0, or -1 when its
 * target is not a host name (nothing we could connect to).  The root
 * target "." gives an empty target. */
static int srv_from_record(const struct dns_record *rec, struct fed_srv *out)
{
	memset(out, 0, sizeof(*out));
	out->priority = rec->priority;
	out->weight = rec->weight;
	out->port = rec->port;
	if (rec->text == NULL)
		return -1;
	if (strcmp(rec->text, ".") == 0)
		return 0;
	if (rec->len >= sizeof(out->target))
		return -1;
	for (size_t i = 0; i < rec->len; i++) {
		unsigned char c = (unsigned char)rec->text[i];
		/* dns.h writes odd bytes as \DDD: the backslash rejects them. */
		if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
			return -1;
		out->target[i] = (char)tolower(c);
	}
	out->target[rec->len] = '\0';
	return 0;
}

int fed_srv_parse_rdata(const unsigned char *d, size_t len, struct fed_srv *out)
{
	struct dns_record rec;
	memset(out, 0, sizeof(*out));
	if (dns_rdata_parse(DNS_SRV, d, len, &rec) != 0)
		return -1;
	int rc = srv_from_record(&rec, out);
	dns_record_clear(&rec);
	return rc;
}

static long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int srv_within(struct fed_resolver *r, long timeout_ms, const char *name, struct fed_srv *out, size_t max)
{
	for (const char *p = name; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
			return 0; /* not a name DNS could hold */
	struct dns_result res;
	if (dns_lookup_within(r->dns, name, DNS_SRV, timeout_ms > 0 ? (unsigned)timeout_ms : 1, &res) != 0)
		return -1;
	int n = 0;
	switch (res.status) {
	case DNS_OK:
		/* Sorted by priority, so the best fit even when cut at max. */
		for (size_t i = 0; i < res.count && (size_t)n < max; i++) {
			if (srv_from_record(&res.records[i], &out[n]) != 0)
				continue;
			if (out[n].target[0] == '\0')
				continue; /* "." means the service is not offered */
			n++;
		}
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		break;
	default: /* a timeout, SERVFAIL, REFUSED, a bogus answer */
		log_warn("SRV %s: %s%s%s", name, dns_status_name(res.status),
			 res.security == DNS_SEC_BOGUS ? ", DNSSEC bogus: " : "", res.why_bogus);
		n = -1;
		break;
	}
	dns_result_free(&res);
	return n;
}

static int lookup_srv(void *ctx, const char *name, struct fed_srv *out, size_t max)
{
	struct fed_resolver *r = ctx;
	return srv_within(r, (long)r->dns_timeout_ms, name, out, max);
}

/* One bounded discovery: every step gets what is left of the budget. */
struct bounded {
	struct fed_resolver *r;
	long deadline;
};

static long left_of(const struct bounded *b, long cap)
{
	long left = b->deadline - mono_ms();
	return left < cap ? left : cap;
}

static int bounded_well_known(void *ctx, const char *hostname, char **body, size_t *len)
{
	struct bounded *b = ctx;
	long t = left_of(b, b->r->http_timeout_ms);
	return t > 0 ? well_known_within(b->r, t, hostname, body, len) : -1;
}

static int bounded_srv(void *ctx, const char *name, struct fed_srv *out, size_t max)
{
	struct bounded *b = ctx;
	long t = left_of(b, (long)b->r->dns_timeout_ms);
	return t > 0 ? srv_within(b->r, t, name, out, max) : -1;
}

static const struct fed_discovery_ops bounded_ops = {
	.fetch_well_known = bounded_well_known,
	.lookup_srv = bounded_srv,
};

int fed_resolver_resolve_within(struct fed_resolver *r, const char *server_name, long timeout_ms,
				struct fed_target *out, char *err, size_t errlen)
{
	struct bounded b = { r, mono_ms() + timeout_ms };
	return fed_discover(server_name, &bounded_ops, &b, out, err, errlen);
}

static const struct fed_discovery_ops ops = {
	.fetch_well_known = fetch_well_known,
	.lookup_srv = lookup_srv,
};

const struct fed_discovery_ops *fed_resolver_ops(void)
{
	return &ops;
}

int fed_resolver_resolve(struct fed_resolver *r, const char *server_name, struct fed_target *out,
			 char *err, size_t errlen)
{
	return fed_discover(server_name, &ops, r, out, err, errlen);
}
