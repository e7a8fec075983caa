/* Joins over federation; see fed_join.h. */
#include "federation/fed_join.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/log.h"
#include "federation/api_txn.h"
#include "federation/fed_client.h"
#include "federation/pdu_check.h"
#include "federation/sender.h"
#include "homeserver/events/event.h"
#include "homeserver/events/event_sign.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store_rooms.h"

#define JOIN_MAX_EVENTS 200000            /* state + auth chain we accept */
#define JOIN_MAX_BODY (512u * 1024 * 1024)
#define JOIN_TIMEOUT_MS 120000
#define MAX_CANDIDATES 16

static const char *ref_id(const struct room_version *rv, const json_t *item)
{
	return rv->event_id == EVENT_ID_V1 ? json_string_value(json_array_get(item, 0)) : json_string_value(item);
}

/* Room versions 1 and 2 name an event "$opaque:server" after the server
 * that made it, whose signature it then needs.  A make_join/make_leave
 * template carries the resident server's ID (Synapse's does), so the
 * joining or leaving server gives the event an ID of its own, as Synapse
 * does; kept, the resident refuses it ("Not signed by" the resident).
 * 0, or -1 when out of memory or randomness. */
static int own_v1_event_id(const struct room_version *rv, json_t *ev, const char *server)
{
	char tok[19], id[EVENT_ID_BUF];
	int n;

	if (rv->event_id != EVENT_ID_V1)
		return 0;
	if (scop_random_token(tok, sizeof(tok) - 1) < 0)
		return -1;
	n = snprintf(id, sizeof(id), "$%s:%s", tok, server);
	if (n < 0 || (size_t)n >= sizeof(id))
		return -1;
	return json_object_set_new(ev, "event_id", json_string(id));
}

static json_t *load_event(struct room_store *rs, const char *id)
{
	struct room_event e;
	json_t *ev = NULL;
	if (room_store_event_get(rs, id, &e) == STORE_OK) {
		ev = json_loads(e.json, JSON_ALLOW_NUL, NULL);
		room_event_clear(&e);
	}
	return ev;
}

json_t *fed_auth_chain(struct room_store *rs, const struct room_version *rv, const json_t *events, size_t limit)
{
	json_t *seen = json_object(), *out = json_array(), *todo = json_array(), *ev, *item;
	size_t i, j;

	if (!seen || !out || !todo)
		goto fail;
	json_array_foreach(events, i, ev)
		json_array_foreach(json_object_get(ev, "auth_events"), j, item)
			if (ref_id(rv, item))
				json_array_append_new(todo, json_string(ref_id(rv, item)));
	while (json_array_size(todo) > 0 && json_array_size(out) < limit) {
		char *id = strdup(json_string_value(json_array_get(todo, json_array_size(todo) - 1)));
		json_array_remove(todo, json_array_size(todo) - 1);
		if (!id)
			goto fail;
		if (json_object_get(seen, id) || !(ev = load_event(rs, id))) {
			free(id);
			continue;
		}
		json_object_set_new(seen, id, json_true());
		free(id);
		json_array_foreach(json_object_get(ev, "auth_events"), j, item)
			if (ref_id(rv, item) && !json_object_get(seen, ref_id(rv, item)))
				json_array_append_new(todo, json_string(ref_id(rv, item)));
		json_array_append_new(out, ev);
	}
	json_decref(seen);
	json_decref(todo);
	return out;
fail:
	json_decref(seen);
	json_decref(todo);
	json_decref(out);
	return NULL;
}

/* ---- resident side ---------------------------------------------------- */

/* A membership event taken in through send_join/send_leave reaches the
 * room's other servers through us (they learn of the new member from
 * nobody else). */
static void forward(struct fed_service *fs, const char *room_id, const json_t *ev, const char *origin)
{
	json_t *servers = rooms_servers(fs->hs->rooms, room_id), *s;
	size_t i;

	json_array_foreach(servers, i, s) {
		const char *name = json_string_value(s);
		if (name && strcmp(name, fs->server_name) != 0 && strcmp(name, origin) != 0)
			fed_sender_queue_pdu(fs->sender, name, (json_t *)ev);
	}
	json_decref(servers);
}

