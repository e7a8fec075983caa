/* Rooms: events from other servers (rooms_receive, rooms_adopt, remote
 * invites and knocks).  See rooms.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/canonjson.h"
#include "common/log.h"
#include "homeserver/events/auth_rules.h"
#include "homeserver/events/event_sign.h"
#include "homeserver/events/state_res.h"
#include "homeserver/rooms_int.h"

/* ---- remote events ---------------------------------------------------- */

/* Events loaded for one received PDU (state resolution and the state
 * before it), owned: id -> PDU, and the rejected ones' IDs. */
struct evcache {
	struct room_store *rs;
	json_t *events;
	json_t *rejected;
};

static void evcache_free(struct evcache *c)
{
	json_decref(c->events);
	json_decref(c->rejected);
}

/* room_notify() for a received event: a membership change also wakes its
 * target. */
static void notify_received(struct rooms *r, struct room *rm, const json_t *ev, int64_t pos)
{
	const char *type = event_type(ev);
	room_notify(r, rm, type && strcmp(type, "m.room.member") == 0 ? event_state_key(ev) : NULL, pos);
}

static const json_t *evc_get(void *arg, const char *id)
{
	struct evcache *c = arg;
	struct room_event e;
	json_t *ev;

	if (!id)
		return NULL;
	if ((ev = json_object_get(c->events, id)))
		return ev;
	if (room_store_event_get(c->rs, id, &e) != STORE_OK)
		return NULL;
	ev = json_loads(e.json, JSON_ALLOW_NUL, NULL);
	if (ev && e.kind == ROOM_EVENT_REJECTED)
		json_object_set_new(c->rejected, id, json_true());
	room_event_clear(&e);
	if (!ev || json_object_set_new(c->events, id, ev) < 0)
		return NULL;
	return ev;
}

static int evc_rejected(void *arg, const char *id)
{
	struct evcache *c = arg;
	return json_object_get(c->rejected, id) != NULL;
}

struct map_state {
	struct evcache *c;
	const json_t *map;
};

static const json_t *map_lookup(void *arg, const char *type, const char *sk)
{
	struct map_state *ms = arg;
	return evc_get(ms->c, state_map_get(ms->map, type, sk));
}

static const char *prev_id(const struct room_version *rv, const json_t *item)
{
	return rv->event_id == EVENT_ID_V1 ? json_string_value(json_array_get(item, 0))
					   : json_string_value(item);
}

/* Whether the state after e is stored: timeline events, and soft-failed
 * ones (kept in the DAG with their state groups). */
static int has_state_after(const struct room_event *e)
{
	return e->kind == ROOM_EVENT_TIMELINE || (e->kind == ROOM_EVENT_SOFT_FAILED && e->state_after);
}

/* The state after each of ids, and the maps of given (the states after
 * prev events fetched from elsewhere, at most ROOMS_MAX_GIVEN_STATES),
 * resolved into one map; *group is the group when that is a single stored
 * one, else 0.  Timeline events and soft-failed ones (still in the DAG)
 * count; outliers and rejected events have no state here (*unknown counts
 * those of ids, and the ones not stored at all).  NULL when none is
 * known. */
