/* POST /search (client-server spec, "Server Side Search"): the room_events
 * category over message bodies, room names and topics, in rooms where the
 * requester is joined, ordered by rank or recency, narrowed by the
 * RoomEventFilter (rooms, not_rooms, senders, not_senders, types,
 * not_types, limit), with event_context, groupings by room_id and sender,
 * include_state, and bundled aggregations.  next_batch is the offset of the next page,
 * written "o<N>".
 *
 * count is the matches in the requester's joined rooms before history
 * visibility hides some of them (events from before they joined a room
 * with history_visibility "joined", say), so it can exceed what paging
 * shows.  The spec asks only for "an approximate count of the total number
 * of results found", and Synapse counts the same way; an exact count would
 * mean rendering every hit's visibility for each request.  Pages follow the
 * matches, so a page can hold fewer results than limit (even none) and
 * still carry next_batch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/aggregations.h"
#include "homeserver/api_relsearch.h"
#include "homeserver/filter.h"
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

static const char *const searchable[][2] = {
	{ "content.body", "m.room.message" },
	{ "content.name", "m.room.name" },
	{ "content.topic", "m.room.topic" },
};
#define NSEARCHABLE (sizeof(searchable) / sizeof(searchable[0]))

/* What one request asks for, parsed and checked. */
struct search_req {
	const char *term;
	int recent;
	json_int_t limit;
	int64_t offset;
	char *rooms, *not_rooms, *senders, *not_senders, *types; /* JSON arrays or NULL */
	int context, profile;
	json_int_t before, after;
	int by_room, by_sender;
	int include_state;
};

static void search_req_clear(struct search_req *q)
{
	free(q->rooms);
	free(q->not_rooms);
	free(q->senders);
	free(q->not_senders);
	free(q->types);
}

/* filter[key]: absent or null leaves *out NULL; an array of strings is
 * dumped into *out; anything else answers 400 and returns -1. */
static int string_list(struct api_req *r, json_t *filter, const char *key, char **out)
{
	json_t *a = json_object_get(filter, key), *v;
	size_t i;
	*out = NULL;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a)) {
		api_error(r, 400, "M_BAD_JSON", "filter.%s must be an array", key);
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			api_error(r, 400, "M_BAD_JSON", "filter.%s must list strings", key);
			return -1;
		}
	}
	if (!(*out = json_dumps(a, JSON_COMPACT))) {
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
		return -1;
	}
	return 0;
}

/* The event types to search: those of "keys" (all three when absent)
 * that the filter's types and not_types let through (wildcards as in any
 * RoomEventFilter).  Answers 400 and returns -1 on bad input. */
static int narrow_types(struct api_req *r, json_t *keys, json_t *filter, char **types)
{
	struct room_filter rf;
	json_t *a = NULL, *k, *probe;
	int want[NSEARCHABLE], rc = -1;
	size_t i, j;

	*types = NULL;
	room_filter_init(&rf);
	for (j = 0; j < NSEARCHABLE; j++)
		want[j] = !keys || json_is_null(keys);
	if (keys && !json_is_null(keys)) {
		if (!json_is_array(keys)) {
			api_error(r, 400, "M_BAD_JSON", "keys must be an array");
			goto out;
		}
		json_array_foreach(keys, i, k) {
			for (j = 0; j < NSEARCHABLE; j++)
				if (json_is_string(k) &&
				    strcmp(json_string_value(k), searchable[j][0]) == 0)
					break;
			if (j == NSEARCHABLE) {
				api_error(r, 400, "M_INVALID_PARAM",
					  "keys may be content.body, content.name and content.topic");
				goto out;
			}
			want[j] = 1;
		}
	}
	if (filter && room_filter_from_json(&rf, filter) < 0) {
		api_error(r, 400, "M_BAD_JSON", "Bad filter");
		goto out;
	}
	if (!(a = json_array()))
		goto oom;
	for (j = 0; j < NSEARCHABLE; j++) {
		if (!want[j])
			continue;
		if (!(probe = json_pack("{s:s}", "type", searchable[j][1])))
			goto oom;
		if (room_filter_match(&rf, probe))
			json_array_append_new(a, json_string(searchable[j][1]));
		json_decref(probe);
	}
	if (!(*types = json_dumps(a, JSON_COMPACT)))
		goto oom;
	rc = 0;
	goto out;
oom:
	api_error(r, 500, "M_UNKNOWN", "Out of memory");
out:
	json_decref(a);
	room_filter_clear(&rf);
	return rc;
}