void fed_send_join(struct api_req *r, struct fed_service *fs, const char *origin)
{
	const char *room_id = api_param(r, 0), *event_id = api_param(r, 1);
	const json_t *ev = r->body;
	const struct room_version *rv = NULL;
	const char *sender, *sk, *type, *m, *dom;
	struct room_store *rs;
	struct room_result res;
	struct room_event stored;
	enum room_remote_verdict verdict;
	enum room_rc rc;
	json_t *map = NULL, *state = NULL, *chain = NULL, *joined = NULL, *roots = NULL, *cosigned = NULL, *tm, *eid;
	const char *tk, *skey;
	char id[EVENT_ID_BUF];

	memset(&stored, 0, sizeof(stored));
	if (!fs->hs->rooms || rooms_version(fs->hs->rooms, room_id, &rv) != ROOM_OK || !rv) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return;
	}
	rs = rooms_store(fs->hs->rooms);
	sender = event_sender(ev);
	sk = event_state_key(ev);
	type = event_type(ev);
	m = event_membership(ev);
	dom = sender ? matrix_id_domain(sender) : NULL;
	if (!json_is_object(ev) || event_compute_id(rv, ev, id) < 0 || strcmp(id, event_id) != 0) {
		api_error(r, 400, "M_BAD_JSON", "The event does not match the event ID in the path");
		return;
	}
	if (!type || strcmp(type, "m.room.member") != 0 || !m || strcmp(m, "join") != 0 || !sk || !sender ||
	    strcmp(sk, sender) != 0 || !event_room_id(ev) || strcmp(event_room_id(ev), room_id) != 0) {
		api_error(r, 400, "M_BAD_JSON", "Not a join event for this room");
		return;
	}
	if (!dom || strcmp(dom, origin) != 0) {
		api_error(r, 403, "M_FORBIDDEN", "The joining user does not belong to the requesting server");
		return;
	}
	/* A restricted join one of our users vouches for carries our
	 * signature too (the auth rules ask for it). */
	{
		const char *via = json_string_value(json_object_get(json_object_get(ev, "content"),
								    "join_authorised_via_users_server"));
		const char *vdom = via ? matrix_id_domain(via) : NULL;
		if (vdom && strcmp(vdom, fs->server_name) == 0) {
			if (event_check_content_hash(rv, ev) < 0 || !(cosigned = json_deep_copy(ev)) ||
			    event_hash_and_sign(rv, cosigned, fs->server_name, &fs->key) < 0) {
				api_error(r, 403, "M_FORBIDDEN", "Cannot countersign the join");
				goto out;
			}
			ev = cosigned;
		}
	}
	rc = fed_receive_pdu(fs, room_id, ev, &res, &verdict);
	if (rc != ROOM_OK || (verdict != ROOM_REMOTE_ACCEPT && verdict != ROOM_REMOTE_KNOWN)) {
		api_error(r, 403, "M_FORBIDDEN", "The join was not accepted: %s",
			  res.reason[0] ? res.reason : "refused");
		goto out;
	}
	if (verdict == ROOM_REMOTE_ACCEPT)
		forward(fs, room_id, ev, origin);
	if (room_store_event_get(rs, event_id, &stored) != STORE_OK || stored.kind != ROOM_EVENT_TIMELINE ||
	    room_store_state_group(rs, stored.state_before, &map) != STORE_OK ||
	    !(joined = json_loads(stored.json, JSON_ALLOW_NUL, NULL))) {
		api_error(r, 403, "M_FORBIDDEN", "The join was not taken into the room");
		goto out;
	}
	state = json_array();
	roots = json_array();
	json_object_foreach(map, tk, tm)
		json_object_foreach(tm, skey, eid) {
			json_t *se = load_event(rs, json_string_value(eid));
			if (se)
				json_array_append_new(state, se);
		}
	json_array_extend(roots, state);
	json_array_append(roots, joined);
	chain = fed_auth_chain(rs, rv, roots, JOIN_MAX_EVENTS);
	if (!state || !chain) {
		api_error(r, 500, "M_UNKNOWN", "Cannot read the room's state");
		goto out;
	}
	api_reply(r, 200, json_pack("{s:s,s:O,s:O,s:O,s:b}", "origin", fs->server_name, "event", joined, "state",
				    state, "auth_chain", chain, "members_omitted", 0));
out:
	json_decref(cosigned);
	room_event_clear(&stored);
	json_decref(map);
	json_decref(state);
	json_decref(chain);
	json_decref(joined);
	json_decref(roots);
}

/* ---- joining side ----------------------------------------------------- */

struct join_ctx {
	struct fed_service *fs;
	const char *user_id;
	char *errcode;
	size_t errcodelen;
	char *error;
	size_t errorlen;
	const char *cand[MAX_CANDIDATES];
	size_t ncand;
	json_t *owned;      /* strings backing cand */
};

static int fail(struct join_ctx *j, int status, const char *errcode, const char *fmt, const char *arg)
{
	snprintf(j->errcode, j->errcodelen, "%s", errcode);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(j->error, j->errorlen, fmt, arg ? arg : "");
#pragma GCC diagnostic pop
	return status;
}

static void add_candidate(struct join_ctx *j, const char *server)
{
	if (!server || !server[0] || strcmp(server, j->fs->server_name) == 0 || j->ncand >= MAX_CANDIDATES)
		return;
	for (size_t i = 0; i < j->ncand; i++)
		if (strcmp(j->cand[i], server) == 0)
			return;
	json_array_append_new(j->owned, json_string(server));
	j->cand[j->ncand++] = json_string_value(json_array_get(j->owned, json_array_size(j->owned) - 1));
}

static int request(struct join_ctx *j, const char *dest, const char *method, const char *uri, const json_t *content,
		   long *status, json_t **reply, char *err, size_t errlen)
{
	struct fed_client_req rq = {
		.resolver = j->fs->resolver, .key = &j->fs->key, .origin = j->fs->server_name,
		.destination = dest, .method = method, .uri = uri, .content = content,
		.timeout_ms = JOIN_TIMEOUT_MS, .max_body = JOIN_MAX_BODY,
	};
	*reply = NULL;
	return fed_client_request(&rq, status, reply, err, errlen);
}

/* #alias:server -> room ID through the alias server's directory. */
static int resolve_alias(struct join_ctx *j, const char *alias, char *room_id, size_t len)
{
	const char *dom = strchr(alias, ':');
	struct buf uri;
	long status = 0;
	json_t *reply = NULL, *s;
	const char *rid;
	char err[256];
	size_t i;
	int rc;

	if (!dom || !dom[1])
		return fail(j, 400, "M_INVALID_PARAM", "Not a room alias", NULL);
	dom++;
	if (strcmp(dom, j->fs->server_name) == 0)
		return fail(j, 404, "M_NOT_FOUND", "Unknown room alias", NULL);
	buf_init(&uri, 256);
	buf_puts(&uri, "/_matrix/federation/v1/query/directory?room_alias=");
	fed_path_escape(&uri, alias);
	if (!uri.data || request(j, dom, "GET", uri.data, NULL, &status, &reply, err, sizeof(err)) < 0) {
		buf_free(&uri);
		return fail(j, 502, "M_UNKNOWN", "Cannot reach the alias's server: %s", err);
	}
	buf_free(&uri);
	rid = json_string_value(json_object_get(reply, "room_id"));
	if (status != 200 || !rid || rid[0] != '!' || strlen(rid) >= len) {
		rc = fail(j, 404, "M_NOT_FOUND", "Unknown room alias", NULL);
	} else {
		snprintf(room_id, len, "%s", rid);
		json_array_foreach(json_object_get(reply, "servers"), i, s)
			add_candidate(j, json_string_value(s));
		add_candidate(j, dom);
		rc = 200;
	}
	json_decref(reply);
	return rc;
}