static json_t *resolve_after(struct rooms *r, struct room *rm, struct evcache *c,
			     const char *const *ids, size_t n, const json_t *const *given, size_t ngiven,
			     int64_t *group, size_t *unknown, char *why, size_t whylen)
{
	json_t *maps[EVENT_MAX_PREV_EVENTS + 1 + ROOMS_MAX_GIVEN_STATES], *out = NULL;
	int64_t groups[EVENT_MAX_PREV_EVENTS + 1];
	size_t nm = 0, ng = 0;

	*group = 0;
	*unknown = 0;
	for (size_t i = 0; i < n && nm <= EVENT_MAX_PREV_EVENTS; i++) {
		struct room_event e;
		json_t *m = NULL;
		if (room_store_event_get(r->rs, ids[i], &e) != STORE_OK) {
			(*unknown)++;
			continue;
		}
		if (!has_state_after(&e)) {
			(*unknown)++;
		} else if (room_store_state_group(r->rs, e.state_after, &m) == STORE_OK) {
			size_t j;
			for (j = 0; j < nm && groups[j] != e.state_after; j++)
				;
			if (j == nm) {
				groups[nm] = e.state_after;
				maps[nm++] = m;
			} else {
				json_decref(m);
			}
		}
		room_event_clear(&e);
	}
	for (size_t i = 0; i < ngiven && ng < ROOMS_MAX_GIVEN_STATES; i++)
		if (json_is_object(given[i]))
			maps[nm + ng++] = json_incref((json_t *)given[i]);
	if (nm + ng == 0) {
		snprintf(why, whylen, "none of its prev events is known here");
		return NULL;
	}
	if (nm == 1 && ng == 0) {
		*group = groups[0];
		return maps[0];
	}
	if (nm + ng == 1) {
		out = json_deep_copy(maps[0]);
	} else {
		struct state_res_ctx sc = { rm->rv, evc_get, evc_rejected, NULL, c };
		out = state_res_resolve(&sc, (const json_t *const *)maps, nm + ng, why, whylen);
	}
	for (size_t i = 0; i < nm + ng; i++)
		json_decref(maps[i]);
	return out;
}

/* The entries of to that differ from from, with the members' memberships
 * (strings point into to and c's events). */
static struct room_state_set *state_diff(struct evcache *c, const json_t *from, const json_t *to,
					 size_t *n)
{
	const char *type, *sk;
	json_t *m, *eid;
	size_t cap = 0;
	struct room_state_set *out;

	*n = 0;
	json_object_foreach((json_t *)to, type, m)
		cap += json_object_size(m);
	if (!(out = calloc(cap + 1, sizeof(*out))))
		return NULL;
	json_object_foreach((json_t *)to, type, m) {
		json_object_foreach(m, sk, eid) {
			const char *id = json_string_value(eid), *old = state_map_get(from, type, sk);
			if (!id || (old && strcmp(old, id) == 0))
				continue;
			out[*n].type = type;
			out[*n].state_key = sk;
			out[*n].event_id = id;
			if (strcmp(type, "m.room.member") == 0) {
				const json_t *ev = evc_get(c, id);
				out[*n].membership = ev ? event_membership(ev) : NULL;
				if (!out[*n].membership)
					out[*n].membership = "leave";
			}
			(*n)++;
		}
	}
	return out;
}

/* Stores an accepted remote event (rm locked).  reset: the event starts
 * the room afresh here (a join over federation): the old forward
 * extremities are dropped, and version (when set) adds the rooms row. */
static enum room_rc receive_accept(struct rooms *r, struct room *rm, struct evcache *c,
				   const json_t *ev, const char *event_id, json_t *before,
				   int64_t before_group, int reset, const char *version,
				   struct room_result *res)
{
	const struct room_version *rv = rm->rv;
	const char *type = event_type(ev), *sk = event_state_key(ev);
	const json_t *prev = json_object_get(ev, "prev_events"), *item;
	const char *prevs[EVENT_MAX_PREV_EVENTS + 1];
	char **extrem = NULL, *json = NULL, *after_json = NULL, *cur_json = NULL;
	json_t *after = NULL, *current = NULL;
	struct room_state_set *diff = NULL;
	size_t nprev = 0, nextrem = 0, ndiff = 0, i;
	int64_t depth = json_integer_value(json_object_get(ev, "depth")), pos, group, cur_group = 0;
	struct room_append a;
	enum room_rc rc = ROOM_ERROR;
	int flags = rv->strict_canonical_json ? 0 : CANONJSON_LAX, linear;
	size_t len;
	char why[200];

