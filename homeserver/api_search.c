/* POST /search (client-server spec, "Server Side Search"): the room_events
 * category over message bodies, room names and topics, in rooms where the
 * requester is joined, ordered by rank or recency.  next_batch is the
 * offset of the next page, written "o<N>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/api_relsearch.h"
#include "homeserver/rooms.h"

#define SEARCH_LIMIT_DEFAULT 10
#define SEARCH_LIMIT_MAX 50

static int parse_batch(const char *s, int64_t *off)
{
	char *end;
	long long v;
	if (*s == 'o')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end || v < 0 || v > 1000000000)
		return -1;
	*off = v;
	return 0;
}

/* The hit as the requester sees it, NULL when history visibility hides it. */
static json_t *hit_event(struct api_req *r, const struct relsearch_hit *h)
{
	struct room_event e;
	struct room_vis *vis;
	json_t *ce = NULL;
	if (room_store_event_get(rooms_store(r->hs->rooms), h->event_id, &e) != STORE_OK)
		return NULL;
	if ((vis = rooms_vis_new(r->hs->rooms, h->room_id, r->who.user_id)) &&
	    rooms_vis_allows(vis, &e))
		ce = rooms_client_event(r->hs->rooms, &e, r->who.user_id, r->who.device_id);
	rooms_vis_free(vis);
	room_event_clear(&e);
	return ce;
}

/* The words of term, for the client to highlight. */
static json_t *highlights(const char *term)
{
	json_t *a = json_array();
	char *q = relsearch_fts_query(term), *p, *w;
	if (!q || !a) {
		free(q);
		return a;
	}
	/* q is "\"w1\" \"w2\"": the words are between the quotes. */
	for (p = q; (w = strchr(p, '"'));) {
		char *e = strchr(w + 1, '"');
		if (!e)
			break;
		json_array_append_new(a, json_stringn(w + 1, (size_t)(e - w - 1)));
		p = e + 1;
	}
	free(q);
	return a;
}

/* "keys" (content.body, content.name, content.topic) as the event types
 * they are read from, a JSON array in *types (NULL: all three).  Answers
 * 400 and returns -1 on anything else. */
static int keys_to_types(struct api_req *r, json_t *keys, char **types)
{
	static const char *const map[][2] = {
		{ "content.body", "m.room.message" },
		{ "content.name", "m.room.name" },
		{ "content.topic", "m.room.topic" },
	};
	json_t *a, *k;
	size_t i, j;

	*types = NULL;
	if (!keys || json_is_null(keys))
		return 0;
	if (!json_is_array(keys) || !(a = json_array())) {
		api_error(r, 400, "M_BAD_JSON", "keys must be an array");
		return -1;
	}
	json_array_foreach(keys, i, k) {
		for (j = 0; j < 3; j++)
			if (json_is_string(k) && strcmp(json_string_value(k), map[j][0]) == 0)
				break;
		if (j == 3) {
			json_decref(a);
			api_error(r, 400, "M_INVALID_PARAM",
				  "keys may be content.body, content.name and content.topic");
			return -1;
		}
		json_array_append_new(a, json_string(map[j][1]));
	}
	*types = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return 0;
}

static void search(struct api_req *r)
{
	char *batch = http_query(r->http, "next_batch");
	json_t *cats, *re, *filter = NULL, *rooms_f, *results = NULL, *body;
	const char *term = NULL, *order = NULL;
	char *rooms_json = NULL, *types_json = NULL, tok[32];
	struct relsearch *rs = NULL;
	struct relsearch_hit *h = NULL;
	size_t n = 0;
	int64_t offset = 0, count = 0;
	json_int_t limit = SEARCH_LIMIT_DEFAULT;

	cats = json_object_get(r->body, "search_categories");
	if (!json_is_object(cats)) {
		api_error(r, 400, cats ? "M_BAD_JSON" : "M_MISSING_PARAM",
			  "search_categories must be an object");
		goto out;
	}
	re = json_object_get(cats, "room_events");
	if (!re) { /* no category this server searches */
		api_reply(r, 200, json_pack("{s:{}}", "search_categories"));
		goto out;
	}
	if (!json_is_object(re)) {
		api_error(r, 400, "M_BAD_JSON", "room_events must be an object");
		goto out;
	}
	if (api_req_string(r, re, "search_term", &term) < 0 ||
	    api_opt_string(r, re, "order_by", &order) < 0 ||
	    api_opt_object(r, re, "filter", &filter) < 0)
		goto out;
	if (order && strcmp(order, "rank") != 0 && strcmp(order, "recent") != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "order_by must be rank or recent");
		goto out;
	}
	if (filter) {
		json_t *l = json_object_get(filter, "limit");
		rooms_f = json_object_get(filter, "rooms");
		if (l && (!json_is_integer(l) || json_integer_value(l) < 0)) {
			api_error(r, 400, "M_BAD_JSON", "filter.limit must be a non-negative integer");
			goto out;
		}
		if (l && json_integer_value(l) > 0)
			limit = json_integer_value(l);
		if (rooms_f && !json_is_null(rooms_f)) {
			size_t i;
			json_t *v;
			if (!json_is_array(rooms_f)) {
				api_error(r, 400, "M_BAD_JSON", "filter.rooms must be an array");
				goto out;
			}
			json_array_foreach(rooms_f, i, v) {
				if (!json_is_string(v)) {
					api_error(r, 400, "M_BAD_JSON",
						  "filter.rooms must list room IDs");
					goto out;
				}
			}
			rooms_json = json_dumps(rooms_f, JSON_COMPACT);
		}
	}
	if (keys_to_types(r, json_object_get(re, "keys"), &types_json) < 0)
		goto out;
	if (limit > SEARCH_LIMIT_MAX)
		limit = SEARCH_LIMIT_MAX;
	if (batch && parse_batch(batch, &offset) < 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad next_batch");
		goto out;
	}
	if (!(rs = api_relsearch_open(r)))
		goto out;
	if (relsearch_search(rs, r->who.user_id, term, rooms_json, types_json,
			     order && strcmp(order, "recent") == 0, offset, (int)limit, &h, &n,
			     &count) != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	results = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *ce = hit_event(r, &h[i]);
		if (ce)
			json_array_append_new(results, json_pack("{s:f,s:o}", "rank", h[i].rank,
								 "result", ce));
	}
	body = json_pack("{s:{s:{s:O,s:I,s:o}}}", "search_categories", "room_events", "results",
			 results, "count", (json_int_t)count, "highlights", highlights(term));
	if (body && offset + (int64_t)n < count) {
		snprintf(tok, sizeof(tok), "o%lld", (long long)(offset + (int64_t)n));
		json_object_set_new(json_object_get(json_object_get(body, "search_categories"),
						    "room_events"),
				    "next_batch", json_string(tok));
	}
	if (body)
		api_reply(r, 200, body);
	else
		api_error(r, 500, "M_UNKNOWN", "Internal error");
out:
	relsearch_hits_free(h, n);
	relsearch_close(rs);
	json_decref(results);
	free(rooms_json);
	free(types_json);
	free(batch);
}

const struct api_route api_search_routes[] = {
	{ "POST", "/search", search, API_AUTH | API_JSON | API_CLIENT_V3 | API_CLIENT_R0 },
};
const size_t api_search_nroutes = sizeof(api_search_routes) / sizeof(api_search_routes[0]);
