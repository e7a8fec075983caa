/* Fuzzes the room, sync, profile, extras, relations and search endpoints
 * (with bundled aggregations) through scopd's
 * dispatcher against a real SQLite store: the first line of the input is
 * "METHOD PATH", the rest the body; "$ROOM" in either is replaced by a room
 * the harness's user is joined to (made again if an input left it).  Every
 * request must get a status and a JSON body (errors with an errcode),
 * without crashing, hanging or leaking. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "homeserver/api_relsearch.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store.h"
#include "tests/fuzz/hs_fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	struct hs_fixture h;
	char token[512];
	char user[128];
	char room[300];
	unsigned users;
} fx;

static void dispatch(struct http_request *rq, const char *method, const char *path,
		     char *body, size_t len)
{
	hs_fixture_dispatch(&fx.h, rq, method, path, body, len, fx.token[0] ? fx.token : NULL);
}

static void ensure_user_and_room(void)
{
	struct http_request rq;
	char body[256], m[16];
	const char *s;

	if (fx.token[0]) {
		dispatch(&rq, "GET", "/_matrix/client/v3/account/whoami", NULL, 0);
		json_decref(rq.reply);
		if (rq.status != 200)
			fx.token[0] = '\0';
	}
	if (!fx.token[0]) {
		snprintf(body, sizeof(body), "{\"username\":\"fuzzer%u\",\"password\":\"pw\","
			 "\"auth\":{\"type\":\"m.login.dummy\"}}", fx.users++);
		dispatch(&rq, "POST", "/_matrix/client/v3/register", body, strlen(body));
		if ((s = json_string_value(json_object_get(rq.reply, "access_token"))))
			snprintf(fx.token, sizeof(fx.token), "%s", s);
		if ((s = json_string_value(json_object_get(rq.reply, "user_id"))))
			snprintf(fx.user, sizeof(fx.user), "%s", s);
		json_decref(rq.reply);
		fx.room[0] = '\0';
	}
	if (fx.room[0] && rooms_membership(fx.h.hs.rooms, fx.room, fx.user, m) == ROOM_OK &&
	    strcmp(m, "join") == 0)
		return;
	strcpy(body, "{\"name\":\"fuzz\",\"preset\":\"public_chat\"}");
	dispatch(&rq, "POST", "/_matrix/client/v3/createRoom", body, strlen(body));
	if ((s = json_string_value(json_object_get(rq.reply, "room_id"))))
		snprintf(fx.room, sizeof(fx.room), "%s", s);
	json_decref(rq.reply);
}

/* s with every "$ROOM" replaced; malloc'd. */
static char *subst(const char *s, size_t len, size_t *outlen)
{
	size_t rl = strlen(fx.room), cap = len + 1, n = 0;
	char *out;
	for (size_t i = 0; i + 5 <= len; i++)
		if (memcmp(s + i, "$ROOM", 5) == 0)
			cap += rl;
	if (!(out = malloc(cap)))
		return NULL;
	for (size_t i = 0; i < len;) {
		if (i + 5 <= len && memcmp(s + i, "$ROOM", 5) == 0) {
			memcpy(out + n, fx.room, rl);
			n += rl;
			i += 5;
		} else {
			out[n++] = s[i++];
		}
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

static void teardown(void)
{
	hs_fixture_stop_rooms(&fx.h);
	relsearch_close(fx.h.hs.relsearch);
	fx.h.hs.relsearch = NULL;
	hs_fixture_close(&fx.h);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char yaml[] =
		"server_name: fuzz.test\n"
		"enable_registration: true\n"
		"signing_key_path: signing.key\n"
		"max_request_body_size: 65536\n"
		"password_hashing: {time_cost: 1, memory_kib: 8, parallelism: 1}\n"
		"rc_registration: {per_second: 1000000, burst_count: 1000000}\n";
	char err[256];
	(void)argc;
	(void)argv;
	scop_log_init("fuzz_hs_rooms", SCOP_LOG_OFF);
	if (hs_fixture_open(&fx.h, "rooms", yaml, HS_FIXTURE_KEY | HS_FIXTURE_ROOMS, err,
			    sizeof(err)) < 0 ||
	    relsearch_open("sqlite", fx.h.db, &fx.h.hs.relsearch, err, sizeof(err)) != STORE_OK ||
	    api_add_routes(fx.h.hs.router, api_relations_routes, api_relations_nroutes) < 0 ||
	    api_add_routes(fx.h.hs.router, api_search_routes, api_search_nroutes) < 0)
		abort();
	atexit(teardown);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request rq;
	struct fuzz_request_line l;
	char *path, *body = NULL;
	size_t plen, blen = 0;

	if (fuzz_request_line(&l, data, size) < 0)
		return 0;
	ensure_user_and_room();
	if (!(path = subst(l.target, strlen(l.target), &plen)))
		return 0;
	if (l.body && !(body = subst(l.body, l.body_len, &blen))) {
		free(path);
		return 0;
	}
	dispatch(&rq, l.method, path, body, blen);
	if (rq.status < 100 || rq.status > 599 || (!rq.reply && !rq.raw_reply))
		abort();
	if (rq.reply && rq.status >= 400 && !json_is_string(json_object_get(rq.reply, "errcode")))
		abort();
	json_decref(rq.reply);
	free(rq.raw_reply);
	free(body);
	free(path);
	return 0;
}