	json_array_foreach(prev, i, item)
		if (nprev <= EVENT_MAX_PREV_EVENTS && prev_id(rv, item))
			prevs[nprev++] = prev_id(rv, item);
	/* The event itself is not stored yet: the diff and cache need it. */
	if (json_object_set(c->events, event_id, (json_t *)ev) < 0)
		goto out;
	if (!before_group) {
		if (!(after_json = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS)) ||
		    room_store_group_put(r->rs, rm->room_id, after_json, &before_group) != STORE_OK)
			goto out;
		free(after_json);
		after_json = NULL;
	}
	/* linear: it cites exactly the forward extremities, so the state
	 * before it is the cached current state and the new current state is
	 * that plus it: no copies of a possibly large map. */
	linear = before == rm->ids && !reset;
	if (!linear && (!(after = json_deep_copy(before)) || (sk && state_map_set(after, type, sk, event_id) < 0)))
		goto out;
	/* The new forward extremities: the old ones it does not cite, and it. */
	if (!(extrem = calloc(rm->nextrem + 1, sizeof(char *))))
		goto out;
	for (i = 0; !reset && i < rm->nextrem; i++) {
		size_t j;
		for (j = 0; j < nprev && strcmp(prevs[j], rm->extrem[i]) != 0; j++)
			;
		if (j == nprev && !(extrem[nextrem++] = strdup(rm->extrem[i])))
			goto out;
	}
	if (!(extrem[nextrem++] = strdup(event_id)))
		goto out;
	if (linear) {
		const char *m = type && strcmp(type, "m.room.member") == 0 ? event_membership(ev) : NULL;
		if (!(diff = calloc(2, sizeof(*diff))))
			goto out;
		if (sk)
			diff[ndiff++] = (struct room_state_set){ type, sk, event_id, m ? m : (type && strcmp(type,
				"m.room.member") == 0 ? "leave" : NULL) };
	} else if (nextrem == 1) {
		current = json_incref(after);
	} else {
		/* A fork stays open: the current state is the resolution of the
		 * states after every extremity (ours included). */
		int64_t g;
		size_t unknown;
		json_t *others = resolve_after(r, rm, c, (const char *const *)extrem, nextrem - 1, NULL, 0, &g,
					       &unknown, why, sizeof(why));
		const json_t *sets[2] = { others, after };
		struct state_res_ctx sc = { rv, evc_get, evc_rejected, NULL, c };
		if (others)
			current = state_res_resolve(&sc, sets, 2, why, sizeof(why));
		json_decref(others);
		if (!current) {
			log_warn("rooms: cannot resolve the state of %s: %s", rm->room_id, why);
			current = json_incref(after);
		} else if (!json_equal(current, after)) {
			if (!(cur_json = json_dumps(current, JSON_COMPACT | JSON_SORT_KEYS)) ||
			    room_store_group_put(r->rs, rm->room_id, cur_json, &cur_group) != STORE_OK)
				goto out;
		}
	}
	if (!linear && !(diff = state_diff(c, rm->ids, current, &ndiff)))
		goto out;
	if (!(json = canonjson_dumps(ev, &len, flags)))
		goto out;
	memset(&a, 0, sizeof(a));
	a.event_id = event_id;
	a.room_id = rm->room_id;
	a.type = type;
	a.state_key = sk;
	a.sender = event_sender(ev);
	a.origin_server_ts = json_integer_value(json_object_get(ev, "origin_server_ts"));
	a.depth = depth;
	a.json = json;
	a.prev_events = prevs;
	a.nprev = nprev;
	a.state_before = before_group;
	a.state_change = sk != NULL; /* a delta on before_group */
	a.membership = type && strcmp(type, "m.room.member") == 0 ? event_membership(ev) : NULL;
	a.redacts = event_redacts(rv, ev);
	a.explicit_current = 1;
	a.cur = diff;
	a.ncur = ndiff;
	a.current_group = cur_group;
	a.clear_extremities = reset;
	a.room_version = version;
	if (room_store_append(r->rs, &a, &pos, &group) != STORE_OK) {
		room_set_reason(res, "cannot store the event", NULL);
		goto out;
	}
	res->stream_pos = pos;
	/* Committed: now the cache. */
	for (i = 0; i < rm->nextrem; i++)
		free(rm->extrem[i]);
	free(rm->extrem);
	rm->extrem = extrem;
	rm->nextrem = nextrem;
	extrem = NULL;
	if (depth > rm->depth)
		rm->depth = depth;
	rm->group = cur_group ? cur_group : group;
	for (i = 0; i < ndiff; i++) {
		char key[2 * EVENT_MAX_ID_BYTES + 4];
		const json_t *sev = evc_get(c, diff[i].event_id);
		if (sev && room_state_key_buf(key, sizeof(key), diff[i].type, diff[i].state_key) == 0)
			json_object_set(rm->events, key, (json_t *)sev);
		room_local_member(r, rm, diff[i].type, diff[i].state_key, sev);
	}
	if (a.redacts) {
		const char *tk;
		json_t *cur;
		json_object_foreach(rm->events, tk, cur) {
			char id[EVENT_ID_BUF];
			if (event_compute_id(rv, cur, id) == 0 && strcmp(id, a.redacts) == 0) {
				json_t *red = event_redact(rv, cur);
				if (red)
					json_object_set_new(rm->events, tk, red);
				break;
			}
		}
	}
	if (linear) {
		if (sk && state_map_set(rm->ids, type, sk, event_id) < 0)
			log_error("rooms: out of memory updating the cache of %s", rm->room_id);
	} else {
		json_decref(rm->ids);
		rm->ids = current;
		current = NULL;
	}
	rc = ROOM_OK;