/* A non-negative integer field, dflt when absent. */
static int opt_count(struct api_req *r, json_t *obj, const char *key, json_int_t dflt,
		     json_int_t max, json_int_t *out)
{
	json_t *v = json_object_get(obj, key);
	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		api_error(r, 400, "M_BAD_JSON", "%s must be a non-negative integer", key);
		return -1;
	}
	*out = json_integer_value(v) > max ? max : json_integer_value(v);
	return 0;
}

static int parse_groupings(struct api_req *r, json_t *re, struct search_req *q)
{
	json_t *g, *by, *k;
	size_t i;
	if (api_opt_object(r, re, "groupings", &g) < 0)
		return -1;
	if (!g)
		return 0;
	by = json_object_get(g, "group_by");
	if (by && !json_is_null(by) && !json_is_array(by)) {
		api_error(r, 400, "M_BAD_JSON", "groupings.group_by must be an array");
		return -1;
	}
	json_array_foreach(by, i, k) {
		const char *key = json_string_value(json_object_get(k, "key"));
		if (!key) {
			api_error(r, 400, "M_BAD_JSON", "group_by entries need a key");
			return -1;
		}
		if (strcmp(key, "room_id") == 0) {
			q->by_room = 1;
		} else if (strcmp(key, "sender") == 0) {
			q->by_sender = 1;
		} else {
			api_error(r, 400, "M_INVALID_PARAM", "group_by key must be room_id or sender");
			return -1;
		}
	}
	return 0;
}

#define CONTEXT_DEFAULT 5
#define CONTEXT_MAX 20

/* Reads the room_events criteria; answers and returns -1 on bad input. */
static int parse_request(struct api_req *r, json_t *re, struct search_req *q)
{
	const char *order = NULL;
	json_t *filter = NULL, *ctx = NULL;

	if (api_req_string(r, re, "search_term", &q->term) < 0 ||
	    api_opt_string(r, re, "order_by", &order) < 0 ||
	    api_opt_object(r, re, "filter", &filter) < 0 ||
	    api_opt_object(r, re, "event_context", &ctx) < 0)
		return -1;
	if (order && strcmp(order, "rank") != 0 && strcmp(order, "recent") != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "order_by must be rank or recent");
		return -1;
	}
	q->recent = order && strcmp(order, "recent") == 0;
	q->limit = SEARCH_LIMIT_DEFAULT;
	if (filter) {
		if (opt_count(r, filter, "limit", SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, &q->limit) < 0)
			return -1;
		if (q->limit == 0)
			q->limit = SEARCH_LIMIT_DEFAULT;
		if (string_list(r, filter, "rooms", &q->rooms) < 0 ||
		    string_list(r, filter, "not_rooms", &q->not_rooms) < 0 ||
		    string_list(r, filter, "senders", &q->senders) < 0 ||
		    string_list(r, filter, "not_senders", &q->not_senders) < 0)
			return -1;
	}
	if (narrow_types(r, json_object_get(re, "keys"), filter, &q->types) < 0 ||
	    api_opt_bool(r, re, "include_state", 0, &q->include_state) < 0)
		return -1;
	if (ctx) {
		q->context = 1;
		if (opt_count(r, ctx, "before_limit", CONTEXT_DEFAULT, CONTEXT_MAX, &q->before) < 0 ||
		    opt_count(r, ctx, "after_limit", CONTEXT_DEFAULT, CONTEXT_MAX, &q->after) < 0 ||
		    api_opt_bool(r, ctx, "include_profile", 0, &q->profile) < 0)
			return -1;
	}
	return parse_groupings(r, re, q);
}

/* Visible client events of room_id next to pos: dir 'b' below it, newest
 * first; 'f' above it, oldest first.  *edge gets the token position to
 * page on from (as /messages takes it). */
