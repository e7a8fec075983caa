/* Fuzzes the read-only federation handlers (federation/api_read.c) against
 * a real SQLite store holding a world-readable room with a few messages
 * and an alias, and a private room.  The first line of the input is
 * "METHOD PATH [local]": PATH is matched against the handlers' own route
 * table, "$ROOM", "$PRIV", "$EVENT" and "$ALIAS" are replaced by the
 * rooms, the newest message and the alias; "local" asks as the server
 * itself (its user is in both rooms), else as another server.  The rest
 * is the JSON body.  Every request must get a status and a JSON reply
 * (errors with an errcode), without crashing, hanging or leaking.  Query
 * strings need a live connection, so they are not reached here. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/yamljson.h"
#include "federation/api_read.h"
#include "homeserver/config.h"
#include "homeserver/hs.h"
#include "homeserver/http.h"
#include "homeserver/rooms.h"
#include "homeserver/router.h"
#include "homeserver/store/store.h"

#define SERVER "fuzz.test"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	char dir[64];
	char db[96];
	struct hs_config cfg;
	struct store *st;
	struct hs hs;
	struct fed_service fs;
	struct router *rt;
	int ready;
	char room[128], priv[128], event[128];
} fx;

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_fed_read: %s\n", why);
	abort();
}

static void client(const char *method, const char *path, const char *body, const char *token, json_t **reply)
{
	struct http_request rq;
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = path;
	strcpy(rq.remote_ip, "127.0.0.1");
	rq.max_body = fx.cfg.max_request_body;
	rq.body = (char *)body;
	rq.body_len = body ? strlen(body) : 0;
	rq.test_token = token;
	hs_dispatch(&fx.hs, &rq);
	if (rq.status != 200)
		fail(path);
	if (reply)
		*reply = rq.reply;
	else
		json_decref(rq.reply);
}

/* A user, a world-readable room with an alias and messages, a private room. */
static void populate(void)
{
	char token[512], path[512];
	json_t *j;

	client("POST", "/_matrix/client/v3/register",
	       "{\"username\":\"fuzzer\",\"password\":\"pw\",\"auth\":{\"type\":\"m.login.dummy\"}}", NULL, &j);
	snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	client("POST", "/_matrix/client/v3/createRoom",
	       "{\"preset\":\"public_chat\",\"name\":\"Fuzz\",\"room_alias_name\":\"fuzz\",\"visibility\":\"public\","
	       "\"initial_state\":[{\"type\":\"m.room.history_visibility\",\"state_key\":\"\","
	       "\"content\":{\"history_visibility\":\"world_readable\"}}]}", token, &j);
	snprintf(fx.room, sizeof(fx.room), "%s", json_string_value(json_object_get(j, "room_id")));
	json_decref(j);
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "/_matrix/client/v3/rooms/%s/send/m.room.message/t%d", fx.room, i);
		client("PUT", path, "{\"msgtype\":\"m.text\",\"body\":\"hi\"}", token, &j);
		snprintf(fx.event, sizeof(fx.event), "%s", json_string_value(json_object_get(j, "event_id")));
		json_decref(j);
	}
	client("POST", "/_matrix/client/v3/createRoom", "{\"preset\":\"private_chat\"}", token, &j);
	snprintf(fx.priv, sizeof(fx.priv), "%s", json_string_value(json_object_get(j, "room_id")));
	json_decref(j);
}

/* s with the placeholders replaced; malloc'd. */
static char *subst(const char *s, size_t len)
{
	const struct { const char *key; const char *val; } m[] = {
		{ "$ROOM", fx.room }, { "$PRIV", fx.priv }, { "$EVENT", fx.event }, { "$ALIAS", "#fuzz:" SERVER },
	};
	size_t cap = len + 1, n = 0;
	char *out;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '$')
			cap += 128;
	if (!(out = malloc(cap)))
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t k;
		for (k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
			size_t kl = strlen(m[k].key);
			if (i + kl <= len && memcmp(s + i, m[k].key, kl) == 0) {
				memcpy(out + n, m[k].val, strlen(m[k].val));
				n += strlen(m[k].val);
				i += kl;
				break;
			}
		}
		if (k == sizeof(m) / sizeof(m[0]))
			out[n++] = s[i++];
	}
	out[n] = '\0';
	return out;
}

