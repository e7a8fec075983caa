/* Read-only server-server endpoints.  See api_read.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "federation/api_read.h"
#include "federation/read_query.h"
#include "federation/room_servers.h"
#include "homeserver/events/event.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store_rooms.h"

/* Bounds on what one request may make this server read. */
#define READ_MAX_EVENTS 50000   /* events loaded for one auth chain or walk */
#define BACKFILL_MAX 100
#define MISSING_MAX 100
#define MISSING_DEFAULT 10
#define PUBLIC_DEFAULT 100
#define PUBLIC_MAX 500
#define V_MAX 64                /* event IDs in backfill's v */

/* ---- one request's view of a room ---- */

struct ev {
	json_t *pdu;            /* owned */
	char *room_id;
	int kind;               /* ROOM_EVENT_*: timeline events and soft-failed
				 * ones (with state_before) have state */
	int64_t state_before;   /* a state group (negative ones too); 0 none */
	int64_t depth;
	int redacted;
};

struct group_vis {
	int64_t group;
	char hv[24];            /* history_visibility in force */
	int joined, invited;    /* origin has a member with that membership */
};

struct rctx {
	struct fed_service *fs;
	struct rooms *rooms;
	struct room_store *rs;
	const char *origin;
	const char *room_id;
	const struct room_version *rv;
	json_t *index;          /* event_id -> integer index into evs */
	struct ev **evs;        /* each allocated alone: pointers stay valid */
	size_t nevs, cap;
	struct group_vis *groups;
	size_t ngroups;
	int now_vis;            /* the current state's verdict: -1 unknown */
	struct group_vis now;
};

static void rctx_free(struct rctx *c)
{
	for (size_t i = 0; i < c->nevs; i++) {
		json_decref(c->evs[i]->pdu);
		free(c->evs[i]->room_id);
		free(c->evs[i]);
	}
	free(c->evs);
	free(c->groups);
	json_decref(c->index);
}

/* 0, or answers (404 unknown room, 500) and returns -1. */
static int rctx_init(struct rctx *c, struct api_req *r, struct fed_service *fs, const char *origin,
		     const char *room_id)
{
	memset(c, 0, sizeof(*c));
	c->fs = fs;
	c->origin = origin;
	c->room_id = room_id;
	c->now_vis = -1;
	c->rooms = fs->hs->rooms;
	if (!c->rooms || !room_id || rooms_version(c->rooms, room_id, &c->rv) != ROOM_OK || !c->rv) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return -1;
	}
	c->rs = rooms_store(c->rooms);
	if (!(c->index = json_object())) {
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
		return -1;
	}
	return 0;
}

/* Takes the loaded event e (cleared either way) into c as id; NULL when
 * out of memory or bounds. */
