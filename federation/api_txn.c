/* Inbound transactions over the room store (read-only); see api_txn.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "federation/api_txn.h"
#include "federation/edu.h"
#include "federation/fed_client.h"
#include "federation/fed_join.h"
#include "federation/fed_txn.h"
#include "federation/pdu_check.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store_rooms.h"

#define VIEW_MAX_EVENTS 256

/* Events loaded from the store for one PDU's checks; owns them. */
struct store_view {
	struct room_store *rs;
	json_t *events;            /* event_id -> PDU */
	json_t *rejected;          /* event_id -> true for rejected ones */
};

struct state_view {
	struct store_view *v;
	json_t *map;               /* {"type": {"state_key": "event_id"}}, owned */
};

static const json_t *view_event(struct store_view *v, const char *id)
{
	struct room_event e;
	json_t *ev;

	if (!id)
		return NULL;
	if ((ev = json_object_get(v->events, id)))
		return ev;
	if (json_object_size(v->events) >= VIEW_MAX_EVENTS)
		return NULL;
	memset(&e, 0, sizeof(e));
	if (room_store_event_get(v->rs, id, &e) != STORE_OK)
		return NULL;
	ev = json_loads(e.json, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (ev && e.kind == ROOM_EVENT_REJECTED && v->rejected)
		json_object_set_new(v->rejected, id, json_true());
	room_event_clear(&e);
	if (!ev || json_object_set_new(v->events, id, ev) < 0)
		return NULL;
	return ev;
}

static const json_t *event_cb(void *arg, const char *id, int *rejected)
{
	struct store_view *v = arg;
	*rejected = json_object_get(v->rejected, id) != NULL;
	return view_event(v, id);
}

static const json_t *state_cb(void *arg, const char *type, const char *state_key)
{
	struct state_view *sv = arg;
	return view_event(sv->v, json_string_value(json_object_get(json_object_get(sv->map, type), state_key)));
}

/* The check rooms_receive() runs under the room lock: pdu_check() with
 * the keyring's keys and the store's events. */
struct check_arg {
	struct fed_service *fs;
	struct store_view *v;
	enum pdu_verdict verdict;
};

static enum room_remote_verdict check_cb(void *arg, const struct room_version *rv, const json_t *pdu,
					 const struct auth_state *before, const struct auth_state *current,
					 json_t **event, char event_id[EVENT_ID_BUF], char *why, size_t whylen)
{
	struct check_arg *ca = arg;
	struct pdu_check_ctx ctx = { fed_service_pdu_key, ca->fs, event_cb, ca->v, before, current };
	struct pdu_check_result res;

	ca->verdict = pdu_check(rv, pdu, &ctx, &res);
	snprintf(event_id, EVENT_ID_BUF, "%s", res.event_id);
	snprintf(why, whylen, "%s", res.reason);
	*event = res.event;
	res.event = NULL;
	pdu_check_result_clear(&res);
	switch (ca->verdict) {
	case PDU_ACCEPT:
	case PDU_ACCEPT_REDACTED:
		return ROOM_REMOTE_ACCEPT;
	case PDU_SOFT_FAIL:
		return ROOM_REMOTE_SOFT_FAIL;
	case PDU_REJECT:
		return ROOM_REMOTE_REJECT;
	case PDU_DROP:
		break;
	}
	return ROOM_REMOTE_DROP;
}

/* complete: ROOM_NOT_FOUND when any prev event has no state here
 * (rooms_receive_complete()), else when none has. */
static enum room_rc receive_pdu(struct fed_service *fs, const char *room_id, const json_t *pdu, int complete,
				struct room_result *res, enum room_remote_verdict *verdict)
{
	struct store_view v = { rooms_store(fs->hs->rooms), json_object(), json_object() };
	struct check_arg ca = { fs, &v, PDU_DROP };
	enum room_rc rc;

	if (!v.events || !v.rejected) {
		memset(res, 0, sizeof(*res));
		*verdict = ROOM_REMOTE_DROP;
		rc = ROOM_ERROR;
	} else if (complete) {
		rc = rooms_receive_complete(fs->hs->rooms, room_id, pdu, check_cb, &ca, res, verdict);
	} else {
		rc = rooms_receive(fs->hs->rooms, room_id, pdu, check_cb, &ca, res, verdict);
	}
	json_decref(v.events);
	json_decref(v.rejected);
	return rc;
}

enum room_rc fed_receive_pdu(struct fed_service *fs, const char *room_id, const json_t *pdu,
			     struct room_result *res, enum room_remote_verdict *verdict)
{
	return receive_pdu(fs, room_id, pdu, 0, res, verdict);
}

#define MISSING_LIMIT 20
#define TXN_MAX_GAPS 3     /* gaps per transaction this server fetches for */

static int by_depth(const void *a, const void *b)
{
	json_int_t da = json_integer_value(json_object_get(*(json_t *const *)a, "depth"));
	json_int_t db = json_integer_value(json_object_get(*(json_t *const *)b, "depth"));
	return da < db ? -1 : da > db;
}

/* A PDU cites prev events this server lacks: asks origin for the events
 * between the room's forward extremities and it (get_missing_events) and
 * takes them in, oldest first.  Best effort: the caller retries the PDU. */
static void fetch_missing(struct fed_service *fs, const char *origin, const char *room_id, const char *event_id)
{
	struct room_head h;
	json_t *earliest = json_array(), *body = NULL, *reply = NULL, *evs;
	json_t *list[MISSING_LIMIT];
	struct buf uri;
	long status = 0;
	char err[256];
	size_t n = 0, i;

	memset(&h, 0, sizeof(h));
	buf_init(&uri, 256);
	if (!earliest || room_store_head(rooms_store(fs->hs->rooms), room_id, &h) != STORE_OK)
		goto out;
	for (i = 0; i < h.nextrem; i++)
		json_array_append_new(earliest, json_string(h.extremities[i]));
	body = json_pack("{s:O,s:[s],s:i,s:i}", "earliest_events", earliest, "latest_events", event_id, "limit",
			 MISSING_LIMIT, "min_depth", 0);
	buf_puts(&uri, "/_matrix/federation/v1/get_missing_events/");
	fed_path_escape(&uri, room_id);
	struct fed_client_req rq = {
		.resolver = fs->resolver, .key = &fs->key, .origin = fs->server_name, .destination = origin,
		.method = "POST", .uri = uri.data, .content = body, .max_body = 8u * 1024 * 1024,
	};
	if (!body || !uri.data || fed_client_request(&rq, &status, &reply, err, sizeof(err)) < 0 || status != 200) {
		log_info("federation: get_missing_events from %s for %s failed (%ld)", origin, event_id, status);
		goto out;
	}
	evs = json_object_get(reply, "events");
	for (i = 0; i < json_array_size(evs) && n < MISSING_LIMIT; i++)
		if (json_is_object(json_array_get(evs, i)))
			list[n++] = json_array_get(evs, i);
	qsort(list, n, sizeof(*list), by_depth);
	for (i = 0; i < n; i++) {
		struct room_result res;
		enum room_remote_verdict verdict;
		const char *rid = json_string_value(json_object_get(list[i], "room_id"));
		if (rid && strcmp(rid, room_id) == 0)
			fed_receive_pdu(fs, room_id, list[i], &res, &verdict);
	}
	log_info("federation: %zu missing event(s) of %s fetched from %s", n, room_id, origin);
out:
	room_head_clear(&h);
	buf_free(&uri);
	json_decref(earliest);
	json_decref(body);
	json_decref(reply);
}

static const char *verdict_str(enum room_remote_verdict v)
{
	switch (v) {
	case ROOM_REMOTE_ACCEPT: return "accept";
	case ROOM_REMOTE_SOFT_FAIL: return "soft-fail";
	case ROOM_REMOTE_REJECT: return "reject";
	case ROOM_REMOTE_DROP: return "drop";
	case ROOM_REMOTE_KNOWN: return "already known";
	}
	return "?";
}

/* An entry of prev_events: an ID, or [ID, hashes] in room versions 1-2. */
static const char *ref_id(const struct room_version *rv, const json_t *item)
{
	return rv->event_id == EVENT_ID_V1 ? json_string_value(json_array_get(item, 0)) : json_string_value(item);
}

/* Whether the state after event id is known here: a timeline event, or
 * a soft-failed one kept with its state. */
static int has_state_after(struct room_store *rs, const char *id)
{
	struct room_event e;
	int yes;

	if (room_store_event_get(rs, id, &e) != STORE_OK)
		return 0;
	yes = e.kind == ROOM_EVENT_TIMELINE || (e.kind == ROOM_EVENT_SOFT_FAILED && e.state_after);
	room_event_clear(&e);
	return yes;
}

/* The PDU again, with the states after each of its prev events this
 * server lacks fetched from origin (at most ROOMS_MAX_GIVEN_STATES; a
 * fork on origin's side leaves several), resolved with the states after
 * the ones it has.  ROOM_NOT_FOUND when none could be fetched. */
static enum room_rc receive_with_states(struct fed_service *fs, const char *origin, const char *room_id,
					const struct room_version *rv, const json_t *pdu, struct room_result *res,
					enum room_remote_verdict *verdict)
{
	struct store_view v = { rooms_store(fs->hs->rooms), json_object(), json_object() };
	struct check_arg ca = { fs, &v, PDU_DROP };
	const json_t *item;
	json_t *states[ROOMS_MAX_GIVEN_STATES];
	size_t n = 0, i;
	enum room_rc rc = ROOM_ERROR;

	json_array_foreach(json_object_get(pdu, "prev_events"), i, item) {
		const char *prev = ref_id(rv, item);
		if (n == ROOMS_MAX_GIVEN_STATES) {
			log_info("federation: %s cites more than %d prev events this server lacks; the rest left out",
				 res->event_id, ROOMS_MAX_GIVEN_STATES);
			break;
		}
		if (prev && !has_state_after(v.rs, prev) && fed_fetch_state(fs, origin, room_id, rv, prev, &states[n]) == 0)
			n++;
	}
	if (n == 0) {
		rc = ROOM_NOT_FOUND;
	} else if (v.events && v.rejected) {
		memset(res, 0, sizeof(*res));
		*verdict = ROOM_REMOTE_DROP;
		rc = rooms_receive_with_states(fs->hs->rooms, room_id, pdu, (const json_t *const *)states, n, check_cb,
					       &ca, res, verdict);
	}
	for (i = 0; i < n; i++)
		json_decref(states[i]);
	json_decref(v.events);
	json_decref(v.rejected);
	return rc;
}

/* One PDU of a transaction: checked and stored; the answer's entry is {}
 * for what this server took (accepted, soft-failed or already known) and
 * {"error"} for the rest (rejected events are stored as such all the
 * same).  Missing prev events are fetched from origin first. */
static json_t *check_one(struct fed_service *fs, const char *origin, const json_t *pdu, char *event_id,
			 size_t idlen, int *gaps)
{
	const char *room_id = json_string_value(json_object_get(pdu, "room_id"));
	const struct room_version *rv = NULL;
	struct room_result res;
	enum room_remote_verdict verdict;
	enum room_rc rc;
	json_t *out;

	event_id[0] = '\0';
	if (!room_id || !fs->hs->rooms || rooms_version(fs->hs->rooms, room_id, &rv) != ROOM_OK || !rv) {
		/* The ID depends on the room version, which only the room
		 * knows: name the PDU as a version 10 event would be. */
		char id[EVENT_ID_BUF];
		if (event_compute_id(room_version_get("10"), pdu, id) == 0)
			snprintf(event_id, idlen, "%s", id);
		return json_pack("{s:s}", "error", "Unknown room");
	}
	/* A transaction may send this server fetching for a few gaps only;
	 * while it may, a PDU lacking any of its prev events is a gap. */
	rc = receive_pdu(fs, room_id, pdu, *gaps > 0, &res, &verdict);
	if (rc == ROOM_NOT_FOUND && res.event_id[0] && (*gaps)-- > 0) {
		/* The room is known, so its prev events are what is missing. */
		fetch_missing(fs, origin, room_id, res.event_id);
		rc = receive_pdu(fs, room_id, pdu, 1, &res, &verdict);
	}
	if (rc == ROOM_NOT_FOUND && res.event_id[0] && *gaps >= 0) {
		/* Still a gap (history from before this server joined, say):
		 * ask origin for the states at the prev events it lacks
		 * instead. */
		rc = receive_with_states(fs, origin, room_id, rv, pdu, &res, &verdict);
	}
	if (rc == ROOM_NOT_FOUND && res.event_id[0]) {
		/* Nothing more to fetch: the prev events it has, if any. */
		rc = receive_pdu(fs, room_id, pdu, 0, &res, &verdict);
	}
	snprintf(event_id, idlen, "%s", res.event_id);
	if (rc == ROOM_OK && verdict != ROOM_REMOTE_REJECT)
		out = json_object();
	else
		out = json_pack("{s:s}", "error", res.reason[0] ? res.reason : "not stored");
	log_info("federation: PDU %s in %s: %s%s%s", res.event_id, room_id, verdict_str(verdict),
		 res.reason[0] ? ": " : "", res.reason);
	return out;
}

void fed_txn_handle(struct api_req *r, struct fed_service *fs, const char *origin)
{
	struct fed_txn txn;
	char err[256];
	json_t *results;
	const json_t *pdu;
	size_t i;

	if (fed_txn_parse(r->body, origin, &txn, err, sizeof(err)) < 0) {
		api_error(r, 400, "M_BAD_JSON", "%s", err);
		return;
	}
	results = json_object();
	int gaps = TXN_MAX_GAPS;
	json_array_foreach(txn.pdus, i, pdu) {
		char id[EVENT_ID_BUF];
		json_t *one = check_one(fs, origin, pdu, id, sizeof(id), &gaps);
		if (id[0])
			json_object_set_new(results, id, one);
		else
			json_decref(one);
	}
	if (txn.edus) {
		const json_t *edu;
		json_array_foreach(txn.edus, i, edu)
			fed_edu_handle(fs, origin, edu);
	}
	api_reply(r, 200, json_pack("{s:o}", "pdus", results));
}

static int always_signed(void *arg, const json_t *ev, const char *server)
{
	(void)arg;
	(void)ev;
	(void)server;
	return 1; /* the template is not signed yet: send_join checks */
}

/* Restricted rooms: whether user may join through one of the allowed
 * rooms, and which user of this server vouches for it.  0: not needed
 * (not restricted, or invited/joined already); 1 with out filled; -1 with
 * a reason. */
static int restricted_authoriser(struct fed_service *fs, const char *room_id, const char *user_id,
				 struct state_view *cur, char *out, size_t outlen, char *why, size_t whylen)
{
	const json_t *jr = state_cb(cur, "m.room.join_rules", ""), *me = state_cb(cur, "m.room.member", user_id);
	const char *rule = json_string_value(json_object_get(json_object_get(jr, "content"), "join_rule"));
	const char *m = me ? event_membership(me) : NULL, *uid;
	const json_t *allow, *a, *v;
	int ok = 0;
	size_t i;

	if (!rule || (strcmp(rule, "restricted") != 0 && strcmp(rule, "knock_restricted") != 0))
		return 0;
	if (m && (strcmp(m, "join") == 0 || strcmp(m, "invite") == 0))
		return 0;
	allow = json_object_get(json_object_get(jr, "content"), "allow");
	json_array_foreach(allow, i, a) {
		const char *type = json_string_value(json_object_get(a, "type"));
		const char *rid = json_string_value(json_object_get(a, "room_id"));
		char mm[16];
		if (type && rid && strcmp(type, "m.room_membership") == 0 &&
		    rooms_membership(fs->hs->rooms, rid, user_id, mm) == ROOM_OK && strcmp(mm, "join") == 0)
			ok = 1;
	}
	if (!ok) {
		snprintf(why, whylen, "the user is not in any of the rooms this room allows");
		return -1;
	}
	json_object_foreach(json_object_get(cur->map, "m.room.member"), uid, v) {
		const json_t *ev = state_cb(cur, "m.room.member", uid);
		const char *dom = matrix_id_domain(uid), *um = ev ? event_membership(ev) : NULL;
		int64_t have = 0, needed = 0, redact = 0, kick = 0, ban = 0, invite = 0;
		if (!dom || strcmp(dom, fs->server_name) != 0 || !um || strcmp(um, "join") != 0)
			continue;
		if (rooms_power(fs->hs->rooms, room_id, uid, NULL, &have, &needed, &redact, &kick, &ban, &invite) ==
			    ROOM_OK && have >= invite) {
			snprintf(out, outlen, "%s", uid);
			return 1;
		}
	}
	snprintf(why, whylen, "no user of this server can authorise the join");
	return -1;
}

/* A membership template (make_join, make_leave) over the current state. */
static void make_member(struct api_req *r, struct fed_service *fs, const char *origin, const char *membership)
{
	const char *room_id = api_param(r, 0), *user_id = api_param(r, 1), *dom;
	const struct room_version *rv = NULL;
	struct room_head h;
	struct store_view v = { NULL, NULL, NULL };
	struct state_view cur = { &v, NULL };
	struct auth_state st = { state_cb, NULL, &cur };
	struct auth_key keys[AUTH_MAX_KEYS];
	const char *auth_ids[AUTH_MAX_KEYS];
	json_t *content = NULL, *ev = NULL;
	size_t nk, na = 0, nprev;
	char why[200];

	memset(&h, 0, sizeof(h));
	if (!matrix_user_id_valid(user_id) || !(dom = matrix_id_domain(user_id)) || strcmp(dom, origin) != 0) {
		api_error(r, 403, "M_FORBIDDEN", "The user does not belong to the requesting server");
		return;
	}
	if (!fs->hs->rooms || rooms_version(fs->hs->rooms, room_id, &rv) != ROOM_OK || !rv) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return;
	}
	int has = strcmp(membership, "leave") != 0 ? fed_query_has(r->http, "ver", rv->id) : 1;
	if (has == 0 || (has < 0 && strcmp(rv->id, "1") != 0)) {
		api_reply(r, 400, json_pack("{s:s,s:s,s:s}", "errcode", "M_INCOMPATIBLE_ROOM_VERSION", "error",
					    "Your server does not support the room's version", "room_version", rv->id));
		return;
	}
	v.rs = rooms_store(fs->hs->rooms);
	v.events = json_object();
	if (room_store_head(v.rs, room_id, &h) != STORE_OK || !h.nextrem) {
		api_error(r, 500, "M_UNKNOWN", "Cannot read the room");
		goto out;
	}
	cur.map = h.state;
	if (h.nextrem > EVENT_MAX_PREV_EVENTS) /* the format's limit; the rest stay extremities */
		nprev = EVENT_MAX_PREV_EVENTS;
	else
		nprev = h.nextrem;
	content = json_pack("{s:s}", "membership", membership);
	if (strcmp(membership, "join") == 0) {
		char via[256];
		int rr = restricted_authoriser(fs, room_id, user_id, &cur, via, sizeof(via), why, sizeof(why));
		if (rr < 0) {
			api_error(r, 403, "M_FORBIDDEN", "You are not allowed to join this room: %s", why);
			goto out;
		}
		if (rr > 0) {
			json_object_set_new(content, "join_authorised_via_users_server", json_string(via));
			st.signed_by = always_signed;
		}
	}
	int64_t now = http_now_ms();
	ev = event_new(rv, room_id, user_id, "m.room.member", user_id, content,
		       (const char *const *)h.extremities, nprev, NULL, 0, h.depth + 1, now);
	if (!ev) {
		api_error(r, 500, "M_UNKNOWN", "Cannot build the template");
		goto out;
	}
	nk = auth_events_selection(rv, ev, keys);
	for (size_t i = 0; i < nk; i++) {
		const char *id = json_string_value(json_object_get(json_object_get(h.state, keys[i].type),
								  keys[i].state_key));
		size_t k;
		for (k = 0; id && k < na && strcmp(auth_ids[k], id) != 0; k++)
			;
		if (id && k == na)
			auth_ids[na++] = id;
	}
	json_t *tmpl = event_new(rv, room_id, user_id, "m.room.member", user_id, content,
				 (const char *const *)h.extremities, nprev, auth_ids, na, h.depth + 1, now);
	json_decref(ev);
	ev = tmpl;
	if (!ev) {
		api_error(r, 500, "M_UNKNOWN", "Cannot build the template");
		goto out;
	}
	why[0] = '\0';
	if (auth_check(rv, ev, &st, why, sizeof(why)) != AUTH_ALLOW) {
		api_error(r, 403, "M_FORBIDDEN", "You are not allowed to %s this room: %s", membership, why);
		goto out;
	}
	/* The joining server hashes and signs it. */
	json_object_del(ev, "hashes");
	json_object_del(ev, "signatures");
	api_reply(r, 200, json_pack("{s:s,s:O}", "room_version", rv->id, "event", ev));
out:
	json_decref(ev);
	json_decref(content);
	json_decref(v.events);
	room_head_clear(&h);
}

void fed_make_join(struct api_req *r, struct fed_service *fs, const char *origin)
{
	make_member(r, fs, origin, "join");
}

void fed_make_leave(struct api_req *r, struct fed_service *fs, const char *origin)
{
	make_member(r, fs, origin, "leave");
}

void fed_make_knock(struct api_req *r, struct fed_service *fs, const char *origin)
{
	make_member(r, fs, origin, "knock");
}
