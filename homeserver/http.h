/* The HTTP layer of scopd, on libmicrohttpd: one daemon per bind address,
 * each with its internal epoll thread and a worker pool, suspend/resume
 * enabled for long polls.
 *
 * It collects a request (method, raw path, client address, body up to a
 * size limit), hands it to one callback, and sends the JSON (or raw)
 * answer the callback left in the request, with CORS headers.  It logs one
 * line per request: method, path without the query string (which may hold
 * access_token), status and time; never headers or bodies.
 *
 * Contract: struct http_request belongs to the HTTP layer; the callback
 * may read it and must set status and reply (the layer takes ownership of
 * reply, and of raw_reply, freeing them after sending).  A callback that
 * cannot answer yet calls http_suspend() and later, from any thread,
 * http_resume() once the answer is set.
 */
#ifndef SCOP_HS_HTTP_H
#define SCOP_HS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "homeserver/config.h"

struct http_server;
struct MHD_Connection;

struct http_request {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;      /* still percent-encoded; no query string */
	char remote_ip[64];
	char *body;            /* NUL-terminated; NULL when there was none */
	size_t body_len;
	int body_too_large;    /* the body passed the limit and was dropped */
	size_t max_body;       /* this request's limit */
	int64_t start_us;
	const char *test_token; /* harness-built requests (conn NULL): the
				 * access token the request carries */

	/* The answer. */
	int status;
	json_t *reply;         /* sent as application/json when set */
	char *raw_reply;       /* otherwise sent with content_type */
	size_t raw_len;
	const char *content_type; /* static string */

	/* Private to the HTTP layer. */
	int state;
	int suspended;
	void *srv;             /* the struct http_server (counts parked requests) */
};

typedef void (*http_handler_fn)(void *ctx, struct http_request *rq);
/* The body limit for one request (e.g. larger for media uploads), asked
 * once its headers are in; path is still percent-encoded. */
typedef size_t (*http_limit_fn)(void *ctx, const char *method, const char *path);

/* The certificate chain and private key (PEM text) for binds with tls. */
struct http_tls {
	const char *cert_pem;
	const char *key_pem;
};

/* Listens on every bind; NULL with a message in err when one fails.
 * limit may be NULL: then every request gets max_body.  tls may be NULL
 * when no bind has tls set; the server copies what it needs. */
struct http_server *http_server_start(const struct hs_bind *binds, size_t nbinds,
				      unsigned threads, size_t max_body,
				      const struct http_tls *tls,
				      http_handler_fn fn, http_limit_fn limit, void *ctx,
				      char *err, size_t errlen);
/* Waits (up to a few seconds) for requests that were suspended to be sent,
 * then stops accepting, waits for handlers to finish, frees the server.
 * Resume every suspended request before calling it. */
void http_server_stop(struct http_server *s);
/* The port actually bound for binds[0] (for port 0 in tests). */
int http_server_port(const struct http_server *s);
/* The same for binds[i]; 0 when there is no such bind. */
int http_server_bind_port(const struct http_server *s, size_t i);

/* A request header (case-insensitive name), or NULL (also for a request
 * with conn NULL, as tests and fuzz harnesses build them). */
const char *http_header(struct http_request *rq, const char *name);
/* A query parameter, percent-decoded (malloc'd; caller frees), or NULL
 * when absent or badly encoded. */
char *http_query(struct http_request *rq, const char *name);
/* Whether the query string has that parameter at all (tells "absent"
 * from "badly encoded" when http_query() gives NULL). */
int http_query_has(struct http_request *rq, const char *name);

void http_suspend(struct http_request *rq);
void http_resume(struct http_request *rq);

/* Monotonic and wall-clock time helpers. */
int64_t http_now_ms(void);
int64_t http_monotonic_ms(void);

#endif