out:
	if (extrem) {
		for (i = 0; i < nextrem; i++)
			free(extrem[i]);
		free(extrem);
	}
	free(diff);
	free(json);
	free(after_json);
	free(cur_json);
	json_decref(after);
	json_decref(current);
	return rc;
}

/* Keeps a soft-failed event (rm locked): out of the timeline, the
 * forward extremities and the current state, but in the DAG with the
 * state before and after it, so an event citing it is no gap and takes
 * it into state resolution (server-server API, "Soft failure"). */
static enum room_rc store_soft_failed(struct rooms *r, struct room *rm, const json_t *ev,
				      const char *event_id, const json_t *before, int64_t before_group)
{
	const char *type = event_type(ev), *sk = event_state_key(ev);
	json_t *after = NULL;
	char *json = NULL, *bjson = NULL;
	int64_t after_group;
	enum room_rc rc = ROOM_ERROR;

	if (!before_group && (!(bjson = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS)) ||
			      room_store_group_put(r->rs, rm->room_id, bjson, &before_group) != STORE_OK))
		goto out;
	after_group = before_group;
	if (sk) {
		free(bjson);
		bjson = NULL;
		if (!(after = json_deep_copy(before)) || state_map_set(after, type, sk, event_id) < 0 ||
		    !(bjson = json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS)) ||
		    room_store_group_put(r->rs, rm->room_id, bjson, &after_group) != STORE_OK)
			goto out;
	}
	if ((json = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS)) &&
	    room_store_soft_failed_put(r->rs, event_id, rm->room_id, json, before_group, after_group) == STORE_OK)
		rc = ROOM_OK;
out:
	json_decref(after);
	free(json);
	free(bjson);
	return rc;
}

/* Whether prevs are exactly rm's forward extremities (rm locked). */
static int cites_extremities(const struct room *rm, const char *const *prevs, size_t nprev)
{
	if (nprev == 0 || nprev != rm->nextrem || rm->group == 0)
		return 0;
	for (size_t i = 0; i < nprev; i++) {
		size_t j;
		for (j = 0; j < rm->nextrem && strcmp(prevs[i], rm->extrem[j]) != 0; j++)
			;
		if (j == rm->nextrem)
			return 0;
	}
	return 1;
}