static void teardown(void)
{
	if (!fx.ready)
		return;
	router_free(fx.rt);
	hs_rooms_stop(&fx.hs);
	hs_rooms_free(&fx.hs);
	hs_free(&fx.hs);
	store_close(fx.st);
	hs_config_free(&fx.cfg);
	unlink(fx.db);
	snprintf(fx.db, sizeof(fx.db), "%s/hs.db-wal", fx.dir);
	unlink(fx.db);
	snprintf(fx.db, sizeof(fx.db), "%s/hs.db-shm", fx.dir);
	unlink(fx.db);
	snprintf(fx.db, sizeof(fx.db), "%s/signing.key", fx.dir);
	unlink(fx.db);
	rmdir(fx.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char yaml[] =
		"server_name: " SERVER "\n"
		"enable_registration: true\n"
		"signing_key_path: signing.key\n"
		"max_request_body_size: 65536\n"
		"password_hashing: {time_cost: 1, memory_kib: 8, parallelism: 1}\n"
		"rc_registration: {per_second: 1000000, burst_count: 1000000}\n"
		"rc_message: {per_second: 1000000, burst_count: 1000000}\n";
	char err[256];
	struct scop_ed25519 key;
	json_t *root;
	(void)argc;
	(void)argv;
	scop_log_init("fuzz_fed_read", SCOP_LOG_OFF);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/scop-fuzz-fedread-XXXXXX");
	if (!mkdtemp(fx.dir))
		fail("mkdtemp");
	snprintf(fx.db, sizeof(fx.db), "%s/hs.db", fx.dir);
	hs_config_init(&fx.cfg);
	root = yaml_load_string(yaml, sizeof(yaml) - 1, err, sizeof(err));
	if (!root || hs_config_parse(&fx.cfg, root, fx.dir, err, sizeof(err)) < 0)
		fail(err);
	json_decref(root);
	if (scop_ed25519_generate(&key, "fuzz") < 0 || scop_ed25519_save(fx.cfg.signing_key_path, &key) < 0)
		fail("key");
	scop_ed25519_clear(&key);
	if (store_open("sqlite", fx.db, &fx.st, err, sizeof(err)) != STORE_OK || hs_init(&fx.hs, &fx.cfg, fx.st) < 0 ||
	    hs_rooms_start(&fx.hs, "sqlite", fx.db, err, sizeof(err)) < 0)
		fail(err);
	fx.fs.hs = &fx.hs;
	fx.fs.server_name = SERVER;
	if (!(fx.rt = router_new()))
		fail("router");
	for (size_t i = 0; i < api_read_nroutes; i++)
		if (router_add(fx.rt, api_read_routes[i].method, api_read_routes[i].path, (void *)&api_read_routes[i],
			       api_read_routes[i].flags) < 0)
			fail("route");
	fx.ready = 1;
	atexit(teardown);
	populate();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request rq;
	struct api_req r;
	const struct fed_read_route *route;
	char line[512], method[16], *nl, *sp, *path = NULL, *body = NULL, *origin;
	size_t n;

	nl = memchr(data, '\n', size);
	n = nl ? (size_t)(nl - (const char *)data) : size;
	if (n >= sizeof(line) || memchr(data, '\0', n))
		return 0;
	memcpy(line, data, n);
	line[n] = '\0';
	sp = strchr(line, ' ');
	if (!sp || (size_t)(sp - line) >= sizeof(method))
		return 0;
	memcpy(method, line, (size_t)(sp - line));
	method[sp - line] = '\0';
	origin = strstr(sp + 1, " local") ? SERVER : "other.test";
	if (strstr(sp + 1, " local"))
		*strstr(sp + 1, " local") = '\0';
	memset(&r, 0, sizeof(r));
	memset(&rq, 0, sizeof(rq));
	if (!(path = subst(sp + 1, strlen(sp + 1))) || router_match(fx.rt, method, path, &r.match) != ROUTE_FOUND)
		goto out;
	route = r.match.handler;
	if (nl) {
		if (!(body = subst(nl + 1, size - n - 1)))
			goto out;
		r.body = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	}
	if (!r.body && (route->flags & API_JSON_OPTIONAL) && (!body || !body[0]))
		r.body = json_object();
	if ((route->flags & (API_JSON | API_JSON_OPTIONAL)) && !json_is_object(r.body))
		goto out; /* the dispatcher answers 400 before any handler */
	rq.method = method;
	rq.path = path;
	r.hs = &fx.hs;
	r.http = &rq;
	route->fn(&r, &fx.fs, origin);
	if (rq.status < 100 || rq.status > 599 || !rq.reply)
		fail("no answer");
	if (rq.status >= 400 && !json_is_string(json_object_get(rq.reply, "errcode")))
		fail("error without errcode");
out:
	json_decref(rq.reply);
	json_decref(r.body);
	route_match_free(&r.match);
	free(body);
	free(path);
	return 0;
}