/* Checks of the events a send_join answer carries. */
struct answer_view {
	struct fed_service *fs;
	json_t *events;     /* id -> PDU (accepted or not yet checked) */
	json_t *rejected;   /* id -> true */
};

/* An event of the answer, else one this server has stored already. */
static const json_t *answer_event(void *arg, const char *id, int *rejected)
{
	struct answer_view *v = arg;
	struct room_event e;
	json_t *ev = json_object_get(v->events, id);

	if (!ev && id && room_store_event_get(rooms_store(v->fs->hs->rooms), id, &e) == STORE_OK) {
		ev = json_loads(e.json, JSON_ALLOW_NUL, NULL);
		if (ev && e.kind == ROOM_EVENT_REJECTED)
			json_object_set_new(v->rejected, id, json_true());
		room_event_clear(&e);
		if (ev && json_object_set_new(v->events, id, ev) < 0)
			ev = NULL;
	}
	*rejected = json_object_get(v->rejected, id) != NULL;
	return ev;
}

struct answer_state {
	struct answer_view *v;
	const json_t *map;
};

static const json_t *answer_state_lookup(void *arg, const char *type, const char *sk)
{
	struct answer_state *as = arg;
	int rej;
	return answer_event(as->v, json_string_value(json_object_get(json_object_get(as->map, type), sk)), &rej);
}

static int by_depth(const void *a, const void *b)
{
	json_int_t da = json_integer_value(json_object_get(*(json_t *const *)a, "depth"));
	json_int_t db = json_integer_value(json_object_get(*(json_t *const *)b, "depth"));
	return da < db ? -1 : da > db;
}

/* Runs the receipt checks over every event of state and chain (oldest
 * first, each against its own auth events): v->events ends up with the
 * accepted ones, v->rejected names the rejected ones. */
static int check_answer(struct answer_view *v, const struct room_version *rv, const json_t *state, const json_t *chain,
			char *why, size_t whylen)
{
	size_t n = json_array_size(state) + json_array_size(chain), k = 0, i;
	json_t **list, *ev;
	int rc = 0;

	if (n > JOIN_MAX_EVENTS) {
		snprintf(why, whylen, "too many events");
		return -1;
	}
	if (!(list = calloc(n + 1, sizeof(*list))))
		return -1;
	for (int pass = 0; pass < 2; pass++)
		json_array_foreach(pass ? chain : state, i, ev) {
			char id[EVENT_ID_BUF];
			if (!json_is_object(ev) || event_compute_id(rv, ev, id) < 0 || json_object_get(v->events, id))
				continue;
			json_object_set(v->events, id, ev);
			list[k++] = ev;
		}
	qsort(list, k, sizeof(*list), by_depth);
	for (i = 0; i < k; i++) {
		struct pdu_check_ctx ctx = { fed_service_pdu_key, v->fs, answer_event, v, NULL, NULL };
		struct pdu_check_result res;
		enum pdu_verdict verdict = pdu_check(rv, list[i], &ctx, &res);
		if (verdict == PDU_DROP) {
			if (res.event_id[0])
				json_object_del(v->events, res.event_id);
		} else if (verdict == PDU_REJECT) {
			json_object_set_new(v->rejected, res.event_id, json_true());
		} else if (res.redacted) {
			json_object_set(v->events, res.event_id, res.event);
		}
		pdu_check_result_clear(&res);
	}
	free(list);
	return rc;
}

/* Stores the checked events as outliers: accepted ones, then rejected. */
static int store_answer(struct room_store *rs, const char *room_id, struct answer_view *v)
{
	size_t n = json_object_size(v->events), k[2] = { 0, 0 };
	const char **ids[2], **jsons[2];
	char **texts = calloc(n + 1, sizeof(char *));
	const char *id;
	json_t *ev;
	size_t t = 0;
	int rc = -1;

	ids[0] = calloc(n + 1, sizeof(char *));
	ids[1] = calloc(n + 1, sizeof(char *));
	jsons[0] = calloc(n + 1, sizeof(char *));
	jsons[1] = calloc(n + 1, sizeof(char *));
	if (!texts || !ids[0] || !ids[1] || !jsons[0] || !jsons[1])
		goto out;
	json_object_foreach(v->events, id, ev) {
		int which = json_object_get(v->rejected, id) ? 1 : 0;
		if (!(texts[t] = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS)))
			goto out;
		ids[which][k[which]] = id;
		jsons[which][k[which]++] = texts[t++];
	}
	if (room_store_outliers_put(rs, room_id, ROOM_EVENT_OUTLIER, ids[0], jsons[0], k[0]) != STORE_OK ||
	    room_store_outliers_put(rs, room_id, ROOM_EVENT_REJECTED, ids[1], jsons[1], k[1]) != STORE_OK)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; texts && i < t; i++)
		free(texts[i]);
	free(texts);
	for (int w = 0; w < 2; w++) {
		free(ids[w]);
		free(jsons[w]);
	}
	return rc;
}

/* ---- the membership handshake: make_X, then send_X ------------------- */

/* What differs between join, leave and knock.  A join passes on make_join's
 * 400 (incompatible room version) and send_join's 404, and takes a template
 * that is not the user's join for the resident's fault (502); leave and
 * knock answer 403 for all of these. */
struct member_flow {
	const char *membership;
	const char *send_version;  /* send_X's API version: v1 or v2 */
	int list_versions;         /* make_X says which room versions we know */
	int join;
};