static enum room_rc receive(struct rooms *r, const char *room_id, const json_t *pdu,
			    const json_t *const *given, size_t ngiven, int complete, rooms_check_fn check,
			    void *check_arg, struct room_result *res, enum room_remote_verdict *verdict);

enum room_rc rooms_receive(struct rooms *r, const char *room_id, const json_t *pdu,
			   rooms_check_fn check, void *check_arg, struct room_result *res,
			   enum room_remote_verdict *verdict)
{
	return receive(r, room_id, pdu, NULL, 0, 0, check, check_arg, res, verdict);
}

enum room_rc rooms_receive_complete(struct rooms *r, const char *room_id, const json_t *pdu,
				    rooms_check_fn check, void *check_arg, struct room_result *res,
				    enum room_remote_verdict *verdict)
{
	return receive(r, room_id, pdu, NULL, 0, 1, check, check_arg, res, verdict);
}

enum room_rc rooms_receive_with_states(struct rooms *r, const char *room_id, const json_t *pdu,
				       const json_t *const *states, size_t n, rooms_check_fn check,
				       void *check_arg, struct room_result *res,
				       enum room_remote_verdict *verdict)
{
	size_t i;

	for (i = 0; i < n && json_is_object(states[i]); i++)
		;
	if (n == 0 || n > ROOMS_MAX_GIVEN_STATES || i < n) {
		memset(res, 0, sizeof(*res));
		*verdict = ROOM_REMOTE_DROP;
		return ROOM_BAD_JSON;
	}
	return receive(r, room_id, pdu, states, n, 0, check, check_arg, res, verdict);
}

static enum room_rc receive(struct rooms *r, const char *room_id, const json_t *pdu,
			    const json_t *const *given, size_t ngiven, int complete, rooms_check_fn check,
			    void *check_arg, struct room_result *res, enum room_remote_verdict *verdict)
{
	struct room *rm;
	struct evcache c = { r->rs, json_object(), json_object() };
	const json_t *prev, *item;
	const char *prevs[EVENT_MAX_PREV_EVENTS + 1];
	size_t nprev = 0, i, unknown = 0;
	json_t *before = NULL, *ev = NULL;
	int64_t before_group = 0;
	enum room_rc rc = ROOM_ERROR;
	char why[256];

	memset(res, 0, sizeof(*res));
	*verdict = ROOM_REMOTE_DROP;
	if (!(rm = room_get(r, room_id))) {
		room_set_reason(res, "unknown room", NULL);
		evcache_free(&c);
		return ROOM_NOT_FOUND;
	}
	snprintf(res->room_id, sizeof(res->room_id), "%s", rm->room_id);
	pthread_mutex_lock(&rm->lock);
	if (!c.events || !c.rejected)
		goto out;
	if (room_settle_locked(r, rm) < 0) {
		room_set_reason(res, "cannot load the room", NULL);
		goto out;
	}
	if (event_compute_id(rm->rv, pdu, res->event_id) == 0 &&
	    room_store_event_known(r->rs, res->event_id) == 1) {
		*verdict = ROOM_REMOTE_KNOWN;
		rc = ROOM_OK;
		goto out;
	}
	prev = json_object_get(pdu, "prev_events");
	json_array_foreach(prev, i, item)
		if (nprev <= EVENT_MAX_PREV_EVENTS && prev_id(rm->rv, item))
			prevs[nprev++] = prev_id(rm->rv, item);
	why[0] = '\0';
	if (cites_extremities(rm, prevs, nprev)) {
		/* The common case: it extends the room's current state.
		 * Else the states after its prevs (given: after those this
		 * server lacks) are resolved. */
		before = json_incref(rm->ids);
		before_group = rm->group;
	} else if (!(before = resolve_after(r, rm, &c, prevs, nprev, given, ngiven, &before_group, &unknown,
					    why, sizeof(why))) ||
		   (complete && unknown)) {
		room_set_reason(res, "%s", before ? "some of its prev events are not known here" : why);
		rc = ROOM_NOT_FOUND;
		goto out;
	}
	{
		struct map_state bs = { &c, before };
		struct auth_state sb = { map_lookup, NULL, &bs }, sc = { room_cache_lookup, NULL, rm };
		if (before == rm->ids)
			sb = sc;
		why[0] = '\0';
		*verdict = check(check_arg, rm->rv, pdu, &sb, &sc, &ev, res->event_id, why, sizeof(why));
	}
	room_set_reason(res, "%s", why);
	if (*verdict == ROOM_REMOTE_DROP || !ev) {
		*verdict = ROOM_REMOTE_DROP;
		rc = ROOM_FORBIDDEN;
		goto out;
	}
	if (*verdict == ROOM_REMOTE_SOFT_FAIL) {
		rc = store_soft_failed(r, rm, ev, res->event_id, before, before_group);
		goto out;
	}
	if (*verdict == ROOM_REMOTE_REJECT) {
		char *json = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
		rc = json && room_store_outlier_put(r->rs, res->event_id, rm->room_id, ROOM_EVENT_REJECTED,
						    json) == STORE_OK ? ROOM_OK : ROOM_ERROR;
		free(json);
		goto out;
	}
	rc = receive_accept(r, rm, &c, ev, res->event_id, before, before_group, 0, NULL, res);
	if (rc == ROOM_OK && res->stream_pos)
		notify_received(r, rm, ev, res->stream_pos);
out:
	pthread_mutex_unlock(&rm->lock);
	json_decref(before);
	json_decref(ev);
	evcache_free(&c);
	return rc;
}

