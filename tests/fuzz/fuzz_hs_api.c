/* Fuzzes scopd's request dispatch and the unauthenticated endpoint
 * handlers (register, login, refresh, shared-secret registration, ...)
 * against a real SQLite store: the first line of the input is
 * "METHOD PATH", the rest the body.  Whatever the input, the handler must
 * answer with a status and a JSON body, without crashing or leaking. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/yamljson.h"
#include "homeserver/config.h"
#include "homeserver/hs.h"
#include "homeserver/http.h"
#include "homeserver/store/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's one fixture, set up once per process. */
static struct {
	char dir[64];
	char db[96];
	struct hs_config cfg;
	struct store *st;
	struct hs hs;
	int ready;
} fx;

static void teardown(void)
{
	if (!fx.ready)
		return;
	hs_free(&fx.hs);
	store_close(fx.st);
	hs_config_free(&fx.cfg);
	unlink(fx.db);
	snprintf(fx.db, sizeof(fx.db), "%s/hs.db-wal", fx.dir);
	unlink(fx.db);
	snprintf(fx.db, sizeof(fx.db), "%s/hs.db-shm", fx.dir);
	unlink(fx.db);
	rmdir(fx.dir);
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
	json_t *root;
	(void)argc;
	(void)argv;
	scop_log_init("fuzz_hs_api", SCOP_LOG_OFF);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/scop-fuzz-api-XXXXXX");
	if (!mkdtemp(fx.dir))
		abort();
	snprintf(fx.db, sizeof(fx.db), "%s/hs.db", fx.dir);
	hs_config_init(&fx.cfg);
	root = yaml_load_string(yaml, sizeof(yaml) - 1, err, sizeof(err));
	if (!root || hs_config_parse(&fx.cfg, root, fx.dir, err, sizeof(err)) < 0)
		abort();
	json_decref(root);
	if (store_open("sqlite", fx.db, &fx.st, err, sizeof(err)) != STORE_OK)
		abort();
	if (hs_init(&fx.hs, &fx.cfg, fx.st) < 0)
		abort();
	fx.ready = 1;
	atexit(teardown);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request rq;
	char line[512], method[16], *nl, *sp;
	size_t n;

	nl = memchr(data, '\n', size);
	n = nl ? (size_t)(nl - (const char *)data) : size;
	if (n >= sizeof(line))
		return 0;
	memcpy(line, data, n);
	line[n] = '\0';
	sp = strchr(line, ' ');
	if (!sp || (size_t)(sp - line) >= sizeof(method) || memchr(line, '\0', n) != NULL)
		return 0;
	memcpy(method, line, (size_t)(sp - line));
	method[sp - line] = '\0';

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = sp + 1;
	strcpy(rq.remote_ip, "127.0.0.1");
	rq.max_body = fx.cfg.max_request_body;
	if (nl) {
		size_t blen = size - n - 1;
		rq.body = malloc(blen + 1);
		if (!rq.body)
			return 0;
		memcpy(rq.body, nl + 1, blen);
		rq.body[blen] = '\0';
		rq.body_len = blen;
	}
	hs_dispatch(&fx.hs, &rq);
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
	free(rq.body);
	return 0;
}