static const struct member_flow JOIN_FLOW = { "join", "v2", 1, 1 };
static const struct member_flow LEAVE_FLOW = { "leave", "v2", 0, 0 };
static const struct member_flow KNOCK_FLOW = { "knock", "v1", 1, 0 };

static int fail_step(struct join_ctx *j, int status, const char *errcode, const char *step,
		     const struct member_flow *f, const char *what)
{
	char msg[320];

	snprintf(msg, sizeof(msg), "%s_%s%s", step, f->membership, what);
	return fail(j, status, errcode, "%s", msg);
}

/* make_X through dest: on 200, *ev is the template (the caller owns it),
 * checked to be the user's own membership event in room_id, and *rv its
 * room version; else j's error is set and the status returned. */
static int handshake_make(struct join_ctx *j, const struct member_flow *f, const char *dest, const char *room_id,
		       json_t **ev, const struct room_version **rv)
{
	struct buf uri;
	long status = 0;
	json_t *reply = NULL, *t;
	char err[256], what[300];
	const char *m, *msg, *ec;
	int n, rc;
	const struct room_version *all = room_version_all(&n);

	*ev = NULL;
	buf_init(&uri, 512);
	buf_printf(&uri, "/_matrix/federation/v1/make_%s/", f->membership);
	fed_path_escape(&uri, room_id);
	buf_putc(&uri, '/');
	fed_path_escape(&uri, j->user_id);
	for (int k = 0; f->list_versions && k < n; k++)
		buf_printf(&uri, "%sver=%s", k ? "&" : "?", all[k].id);
	if (!uri.data || request(j, dest, "GET", uri.data, NULL, &status, &reply, err, sizeof(err)) < 0) {
		snprintf(what, sizeof(what), ": %s", err);
		rc = fail_step(j, 502, "M_UNKNOWN", "make", f, what);
		goto out;
	}
	t = json_object_get(reply, "event");
	*rv = room_version_get(json_string_value(json_object_get(reply, "room_version")));
	msg = json_string_value(json_object_get(reply, "error"));
	ec = json_string_value(json_object_get(reply, "errcode"));
	snprintf(what, sizeof(what), " refused: %s", msg ? msg : "no template");
	if (status != 200 || !json_is_object(t) || !*rv) {
		rc = fail_step(j, status == 404 ? 404 : status == 400 && f->join ? 400 : 403,
			       ec ? ec : "M_FORBIDDEN", "make", f, what);
		goto out;
	}
	/* Only what make_X may fill in is taken from the template. */
	m = event_membership(t);
	if (!m || strcmp(m, f->membership) != 0 || !event_sender(t) || strcmp(event_sender(t), j->user_id) != 0 ||
	    !event_state_key(t) || strcmp(event_state_key(t), j->user_id) != 0 || !event_type(t) ||
	    strcmp(event_type(t), "m.room.member") != 0 || !event_room_id(t) ||
	    strcmp(event_room_id(t), room_id) != 0) {
		if (f->join)
			rc = fail_step(j, 502, "M_UNKNOWN", "make", f, " gave an unusable template");
		else
			rc = fail_step(j, 403, ec ? ec : "M_FORBIDDEN", "make", f, what);
		goto out;
	}
	*ev = json_incref(t);
	rc = 200;
out:
	buf_free(&uri);
	json_decref(reply);
	return rc;
}

/* Stamps, hashes and signs ev as this server's (its ID in id), then
 * send_X through dest: on 200, *answer is the reply (the caller owns it);
 * else j's error is set and the status returned. */
static int handshake_send(struct join_ctx *j, const struct member_flow *f, const char *dest, const char *room_id,
		       const struct room_version *rv, json_t *ev, char id[EVENT_ID_BUF], json_t **answer)
{
	struct fed_service *fs = j->fs;
	struct buf uri;
	long status = 0;
	char err[256], what[300];
	const char *msg;

	*answer = NULL;
	json_object_set_new(ev, "origin_server_ts", json_integer(http_now_ms()));
	json_object_del(ev, "hashes");
	json_object_del(ev, "signatures");
	if (own_v1_event_id(rv, ev, fs->server_name) < 0 ||
	    event_hash_and_sign(rv, ev, fs->server_name, &fs->key) < 0 || event_compute_id(rv, ev, id) < 0) {
		snprintf(what, sizeof(what), "Cannot sign the %s", f->membership);
		return fail(j, 500, "M_UNKNOWN", "%s", what);
	}
	buf_init(&uri, 512);
	buf_printf(&uri, "/_matrix/federation/%s/send_%s/", f->send_version, f->membership);
	fed_path_escape(&uri, room_id);
	buf_putc(&uri, '/');
	fed_path_escape(&uri, id);
	if (!uri.data || request(j, dest, "PUT", uri.data, ev, &status, answer, err, sizeof(err)) < 0) {
		buf_free(&uri);
		snprintf(what, sizeof(what), ": %s", err);
		return fail_step(j, 502, "M_UNKNOWN", "send", f, what);
	}
	buf_free(&uri);
	if (status != 200) {
		msg = json_string_value(json_object_get(*answer, "error"));
		snprintf(what, sizeof(what), " refused: %s", msg ? msg : f->join ? "bad answer" : "");
		json_decref(*answer);
		*answer = NULL;
		return fail_step(j, status == 404 && f->join ? 404 : 403, "M_FORBIDDEN", "send", f, what);
	}
	return 200;
}

