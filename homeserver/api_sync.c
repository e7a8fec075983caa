/* GET /sync and the filter endpoints (POST/GET /user/{userId}/filter). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/api.h"
#include "homeserver/api_rooms.h"
#include "homeserver/rooms.h"
#include "homeserver/sync.h"

#define SYNC_TIMEOUT_MAX 300000 /* ms; a longer timeout is cut to this */

/* The filter parameter: inline JSON, or the id of a stored filter. */
static int load_filter(struct api_req *r, const char *param, struct room_filter *f)
{
	char *stored = NULL, *end;
	long long id;
	int rc;

	if (param[0] == '{')
		return room_filter_parse(f, param, strlen(param), 1);
	id = strtoll(param, &end, 10);
	if (*end || id < 0 ||
	    room_store_filter_get(rooms_store(r->hs->rooms), r->who.user_id, id, &stored) != STORE_OK)
		return -1;
	rc = room_filter_parse(f, stored, strlen(stored), 1);
	free(stored);
	return rc;
}

static void sync(struct api_req *r)
{
	char *since = http_query(r->http, "since"), *timeout_s = http_query(r->http, "timeout");
	char *filter = http_query(r->http, "filter"), *full = http_query(r->http, "full_state");
	char *set_presence = http_query(r->http, "set_presence");
	struct sync_params p;
	long long timeout = 0;
	int news = 0;
	int64_t upto = 0, upto_x = 0;
	json_t *resp;

	memset(&p, 0, sizeof(p));
	if (!r->hs->rooms) {
		api_error(r, 404, "M_UNRECOGNIZED", "Rooms are not enabled");
		goto out;
	}
	if (since && sync_token_parse2(since, &p.since, &p.since_x) < 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad since token");
		goto out;
	}
	if (timeout_s) {
		char *end;
		timeout = strtoll(timeout_s, &end, 10);
		if (*end || timeout < 0) {
			api_error(r, 400, "M_INVALID_PARAM", "Bad timeout");
			goto out;
		}
		if (timeout > SYNC_TIMEOUT_MAX)
			timeout = SYNC_TIMEOUT_MAX;
	}
	if (filter && load_filter(r, filter, &p.timeline) < 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad or unknown filter");
		goto out;
	}
	if (set_presence && !rooms_presence_valid(set_presence)) {
		api_error(r, 400, "M_INVALID_PARAM", "set_presence must be online, unavailable or offline");
		goto out;
	}
	/* offline: the client syncs without being seen.  Without the
	 * parameter the user is marked online and active, but quietly, so a
	 * plain /sync does not wake every peer's long-poll. */
	if (!set_presence)
		rooms_presence_set(r->hs->rooms, r->who.user_id, "online", NULL,
				   ROOMS_PRESENCE_KEEP_MSG | ROOMS_PRESENCE_QUIET);
	else if (strcmp(set_presence, "offline") != 0)
		rooms_presence_set(r->hs->rooms, r->who.user_id, set_presence, NULL,
				   ROOMS_PRESENCE_KEEP_MSG);
	p.full_state = full && strcmp(full, "true") == 0;
	p.user_id = strdup(r->who.user_id);
	p.device_id = r->who.device_id ? strdup(r->who.device_id) : NULL;
	if (!p.user_id) {
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
		goto out;
	}
	/* A client syncing unseen does not keep the user online either. */
	if ((!set_presence || strcmp(set_presence, "offline") != 0) &&
	    rooms_presence_sync(r->hs->rooms, p.user_id, 1, timeout) == ROOM_OK)
		p.presence = r->hs->rooms;
	resp = sync_build(r->hs, &p, &news, &upto, &upto_x);
	if (!resp) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	if (news || !since || timeout == 0 || p.full_state || !r->http->conn) {
		api_reply(r, 200, resp);
		goto out;
	}
	json_decref(resp);
	http_suspend(r->http);
	if (sync_hub_park(r->hs->sync, r->http, &p, upto, upto_x,
			  http_monotonic_ms() + timeout) < 0) {
		/* cannot park: answer now */
		int n2;
		resp = sync_build(r->hs, &p, &n2, &upto, &upto_x);
		r->http->status = resp ? 200 : 500;
		r->http->reply = resp ? resp : json_pack("{s:s,s:s}", "errcode", "M_UNKNOWN",
							 "error", "Internal error");
		http_resume(r->http);
	}
out:
	sync_params_clear(&p);
	free(since);
	free(timeout_s);
	free(filter);
	free(full);
	free(set_presence);
}