static const struct ev *ev_add(struct rctx *c, const char *id, struct room_event *e)
{
	struct ev *v = NULL;

	if (c->nevs >= READ_MAX_EVENTS)
		goto fail;
	if (c->nevs == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 32;
		struct ev **n = realloc(c->evs, nc * sizeof(*n));
		if (!n)
			goto fail;
		c->evs = n;
		c->cap = nc;
	}
	if (!(v = calloc(1, sizeof(*v))))
		goto fail;
	v->pdu = json_loads(e->json, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	v->room_id = e->room_id;
	e->room_id = NULL;
	v->kind = e->kind;
	v->state_before = e->state_before;
	v->depth = e->depth;
	v->redacted = e->redacted_by != NULL;
	if (!v->pdu || !v->room_id || json_object_set_new(c->index, id, json_integer((json_int_t)c->nevs)) < 0) {
		json_decref(v->pdu);
		free(v->room_id);
		free(v);
		v = NULL;
		goto fail;
	}
	c->evs[c->nevs++] = v;
fail:
	room_event_clear(e);
	return v;
}

/* The stored event id (of any room), or NULL.  Borrowed from c, valid
 * until rctx_free(). */
static const struct ev *ev_get(struct rctx *c, const char *id)
{
	json_t *ix = json_object_get(c->index, id);
	struct room_event e;

	if (ix)
		return c->evs[json_integer_value(ix)];
	if (!id || c->nevs >= READ_MAX_EVENTS)
		return NULL;
	memset(&e, 0, sizeof(e));
	if (room_store_event_get(c->rs, id, &e) != STORE_OK)
		return NULL;
	return ev_add(c, id, &e);
}

/* The event when it is in this request's room. */
static const struct ev *ev_in_room(struct rctx *c, const char *id)
{
	const struct ev *v = ev_get(c, id);
	return v && strcmp(v->room_id, c->room_id) == 0 ? v : NULL;
}

/* The same, leaving out rejected events: they authorise nothing and are
 * no part of the room's history, so walks neither return nor cross them. */
static const struct ev *ev_valid(struct rctx *c, const char *id)
{
	const struct ev *v = ev_in_room(c, id);
	return v && v->kind != ROOM_EVENT_REJECTED ? v : NULL;
}

/* The IDs in pdu[key] (prev_events or auth_events) into ids (appended);
 * versions 1 and 2 list [id, hashes] pairs. */
static void ref_ids(const struct rctx *c, const json_t *pdu, const char *key, json_t *ids)
{
	const json_t *a = json_object_get(pdu, key), *x;
	size_t i;
	json_array_foreach(a, i, x) {
		const json_t *id = json_is_array(x) ? json_array_get(x, 0) : x;
		if (json_is_string(id))
			json_array_append(ids, (json_t *)id);
	}
	/* From version 12 the create event is every event's implicit auth
	 * event: the room ID is its hash. */
	if (c->rv->room_id_is_create_hash && strcmp(key, "auth_events") == 0 && c->room_id[0] == '!') {
		const char *t = event_type(pdu);
		if (!t || strcmp(t, "m.room.create") != 0) {
			char create[EVENT_ID_BUF];
			snprintf(create, sizeof(create), "$%s", c->room_id + 1);
			json_array_append_new(ids, json_string(create));
		}
	}
}

/* The event as another server gets it: pruned when redacted here or when
 * it may not see the content. */
static json_t *ev_out(const struct rctx *c, const struct ev *v, int visible)
{
	if (v->redacted || !visible)
		return event_redact(c->rv, v->pdu);
	return json_incref(v->pdu);
}

/* ---- what the origin server may see ----
 * A server sees an event when one of its users would under the history
 * visibility in force before it: world_readable always; a user of it
 * joined at that point; invited there when the setting is invited or
 * shared; and shared while the server is in the room now.  Its users' own
 * membership events it always sees. */

static void vis_of_map(struct rctx *c, const json_t *map, struct group_vis *g)
{
	const json_t *members = json_object_get(map, "m.room.member"), *id;
	const struct ev *hv;
	const char *uid;

	snprintf(g->hv, sizeof(g->hv), "shared");
	hv = ev_get(c, json_string_value(json_object_get(json_object_get(map, "m.room.history_visibility"), "")));
	if (hv) {
		const char *s = json_string_value(json_object_get(json_object_get(hv->pdu, "content"),
								  "history_visibility"));
		if (s)
			snprintf(g->hv, sizeof(g->hv), "%s", s);
	}
	g->joined = g->invited = 0;
	json_object_foreach((json_t *)members, uid, id) {
		const char *dom = matrix_id_domain(uid), *m;
		const struct ev *mv;
		if (!dom || strcmp(dom, c->origin) != 0 || !(mv = ev_get(c, json_string_value(id))))
			continue;
		m = event_membership(mv->pdu);
		if (m && strcmp(m, "join") == 0)
			g->joined = 1;
		else if (m && strcmp(m, "invite") == 0)
			g->invited = 1;
	}
}

/* The verdict for the room's current state. */
static const struct group_vis *vis_now(struct rctx *c)
{
	struct room_head h;
	if (c->now_vis >= 0)
		return &c->now;
	memset(&h, 0, sizeof(h));
	memset(&c->now, 0, sizeof(c->now));
	if (room_store_head(c->rs, c->room_id, &h) == STORE_OK)
		vis_of_map(c, h.state, &c->now);
	else
		snprintf(c->now.hv, sizeof(c->now.hv), "joined");
	room_head_clear(&h);
	c->now_vis = 1;
	return &c->now;
}

/* Whether origin may read the room's history at all: in it now, or the
 * room is world-readable now. */
static int room_access(struct rctx *c)
{
	const struct group_vis *g = vis_now(c);
	return g->joined || strcmp(g->hv, "world_readable") == 0;
}

static int has_state(const struct ev *v)
{
	return v->kind == ROOM_EVENT_TIMELINE || (v->kind == ROOM_EVENT_SOFT_FAILED && v->state_before);
}

static const struct group_vis *vis_group(struct rctx *c, const struct ev *v)
{
	struct group_vis *g;
	json_t *map = NULL;
	int64_t group = v->state_before;

	if (!has_state(v)) /* no state of its own: judge by the state now */
		return vis_now(c);
	for (size_t i = 0; i < c->ngroups; i++)
		if (c->groups[i].group == group)
			return &c->groups[i];
	if (room_store_state_group(c->rs, group, &map) != STORE_OK)
		return NULL;
	g = realloc(c->groups, (c->ngroups + 1) * sizeof(*g));
	if (!g) {
		json_decref(map);
		return NULL;
	}
	c->groups = g;
	g = &c->groups[c->ngroups++];
	g->group = group;
	vis_of_map(c, map, g);
	json_decref(map);
	return g;
}

static int sees(struct rctx *c, const struct ev *v)
{
	const struct group_vis *g;
	const char *t = event_type(v->pdu), *sk = event_state_key(v->pdu);

	if (t && sk && strcmp(t, "m.room.member") == 0 && matrix_id_domain(sk) &&
	    strcmp(matrix_id_domain(sk), c->origin) == 0)
		return 1;
	if (!(g = vis_group(c, v)))
		return 0;
	if (strcmp(g->hv, "world_readable") == 0 || g->joined)
		return 1;
	if (g->invited && (strcmp(g->hv, "invited") == 0 || strcmp(g->hv, "shared") == 0))
		return 1;
	return strcmp(g->hv, "shared") == 0 && vis_now(c)->joined;
}

/* ---- auth chains ---- */

/* Every event reachable from the events in start through auth_events (the
 * start events themselves only when reached), as a new array of IDs in
 * the order found. */
static json_t *auth_chain_ids(struct rctx *c, const json_t *start)
{
	json_t *seen = json_object(), *queue = json_array(), *chain = json_array(), *x;
	size_t i;

	if (!seen || !queue || !chain)
		goto fail;
	json_array_foreach(start, i, x)
		json_array_append(queue, x);
	for (i = 0; i < json_array_size(queue); i++) {
		const struct ev *v = ev_valid(c, json_string_value(json_array_get(queue, i)));
		json_t *auth;
		size_t k;
		if (!v || !(auth = json_array()))
			continue;
		ref_ids(c, v->pdu, "auth_events", auth);
		json_array_foreach(auth, k, x) {
			const char *id = json_string_value(x);
			if (json_object_get(seen, id) || !ev_valid(c, id))
				continue;
			json_object_set_new(seen, id, json_true());
			json_array_append(chain, x);
			json_array_append(queue, x);
		}
		json_decref(auth);
	}
	json_decref(seen);
	json_decref(queue);
	return chain;
fail:
	json_decref(seen);
	json_decref(queue);
	json_decref(chain);
	return NULL;
}

/* ids as full events (only those held), for pdus / auth_chain. */
static json_t *ids_to_pdus(struct rctx *c, const json_t *ids)
{
	json_t *out = json_array(), *x;
	size_t i;
	json_array_foreach(ids, i, x) {
		const struct ev *v = ev_in_room(c, json_string_value(x));
		if (v)
			json_array_append_new(out, ev_out(c, v, 1));
	}
	return out;
}

/* ---- handlers ---- */

static json_t *txn_reply(struct fed_service *fs, json_t *pdus)
{
	return json_pack("{s:s,s:I,s:o}", "origin", fs->server_name, "origin_server_ts",
			 (json_int_t)http_now_ms(), "pdus", pdus);
}

/* GET /v1/event/{eventId} */
static void fed_event_get(struct api_req *r, struct fed_service *fs, const char *origin)
{
	struct rctx c;
	const struct ev *v;
	struct room_event e;
	int vis;

	memset(&e, 0, sizeof(e));
	if (!fs->hs->rooms || room_store_event_get(rooms_store(fs->hs->rooms), api_param(r, 0), &e) != STORE_OK) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown event");
		return;
	}
	if (rctx_init(&c, r, fs, origin, e.room_id) < 0) {
		room_event_clear(&e);
		return;
	}
	/* The event moves into the context, and with it the room ID the
	 * context borrows: it stays valid until rctx_free(). */
	if (!(v = ev_add(&c, api_param(r, 0), &e))) {
		api_error(r, 500, "M_UNKNOWN", "Cannot read the event");
	} else if (!(vis = sees(&c, v)) && !room_access(&c)) {
		api_error(r, 403, "M_FORBIDDEN", "Your server may not see this event");
	} else {
		json_t *pdus = json_array();
		json_array_append_new(pdus, ev_out(&c, v, vis));
		api_reply(r, 200, txn_reply(fs, pdus));
	}
	rctx_free(&c);
}