/* make_join, send_join and the checks against one server. */
static int join_via(struct join_ctx *j, const char *dest, const char *room_id, const json_t *content,
		    char *room_id_out, size_t outlen)
{
	struct fed_service *fs = j->fs;
	json_t *answer = NULL, *ev = NULL, *c = NULL, *map = NULL, *se;
	const struct room_version *rv = NULL;
	struct answer_view v = { fs, json_object(), json_object() };
	struct room_result res;
	char err[256], id[EVENT_ID_BUF];
	int rc;
	size_t i;

	if ((rc = handshake_make(j, &JOIN_FLOW, dest, room_id, &ev, &rv)) != 200)
		goto out;
	c = json_deep_copy(content);
	if (!c)
		c = json_object();
	json_object_set_new(c, "membership", json_string("join"));
	{
		json_t *via = json_object_get(json_object_get(ev, "content"), "join_authorised_via_users_server");
		if (via)
			json_object_set(c, "join_authorised_via_users_server", via);
	}
	json_object_set_new(ev, "content", c);
	c = NULL;
	if ((rc = handshake_send(j, &JOIN_FLOW, dest, room_id, rv, ev, id, &answer)) != 200)
		goto out;
	if (!json_is_array(json_object_get(answer, "state")) || !json_is_array(json_object_get(answer, "auth_chain"))) {
		const char *msg = json_string_value(json_object_get(answer, "error"));
		rc = fail(j, 403, "M_FORBIDDEN", "send_join refused: %s", msg ? msg : "bad answer");
		goto out;
	}
	/* The resident may have signed the join too (restricted rooms). */
	{
		json_t *signed_ev = json_object_get(answer, "event");
		char sid[EVENT_ID_BUF];
		if (json_is_object(signed_ev) && event_compute_id(rv, signed_ev, sid) == 0 && strcmp(sid, id) == 0)
			json_object_set(ev, "signatures", json_object_get(signed_ev, "signatures"));
	}
	if (!v.events || !v.rejected ||
	    check_answer(&v, rv, json_object_get(answer, "state"), json_object_get(answer, "auth_chain"), err,
			 sizeof(err)) < 0) {
		rc = fail(j, 502, "M_UNKNOWN", "The room's state cannot be checked: %s", err);
		goto out;
	}
	/* The state before the join, from the accepted state events. */
	map = json_object();
	json_array_foreach(json_object_get(answer, "state"), i, se) {
		char sid[EVENT_ID_BUF];
		const char *st = event_type(se), *ssk = event_state_key(se);
		json_t *tm;
		if (!st || !ssk || event_compute_id(rv, se, sid) < 0 || !json_object_get(v.events, sid) ||
		    json_object_get(v.rejected, sid))
			continue;
		if (!(tm = json_object_get(map, st))) {
			tm = json_object();
			json_object_set_new(map, st, tm);
		}
		json_object_set_new(tm, ssk, json_string(sid));
	}
	{
		struct answer_state as = { &v, map };
		struct auth_state sb = { answer_state_lookup, NULL, &as };
		struct pdu_check_ctx ctx = { fed_service_pdu_key, fs, answer_event, &v, &sb, NULL };
		struct pdu_check_result pr;
		enum pdu_verdict verdict;
		if (!json_object_get(json_object_get(map, "m.room.create"), "")) {
			rc = fail(j, 502, "M_UNKNOWN", "The room's state has no create event", NULL);
			goto out;
		}
		verdict = pdu_check(rv, ev, &ctx, &pr);
		pdu_check_result_clear(&pr);
		if (verdict != PDU_ACCEPT) {
			rc = fail(j, 403, "M_FORBIDDEN", "The join does not pass the room's auth rules: %s", pr.reason);
			goto out;
		}
	}
	if (store_answer(rooms_store(fs->hs->rooms), room_id, &v) < 0) {
		rc = fail(j, 500, "M_UNKNOWN", "Cannot store the room's state", NULL);
		goto out;
	}
	if (rooms_adopt(fs->hs->rooms, rv->id, room_id, map, ev, &res) != ROOM_OK) {
		rc = fail(j, 500, "M_UNKNOWN", "Cannot take the room in: %s", res.reason);
		goto out;
	}
	log_info("federation: %s joined %s through %s (%zu state events, %zu checked)", j->user_id, room_id, dest,
		 json_array_size(json_object_get(answer, "state")), json_object_size(v.events));
	snprintf(room_id_out, outlen, "%s", room_id);
	rc = 200;
out:
	json_decref(ev);
	json_decref(answer);
	json_decref(map);
	json_decref(v.events);
	json_decref(v.rejected);
	json_decref(c);
	return rc;
}

/* The server of whoever invited the user to room_id: it is in the room. */
static void add_inviter(struct join_ctx *j, const char *room_id)
{
	struct room_store *rs = rooms_store(j->fs->hs->rooms);
	struct room_membership *ms = NULL;
	size_t n = 0;

	if (room_store_user_rooms(rs, j->user_id, &ms, &n) != STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *ev;
		if (strcmp(ms[i].room_id, room_id) != 0 || strcmp(ms[i].membership, "invite") != 0 ||
		    !(ev = load_event(rs, ms[i].event_id)))
			continue;
		add_candidate(j, event_sender(ev) ? matrix_id_domain(event_sender(ev)) : NULL);
		json_decref(ev);
	}
	room_membership_list_free(ms, n);
}

/* The room a join or knock names (an ID, or an alias resolved through its
 * server) into room_id, and the servers to try: via, then those the alias
 * lists, then the room ID's.  200, or j's error set and the status. */
static int target_room(struct join_ctx *j, const char *room, const char *const *via, size_t nvia, char *room_id,
		       size_t len)
{
	for (size_t i = 0; i < nvia; i++)
		add_candidate(j, via[i]);
	if (room[0] == '#')
		return resolve_alias(j, room, room_id, len);
	if (room[0] != '!' || strlen(room) >= len)
		return fail(j, 400, "M_INVALID_PARAM", "Not a room ID or alias", NULL);
	snprintf(room_id, len, "%s", room);
	/* Before room version 12 a room ID names its creator's server. */
	if (strchr(room, ':'))
		add_candidate(j, strchr(room, ':') + 1);
	return 200;
}