enum room_rc rooms_adopt(struct rooms *r, const char *version, const char *room_id,
			 const json_t *state, const json_t *event, struct room_result *res)
{
	const struct room_version *rv = room_version_get(version);
	struct evcache c = { r->rs, json_object(), json_object() };
	struct room *rm, *fresh = NULL;
	json_t *before = NULL;
	enum room_rc rc = ROOM_ERROR;

	memset(res, 0, sizeof(*res));
	snprintf(res->room_id, sizeof(res->room_id), "%s", room_id);
	if (!rv || !c.events || !c.rejected || !(before = json_deep_copy(state)) ||
	    event_compute_id(rv, event, res->event_id) < 0)
		goto done;
	if (!(rm = room_get(r, room_id))) {
		if (!(fresh = room_alloc()))
			goto done;
		fresh->rv = rv;
		fresh->room_id = strdup(room_id);
		fresh->ids = json_object();
		fresh->events = json_object();
		if (!fresh->room_id || !fresh->ids || !fresh->events)
			goto done;
		rm = fresh;
	}
	pthread_mutex_lock(&rm->lock);
	if (rm->rv != rv) {
		room_set_reason(res, "the room is known here with another version", NULL);
		rc = ROOM_BAD_JSON;
	} else if (room_settle_locked(r, rm) < 0) {
		room_set_reason(res, "cannot load the room", NULL);
	} else if (room_store_event_known(r->rs, res->event_id) == 1) {
		rc = ROOM_OK; /* joined already (a repeated join) */
	} else {
		rc = receive_accept(r, rm, &c, event, res->event_id, before, 0, 1, fresh ? rv->id : NULL, res);
	}
	if (rc == ROOM_OK && fresh) {
		/* Published only now: a failed adoption leaves nothing behind. */
		unsigned h = room_hash(room_id);
		struct room *other;
		pthread_mutex_lock(&r->lock);
		for (other = r->buckets[h]; other && strcmp(other->room_id, room_id) != 0; other = other->next)
			;
		if (!other) {
			fresh->next = r->buckets[h];
			r->buckets[h] = fresh;
			fresh = NULL;
		}
		pthread_mutex_unlock(&r->lock);
	}
	if (rc == ROOM_OK && res->stream_pos)
		notify_received(r, rm, event, res->stream_pos);
	pthread_mutex_unlock(&rm->lock);
done:
	if (fresh)
		room_free(fresh);
	json_decref(before);
	evcache_free(&c);
	return rc;
}