static json_t *context_events(struct api_req *r, struct room_vis *vis, const char *room_id,
			      char dir, int64_t pos, json_int_t limit, int64_t *edge)
{
	struct room_event *evs = NULL;
	size_t n = 0;
	json_t *arr = json_array();

	*edge = dir == 'b' ? pos - 1 : pos;
	if (!arr || limit <= 0)
		return arr;
	if (room_store_events(rooms_store(r->hs->rooms), room_id, dir, dir == 'b' ? pos - 1 : pos,
			      -1, (int)limit, &evs, &n) != STORE_OK) {
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		*edge = dir == 'b' ? evs[i].stream_pos - 1 : evs[i].stream_pos;
		json_t *ce = rooms_vis_client_event(vis, &evs[i], r->who.device_id);
		if (ce)
			json_array_append_new(arr, ce);
	}
	room_event_list_free(evs, n);
	return arr;
}

/* {user: {displayname, avatar_url}} for the senders of events, from their
 * member events in the state before e (the profile they had then). */
static void add_profiles(struct api_req *r, const struct room_event *e, json_t *events,
			 json_t *info)
{
	json_t *map = NULL, *members, *ev;
	size_t i;
	if (room_store_state_group(rooms_store(r->hs->rooms), e->state_before, &map) != STORE_OK)
		return;
	members = json_object_get(map, "m.room.member");
	json_array_foreach(events, i, ev) {
		const char *sender = json_string_value(json_object_get(ev, "sender"));
		const char *mid;
		struct room_event m;
		json_t *pdu, *content, *p;
		if (!sender || json_object_get(info, sender) ||
		    !(mid = json_string_value(json_object_get(members, sender))) ||
		    room_store_event_get(rooms_store(r->hs->rooms), mid, &m) != STORE_OK)
			continue;
		pdu = json_loads(m.json, JSON_ALLOW_NUL, NULL);
		content = json_object_get(pdu, "content");
		if ((p = json_object())) {
			json_t *dn = json_object_get(content, "displayname");
			json_t *av = json_object_get(content, "avatar_url");
			if (json_is_string(dn))
				json_object_set(p, "displayname", dn);
			if (json_is_string(av))
				json_object_set(p, "avatar_url", av);
			json_object_set_new(info, sender, p);
		}
		json_decref(pdu);
		room_event_clear(&m);
	}
	json_decref(map);
}

/* The search result of one hit ({rank, result[, context]}), NULL when the
 * requester may not see it.  Context events are also appended to shown
 * (for the one bundling query). */
static json_t *one_result(struct api_req *r, const struct search_req *q,
			  const struct relsearch_hit *h, json_t *shown)
{
	struct room_event e;
	struct room_vis *vis;
	json_t *ce = NULL, *res = NULL;

	if (room_store_event_get(rooms_store(r->hs->rooms), h->event_id, &e) != STORE_OK)
		return NULL;
	if (!(vis = rooms_vis_new(r->hs->rooms, h->room_id, r->who.user_id)) ||
	    !(ce = rooms_vis_client_event(vis, &e, r->who.device_id)))
		goto out;
	json_array_append(shown, ce);
	res = json_pack("{s:f,s:O}", "rank", h->rank, "result", ce);
	if (res && q->context) {
		int64_t start, end;
		char ts[32], te[32];
		json_t *before = context_events(r, vis, h->room_id, 'b', e.stream_pos, q->before, &start);
		json_t *after = context_events(r, vis, h->room_id, 'f', e.stream_pos, q->after, &end);
		json_t *ctx = NULL;
		snprintf(ts, sizeof(ts), "s%lld", (long long)start);
		snprintf(te, sizeof(te), "s%lld", (long long)end);
		if (before && after)
			ctx = json_pack("{s:O,s:O,s:s,s:s}", "events_before", before, "events_after",
					after, "start", ts, "end", te);
		if (ctx) {
			json_array_extend(shown, before);
			json_array_extend(shown, after);
			if (q->profile) {
				json_t *info = json_object(), *all = json_array();
				if (info && all) {
					json_array_append(all, ce);
					json_array_extend(all, before);
					json_array_extend(all, after);
					add_profiles(r, &e, all, info);
					json_object_set(ctx, "profile_info", info);
				}
				json_decref(info);
				json_decref(all);
			}
			json_object_set_new(res, "context", ctx);
		}
		json_decref(before);
		json_decref(after);
	}
out:
	json_decref(ce);
	rooms_vis_free(vis);
	room_event_clear(&e);
	return res;
}