int fed_join_remote(void *arg, const char *room, const char *const *via, size_t nvia, const char *user_id,
		    const json_t *content, char *room_id_out, size_t outlen, char *errcode, size_t errcodelen,
		    char *error, size_t errorlen)
{
	struct join_ctx j = { arg, user_id, errcode, errcodelen, error, errorlen, { 0 }, 0, json_array() };
	char room_id[EVENT_ID_BUF];
	int rc = 0;

	if (!j.owned)
		return fail(&j, 500, "M_UNKNOWN", "out of memory", NULL);
	if ((rc = target_room(&j, room, via, nvia, room_id, sizeof(room_id))) != 200)
		goto out;
	if (j.ncand == 0)
		add_inviter(&j, room_id);
	if (j.ncand == 0) {
		rc = fail(&j, 404, "M_NOT_FOUND", "Unknown room", NULL);
		goto out;
	}
	for (size_t i = 0; i < j.ncand; i++) {
		rc = join_via(&j, j.cand[i], room_id, content, room_id_out, outlen);
		if (rc == 200)
			break;
		log_info("federation: joining %s through %s: %s", room_id, j.cand[i], error);
	}
out:
	json_decref(j.owned);
	return rc;
}

/* ---- invites (v2) ----------------------------------------------------- */

/* Whether ev carries a valid signature of server (keys from the keyring). */
static int signed_by(struct fed_service *fs, const struct room_version *rv, const json_t *ev, const char *server)
{
	const json_t *sigs = json_object_get(json_object_get(ev, "signatures"), server), *v;
	const char *kid;
	unsigned char pub[32];
	int good = 0;

	json_object_foreach((json_t *)sigs, kid, v) {
		if (strncmp(kid, "ed25519:", 8) != 0 || !json_is_string(v))
			continue;
		if (fed_service_pdu_key(fs, server, kid, json_integer_value(json_object_get(ev, "origin_server_ts")),
					pub) < 0)
			continue;
		if (event_verify_signature(rv, ev, server, kid, pub) < 0)
			return 0;
		good = 1;
	}
	return good;
}

void fed_invite(struct api_req *r, struct fed_service *fs, const char *origin)
{
	const char *room_id = api_param(r, 0), *event_id = api_param(r, 1);
	const json_t *body = r->body, *ev0 = json_object_get(body, "event");
	const char *ver = json_string_value(json_object_get(body, "room_version"));
	const struct room_version *rv = room_version_get(ver ? ver : "1");
	const char *sender, *target, *dom;
	struct room_result res;
	json_t *ev = NULL;
	char id[EVENT_ID_BUF], why[200];

	if (!rv) {
		api_reply(r, 400, json_pack("{s:s,s:s}", "errcode", "M_INCOMPATIBLE_ROOM_VERSION", "error",
					    "This server does not support the room's version"));
		return;
	}
	if (!json_is_object(ev0) || !(ev = json_deep_copy(ev0))) {
		api_error(r, 400, "M_BAD_JSON", "No event");
		return;
	}
	why[0] = '\0';
	sender = event_sender(ev);
	target = event_state_key(ev);
	if (event_validate(rv, ev, why, sizeof(why)) < 0 || event_compute_id(rv, ev, id) < 0 ||
	    strcmp(id, event_id) != 0 || !event_room_id(ev) || strcmp(event_room_id(ev), room_id) != 0 ||
	    !event_type(ev) || strcmp(event_type(ev), "m.room.member") != 0 || !event_membership(ev) ||
	    strcmp(event_membership(ev), "invite") != 0 || !target || !sender) {
		api_error(r, 400, "M_BAD_JSON", "Not an invite event for this room%s%s", why[0] ? ": " : "", why);
		goto out;
	}
	if (!(dom = matrix_id_domain(target)) || strcmp(dom, fs->server_name) != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "The invitee is not a user of this server");
		goto out;
	}
	if (!(dom = matrix_id_domain(sender)) || strcmp(dom, origin) != 0) {
		api_error(r, 403, "M_FORBIDDEN", "The inviter does not belong to the requesting server");
		goto out;
	}
	if (event_check_content_hash(rv, ev) < 0 || !signed_by(fs, rv, ev, origin)) {
		api_error(r, 403, "M_FORBIDDEN", "The invite is not validly signed by its server");
		goto out;
	}
	if (event_hash_and_sign(rv, ev, fs->server_name, &fs->key) < 0) {
		api_error(r, 500, "M_UNKNOWN", "Cannot sign the invite");
		goto out;
	}
	if (rooms_remote_invite(fs->hs->rooms, rv->id, room_id, ev, json_object_get(body, "invite_room_state"),
				&res) != ROOM_OK) {
		api_error(r, 500, "M_UNKNOWN", "Cannot keep the invite: %s", res.reason);
		goto out;
	}
	log_info("federation: invite of %s to %s from %s", target, room_id, origin);
	api_reply(r, 200, json_pack("{s:O}", "event", ev));
out:
	json_decref(ev);
}

