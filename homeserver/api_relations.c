/* GET /rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]] and
 * GET /rooms/{roomId}/threads (client-server spec, "Relationships" and
 * "Threading").  Only joined members read them, and each event is also
 * checked against the history visibility.  Pagination tokens are stream
 * positions written "r<N>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/aggregations.h"
#include "homeserver/api_relsearch.h"
#include "homeserver/api_rooms.h"
#include "homeserver/rooms.h"

#define REL_LIMIT_DEFAULT 20
#define REL_LIMIT_MAX 100

struct relsearch *api_relsearch(struct api_req *r)
{
	if (!r->hs->rooms || !r->hs->relsearch) {
		api_error(r, 404, "M_UNRECOGNIZED", "Rooms are not enabled");
		return NULL;
	}
	return r->hs->relsearch;
}

/* "r<N>" or "<N>" into *pos; -1 when malformed. */
static int parse_token(const char *s, int64_t *pos)
{
	char *end;
	long long v;
	if (*s == 'r')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end || v < 0)
		return -1;
	*pos = v;
	return 0;
}

/* Reads the from/to/limit/dir query parameters; answers 400 and returns -1
 * when one is malformed. */
static int read_paging(struct api_req *r, int64_t *from, int64_t *to, long *limit, char *dir)
{
	char *from_s = http_query(r->http, "from"), *to_s = http_query(r->http, "to");
	char *dir_s = http_query(r->http, "dir");
	int rc = -1;

	*from = -1;
	*to = -1;
	*dir = 'b';
	if (dir_s && strcmp(dir_s, "b") != 0 && strcmp(dir_s, "f") != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "dir must be b or f");
		goto out;
	}
	if (dir_s)
		*dir = dir_s[0];
	if (api_query_limit(r, REL_LIMIT_DEFAULT, REL_LIMIT_MAX, limit) < 0)
		goto out;
	if ((from_s && parse_token(from_s, from) < 0) || (to_s && parse_token(to_s, to) < 0)) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad pagination token");
		goto out;
	}
	rc = 0;
out:
	free(from_s);
	free(to_s);
	free(dir_s);
	return rc;
}

/* The event as the requester sees it, or NULL when it is not in room_id or
 * not visible to them. */
static json_t *visible_event(struct api_req *r, struct room_vis *vis, const char *room_id,
			     const char *event_id)
{
	struct room_event e;
	json_t *ce = NULL;
	if (room_store_event_get(rooms_store(r->hs->rooms), event_id, &e) != STORE_OK)
		return NULL;
	if (strcmp(e.room_id, room_id) == 0)
		ce = rooms_vis_client_event(vis, &e, r->who.device_id);
	room_event_clear(&e);
	return ce;
}

