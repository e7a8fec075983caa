/* httpc.h over libcurl: one transfer struct shared by the blocking and the
 * multi interface, so both behave the same. */
#include "common/httpc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_BODY (1024 * 1024)
#define MAX_HEADER_BYTES (64 * 1024)

struct xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	struct curl_slist *connect_to;
	char *body;          /* a copy, for the multi interface */
	struct httpc_response resp;
	int too_large;
	httpc_done_fn done;
	void *arg;
	struct xfer *next;   /* in the multi's list */
};

void httpc_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb;
	if (buf_append(&x->resp.body, ptr, n) != 0) {
		x->too_large = 1;
		return 0; /* makes curl stop with a write error */
	}
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb;
	/* A new status line (redirect, 100 Continue) starts a new header set. */
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		buf_reset(&x->resp.headers);
		return n;
	}
	if (buf_append(&x->resp.headers, ptr, n) != 0)
		return 0;
	return n;
}

static void xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	curl_slist_free_all(x->connect_to);
	free(x->body);
	httpc_response_free(&x->resp);
	free(x);
}

static void resp_init(struct httpc_response *resp, size_t max_body)
{
	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, max_body);
	buf_init(&resp->headers, MAX_HEADER_BYTES);
}

/* Builds an easy handle for req.  copy_body: keep our own copy of the body
 * (the multi interface outlives the caller's buffer). */
static struct xfer *xfer_new(const struct httpc_request *req, int copy_body)
{
	struct xfer *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	size_t max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	resp_init(&x->resp, max_body);
	x->easy = curl_easy_init();
	if (x->easy == NULL)
		goto fail;
	CURL *e = x->easy;
	const char *method = req->method ? req->method : "GET";
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->resp.err);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
	if (req->max_redirects > 0) {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)req->max_redirects);
	}
	if (req->no_verify) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (req->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
	for (const char *const *c = req->connect_to; c != NULL && *c != NULL; c++) {
		struct curl_slist *n = curl_slist_append(x->connect_to, *c);
		if (n == NULL)
			goto fail;
		x->connect_to = n;
	}
	if (x->connect_to != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, x->connect_to);
	for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
		struct curl_slist *n = curl_slist_append(x->hdrs, *h);
		if (n == NULL)
			goto fail;
		x->hdrs = n;
	}
	if (req->body != NULL) {
		/* No "Expect: 100-continue" round trip. */
		struct curl_slist *n = curl_slist_append(x->hdrs, "Expect:");
		if (n == NULL)
			goto fail;
		x->hdrs = n;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (req->body != NULL) {
		const char *b = req->body;
		if (copy_body) {
			x->body = malloc(req->body_len + 1);
			if (x->body == NULL)
				goto fail;
			memcpy(x->body, req->body, req->body_len);
			x->body[req->body_len] = '\0';
			b = x->body;
		}
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, b);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	return x;
fail:
	xfer_free(x);
	return NULL;
}

/* Turns a finished transfer's curl code into a result. */
static int xfer_finish(struct xfer *x, CURLcode rc)
{
	if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(x->resp.err, sizeof(x->resp.err), "response body too large");
		return HTTPC_TOO_LARGE;
	}
	if (rc != CURLE_OK) {
		if (x->resp.err[0] == '\0')
			snprintf(x->resp.err, sizeof(x->resp.err), "%s", curl_easy_strerror(rc));
		return HTTPC_ERR;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->resp.status);
	return HTTPC_OK;
}

int httpc_request(const struct httpc_request *req, struct httpc_response *resp)
{
	struct xfer *x = xfer_new(req, 0);
	if (x == NULL) {
		resp_init(resp, 0);
		snprintf(resp->err, sizeof(resp->err), "cannot set up the request");
		return HTTPC_NOMEM;
	}
	CURLcode rc = curl_easy_perform(x->easy);
	int result = xfer_finish(x, rc);
	*resp = x->resp;
	resp_init(&x->resp, 0);
	/* The error buffer pointed into x; the copy above carried its text. */
	xfer_free(x);
	return result;
}

void httpc_response_free(struct httpc_response *resp)
{
	if (resp == NULL)
		return;
	buf_free(&resp->body);
	buf_free(&resp->headers);
}

int httpc_response_header(const struct httpc_response *resp, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = resp->headers.data;
	if (p == NULL || cap == 0)
		return -1;
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1, *end = p + len;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && isspace((unsigned char)end[-1]))
				end--;
			size_t vlen = (size_t)(end - v);
			if (vlen >= cap)
				vlen = cap - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return -1;
}

struct httpc_multi {
	CURLM *multi;
	struct xfer *list;
};

struct httpc_multi *httpc_multi_new(void)
{
	struct httpc_multi *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->multi = curl_multi_init();
	if (m->multi == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

int httpc_multi_add(struct httpc_multi *m, const struct httpc_request *req, httpc_done_fn done, void *arg)
{
	struct xfer *x = xfer_new(req, 1);
	if (x == NULL)
		return -1;
	x->done = done;
	x->arg = arg;
	if (curl_multi_add_handle(m->multi, x->easy) != CURLM_OK) {
		xfer_free(x);
		return -1;
	}
	x->next = m->list;
	m->list = x;
	return 0;
}

static void unlink_xfer(struct httpc_multi *m, struct xfer *x)
{
	for (struct xfer **pp = &m->list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			return;
		}
	}
}

/* Calls done for every finished transfer; returns how many. */
static int reap(struct httpc_multi *m)
{
	CURLMsg *msg;
	int left, n = 0;
	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		CURL *e = msg->easy_handle;
		CURLcode rc = msg->data.result;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(m->multi, e);
		unlink_xfer(m, x);
		int result = xfer_finish(x, rc);
		x->done(x->arg, result, &x->resp);
		xfer_free(x);
		n++;
	}
	return n;
}

int httpc_multi_run(struct httpc_multi *m, int timeout_ms)
{
	int running = 0;
	curl_multi_perform(m->multi, &running);
	/* Something finished already: report it now rather than wait (a
	 * poll with nothing to watch would sleep the whole timeout). */
	if (reap(m) > 0)
		return running;
	curl_multi_poll(m->multi, NULL, 0, timeout_ms, NULL);
	curl_multi_perform(m->multi, &running);
	reap(m);
	return running;
}

void httpc_multi_wakeup(struct httpc_multi *m)
{
	curl_multi_wakeup(m->multi);
}

void httpc_multi_free(struct httpc_multi *m)
{
	if (m == NULL)
		return;
	while (m->list != NULL) {
		struct xfer *x = m->list;
		m->list = x->next;
		curl_multi_remove_handle(m->multi, x->easy);
		snprintf(x->resp.err, sizeof(x->resp.err), "aborted");
		x->done(x->arg, HTTPC_ERR, &x->resp);
		xfer_free(x);
	}
	curl_multi_cleanup(m->multi);
	free(m);
}