int fed_invite_remote(void *arg, const struct room_version *rv, json_t **event, const json_t *stripped, char *why,
		      size_t whylen)
{
	struct fed_service *fs = arg;
	const char *target = event_state_key(*event), *dest = target ? matrix_id_domain(target) : NULL;
	struct buf uri;
	long status = 0;
	json_t *body = NULL, *reply = NULL, *ev;
	char id[EVENT_ID_BUF], rid[EVENT_ID_BUF], err[256];
	int rc = -1;
	struct join_ctx j = { fs, NULL, NULL, 0, NULL, 0, { 0 }, 0, NULL };

	if (!dest || event_compute_id(rv, *event, id) < 0) {
		snprintf(why, whylen, "bad invite");
		return -1;
	}
	buf_init(&uri, 256);
	buf_puts(&uri, "/_matrix/federation/v2/invite/");
	fed_path_escape(&uri, event_room_id(*event) ? event_room_id(*event) : "");
	buf_putc(&uri, '/');
	fed_path_escape(&uri, id);
	body = json_pack("{s:s,s:O,s:O}", "room_version", rv->id, "event", *event, "invite_room_state", stripped);
	if (!uri.data || !body || request(&j, dest, "PUT", uri.data, body, &status, &reply, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "%s", uri.data && body ? err : "out of memory");
		goto out;
	}
	ev = json_object_get(reply, "event");
	if (status != 200 || !json_is_object(ev)) {
		const char *msg = json_string_value(json_object_get(reply, "error"));
		snprintf(why, whylen, "%ld %s", status, msg ? msg : "");
		goto out;
	}
	if (event_compute_id(rv, ev, rid) < 0 || strcmp(rid, id) != 0 || !signed_by(fs, rv, ev, dest)) {
		snprintf(why, whylen, "the answer is not our invite signed by %s", dest);
		goto out;
	}
	json_decref(*event);
	*event = json_incref(ev);
	rc = 0;
out:
	buf_free(&uri);
	json_decref(body);
	json_decref(reply);
	return rc;
}

/* ---- leaves (v2) ------------------------------------------------------ */

/* send_leave and send_knock: the event a template became, checked and
 * stored (and forwarded to the room's other servers). */
static void send_member(struct api_req *r, struct fed_service *fs, const char *origin, const char *membership)
{
	const char *room_id = api_param(r, 0), *event_id = api_param(r, 1);
	const json_t *ev = r->body;
	const struct room_version *rv = NULL;
	const char *sender = event_sender(ev), *sk = event_state_key(ev), *type = event_type(ev);
	const char *m = event_membership(ev), *dom = sender ? matrix_id_domain(sender) : NULL;
	struct room_result res;
	enum room_remote_verdict verdict;
	char id[EVENT_ID_BUF];

	if (!fs->hs->rooms || rooms_version(fs->hs->rooms, room_id, &rv) != ROOM_OK || !rv) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return;
	}
	if (!json_is_object(ev) || event_compute_id(rv, ev, id) < 0 || strcmp(id, event_id) != 0) {
		api_error(r, 400, "M_BAD_JSON", "The event does not match the event ID in the path");
		return;
	}
	if (!type || strcmp(type, "m.room.member") != 0 || !m || strcmp(m, membership) != 0 || !sk || !sender ||
	    strcmp(sk, sender) != 0 || !event_room_id(ev) || strcmp(event_room_id(ev), room_id) != 0) {
		api_error(r, 400, "M_BAD_JSON", "Not a %s event for this room", membership);
		return;
	}
	if (!dom || strcmp(dom, origin) != 0) {
		api_error(r, 403, "M_FORBIDDEN", "The user does not belong to the requesting server");
		return;
	}
	if (fed_receive_pdu(fs, room_id, ev, &res, &verdict) != ROOM_OK ||
	    (verdict != ROOM_REMOTE_ACCEPT && verdict != ROOM_REMOTE_KNOWN)) {
		api_error(r, 403, "M_FORBIDDEN", "The %s was not accepted: %s", membership,
			  res.reason[0] ? res.reason : "refused");
		return;
	}
	if (verdict == ROOM_REMOTE_ACCEPT)
		forward(fs, room_id, ev, origin);
	if (strcmp(membership, "knock") == 0) {
		json_t *stripped = rooms_stripped_state(fs->hs->rooms, room_id, sender);
		api_reply(r, 200, json_pack("{s:o}", "knock_room_state", stripped ? stripped : json_array()));
	} else {
		api_reply(r, 200, json_object());
	}
}

void fed_send_leave(struct api_req *r, struct fed_service *fs, const char *origin)
{
	send_member(r, fs, origin, "leave");
}

void fed_send_knock(struct api_req *r, struct fed_service *fs, const char *origin)
{
	send_member(r, fs, origin, "knock");
}

/* make_leave/send_leave or make_knock/send_knock through one server, then
 * the membership is kept (a knock with the room's stripped state from the
 * answer). */
static int leave_or_knock_via(struct join_ctx *j, const struct member_flow *f, const char *dest,
			      const char *room_id, const char *reason)
{
	json_t *ev = NULL, *answer = NULL;
	const struct room_version *rv = NULL;
	struct room_result res;
	char id[EVENT_ID_BUF];
	int rc;

	if ((rc = handshake_make(j, f, dest, room_id, &ev, &rv)) != 200)
		goto out;
	if (reason)
		json_object_set_new(json_object_get(ev, "content"), "reason", json_string(reason));
	if ((rc = handshake_send(j, f, dest, room_id, rv, ev, id, &answer)) != 200)
		goto out;
	if (rooms_remote_invite(j->fs->hs->rooms, rv->id, room_id, ev,
				f == &KNOCK_FLOW ? json_object_get(answer, "knock_room_state") : NULL, &res) != ROOM_OK) {
		rc = fail(j, 500, "M_UNKNOWN", "Cannot keep the membership: %s", res.reason);
		goto out;
	}
	rc = 200;
out:
	json_decref(ev);
	json_decref(answer);
	return rc;
}

int fed_leave_remote(void *arg, const char *room_id, const char *user_id, const char *reason, char *errcode,
		     size_t errcodelen, char *error, size_t errorlen)
{
	struct join_ctx j = { arg, user_id, errcode, errcodelen, error, errorlen, { 0 }, 0, json_array() };
	int rc = 404;

	if (!j.owned)
		return fail(&j, 500, "M_UNKNOWN", "out of memory", NULL);
	add_inviter(&j, room_id);
	if (strchr(room_id, ':'))
		add_candidate(&j, strchr(room_id, ':') + 1);
	fail(&j, 404, "M_NOT_FOUND", "Unknown room", NULL);
	for (size_t i = 0; i < j.ncand; i++)
		if ((rc = leave_or_knock_via(&j, &LEAVE_FLOW, j.cand[i], room_id, reason)) == 200)
			break;
	json_decref(j.owned);
	return rc;
}