/* The event named by ?event_id= (or a path parameter) in the room, when
 * origin may see it; otherwise answers and returns NULL. */
static const struct ev *visible_event(struct rctx *c, struct api_req *r, const char *id)
{
	const struct ev *v;
	if (!id) {
		api_error(r, 400, "M_MISSING_PARAM", "Missing event_id");
		return NULL;
	}
	if (!(v = ev_in_room(c, id))) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown event");
		return NULL;
	}
	if (!sees(c, v)) {
		api_error(r, 403, "M_FORBIDDEN", "Your server may not see this event");
		return NULL;
	}
	return v;
}

/* The state before v as an array of event IDs. */
static json_t *state_ids_before(struct rctx *c, const struct ev *v)
{
	json_t *map = NULL, *ids, *keys, *id;
	const char *type, *sk;

	if (!has_state(v) || room_store_state_group(c->rs, v->state_before, &map) != STORE_OK)
		return NULL;
	ids = json_array();
	json_object_foreach(map, type, keys)
		json_object_foreach(keys, sk, id)
			if (json_is_string(id))
				json_array_append(ids, id);
	json_decref(map);
	return ids;
}

static void state_common(struct api_req *r, struct fed_service *fs, const char *origin, int want_ids)
{
	struct rctx c;
	const struct ev *v;
	char *event_id = http_query(r->http, "event_id");
	json_t *ids = NULL, *chain = NULL;

	if (rctx_init(&c, r, fs, origin, api_param(r, 0)) < 0) {
		free(event_id);
		return;
	}
	if (!(v = visible_event(&c, r, event_id)))
		goto out;
	if (!(ids = state_ids_before(&c, v))) {
		api_error(r, 404, "M_NOT_FOUND", "No state is known at this event");
		goto out;
	}
	if (!(chain = auth_chain_ids(&c, ids))) {
		api_error(r, 500, "M_UNKNOWN", "Cannot walk the auth chain");
		goto out;
	}
	if (want_ids)
		api_reply(r, 200, json_pack("{s:O,s:O}", "pdu_ids", ids, "auth_chain_ids", chain));
	else
		api_reply(r, 200, json_pack("{s:o,s:o}", "pdus", ids_to_pdus(&c, ids), "auth_chain",
					    ids_to_pdus(&c, chain)));
out:
	json_decref(ids);
	json_decref(chain);
	free(event_id);
	rctx_free(&c);
}