static void relations(struct api_req *r)
{
	const char *room_id = api_param(r, 0), *parent = api_param(r, 1);
	const char *rel_type = r->match.nparams > 2 ? api_param(r, 2) : NULL;
	const char *ev_type = r->match.nparams > 3 ? api_param(r, 3) : NULL;
	struct relsearch *rs = NULL;
	struct room_vis *vis = NULL;
	struct relsearch_hit *h = NULL;
	size_t n = 0, stop;
	int64_t from, to;
	long limit;
	char dir, tok[32];
	json_t *chunk = NULL, *root = NULL, *body;

	if (!r->hs->rooms) {
		api_error(r, 404, "M_UNRECOGNIZED", "Rooms are not enabled");
		return;
	}
	if (api_require_joined(r, room_id) < 0 ||
	    read_paging(r, &from, &to, &limit, &dir) < 0 || !(rs = api_relsearch(r)))
		goto out;
	if (!(vis = rooms_vis_new(r->hs->rooms, room_id, r->who.user_id))) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	if (!(root = visible_event(r, vis, room_id, parent))) {
		api_error(r, 404, "M_NOT_FOUND", "Event not found");
		goto out;
	}
	/* limit=0: an empty chunk, as asked (the store wants limit > 0). */
	if (limit > 0 &&
	    relsearch_relations(rs, room_id, parent, rel_type, ev_type, dir, from, (int)limit,
				&h, &n) != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	chunk = json_array();
	stop = n;
	for (size_t i = 0; i < n; i++) {
		json_t *ce;
		if (to >= 0 && (dir == 'b' ? h[i].pos <= to : h[i].pos >= to)) {
			stop = i; /* reached "to": no further page */
			break;
		}
		if ((ce = visible_event(r, vis, room_id, h[i].event_id)))
			json_array_append_new(chunk, ce);
	}
	aggr_bundle_room(rs, r->hs->rooms, vis, room_id, chunk, r->who.user_id, r->who.device_id);
	body = json_pack("{s:O}", "chunk", chunk);
	if (body && stop == n && n && n == (size_t)limit) {
		snprintf(tok, sizeof(tok), "r%lld", (long long)h[n - 1].pos);
		json_object_set_new(body, "next_batch", json_string(tok));
	}
	if (body && from >= 0) {
		snprintf(tok, sizeof(tok), "r%lld", (long long)from);
		json_object_set_new(body, "prev_batch", json_string(tok));
	}
	if (body)
		api_reply(r, 200, body);
	else
		api_error(r, 500, "M_UNKNOWN", "Internal error");
out:
	relsearch_hits_free(h, n);
	json_decref(chunk);
	json_decref(root);
	rooms_vis_free(vis);
}

static void threads(struct api_req *r)
{
	const char *room_id = api_param(r, 0);
	char *include = http_query(r->http, "include"), *from_s = http_query(r->http, "from");
	struct relsearch *rs = NULL;
	struct room_vis *vis = NULL;
	struct relsearch_hit *h = NULL;
	size_t n = 0;
	int64_t from = -1;
	long limit;
	char tok[32];
	json_t *chunk = NULL, *body;

	if (!r->hs->rooms) {
		api_error(r, 404, "M_UNRECOGNIZED", "Rooms are not enabled");
		goto out;
	}
	if (api_require_joined(r, room_id) < 0)
		goto out;
	if (include && strcmp(include, "all") != 0 && strcmp(include, "participated") != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "include must be all or participated");
		goto out;
	}
	if (from_s && parse_token(from_s, &from) < 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad pagination token");
		goto out;
	}
	if (api_query_limit(r, REL_LIMIT_DEFAULT, REL_LIMIT_MAX, &limit) < 0)
		goto out;
	if (!(rs = api_relsearch(r)))
		goto out;
	if (!(vis = rooms_vis_new(r->hs->rooms, room_id, r->who.user_id)) ||
	    (limit > 0 &&
	     relsearch_threads(rs, room_id, r->who.user_id,
			       include && strcmp(include, "participated") == 0, from, (int)limit,
			       &h, &n) != STORE_OK)) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	chunk = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *ce = visible_event(r, vis, room_id, h[i].event_id);
		if (!ce)
			continue;
		json_array_append_new(chunk, ce);
	}
	/* The summaries (m.thread) come with the bundles. */
	aggr_bundle_room(rs, r->hs->rooms, vis, room_id, chunk, r->who.user_id, r->who.device_id);
	body = json_pack("{s:O}", "chunk", chunk);
	if (body && n && n == (size_t)limit) {
		snprintf(tok, sizeof(tok), "r%lld", (long long)h[n - 1].pos);
		json_object_set_new(body, "next_batch", json_string(tok));
	}
	if (body)
		api_reply(r, 200, body);
	else
		api_error(r, 500, "M_UNKNOWN", "Internal error");
out:
	relsearch_hits_free(h, n);
	json_decref(chunk);
	rooms_vis_free(vis);
	free(include);
	free(from_s);
}

#define V (API_AUTH | API_CLIENT_V1)
const struct api_route api_relations_routes[] = {
	{ "GET", "/rooms/{roomId}/relations/{eventId}", relations, V },
	{ "GET", "/rooms/{roomId}/relations/{eventId}/{relType}", relations, V },
	{ "GET", "/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}", relations, V },
	{ "GET", "/rooms/{roomId}/threads", threads, V },
};
const size_t api_relations_nroutes = sizeof(api_relations_routes) / sizeof(api_relations_routes[0]);
