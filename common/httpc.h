/* The project's one HTTP client, over libcurl.
 *
 * Two ways in: httpc_request() blocks until one request is done;
 * struct httpc_multi runs many requests on one thread (curl multi), for
 * code such as the federation sender that must not spend a thread per peer.
 *
 * Contract: a struct httpc_request is only read, and only during the call
 * that takes it (the multi interface copies what it needs).  A response
 * owns its body and headers; httpc_response_free() releases them.  Errors
 * are return codes with a one-line reason in resp->err, never aborts.
 * Bodies larger than max_body fail with HTTPC_TOO_LARGE rather than being
 * cut, so a caller never parses a truncated document.
 *
 * Call httpc_global_init() once at start-up, before threads exist.
 */
#ifndef SCOP_HTTPC_H
#define SCOP_HTTPC_H

#include <stddef.h>

#include "common/buf.h"

enum httpc_result {
	HTTPC_OK = 0,         /* a response arrived (any status) */
	HTTPC_ERR = -1,       /* transport failure: DNS, connect, TLS, timeout */
	HTTPC_TOO_LARGE = -2, /* the body passed max_body */
	HTTPC_NOMEM = -3,
};

struct httpc_request {
	const char *method;              /* "GET" when NULL */
	const char *url;
	const char *const *headers;      /* NULL-terminated "Name: value" lines, or NULL */
	const char *body;                /* sent when not NULL */
	size_t body_len;
	long timeout_ms;                 /* whole transfer; 30 s when 0 */
	size_t max_body;                 /* 1 MiB when 0 */
	int no_verify;                   /* 1: do not check the peer certificate (test setups only) */
	const char *ca_file;             /* extra trust anchors instead of the system's, or NULL */
	/* Send requests for some host:port to another address while the URL
	 * (and so the TLS name check and SNI) keeps its name: NULL-terminated
	 * entries in curl's CONNECT_TO format "HOST:PORT:CONNECT-HOST:CONNECT-PORT"
	 * (the first that matches wins; they apply to redirects too), or NULL. */
	const char *const *connect_to;
	int max_redirects;               /* 0: redirects are returned, not followed */
};

struct httpc_response {
	long status;
	struct buf body;                 /* NUL-terminated */
	struct buf headers;              /* the final response's header lines, "Name: value\r\n" */
	char err[256];
};

void httpc_global_init(void);

/* Performs req.  Returns HTTPC_OK with resp filled (resp->status may be any
 * HTTP status), or an error with resp->err set.  resp is initialised here;
 * free it with httpc_response_free() in every case. */
int httpc_request(const struct httpc_request *req, struct httpc_response *resp);
void httpc_response_free(struct httpc_response *resp);

/* Value of the first header called name (case-insensitive) copied into
 * out[cap] without surrounding blanks; 0 if found, -1 if not. */
int httpc_response_header(const struct httpc_response *resp, const char *name, char *out, size_t cap);

/* Many transfers on one thread.  Everything except httpc_multi_wakeup() is
 * to be called from the one thread that drives it. */
struct httpc_multi;

/* Called once per transfer, from httpc_multi_run() or httpc_multi_free(),
 * with result as for httpc_request().  resp is only valid during the call. */
typedef void (*httpc_done_fn)(void *arg, int result, struct httpc_response *resp);

struct httpc_multi *httpc_multi_new(void);
/* Starts req.  0, or -1 when it could not be set up (done is not called). */
int httpc_multi_add(struct httpc_multi *m, const struct httpc_request *req, httpc_done_fn done, void *arg);
/* Moves all transfers on, waiting at most timeout_ms for activity (or a
 * wakeup), and calls done for those that finished.  Returns the number
 * still running. */
int httpc_multi_run(struct httpc_multi *m, int timeout_ms);
/* Interrupts a wait in httpc_multi_run(); safe from any thread. */
void httpc_multi_wakeup(struct httpc_multi *m);
/* Aborts what is still running (done is called with HTTPC_ERR) and frees m. */
void httpc_multi_free(struct httpc_multi *m);

#endif
