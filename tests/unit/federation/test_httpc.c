/* common/httpc.h (the HTTP client federation brought in): header lookup,
 * and transport errors through both interfaces without a server.  Real
 * HTTPS exchanges are in tests/e2e/test_federation_net.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/httpc.h"

static void test_header_lookup(void **state)
{
	(void)state;
	struct httpc_response resp;
	char v[16];
	memset(&resp, 0, sizeof(resp));
	buf_init(&resp.headers, 0);
	assert_int_equal(httpc_response_header(&resp, "X", v, sizeof(v)), -1);
	buf_puts(&resp.headers, "Content-Type: application/json\r\ncache-control:  max-age=60 \r\n"
		 "X-Long: 0123456789abcdefghij\r\nX-Cache-Control-Not: 1\r\n");
	assert_int_equal(httpc_response_header(&resp, "Cache-Control", v, sizeof(v)), 0);
	assert_string_equal(v, "max-age=60");
	assert_int_equal(httpc_response_header(&resp, "content-type", v, sizeof(v)), 0);
	assert_string_equal(v, "application/jso"); /* cut to the buffer */
	assert_int_equal(httpc_response_header(&resp, "Cache", v, sizeof(v)), -1);
	assert_int_equal(httpc_response_header(&resp, "Missing", v, sizeof(v)), -1);
	httpc_response_free(&resp);
}

static void test_refused(void **state)
{
	(void)state;
	struct httpc_request req = { .url = "https://127.0.0.1:1/x", .timeout_ms = 5000 };
	struct httpc_response resp;
	assert_int_equal(httpc_request(&req, &resp), HTTPC_ERR);
	assert_true(resp.err[0] != '\0');
	httpc_response_free(&resp);
	req.url = "ftp://127.0.0.1:1/x"; /* only http and https are allowed */
	assert_int_equal(httpc_request(&req, &resp), HTTPC_ERR);
	httpc_response_free(&resp);
}

struct done_log {
	int calls;
	int result;
};

static void on_done(void *arg, int result, struct httpc_response *resp)
{
	struct done_log *l = arg;
	(void)resp;
	l->calls++;
	l->result = result;
}

static void test_multi(void **state)
{
	(void)state;
	struct httpc_multi *m = httpc_multi_new();
	struct done_log a = { 0, 0 }, b = { 0, 0 };
	const char *to[] = { "example.invalid:443:127.0.0.1:1", NULL };
	struct httpc_request req = { .url = "https://example.invalid/x", .method = "PUT", .body = "{}",
				     .body_len = 2, .connect_to = to, .timeout_ms = 5000 };
	assert_non_null(m);
	assert_int_equal(httpc_multi_add(m, &req, on_done, &a), 0);
	for (int i = 0; i < 100 && a.calls == 0; i++)
		httpc_multi_run(m, 100);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.result, HTTPC_ERR);
	/* Still running at free: aborted, done called once. */
	req.url = "https://127.0.0.1:1/y"; /* never started: freed first */
	req.connect_to = NULL;
	assert_int_equal(httpc_multi_add(m, &req, on_done, &b), 0);
	httpc_multi_wakeup(m);
	httpc_multi_free(m);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.result, HTTPC_ERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_lookup),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_multi),
	};
	httpc_global_init();
	return cmocka_run_group_tests_name("httpc", tests, NULL, NULL);
}