enum room_rc rooms_remote_invite(struct rooms *r, const char *version, const char *room_id,
				 const json_t *event, const json_t *stripped, struct room_result *res)
{
	const struct room_version *rv = room_version_get(version);
	const char *target = event_state_key(event);
	struct room_state_set cur;
	struct room_append a;
	struct room *rm;
	json_t *copy = NULL, *uns;
	char *json = NULL;
	const char *users[1];
	int64_t pos, group;
	size_t len;
	enum room_rc rc = ROOM_ERROR;

	memset(res, 0, sizeof(*res));
	snprintf(res->room_id, sizeof(res->room_id), "%s", room_id);
	if (!rv || !target || !event_membership(event) || event_compute_id(rv, event, res->event_id) < 0)
		return ROOM_BAD_JSON;
	rm = room_get(r, room_id);
	if (rm && rooms_server_joined(r, room_id))
		return ROOM_OK; /* a room we are in: the invite comes through /send too */
	if (room_store_event_known(r->rs, res->event_id) == 1)
		return ROOM_OK;
	if (!(copy = json_deep_copy(event)))
		return ROOM_ERROR;
	uns = json_object_get(copy, "unsigned");
	if (!json_is_object(uns)) {
		uns = json_object();
		json_object_set_new(copy, "unsigned", uns);
	}
	json_object_set_new(uns, "invite_room_state", json_is_array(stripped) ? json_deep_copy(stripped) : json_array());
	if (!(json = canonjson_dumps(copy, &len, rv->strict_canonical_json ? 0 : CANONJSON_LAX)))
		goto out;
	/* Kept in the timeline table so the invitee's /sync finds it by
	 * position; with no rooms row, nothing else reads that room. */
	cur = (struct room_state_set){ "m.room.member", target, res->event_id, event_membership(event) };
	memset(&a, 0, sizeof(a));
	a.event_id = res->event_id;
	a.room_id = room_id;
	a.type = "m.room.member";
	a.state_key = target;
	a.sender = event_sender(event);
	a.origin_server_ts = json_integer_value(json_object_get(event, "origin_server_ts"));
	a.depth = json_integer_value(json_object_get(event, "depth"));
	a.json = json;
	a.membership = cur.membership;
	a.explicit_current = 1;
	a.cur = &cur;
	a.ncur = 1;
	/* A room this server knows but has left: its cache is kept in step
	 * (the member entry only; the room's own history stays as it was). */
	if (rm) {
		pthread_mutex_lock(&rm->lock);
		if (room_settle_locked(r, rm) < 0) {
			pthread_mutex_unlock(&rm->lock);
			room_set_reason(res, "cannot load the room", NULL);
			goto out;
		}
		a.state_before = rm->group;
	}
	if (room_store_append(r->rs, &a, &pos, &group) != STORE_OK) {
		if (rm)
			pthread_mutex_unlock(&rm->lock);
		room_set_reason(res, "cannot store the invite", NULL);
		goto out;
	}
	if (rm) {
		char key[2 * EVENT_MAX_ID_BYTES + 4];
		if (state_map_set(rm->ids, "m.room.member", target, res->event_id) == 0 &&
		    room_state_key_buf(key, sizeof(key), "m.room.member", target) == 0)
			json_object_set(rm->events, key, copy);
		room_local_member(r, rm, "m.room.member", target, copy);
		pthread_mutex_unlock(&rm->lock);
	}
	res->stream_pos = pos;
	users[0] = target;
	if (r->listener)
		r->listener(r->listener_arg, pos, users, 1);
	rc = ROOM_OK;
out:
	free(json);
	json_decref(copy);
	return rc;
}