/* GET /v1/state/{roomId}?event_id= */
static void fed_state(struct api_req *r, struct fed_service *fs, const char *origin)
{
	state_common(r, fs, origin, 0);
}

/* GET /v1/state_ids/{roomId}?event_id= */
static void fed_state_ids(struct api_req *r, struct fed_service *fs, const char *origin)
{
	state_common(r, fs, origin, 1);
}

/* GET /v1/event_auth/{roomId}/{eventId} */
static void fed_event_auth(struct api_req *r, struct fed_service *fs, const char *origin)
{
	struct rctx c;
	const struct ev *v;
	json_t *start, *chain;

	if (rctx_init(&c, r, fs, origin, api_param(r, 0)) < 0)
		return;
	if ((v = visible_event(&c, r, api_param(r, 1)))) {
		start = json_pack("[s]", api_param(r, 1));
		chain = start ? auth_chain_ids(&c, start) : NULL;
		if (!chain)
			api_error(r, 500, "M_UNKNOWN", "Cannot walk the auth chain");
		else
			api_reply(r, 200, json_pack("{s:o}", "auth_chain", ids_to_pdus(&c, chain)));
		json_decref(start);
		json_decref(chain);
	}
	rctx_free(&c);
}

/* Adds id to the frontier unless seen, not held, or below min_depth. */
static void front_push(struct rctx *c, json_t *seen, json_t *front, json_t *id, int64_t min_depth)
{
	const char *s = json_string_value(id);
	const struct ev *v;
	if (!s || json_object_get(seen, s) || !(v = ev_valid(c, s)) || v->depth < min_depth)
		return;
	json_object_set_new(seen, s, json_true());
	json_array_append(front, id);
}

