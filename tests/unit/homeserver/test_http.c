/* Unit tests for homeserver/http.c: a real libmicrohttpd server on a
 * loopback port, driven with raw sockets: bodies, the size limit (with
 * Content-Length and chunked), CORS headers, query decoding, and
 * suspending a request and resuming it from another thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"
#include "homeserver/http.h"

static void *resume_later(void *arg)
{
	struct http_request *rq = arg;
	/* /suspend0 resumes at once, racing the handler's return. */
	if (strcmp(rq->path, "/suspend") == 0)
		usleep(20000);
	rq->status = 202;
	rq->reply = json_pack("{s:s}", "resumed", "yes");
	http_resume(rq);
	return NULL;
}

static void handler(void *ctx, struct http_request *rq)
{
	(void)ctx;
	if (strncmp(rq->path, "/suspend", 8) == 0) {
		pthread_t t;
		http_suspend(rq);
		pthread_create(&t, NULL, resume_later, rq);
		pthread_detach(t);
		return;
	}
	char *q = http_query(rq, "q");
	const char *h = http_header(rq, "x-test");
	rq->status = 200;
	rq->reply = json_pack("{s:s,s:s,s:I,s:s?,s:s?,s:s}", "method", rq->method, "path", rq->path,
			      "len", (json_int_t)rq->body_len, "q", q, "h", h, "ip", rq->remote_ip);
	free(q);
}

/* Uploads to /big get a larger limit, as media will. */
static size_t limit(void *ctx, const char *method, const char *path)
{
	(void)ctx;
	(void)method;
	return strcmp(path, "/big") == 0 ? 5000 : 1000;
}

static struct http_server *srv;
static int port, proxied_port;

static int setup(void **state)
{
	struct hs_bind b[2] = { { (char *)"127.0.0.1", 0, false, false },
				{ (char *)"127.0.0.1", 0, true, false } };
	char err[256];
	(void)state;
	scop_log_init("test_http", SCOP_LOG_ERROR);
	srv = http_server_start(b, 2, 2, 1000, NULL, handler, limit, NULL, err, sizeof(err));
	assert_non_null(srv);
	port = http_server_port(srv);
	proxied_port = http_server_bind_port(srv, 1);
	assert_true(port > 0 && proxied_port > 0 && port != proxied_port);
	assert_int_equal(http_server_bind_port(srv, 2), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	http_server_stop(srv);
	return 0;
}

/* Sends raw to a port and returns the whole answer (the server closes after it). */
static char *exchange_to(int to_port, const char *raw, size_t len)
{
	struct sockaddr_in sa;
	static char out[65536];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)to_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (size_t off = 0; off < len;) {
		n = send(fd, raw + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may answer and close early */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while (got < sizeof(out) - 1 && (n = recv(fd, out + got, sizeof(out) - 1 - got, 0)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fd);
	return out;
}

static char *exchange(const char *raw, size_t len)
{
	return exchange_to(port, raw, len);
}

static char *exchange_str(const char *raw)
{
	return exchange(raw, strlen(raw));
}

static void test_get_and_cors(void **state)
{
	char *r;
	(void)state;
	r = exchange_str("GET /a/b%2Fc?q=x%20y+z HTTP/1.1\r\nHost: x\r\nX-Test: hi\r\n"
			 "Connection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "Access-Control-Allow-Origin: *"));
	assert_non_null(strstr(r, "Content-Type: application/json"));
	/* The path stays encoded for the router; query values are decoded. */
	assert_non_null(strstr(r, "\"path\":\"/a/b%2Fc\""));
	assert_non_null(strstr(r, "\"q\":\"x y z\""));
	assert_non_null(strstr(r, "\"h\":\"hi\""));
}

static void test_body(void **state)
{
	char *r;
	(void)state;
	r = exchange_str("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
			 "Connection: close\r\n\r\nhello");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "\"len\":5"));
	r = exchange_str("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
			 "Connection: close\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
	assert_non_null(strstr(r, "\"len\":7"));
}

static void test_too_large(void **state)
{
	char *r, *raw;
	size_t n;
	(void)state;
	/* Declared too large: refused before the body is read. */
	r = exchange_str("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n"
			 "Connection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 413"));
	assert_non_null(strstr(r, "M_TOO_LARGE"));
	r = exchange_str("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n"
			 "Connection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 413"));
	/* Chunked past the limit: read, dropped, refused. */
	raw = malloc(8192);
	n = (size_t)snprintf(raw, 8192, "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
				       "Connection: close\r\n\r\n");
	for (int i = 0; i < 3; i++) {
		n += (size_t)snprintf(raw + n, 8192 - n, "190\r\n");
		memset(raw + n, 'a', 400);
		n += 400;
		n += (size_t)snprintf(raw + n, 8192 - n, "\r\n");
	}
	n += (size_t)snprintf(raw + n, 8192 - n, "0\r\n\r\n");
	r = exchange(raw, n);
	free(raw);
	assert_non_null(strstr(r, "HTTP/1.1 413"));
	/* A route with a larger limit takes the same body. */
	raw = malloc(2048);
	n = (size_t)snprintf(raw, 2048, "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n"
				       "Connection: close\r\n\r\n");
	memset(raw + n, 'b', 1001);
	r = exchange(raw, n + 1001);
	free(raw);
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "\"len\":1001"));
	/* The server still serves afterwards. */
	r = exchange_str("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
}

static void test_suspend_resume(void **state)
{
	char *r;
	(void)state;
	r = exchange_str("GET /suspend HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 202"));
	assert_non_null(strstr(r, "\"resumed\":\"yes\""));
	for (int i = 0; i < 50; i++) {
		r = exchange_str("GET /suspend0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
		assert_non_null(strstr(r, "HTTP/1.1 202"));
	}
}

static void test_x_forwarded(void **state)
{
	const char *req = "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"
			  "Connection: close\r\n\r\n";
	char *r;
	(void)state;
	/* Only a listener marked x_forwarded believes the header, and only
	 * its last (proxy-added) address. */
	r = exchange_to(proxied_port, req, strlen(req));
	assert_non_null(strstr(r, "\"ip\":\"192.0.2.7\""));
	r = exchange_to(port, req, strlen(req));
	assert_non_null(strstr(r, "\"ip\":\"127.0.0.1\""));
	req = "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: not-an-ip\r\nConnection: close\r\n\r\n";
	r = exchange_to(proxied_port, req, strlen(req));
	assert_non_null(strstr(r, "\"ip\":\"127.0.0.1\""));
}

static void test_garbage(void **state)
{
	char *r;
	(void)state;
	r = exchange_str("\x01\x02 nonsense\r\n\r\n");
	(void)r; /* whatever libmicrohttpd answers; the server must survive */
	r = exchange_str("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_cors),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_suspend_resume),
		cmocka_unit_test(test_x_forwarded),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests_name("homeserver http", tests, setup, teardown);
}