/* {room_id: [current state events]} for the rooms of the results. */
static json_t *rooms_state(struct api_req *r, json_t *results)
{
	json_t *out = json_object(), *res;
	size_t i;
	if (!out)
		return NULL;
	json_array_foreach(results, i, res) {
		const char *room_id = json_string_value(
			json_object_get(json_object_get(res, "result"), "room_id"));
		struct room_event *last = NULL;
		size_t n = 0;
		json_t *st;
		if (!room_id || json_object_get(out, room_id))
			continue;
		/* The state after the room's newest event is its current state. */
		if (room_store_events(rooms_store(r->hs->rooms), room_id, 'b', INT64_MAX, -1, 1,
				      &last, &n) == STORE_OK && n == 1 &&
		    (st = rooms_client_state(r->hs->rooms, last[0].state_after, r->who.user_id,
					     r->who.device_id)))
			json_object_set_new(out, room_id, st);
		room_event_list_free(last, n);
	}
	return out;
}

/* groups[key][value] = {results: [event IDs], order}, groups numbered in
 * the order their first result appears. */
static json_t *group(json_t *results, const char *key)
{
	json_t *groups = json_object(), *res;
	size_t i;
	json_int_t order = 0;
	if (!groups)
		return NULL;
	json_array_foreach(results, i, res) {
		json_t *ev = json_object_get(res, "result"), *g;
		const char *v = json_string_value(json_object_get(ev, key));
		if (!v)
			continue;
		if (!(g = json_object_get(groups, v))) {
			g = json_pack("{s:[],s:I}", "results", "order", ++order);
			if (!g || json_object_set_new(groups, v, g) < 0)
				continue;
		}
		json_array_append(json_object_get(g, "results"), json_object_get(ev, "event_id"));
	}
	return groups;
}

static void search(struct api_req *r)
{
	char *batch = http_query(r->http, "next_batch");
	json_t *cats, *re, *results = NULL, *shown = NULL, *body = NULL, *out_re;
	char tok[32];
	struct relsearch *rs;
	struct relsearch_filter rf;
	struct relsearch_hit *h = NULL;
	struct search_req q;
	size_t n = 0;
	int64_t count = 0;

	memset(&q, 0, sizeof(q));
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
	if (parse_request(r, re, &q) < 0)
		goto out;
	if (batch && parse_batch(batch, &q.offset) < 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad next_batch");
		goto out;
	}
	if (!(rs = api_relsearch(r)))
		goto out;
	rf = (struct relsearch_filter){ q.rooms, q.not_rooms, q.senders, q.not_senders, q.types };
	if (relsearch_search(rs, r->who.user_id, q.term, &rf, q.recent, q.offset, (int)q.limit, &h,
			     &n, &count) != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	if (!(results = json_array()) || !(shown = json_array()))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		json_t *res = one_result(r, &q, &h[i], shown);
		if (res)
			json_array_append_new(results, res);
	}
	aggr_bundle(rs, r->hs->rooms, shown, r->who.user_id, r->who.device_id);
	body = json_pack("{s:{s:{s:O,s:I,s:o}}}", "search_categories", "room_events", "results",
			 results, "count", (json_int_t)count, "highlights", highlights(q.term));
	if (!body)
		goto oom;
	out_re = json_object_get(json_object_get(body, "search_categories"), "room_events");
	if (q.offset + (int64_t)n < count) {
		snprintf(tok, sizeof(tok), "o%lld", (long long)(q.offset + (int64_t)n));
		json_object_set_new(out_re, "next_batch", json_string(tok));
	}
	if (q.include_state)
		json_object_set_new(out_re, "state", rooms_state(r, results));
	if (q.by_room || q.by_sender) {
		json_t *groups = json_object();
		if (groups && q.by_room)
			json_object_set_new(groups, "room_id", group(results, "room_id"));
		if (groups && q.by_sender)
			json_object_set_new(groups, "sender", group(results, "sender"));
		json_object_set_new(out_re, "groups", groups);
	}
	api_reply(r, 200, body);
	body = NULL;
	goto out;
oom:
	api_error(r, 500, "M_UNKNOWN", "Out of memory");
out:
	relsearch_hits_free(h, n);
	search_req_clear(&q);
	json_decref(results);
	json_decref(shown);
	json_decref(body);
	free(batch);
}

const struct api_route api_search_routes[] = {
	{ "POST", "/search", search, API_AUTH | API_JSON | API_CLIENT_V3 | API_CLIENT_R0 },
};
const size_t api_search_nroutes = sizeof(api_search_routes) / sizeof(api_search_routes[0]);