static void front_push_prev(struct rctx *c, json_t *seen, json_t *front, const struct ev *v,
			    int64_t min_depth)
{
	json_t *prev = json_array(), *p;
	size_t k;
	if (!prev)
		return;
	ref_ids(c, v->pdu, "prev_events", prev);
	json_array_foreach(prev, k, p)
		front_push(c, seen, front, p, min_depth);
	json_decref(prev);
}

/* Events from start back through prev_events, highest depth first (ties by
 * ID, so answers are stable), at most limit; start events are included
 * unless skip_start.  Neither taken nor walked past: the IDs in stop,
 * events below min_depth and events this server does not hold. */
static json_t *walk_back(struct rctx *c, const json_t *start, int skip_start, const json_t *stop,
			 int64_t min_depth, size_t limit)
{
	json_t *seen = json_object(), *front = json_array(), *out = json_array(), *x;
	size_t i;

	if (!seen || !front || !out) {
		json_decref(out);
		out = NULL;
		goto done;
	}
	json_array_foreach(stop, i, x)
		if (json_is_string(x))
			json_object_set_new(seen, json_string_value(x), json_true());
	json_array_foreach(start, i, x) {
		const struct ev *v = ev_valid(c, json_string_value(x));
		if (!v)
			continue;
		if (skip_start)
			front_push_prev(c, seen, front, v, min_depth);
		else
			front_push(c, seen, front, x, INT64_MIN);
	}
	while (json_array_size(out) < limit && json_array_size(front) > 0) {
		size_t best = 0;
		const struct ev *bv = NULL;
		/* The deepest of the frontier, by a linear scan: the frontier
		 * holds at most limit times 20 (prev_events' cap) entries. */
		json_array_foreach(front, i, x) {
			const struct ev *v = ev_valid(c, json_string_value(x));
			if (v && (!bv || v->depth > bv->depth ||
				  (v->depth == bv->depth &&
				   strcmp(json_string_value(x), json_string_value(json_array_get(front, best))) < 0))) {
				bv = v;
				best = i;
			}
		}
		if (!bv)
			break;
		json_array_append(out, json_array_get(front, best));
		json_array_remove(front, best);
		front_push_prev(c, seen, front, bv, min_depth);
	}
done:
	json_decref(seen);
	json_decref(front);
	return out;
}

/* The events as their PDUs, each pruned unless origin may see it. */
static json_t *visible_pdus(struct rctx *c, const json_t *ids)
{
	json_t *pdus = json_array(), *x;
	size_t i;
	json_array_foreach(ids, i, x) {
		const struct ev *v = ev_in_room(c, json_string_value(x));
		if (v)
			json_array_append_new(pdus, ev_out(c, v, sees(c, v)));
	}
	return pdus;
}

/* GET /v1/backfill/{roomId}?v=...&limit= */
static void fed_backfill(struct api_req *r, struct fed_service *fs, const char *origin)
{
	struct rctx c;
	json_t *v = NULL, *ids = NULL;
	int64_t limit;

	if (rctx_init(&c, r, fs, origin, api_param(r, 0)) < 0)
		return;
	if (read_query_int(r->http, "limit", -1, &limit) < 0 || limit < 1) {
		api_error(r, 400, limit == -1 ? "M_MISSING_PARAM" : "M_INVALID_PARAM",
			  "limit must be a positive integer");
		goto out;
	}
	if (!(v = read_query_all(r->http, "v", V_MAX)) || json_array_size(v) == 0) {
		api_error(r, 400, v ? "M_MISSING_PARAM" : "M_INVALID_PARAM", "v must name 1 to %d events", V_MAX);
		goto out;
	}
	if (!room_access(&c)) {
		api_error(r, 403, "M_FORBIDDEN", "Your server is not in this room");
		goto out;
	}
	ids = walk_back(&c, v, 0, NULL, INT64_MIN, limit > BACKFILL_MAX ? BACKFILL_MAX : (size_t)limit);
	if (!ids)
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
	else
		api_reply(r, 200, txn_reply(fs, visible_pdus(&c, ids)));
out:
	json_decref(v);
	json_decref(ids);
	rctx_free(&c);
}