static int own_user(struct api_req *r)
{
	if (strcmp(api_param(r, 0), r->who.user_id) != 0) {
		api_error(r, 403, "M_FORBIDDEN", "Cannot use filters of other users");
		return -1;
	}
	return 0;
}

static void filter_post(struct api_req *r)
{
	struct room_filter f;
	char *json;
	int64_t id;
	char buf[32];

	if (!r->hs->rooms || own_user(r) < 0)
		return;
	json = json_dumps(r->body, JSON_COMPACT);
	room_filter_init(&f);
	if (!json || room_filter_parse(&f, json, strlen(json), 1) < 0) {
		free(json);
		api_error(r, 400, "M_BAD_JSON", "Invalid filter");
		return;
	}
	room_filter_clear(&f);
	if (room_store_filter_add(rooms_store(r->hs->rooms), r->who.user_id, json, &id) != STORE_OK) {
		free(json);
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		return;
	}
	free(json);
	snprintf(buf, sizeof(buf), "%lld", (long long)id);
	api_reply(r, 200, json_pack("{s:s}", "filter_id", buf));
}

static void filter_get(struct api_req *r)
{
	char *json = NULL, *end;
	long long id;
	json_t *v;

	if (!r->hs->rooms || own_user(r) < 0)
		return;
	id = strtoll(api_param(r, 1), &end, 10);
	if (*end || id < 0 ||
	    room_store_filter_get(rooms_store(r->hs->rooms), r->who.user_id, id, &json) != STORE_OK) {
		api_error(r, 404, "M_NOT_FOUND", "No such filter");
		return;
	}
	v = json_loads(json, 0, NULL);
	free(json);
	if (v)
		api_reply(r, 200, v);
	else
		api_error(r, 500, "M_UNKNOWN", "Internal error");
}

/* ---- presence ---------------------------------------------------------------- */

static void presence_put(struct api_req *r)
{
	const char *presence, *msg = NULL;
	if (!r->hs->rooms)
		return;
	if (strcmp(api_param(r, 0), r->who.user_id) != 0) {
		api_error(r, 403, "M_FORBIDDEN", "You may only set your own presence");
		return;
	}
	if (api_req_string(r, r->body, "presence", &presence) < 0 ||
	    api_opt_string(r, r->body, "status_msg", &msg) < 0)
		return;
	if (!rooms_presence_valid(presence)) {
		api_error(r, 400, "M_INVALID_PARAM", "presence must be online, unavailable or offline");
		return;
	}
	if (rooms_presence_set(r->hs->rooms, r->who.user_id, presence, msg,
			       ROOMS_PRESENCE_EXPLICIT) != ROOM_OK)
		api_error(r, 500, "M_UNKNOWN", "Internal error");
	else
		api_reply(r, 200, json_object());
}

static void presence_get(struct api_req *r)
{
	const char *user = api_param(r, 0);
	if (!r->hs->rooms)
		return;
	if (!matrix_user_id_valid(user)) {
		api_error(r, 400, "M_INVALID_PARAM", "Invalid user ID");
		return;
	}
	if (!rooms_presence_visible(r->hs->rooms, r->who.user_id, user)) {
		api_error(r, 403, "M_FORBIDDEN", "You do not share a room with this user");
		return;
	}
	api_reply(r, 200, rooms_presence_get(r->hs->rooms, user));
}

#define V (API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH)
const struct api_route api_sync_routes[] = {
	{ "GET", "/sync", sync, V },
	{ "PUT", "/presence/{userId}/status", presence_put, V | API_JSON },
	{ "GET", "/presence/{userId}/status", presence_get, V },
	{ "POST", "/user/{userId}/filter", filter_post, V | API_JSON },
	{ "GET", "/user/{userId}/filter/{filterId}", filter_get, V },
};
const size_t api_sync_nroutes = sizeof(api_sync_routes) / sizeof(api_sync_routes[0]);
