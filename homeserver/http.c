#include "homeserver/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/log.h"
#include "homeserver/router.h"

enum rq_state {
	RQ_COLLECTING = 0, /* reading headers and body */
	RQ_SUSPENDED,      /* the handler will answer later */
	RQ_READY,          /* the answer is set */
	RQ_SENT,           /* the answer is queued; nothing more to do */
};

struct http_server;

/* What the access handler of one daemon (one bind) needs. */
struct http_daemon {
	struct http_server *srv;
	int x_forwarded;
};

struct http_server {
	struct MHD_Daemon *d[HS_MAX_BINDS];
	struct http_daemon dctx[HS_MAX_BINDS];
	size_t nd;
	char *cert_pem, *key_pem; /* kept for the daemons' lifetime */
	size_t max_body;
	http_handler_fn fn;
	http_limit_fn limit;
	void *ctx;
	pthread_mutex_t lock;
	int parked;        /* suspended at some point, not completed yet */
};

int64_t http_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t http_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Paths and query values are decoded by us (router.c), segment by segment,
 * so that an encoded '/' inside an identifier survives routing. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/* A request without a connection is one a test or fuzz harness built:
 * it has no headers and no query. */
const char *http_header(struct http_request *rq, const char *name)
{
	if (!rq->conn)
		return NULL;
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

char *http_query(struct http_request *rq, const char *name)
{
	const char *v;
	if (!rq->conn)
		return NULL;
	v = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
	if (!v)
		return NULL;
	return percent_decode(v, strlen(v), 1);
}

int http_query_has(struct http_request *rq, const char *name)
{
	return rq->conn &&
	       MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name) != NULL;
}

void http_suspend(struct http_request *rq)
{
	/* suspended is only ever written by the handler's thread, so the
	 * access handler can trust it even if http_resume() already ran on
	 * another thread and moved state on. */
	if (!rq->suspended && rq->srv) {
		struct http_server *srv = rq->srv;
		pthread_mutex_lock(&srv->lock);
		srv->parked++;
		pthread_mutex_unlock(&srv->lock);
	}
	rq->suspended = 1;
	rq->state = RQ_SUSPENDED;
	MHD_suspend_connection(rq->conn);
}

void http_resume(struct http_request *rq)
{
	rq->state = RQ_READY;
	MHD_resume_connection(rq->conn);
}

static void add_common_headers(struct MHD_Response *resp)
{
	/* Browser clients (Element web) call from other origins. */
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
	MHD_add_response_header(resp, "Access-Control-Allow-Methods",
				"GET, HEAD, POST, PUT, DELETE, OPTIONS");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers",
				"X-Requested-With, Content-Type, Authorization, Date");
	MHD_add_response_header(resp, "Cache-Control", "no-cache, no-store, must-revalidate");
}

static enum MHD_Result send_reply(struct http_request *rq)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL;
	size_t len = 0;
	const char *ctype = "application/json";

	if (rq->reply) {
		text = json_dumps(rq->reply, JSON_COMPACT);
		len = text ? strlen(text) : 0;
	} else if (rq->raw_reply) {
		text = rq->raw_reply;
		len = rq->raw_len;
		rq->raw_reply = NULL;
		if (rq->content_type)
			ctype = rq->content_type;
	}
	if (!text) {
		text = strdup("{}");
		len = text ? 2 : 0;
		if (rq->status == 0)
			rq->status = 500;
	}
	if (rq->status < 100 || rq->status > 599)
		rq->status = 500;
	resp = MHD_create_response_from_buffer(len, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	add_common_headers(resp);
	ret = MHD_queue_response(rq->conn, (unsigned)rq->status, resp);
	MHD_destroy_response(resp);
	log_info("%s %s %d %.1fms %s", rq->method, rq->path, rq->status,
		 (double)(monotonic_us() - rq->start_us) / 1000.0, rq->remote_ip);
	return ret;
}

static void set_too_large(struct http_request *rq)
{
	free(rq->body);
	rq->body = NULL;
	rq->body_len = 0;
	rq->body_too_large = 1;
	rq->status = 413;
	json_decref(rq->reply);
	rq->reply = json_pack("{s:s,s:s}", "errcode", "M_TOO_LARGE",
			      "error", "Request body too large");
	rq->state = RQ_READY;
}