static int id_list(struct api_req *r, const char *key, json_t **out)
{
	json_t *a = json_object_get(r->body, key), *x;
	size_t i;
	if (!json_is_array(a) || json_array_size(a) > V_MAX * 4) {
		api_error(r, 400, "M_BAD_JSON", "%s must be a list of event IDs", key);
		return -1;
	}
	json_array_foreach(a, i, x)
		if (!json_is_string(x)) {
			api_error(r, 400, "M_BAD_JSON", "%s must be a list of event IDs", key);
			return -1;
		}
	*out = a;
	return 0;
}

static int opt_int(struct api_req *r, const char *key, int64_t dflt, int64_t *out)
{
	json_t *v = json_object_get(r->body, key);
	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		api_error(r, 400, "M_BAD_JSON", "%s must be an integer", key);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* POST /v1/get_missing_events/{roomId} */
static void fed_missing_events(struct api_req *r, struct fed_service *fs, const char *origin)
{
	struct rctx c;
	json_t *earliest, *latest, *ids, *chrono;
	int64_t limit, min_depth;
	size_t i;

	if (rctx_init(&c, r, fs, origin, api_param(r, 0)) < 0)
		return;
	if (id_list(r, "earliest_events", &earliest) < 0 || id_list(r, "latest_events", &latest) < 0 ||
	    opt_int(r, "limit", MISSING_DEFAULT, &limit) < 0 || opt_int(r, "min_depth", 0, &min_depth) < 0)
		goto out;
	if (limit < 0) {
		api_error(r, 400, "M_BAD_JSON", "limit must not be negative");
		goto out;
	}
	if (!room_access(&c)) {
		api_error(r, 403, "M_FORBIDDEN", "Your server is not in this room");
		goto out;
	}
	ids = walk_back(&c, latest, 1, earliest, min_depth, limit > MISSING_MAX ? MISSING_MAX : (size_t)limit);
	if (!ids || !(chrono = json_array())) {
		json_decref(ids);
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
		goto out;
	}
	/* Oldest first, as the receiver applies them. */
	for (i = json_array_size(ids); i-- > 0;)
		json_array_append(chrono, json_array_get(ids, i));
	api_reply(r, 200, json_pack("{s:o}", "events", visible_pdus(&c, chrono)));
	json_decref(ids);
	json_decref(chrono);
out:
	rctx_free(&c);
}

/* GET /v1/query/directory?room_alias=: servers lists this server first
 * (it answered, so it is surely up), then the others with members. */
static void fed_query_directory(struct api_req *r, struct fed_service *fs, const char *origin)
{
	char *alias = http_query(r->http, "room_alias"), *room_id = NULL;
	const char *dom;
	json_t *servers;

	(void)origin;
	if (!alias) {
		api_error(r, 400, "M_MISSING_PARAM", "Missing room_alias");
		return;
	}
	if (alias[0] != '#' || !(dom = matrix_id_domain(alias)) || strlen(alias) > 255) {
		api_error(r, 400, "M_INVALID_PARAM", "Invalid room alias");
	} else if (strcmp(dom, fs->server_name) != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Room alias is not hosted on this server");
	} else if (!fs->hs->rooms ||
		   room_store_alias_get(rooms_store(fs->hs->rooms), alias, &room_id, NULL) != STORE_OK) {
		api_error(r, 404, "M_NOT_FOUND", "Room alias not found");
	} else if (!(servers = fed_room_servers(fs->hs->rooms, room_id, fs->server_name, NULL))) {
		api_error(r, 404, "M_NOT_FOUND", "Room alias not found");
	} else {
		api_reply(r, 200, json_pack("{s:s,s:o}", "room_id", room_id, "servers", servers));
	}
	free(room_id);
	free(alias);
}

/* ---- the public room list ---- */

static void state_str(const json_t *ev, const char *key, json_t *out, const char *as)
{
	json_t *v = json_object_get(json_object_get(ev, "content"), key);
	if (json_is_string(v))
		json_object_set(out, as, v);
}

/* One published room's entry (PublicRoomsChunk). */
static json_t *room_chunk(struct rooms *rooms, const char *room_id)
{
	json_t *all = rooms_state_all(rooms, room_id), *ev, *o;
	json_int_t joined = 0;
	int world = 0, guests = 0;
	size_t i;

	if (!all)
		return NULL;
	o = json_pack("{s:s}", "room_id", room_id);
	json_array_foreach(all, i, ev) {
		const char *t = event_type(ev), *sk = event_state_key(ev);
		const json_t *content = json_object_get(ev, "content");
		if (!t || !sk)
			continue;
		if (strcmp(t, "m.room.member") == 0) {
			const char *m = event_membership(ev);
			joined += m && strcmp(m, "join") == 0;
		}
		if (sk[0])
			continue;
		if (strcmp(t, "m.room.name") == 0)
			state_str(ev, "name", o, "name");
		else if (strcmp(t, "m.room.topic") == 0)
			state_str(ev, "topic", o, "topic");
		else if (strcmp(t, "m.room.canonical_alias") == 0)
			state_str(ev, "alias", o, "canonical_alias");
		else if (strcmp(t, "m.room.avatar") == 0)
			state_str(ev, "url", o, "avatar_url");
		else if (strcmp(t, "m.room.join_rules") == 0)
			state_str(ev, "join_rule", o, "join_rule");
		else if (strcmp(t, "m.room.create") == 0)
			state_str(ev, "type", o, "room_type");
		else if (strcmp(t, "m.room.history_visibility") == 0)
			world = json_is_string(json_object_get(content, "history_visibility")) &&
				strcmp(json_string_value(json_object_get(content, "history_visibility")),
				       "world_readable") == 0;
		else if (strcmp(t, "m.room.guest_access") == 0)
			guests = json_is_string(json_object_get(content, "guest_access")) &&
				 strcmp(json_string_value(json_object_get(content, "guest_access")),
					"can_join") == 0;
	}
	json_decref(all);
	json_object_set_new(o, "num_joined_members", json_integer(joined));
	json_object_set_new(o, "world_readable", json_boolean(world));
	json_object_set_new(o, "guest_can_join", json_boolean(guests));
	return o;
}

static int chunk_order(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t nx = json_integer_value(json_object_get(x, "num_joined_members"));
	json_int_t ny = json_integer_value(json_object_get(y, "num_joined_members"));
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "room_id")),
		      json_string_value(json_object_get(y, "room_id")));
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!hay)
		return 0;
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return n == 0;
}