int fed_knock_remote(void *arg, const char *room, const char *const *via, size_t nvia, const char *user_id,
		     const json_t *content, char *room_id_out, size_t outlen, char *errcode, size_t errcodelen,
		     char *error, size_t errorlen)
{
	struct join_ctx j = { arg, user_id, errcode, errcodelen, error, errorlen, { 0 }, 0, json_array() };
	const char *reason = json_string_value(json_object_get(content, "reason"));
	char room_id[EVENT_ID_BUF];
	int rc = 404;

	if (!j.owned)
		return fail(&j, 500, "M_UNKNOWN", "out of memory", NULL);
	if ((rc = target_room(&j, room, via, nvia, room_id, sizeof(room_id))) != 200)
		goto out;
	rc = fail(&j, 404, "M_NOT_FOUND", "Unknown room", NULL);
	for (size_t i = 0; i < j.ncand; i++)
		if ((rc = leave_or_knock_via(&j, &KNOCK_FLOW, j.cand[i], room_id, reason)) == 200)
			break;
	if (rc == 200)
		snprintf(room_id_out, outlen, "%s", room_id);
out:
	json_decref(j.owned);
	return rc;
}

/* ---- the state at an unknown event ------------------------------------- */

#define FETCH_MAX_EVENTS 2000

int fed_fetch_state(struct fed_service *fs, const char *origin, const char *room_id, const struct room_version *rv,
		    const char *prev, json_t **state)
{
	struct join_ctx j = { fs, NULL, NULL, 0, NULL, 0, { 0 }, 0, NULL };
	struct answer_view v = { fs, json_object(), json_object() };
	struct room_store *rs = rooms_store(fs->hs->rooms);
	json_t *reply = NULL, *fetched = json_array(), *none = json_array(), *ids, *item, *map = NULL;
	struct buf uri;
	long status = 0;
	char err[256];
	size_t i;
	int rc = -1;

	*state = NULL;
	buf_init(&uri, 512);
	if (!prev || !v.events || !v.rejected || !fetched || !none)
		goto out;
	buf_puts(&uri, "/_matrix/federation/v1/state_ids/");
	fed_path_escape(&uri, room_id);
	buf_puts(&uri, "?event_id=");
	fed_path_escape(&uri, prev);
	err[0] = '\0';
	if (!uri.data || request(&j, origin, "GET", uri.data, NULL, &status, &reply, err, sizeof(err)) < 0 ||
	    status != 200 || !json_is_array(json_object_get(reply, "pdu_ids"))) {
		log_info("federation: no state at %s from %s (%ld %s)", prev, origin, status, err);
		goto out;
	}
	/* Whatever of the state, its auth chain and the prev event itself
	 * this server lacks, one /event each. */
	ids = json_array();
	json_array_extend(ids, json_object_get(reply, "pdu_ids"));
	json_array_extend(ids, json_object_get(reply, "auth_chain_ids"));
	json_array_append_new(ids, json_string(prev));
	json_array_foreach(ids, i, item) {
		const char *id = json_string_value(item);
		json_t *one = NULL, *ev;
		if (!id || room_store_event_known(rs, id) != 0)
			continue;
		if (json_array_size(fetched) >= FETCH_MAX_EVENTS)
			break;
		buf_free(&uri);
		buf_init(&uri, 256);
		buf_puts(&uri, "/_matrix/federation/v1/event/");
		fed_path_escape(&uri, id);
		if (uri.data && request(&j, origin, "GET", uri.data, NULL, &status, &one, err, sizeof(err)) == 0 &&
		    status == 200 && json_is_object(ev = json_array_get(json_object_get(one, "pdus"), 0)))
			json_array_append(fetched, ev);
		json_decref(one);
	}
	json_decref(ids);
	if (check_answer(&v, rv, fetched, none, err, sizeof(err)) < 0 || store_answer(rs, room_id, &v) < 0)
		goto out;
	/* The state after prev: the state before it, and it. */
	map = json_object();
	ids = json_array();
	json_array_extend(ids, json_object_get(reply, "pdu_ids"));
	json_array_append_new(ids, json_string(prev));
	json_array_foreach(ids, i, item) {
		int rej = 0;
		const char *id = json_string_value(item);
		const json_t *ev = id ? answer_event(&v, id, &rej) : NULL;
		const char *type = event_type(ev), *sk = event_state_key(ev);
		json_t *tm;
		/* (A v12 create event has no room_id: its ID names the room.) */
		if (!ev || rej || !type || !sk ||
		    (event_room_id(ev) ? strcmp(event_room_id(ev), room_id) != 0 : strcmp(type, "m.room.create") != 0))
			continue;
		if (!(tm = json_object_get(map, type))) {
			tm = json_object();
			json_object_set_new(map, type, tm);
		}
		json_object_set_new(tm, sk, json_string(id));
	}
	json_decref(ids);
	if (!json_object_get(json_object_get(map, "m.room.create"), "")) {
		log_info("federation: the state at %s from %s has no create event", prev, origin);
		goto out;
	}
	log_info("federation: state at %s in %s from %s (%zu events fetched)", prev, room_id, origin,
		 json_array_size(fetched));
	*state = map;
	map = NULL;
	rc = 0;
out:
	buf_free(&uri);
	json_decref(reply);
	json_decref(fetched);
	json_decref(none);
	json_decref(map);
	json_decref(v.events);
	json_decref(v.rejected);
	return rc;
}
