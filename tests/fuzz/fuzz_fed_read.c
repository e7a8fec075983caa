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

#include "common/log.h"
#include "federation/api_read.h"
#include "homeserver/rooms.h"
#include "homeserver/router.h"
#include "tests/fuzz/hs_fixture.h"

#define SERVER "fuzz.test"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	struct hs_fixture h;
	struct fed_service fs;
	struct router *rt;
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
	hs_fixture_dispatch(&fx.h, &rq, method, path, (char *)body, body ? strlen(body) : 0, token);
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
	router_free(fx.rt);
	fx.rt = NULL;
	hs_fixture_close(&fx.h);
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
	(void)argc;
	(void)argv;
	scop_log_init("fuzz_fed_read", SCOP_LOG_OFF);
	if (hs_fixture_open(&fx.h, "fedread", yaml, HS_FIXTURE_KEY | HS_FIXTURE_ROOMS, err,
			    sizeof(err)) < 0)
		fail(err);
	fx.fs.hs = &fx.h.hs;
	fx.fs.server_name = SERVER;
	if (!(fx.rt = router_new()))
		fail("router");
	for (size_t i = 0; i < api_read_nroutes; i++)
		if (router_add(fx.rt, api_read_routes[i].method, api_read_routes[i].path, (void *)&api_read_routes[i],
			       api_read_routes[i].flags) < 0)
			fail("route");
	atexit(teardown);
	populate();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request rq;
	struct api_req r;
	const struct fed_read_route *route;
	struct fuzz_request_line l;
	char *path = NULL, *body = NULL, *local;
	const char *origin;

	if (fuzz_request_line(&l, data, size) < 0)
		return 0;
	local = strstr(l.target, " local");
	origin = local ? SERVER : "other.test";
	if (local)
		*local = '\0';
	memset(&r, 0, sizeof(r));
	memset(&rq, 0, sizeof(rq));
	if (!(path = subst(l.target, strlen(l.target))) ||
	    router_match(fx.rt, l.method, path, &r.match) != ROUTE_FOUND)
		goto out;
	route = r.match.handler;
	if (l.body) {
		if (!(body = subst(l.body, l.body_len)))
			goto out;
		r.body = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	}
	if (!r.body && (route->flags & API_JSON_OPTIONAL) && (!body || !body[0]))
		r.body = json_object();
	if ((route->flags & (API_JSON | API_JSON_OPTIONAL)) && !json_is_object(r.body))
		goto out; /* the dispatcher answers 400 before any handler */
	rq.method = l.method;
	rq.path = path;
	r.hs = &fx.h.hs;
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