static int chunk_matches(const json_t *o, const char *term, const json_t *types)
{
	if (term && term[0] && !contains_ci(json_string_value(json_object_get(o, "name")), term) &&
	    !contains_ci(json_string_value(json_object_get(o, "topic")), term) &&
	    !contains_ci(json_string_value(json_object_get(o, "canonical_alias")), term) &&
	    !contains_ci(json_string_value(json_object_get(o, "room_id")), term))
		return 0;
	if (json_is_array(types)) {
		const char *rt = json_string_value(json_object_get(o, "room_type"));
		const json_t *t;
		size_t i;
		json_array_foreach(types, i, t)
			if ((json_is_null(t) && !rt) || (rt && json_is_string(t) && strcmp(rt, json_string_value(t)) == 0))
				return 1;
		return 0;
	}
	return 1;
}

/* The sorted, filtered list, one page of it from offset. */
static void public_rooms(struct api_req *r, struct fed_service *fs, int64_t limit, const char *since,
			 const char *term, const json_t *types)
{
	json_t *ids = NULL, *id, *chunk, *page, **list = NULL;
	size_t i, n = 0;
	int64_t off = 0;
	char tok[32];

	if (since && read_page_token(since, &off) < 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad since token");
		return;
	}
	if (!fs->hs->rooms || room_store_directory_list(rooms_store(fs->hs->rooms), &ids) != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Cannot read the room directory");
		return;
	}
	list = calloc(json_array_size(ids) + 1, sizeof(*list));
	json_array_foreach(ids, i, id) {
		json_t *o = list ? room_chunk(fs->hs->rooms, json_string_value(id)) : NULL;
		if (o && chunk_matches(o, term, types))
			list[n++] = o;
		else
			json_decref(o);
	}
	json_decref(ids);
	if (n > 1)
		qsort(list, n, sizeof(*list), chunk_order);
	page = json_array();
	for (i = (size_t)off; i < n && (int64_t)(i - (size_t)off) < limit; i++)
		json_array_append(page, list[i]);
	chunk = json_pack("{s:o,s:I}", "chunk", page, "total_room_count_estimate", (json_int_t)n);
	if ((size_t)off + (size_t)limit < n) {
		snprintf(tok, sizeof(tok), "o%lld", (long long)(off + limit));
		json_object_set_new(chunk, "next_batch", json_string(tok));
	}
	if (off > 0) {
		snprintf(tok, sizeof(tok), "o%lld", (long long)(off > limit ? off - limit : 0));
		json_object_set_new(chunk, "prev_batch", json_string(tok));
	}
	for (i = 0; i < n; i++)
		json_decref(list[i]);
	free(list);
	api_reply(r, 200, chunk);
}

