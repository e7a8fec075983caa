/* Fuzzes scopd's request dispatch and the endpoint handlers (register,
 * login, refresh, shared-secret registration, devices, UIA, password,
 * deactivation, ...) against a real SQLite store: the first line of the
 * input is "METHOD PATH", the rest the body; every request carries the
 * access token of a user the harness keeps registered.  Whatever the
 * input, the handler must answer with a status and a JSON body, without
 * crashing or leaking. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/fuzz/hs_fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's one fixture, set up once per process. */
static struct {
	struct hs_fixture h;
	char token[512];
	unsigned users;
} fx;

/* Runs one request through the dispatcher; the caller frees rq->reply. */
static void dispatch(struct http_request *rq, const char *method, const char *path,
		     char *body, size_t len)
{
	hs_fixture_dispatch(&fx.h, rq, method, path, body, len, fx.token[0] ? fx.token : NULL);
}

/* Keeps a live token: inputs may log out, change the password or
 * deactivate; then a fresh user is registered. */
static void ensure_user(void)
{
	struct http_request rq;
	char body[256];
	const char *tok;

	if (fx.token[0]) {
		dispatch(&rq, "GET", "/_matrix/client/v3/account/whoami", NULL, 0);
		json_decref(rq.reply);
		if (rq.status == 200)
			return;
	}
	fx.token[0] = '\0';
	snprintf(body, sizeof(body), "{\"username\":\"fuzzer%u\",\"password\":\"pw\","
				     "\"auth\":{\"type\":\"m.login.dummy\"}}", fx.users++);
	dispatch(&rq, "POST", "/_matrix/client/v3/register", body, strlen(body));
	tok = json_string_value(json_object_get(rq.reply, "access_token"));
	if (tok)
		snprintf(fx.token, sizeof(fx.token), "%s", tok);
	json_decref(rq.reply);
}

static void teardown(void)
{
	hs_fixture_close(&fx.h);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char yaml[] =
		"server_name: fuzz.test\n"
		"enable_registration: true\n"
		"registration_shared_secret: fuzz\n"
		"max_request_body_size: 65536\n"
		"password_hashing: {time_cost: 1, memory_kib: 8, parallelism: 1}\n"
		"rc_login: {address: {per_second: 1000000, burst_count: 1000000},"
		" account: {per_second: 1000000, burst_count: 1000000},"
		" failed_attempts: {per_second: 1000000, burst_count: 1000000}}\n"
		"rc_registration: {per_second: 1000000, burst_count: 1000000}\n";
	char err[256];
	(void)argc;
	(void)argv;
	scop_log_init("fuzz_hs_api", SCOP_LOG_OFF);
	if (hs_fixture_open(&fx.h, "api", yaml, 0, err, sizeof(err)) < 0)
		abort();
	atexit(teardown);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request rq;
	struct fuzz_request_line l;
	char *body = NULL;
	size_t blen = 0;

	if (fuzz_request_line(&l, data, size) < 0)
		return 0;
	if (l.body) {
		blen = l.body_len;
		body = malloc(blen + 1);
		if (!body)
			return 0;
		memcpy(body, l.body, blen);
		body[blen] = '\0';
	}
	ensure_user();
	dispatch(&rq, l.method, l.target, body, blen);
	if (rq.status < 100 || rq.status > 599 || (!rq.reply && !rq.raw_reply))
		abort();
	/* Every error carries the spec's errcode, except the UIA 401 that
	 * lists the flows to follow. */
	if (rq.reply && rq.status >= 400 &&
	    !json_is_string(json_object_get(rq.reply, "errcode")) &&
	    !(rq.status == 401 && json_is_array(json_object_get(rq.reply, "flows"))))
		abort();
	json_decref(rq.reply);
	free(rq.raw_reply);
	free(body);
	return 0;
}