/* The client as a trusted reverse proxy reports it: the last address in
 * X-Forwarded-For (earlier ones are the client's own claims). */
static void forwarded_ip(struct MHD_Connection *c, char *out, size_t outlen)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
	const char *last, *end;
	char ip[64];
	unsigned char bin[16];
	size_t n;

	if (!h)
		return;
	last = strrchr(h, ',');
	last = last ? last + 1 : h;
	while (*last == ' ' || *last == '\t')
		last++;
	end = last + strlen(last);
	while (end > last && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - last);
	if (n == 0 || n >= sizeof(ip) || n >= outlen)
		return;
	memcpy(ip, last, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, bin) == 1 || inet_pton(AF_INET6, ip, bin) == 1)
		memcpy(out, ip, n + 1);
}

static struct http_request *new_request(struct MHD_Connection *c, const char *url,
					const char *method, int x_forwarded)
{
	struct http_request *rq = calloc(1, sizeof(*rq));
	const union MHD_ConnectionInfo *ci;

	if (!rq)
		return NULL;
	rq->conn = c;
	rq->method = method;
	rq->path = url;
	rq->start_us = monotonic_us();
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				  rq->remote_ip, sizeof(rq->remote_ip));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  rq->remote_ip, sizeof(rq->remote_ip));
	}
	if (x_forwarded)
		forwarded_ip(c, rq->remote_ip, sizeof(rq->remote_ip));
	if (!rq->remote_ip[0])
		strcpy(rq->remote_ip, "unknown");
	return rq;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct http_daemon *dc = cls;
	struct http_server *srv = dc->srv;
	struct http_request *rq = *con_cls;
	(void)version;

	if (!rq) {
		const char *cl;
		rq = new_request(c, url, method, dc->x_forwarded);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		rq->srv = srv;
		rq->max_body = srv->limit ? srv->limit(srv->ctx, method, url) : srv->max_body;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || *end || n > rq->max_body) {
				/* Answer before reading: a client honouring
				 * "Expect: 100-continue" never sends the body. */
				set_too_large(rq);
				rq->state = RQ_SENT;
				return send_reply(rq);
			}
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (rq->state == RQ_COLLECTING && !rq->body_too_large) {
			if (rq->body_len + *upload_size > rq->max_body) {
				/* A chunked body grew past the limit.  libmicrohttpd
				 * cannot answer mid-upload, so the rest is read and
				 * dropped, and 413 goes out at the end. */
				set_too_large(rq);
				rq->state = RQ_COLLECTING;
				*upload_size = 0;
				return MHD_YES;
			}
			char *nb = realloc(rq->body, rq->body_len + *upload_size + 1);
			if (!nb)
				return MHD_NO;
			memcpy(nb + rq->body_len, upload_data, *upload_size);
			rq->body = nb;
			rq->body_len += *upload_size;
			rq->body[rq->body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->state == RQ_COLLECTING && rq->body_too_large)
		rq->state = RQ_READY;
	if (rq->state == RQ_COLLECTING) {
		srv->fn(srv->ctx, rq);
		if (rq->suspended)
			return MHD_YES; /* called again once resumed */
		rq->state = RQ_READY;
	}
	if (rq->state != RQ_READY)
		return MHD_YES;
	rq->state = RQ_SENT;
	return send_reply(rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_request *rq = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (!rq)
		return;
	if (rq->suspended && rq->srv) {
		struct http_server *srv = rq->srv;
		pthread_mutex_lock(&srv->lock);
		srv->parked--;
		pthread_mutex_unlock(&srv->lock);
	}
	free(rq->body);
	free(rq->raw_reply);
	json_decref(rq->reply);
	free(rq);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	log_warn("microhttpd: %s", line);
}

/* Long polls (/sync) keep many connections open: allow as many as the
 * descriptor limit leaves room for (the database and logs need a few). */
static unsigned connection_limit(size_t ndaemons)
{
	struct rlimit rl;
	rlim_t n = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur;
	else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		n = 65536;
	n = n > 256 ? n - 128 : 128;
	n /= ndaemons ? ndaemons : 1;
	return n > 1000000 ? 1000000u : (unsigned)n;
}

static struct MHD_Daemon *start_one(struct http_daemon *dc, const struct hs_bind *b,
				    unsigned threads, unsigned conn_limit, char *err, size_t errlen)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (b->tls) {
		if (!dc->srv->cert_pem || !dc->srv->key_pem) {
			snprintf(err, errlen, "%s port %d: tls without a certificate and key", b->addr, b->port);
			return NULL;
		}
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "this libmicrohttpd has no TLS support");
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	if (inet_pton(AF_INET, b->addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)b->port);
		sa = (const struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, b->addr, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)b->port);
		sa = (const struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "bind address %s is not an IP address", b->addr);
		return NULL;
	}
	/* libmicrohttpd refuses TLS options on a plain daemon: for one, the
	 * array's first entry already ends it. */
	struct MHD_OptionItem tls_opts[] = {
		{ b->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, dc->srv->cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, dc->srv->key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	d = MHD_start_daemon(flags, (uint16_t)b->port, NULL, NULL, on_access, dc,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_ARRAY, tls_opts,
			     MHD_OPTION_SOCK_ADDR, sa,
			     MHD_OPTION_THREAD_POOL_SIZE, threads,
			     MHD_OPTION_CONNECTION_LIMIT, conn_limit,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
			     MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
			     MHD_OPTION_END);
	if (!d)
		snprintf(err, errlen, "cannot listen on %s port %d", b->addr, b->port);
	return d;
}

struct http_server *http_server_start(const struct hs_bind *binds, size_t nbinds,
				      unsigned threads, size_t max_body,
				      const struct http_tls *tls,
				      http_handler_fn fn, http_limit_fn limit, void *ctx,
				      char *err, size_t errlen)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&srv->lock, NULL);
	if (tls && tls->cert_pem && tls->key_pem) {
		srv->cert_pem = strdup(tls->cert_pem);
		srv->key_pem = strdup(tls->key_pem);
		if (!srv->cert_pem || !srv->key_pem) {
			snprintf(err, errlen, "out of memory");
			http_server_stop(srv);
			return NULL;
		}
	}
	srv->fn = fn;
	srv->limit = limit;
	srv->ctx = ctx;
	srv->max_body = max_body;
	for (size_t i = 0; i < nbinds && i < HS_MAX_BINDS; i++) {
		srv->dctx[srv->nd].srv = srv;
		srv->dctx[srv->nd].x_forwarded = binds[i].x_forwarded;
		srv->d[srv->nd] = start_one(&srv->dctx[srv->nd], &binds[i], threads ? threads : 1,
					    connection_limit(nbinds), err, errlen);
		if (!srv->d[srv->nd]) {
			http_server_stop(srv);
			return NULL;
		}
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(srv->d[srv->nd], MHD_DAEMON_INFO_BIND_PORT);
		int colon = strchr(binds[i].addr, ':') != NULL;
		log_info("listening on %s://%s%s%s:%d/", binds[i].tls ? "https" : "http",
			 colon ? "[" : "", binds[i].addr,
			 colon ? "]" : "", di ? (int)di->port : binds[i].port);
		srv->nd++;
	}
	return srv;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	/* Resumed long polls still have their answers to send. */
	for (int i = 0; i < 500; i++) {
		int parked;
		pthread_mutex_lock(&s->lock);
		parked = s->parked;
		pthread_mutex_unlock(&s->lock);
		if (parked <= 0)
			break;
		usleep(10000);
	}
	for (size_t i = 0; i < s->nd; i++)
		MHD_stop_daemon(s->d[i]);
	pthread_mutex_destroy(&s->lock);
	if (s->key_pem) {
		explicit_bzero(s->key_pem, strlen(s->key_pem));
		free(s->key_pem);
	}
	free(s->cert_pem);
	free(s);
}

int http_server_bind_port(const struct http_server *s, size_t i)
{
	const union MHD_DaemonInfo *di;
	if (!s || i >= s->nd)
		return 0;
	di = MHD_get_daemon_info(s->d[i], MHD_DAEMON_INFO_BIND_PORT);
	return di ? di->port : 0;
}

int http_server_port(const struct http_server *s)
{
	return http_server_bind_port(s, 0);
}