/* GET /v1/publicRooms?limit=&since= */
static void fed_public_rooms_get(struct api_req *r, struct fed_service *fs, const char *origin)
{
	char *since = http_query(r->http, "since");
	int64_t limit;

	(void)origin;
	if (read_query_int(r->http, "limit", PUBLIC_DEFAULT, &limit) < 0 || limit < 1)
		api_error(r, 400, "M_INVALID_PARAM", "limit must be a positive integer");
	else
		public_rooms(r, fs, limit > PUBLIC_MAX ? PUBLIC_MAX : limit, since, NULL, NULL);
	free(since);
}

/* POST /v1/publicRooms {limit, since, filter: {generic_search_term, room_types}} */
static void fed_public_rooms_post(struct api_req *r, struct fed_service *fs, const char *origin)
{
	const char *since = NULL, *term = NULL;
	json_t *filter = NULL, *types;
	int64_t limit;

	(void)origin;
	if (opt_int(r, "limit", PUBLIC_DEFAULT, &limit) < 0 || api_opt_string(r, r->body, "since", &since) < 0 ||
	    api_opt_object(r, r->body, "filter", &filter) < 0 ||
	    (filter && api_opt_string(r, filter, "generic_search_term", &term) < 0))
		return;
	types = json_object_get(filter, "room_types");
	if (types && !json_is_null(types) && !json_is_array(types)) {
		api_error(r, 400, "M_BAD_JSON", "room_types must be a list");
		return;
	}
	if (limit < 1) {
		api_error(r, 400, "M_INVALID_PARAM", "limit must be a positive integer");
		return;
	}
	public_rooms(r, fs, limit > PUBLIC_MAX ? PUBLIC_MAX : limit, since, term, types);
}

const struct fed_read_route api_read_routes[] = {
	{ "GET", "/_matrix/federation/v1/event/{eventId}", fed_event_get, 0 },
	{ "GET", "/_matrix/federation/v1/state/{roomId}", fed_state, 0 },
	{ "GET", "/_matrix/federation/v1/state_ids/{roomId}", fed_state_ids, 0 },
	{ "GET", "/_matrix/federation/v1/event_auth/{roomId}/{eventId}", fed_event_auth, 0 },
	{ "GET", "/_matrix/federation/v1/backfill/{roomId}", fed_backfill, 0 },
	{ "POST", "/_matrix/federation/v1/get_missing_events/{roomId}", fed_missing_events, API_JSON },
	{ "GET", "/_matrix/federation/v1/query/directory", fed_query_directory, 0 },
	{ "GET", "/_matrix/federation/v1/publicRooms", fed_public_rooms_get, 0 },
	{ "POST", "/_matrix/federation/v1/publicRooms", fed_public_rooms_post, API_JSON_OPTIONAL },
};
const size_t api_read_nroutes = sizeof(api_read_routes) / sizeof(api_read_routes[0]);
