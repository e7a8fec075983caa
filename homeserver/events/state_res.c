/* State resolution v2; see state_res.h.  Sets of event IDs are jansson
 * objects whose keys are the IDs, which keeps the code short and the
 * lookups hashed. */
#include "homeserver/events/state_res.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/events/auth_rules.h"
#include "homeserver/events/event.h"

struct sr {
	const struct state_res_ctx *ctx;
	const json_t *create; /* the room's create event, for PLs and v12 lookups */
	char *err;
	size_t errlen;
};

static void set_err(struct sr *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct sr *s, const char *fmt, ...)
{
	va_list ap;

	if (s->err && s->errlen) {
		va_start(ap, fmt);
		vsnprintf(s->err, s->errlen, fmt, ap);
		va_end(ap);
	}
}

const char *state_map_get(const json_t *map, const char *type, const char *state_key)
{
	return json_string_value(json_object_get(json_object_get(map, type), state_key));
}

int state_map_set(json_t *map, const char *type, const char *state_key, const char *event_id)
{
	json_t *inner = json_object_get(map, type);

	if (!inner) {
		if (json_object_set_new(map, type, json_object()) < 0)
			return -1;
		inner = json_object_get(map, type);
	}
	return json_object_set_new(inner, state_key, json_string(event_id));
}

static const json_t *get(const struct sr *s, const char *id)
{
	return id ? s->ctx->get_event(s->ctx->arg, id) : NULL;
}

static bool rejected(const struct sr *s, const char *id)
{
	return s->ctx->is_rejected && s->ctx->is_rejected(s->ctx->arg, id) == 1;
}

/* The i-th auth event ID of ev, in either event format. */
static const char *auth_id(const struct sr *s, const json_t *ev, size_t i)
{
	const json_t *item = json_array_get(json_object_get(ev, "auth_events"), i);

	if (s->ctx->rv->event_id == EVENT_ID_V1)
		item = json_array_get(item, 0);
	return json_string_value(item);
}

static size_t n_auth(const json_t *ev)
{
	return json_array_size(json_object_get(ev, "auth_events"));
}

/* Adds the auth chain of id (not id itself) to chain.  Iterative so deep
 * DAGs cannot exhaust the stack. */
static int add_auth_chain(struct sr *s, const char *id, json_t *chain)
{
	json_t *todo = json_array();
	int rc = 0;

	if (!todo || json_array_append_new(todo, json_string(id)) < 0) {
		json_decref(todo);
		return -1;
	}
	while (rc == 0 && json_array_size(todo) > 0) {
		size_t last = json_array_size(todo) - 1;
		const json_t *ev = get(s, json_string_value(json_array_get(todo, last)));
		json_array_remove(todo, last);
		for (size_t i = 0; ev && i < n_auth(ev); i++) {
			const char *a = auth_id(s, ev, i);
			if (!a || json_object_get(chain, a))
				continue;
			if (json_object_size(chain) >= STATE_RES_MAX_EVENTS) {
				set_err(s, "auth chain larger than %d events", STATE_RES_MAX_EVENTS);
				rc = -1;
			} else if (json_object_set_new(chain, a, json_true()) < 0 ||
				   json_array_append_new(todo, json_string(a)) < 0) {
				rc = -1;
			}
		}
	}
	json_decref(todo);
	return rc;
}

static bool is_power_event(const json_t *ev)
{
	const char *type = event_type(ev), *sk = event_state_key(ev), *m;

	if (!type || !sk)
		return false;
	if ((strcmp(type, "m.room.power_levels") == 0 || strcmp(type, "m.room.join_rules") == 0) && sk[0] == '\0')
		return true;
	if (strcmp(type, "m.room.member") != 0)
		return false;
	m = event_membership(ev);
	return m && (strcmp(m, "leave") == 0 || strcmp(m, "ban") == 0) &&
	       !(event_sender(ev) && strcmp(event_sender(ev), sk) == 0);
}

/* ---- ordering ---- */

struct item {
	const char *id;
	const json_t *ev;
	int64_t pl;       /* sender's power level from its auth events */
	long mainline;    /* mainline position (LONG_MAX for "infinity") */
	int64_t ts;
	bool done;
};

static int64_t sender_pl(const struct sr *s, const json_t *ev)
{
	const json_t *evs[2];
	struct auth_list l = { evs, 0 };
	struct auth_state st = { auth_list_lookup, NULL, &l };

	for (size_t i = 0; i < n_auth(ev); i++) {
		const json_t *a = get(s, auth_id(s, ev, i));
		const char *t = event_type(a);
		if (t && (strcmp(t, "m.room.power_levels") == 0 || strcmp(t, "m.room.create") == 0) &&
		    event_state_key(a) && event_state_key(a)[0] == '\0' && l.n < 2)
			evs[l.n++] = a;
	}
	/* v12 events do not cite the create event; creators come from the room's. */
	if (!auth_list_lookup(&l, "m.room.create", "") && s->create && l.n < 2)
		evs[l.n++] = s->create;
	return auth_user_power_level(s->ctx->rv, &st, event_sender(ev));
}

static int64_t ts_of(const json_t *ev)
{
	return json_integer_value(json_object_get(ev, "origin_server_ts"));
}

/* Reverse topological power ordering: "a before b". */
static bool power_before(const struct item *a, const struct item *b)
{
	if (a->pl != b->pl)
		return a->pl > b->pl;
	if (a->ts != b->ts)
		return a->ts < b->ts;
	return strcmp(a->id, b->id) < 0;
}

static bool mainline_before(const struct item *a, const struct item *b)
{
	if (a->mainline != b->mainline)
		return a->mainline > b->mainline;
	if (a->ts != b->ts)
		return a->ts < b->ts;
	return strcmp(a->id, b->id) < 0;
}

static int cmp_mainline(const void *x, const void *y)
{
	const struct item *a = x, *b = y;

	return mainline_before(a, b) ? -1 : mainline_before(b, a) ? 1 : 0;
}

/* Kahn's algorithm over the auth edges inside items, taking the smallest
 * ready event each step.  Quadratic, which is fine for the sizes of
 * conflicted sets; reorders items in place. */
static int sort_power(struct sr *s, struct item *items, size_t n)
{
	struct item *out = malloc((n ? n : 1) * sizeof(*out));
	json_t *index = json_object(), *placed = json_object();
	int rc = 0;

	if (!out || !index || !placed) {
		rc = -1;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		json_object_set_new(index, items[i].id, json_true());
	for (size_t k = 0; k < n; k++) {
		struct item *best = NULL;
		for (size_t i = 0; i < n; i++) {
			bool ready = !items[i].done;
			for (size_t a = 0; ready && a < n_auth(items[i].ev); a++) {
				const char *aid = auth_id(s, items[i].ev, a);
				ready = !aid || !json_object_get(index, aid) || json_object_get(placed, aid);
			}
			if (ready && (!best || power_before(&items[i], best)))
				best = &items[i];
		}
		if (!best) {
			set_err(s, "auth events form a cycle");
			rc = -1;
			goto done;
		}
		best->done = true;
		json_object_set_new(placed, best->id, json_true());
		out[k] = *best;
	}
	memcpy(items, out, n * sizeof(*out));
done:
	free(out);
	json_decref(index);
	json_decref(placed);
	return rc;
}

/* The power levels event cited by ev's auth events, or NULL. */
static const char *pl_parent(const struct sr *s, const json_t *ev)
{
	for (size_t i = 0; ev && i < n_auth(ev); i++) {
		const char *id = auth_id(s, ev, i);
		const json_t *a = get(s, id);
		if (a && event_type(a) && strcmp(event_type(a), "m.room.power_levels") == 0 &&
		    event_state_key(a) && event_state_key(a)[0] == '\0')
			return id;
	}
	return NULL;
}

/* ---- iterative auth checks ---- */

struct check_state {
	const struct sr *s;
	const json_t *partial;
	const json_t *ev;
};

static const json_t *iter_lookup(void *arg, const char *type, const char *sk)
{
	struct check_state *cs = arg;
	const char *id = state_map_get(cs->partial, type, sk);
	const json_t *found;

	if (id && (found = get(cs->s, id)))
		return found;
	for (size_t i = 0; i < n_auth(cs->ev); i++) {
		const char *aid = auth_id(cs->s, cs->ev, i);
		const json_t *a = get(cs->s, aid);
		if (a && !rejected(cs->s, aid) && event_type(a) && event_state_key(a) &&
		    strcmp(event_type(a), type) == 0 && strcmp(event_state_key(a), sk) == 0)
			return a;
	}
	if (strcmp(type, "m.room.create") == 0 && sk[0] == '\0')
		return cs->s->create;
	return NULL;
}

static int signed_by_cb(void *arg, const json_t *ev, const char *server)
{
	struct check_state *cs = arg;

	return cs->s->ctx->signed_by(cs->s->ctx->arg, ev, server);
}

static int iterative_auth(struct sr *s, json_t *partial, const struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct check_state cs = { s, partial, items[i].ev };
		struct auth_state st = { iter_lookup, s->ctx->signed_by ? signed_by_cb : NULL, &cs };
		const char *type = event_type(items[i].ev), *sk = event_state_key(items[i].ev);

		if (!type || !sk)
			continue;
		if (auth_check(s->ctx->rv, items[i].ev, &st, NULL, 0) == AUTH_ALLOW &&
		    state_map_set(partial, type, sk, items[i].id) < 0)
			return -1;
	}
	return 0;
}

/* ---- conflicted state subgraph (v12) ---- */

/* Adds to full every event on an auth path between two conflicted events:
 * those reachable from a conflicted event that can also reach one. */
static int add_conflicted_subgraph(struct sr *s, const json_t *conflicted, json_t *full)
{
	json_t *reach = json_object(), *good = json_object();
	const char *id;
	json_t *v;
	int rc = 0;
	bool changed = true;

	if (!reach || !good) {
		rc = -1;
		goto done;
	}
	json_object_foreach((json_t *)conflicted, id, v) {
		json_object_set_new(reach, id, json_true());
		if (add_auth_chain(s, id, reach) < 0) {
			rc = -1;
			goto done;
		}
		json_object_set_new(good, id, json_true());
	}
	/* Fixpoint: an event is good when one of its auth events is good. */
	while (changed) {
		changed = false;
		json_object_foreach(reach, id, v) {
			const json_t *ev;
			if (json_object_get(good, id) || !(ev = get(s, id)))
				continue;
			for (size_t i = 0; i < n_auth(ev); i++) {
				const char *a = auth_id(s, ev, i);
				if (a && json_object_get(good, a)) {
					json_object_set_new(good, id, json_true());
					changed = true;
					break;
				}
			}
		}
	}
	json_object_foreach(good, id, v)
		if (json_object_set_new(full, id, json_true()) < 0)
			rc = -1;
done:
	json_decref(reach);
	json_decref(good);
	return rc;
}

/* ---- the algorithm ---- */

json_t *state_res_resolve(const struct state_res_ctx *ctx, const json_t *const *state_sets, size_t n,
			  char *err, size_t errlen)
{
	struct sr s = { ctx, NULL, err, errlen };
	json_t *unconflicted = json_object(), *conflicted = json_object(), *full = json_object();
	json_t *chains = json_array(), *result = NULL, *partial = NULL;
	json_t *power_set = NULL, *mainline = NULL;
	struct item *power = NULL, *rest = NULL;
	size_t npower = 0, nrest = 0;
	const char *type, *sk, *id;
	json_t *inner, *v;
	long depth = 0;

	if (!ctx || !ctx->rv || !ctx->get_event || ctx->rv->state_res != 2) {
		set_err(&s, "state resolution v2 does not apply");
		goto out;
	}
	if (!unconflicted || !conflicted || !full || !chains)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (!json_is_object(state_sets[i])) {
			set_err(&s, "state set %zu is not an object", i);
			goto out;
		}

	/* 1. Unconflicted map and conflicted set. */
	for (size_t i = 0; i < n; i++) {
		json_object_foreach((json_t *)state_sets[i], type, inner) {
			json_object_foreach(inner, sk, v) {
				const char *first = state_map_get(state_sets[0], type, sk);
				bool same = json_is_string(v) && first;
				if (state_map_get(unconflicted, type, sk))
					continue;
				for (size_t j = 0; same && j < n; j++) {
					const char *o = state_map_get(state_sets[j], type, sk);
					same = o && strcmp(o, first) == 0;
				}
				if (same) {
					if (state_map_set(unconflicted, type, sk, first) < 0)
						goto oom;
				} else if (json_is_string(v) && json_object_set_new(conflicted, json_string_value(v), json_true()) < 0) {
					goto oom;
				}
			}
		}
	}
	for (size_t i = 0; i < n && !s.create; i++)
		s.create = get(&s, state_map_get(state_sets[i], "m.room.create", ""));

	/* 2. Full conflicted set: conflicted, auth difference, (v12) subgraph. */
	json_object_foreach(conflicted, id, v)
		json_object_set_new(full, id, json_true());
	for (size_t i = 0; i < n; i++) {
		json_t *chain = json_object();
		if (!chain || json_array_append_new(chains, chain) < 0)
			goto oom;
		json_object_foreach((json_t *)state_sets[i], type, inner) {
			json_object_foreach(inner, sk, v) {
				if (json_is_string(v) && add_auth_chain(&s, json_string_value(v), chain) < 0)
					goto out;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		json_object_foreach(json_array_get(chains, i), id, v) {
			bool everywhere = true;
			for (size_t j = 0; everywhere && j < n; j++)
				everywhere = json_object_get(json_array_get(chains, j), id) != NULL;
			if (!everywhere && json_object_set_new(full, id, json_true()) < 0)
				goto oom;
		}
	}
	if (ctx->rv->state_res_v12 && add_conflicted_subgraph(&s, conflicted, full) < 0)
		goto out;

	/* 3. Power events and their auth chains within the full set. */
	if (!(power_set = json_object()))
		goto oom;
	json_object_foreach(full, id, v) {
		const json_t *ev = get(&s, id);
		if (!ev || !is_power_event(ev))
			continue;
		json_t *chain = json_object();
		json_object_set_new(power_set, id, json_true());
		if (!chain || add_auth_chain(&s, id, chain) < 0) {
			json_decref(chain);
			goto out;
		}
		const char *cid;
		json_t *cv;
		json_object_foreach(chain, cid, cv)
			if (json_object_get(full, cid) && get(&s, cid))
				json_object_set_new(power_set, cid, json_true());
		json_decref(chain);
	}
	power = calloc(json_object_size(power_set) + 1, sizeof(*power));
	rest = calloc(json_object_size(full) + 1, sizeof(*rest));
	if (!power || !rest)
		goto oom;
	json_object_foreach(full, id, v) {
		const json_t *ev = get(&s, id);
		if (!ev)
			continue;
		struct item it = { id, ev, 0, 0, ts_of(ev), false };
		if (json_object_get(power_set, id)) {
			it.pl = sender_pl(&s, ev);
			power[npower++] = it;
		} else {
			rest[nrest++] = it;
		}
	}
	if (sort_power(&s, power, npower) < 0)
		goto out;

	/* 4. Iterative auth checks over the power events. */
	partial = ctx->rv->state_res_v12 ? json_object() : json_deep_copy(unconflicted);
	if (!partial || iterative_auth(&s, partial, power, npower) < 0)
		goto oom;

	/* 5. The rest by mainline order of the resolved power levels. */
	if (!(mainline = json_object()))
		goto oom;
	for (const char *p = state_map_get(partial, "m.room.power_levels", ""); p && depth < STATE_RES_MAX_EVENTS;
	     p = pl_parent(&s, get(&s, p))) {
		if (json_object_get(mainline, p))
			break; /* a cycle: stop rather than loop */
		json_object_set_new(mainline, p, json_integer(depth++));
	}
	for (size_t i = 0; i < nrest; i++) {
		const char *p = pl_parent(&s, rest[i].ev);
		long steps = 0;
		rest[i].mainline = 0x7fffffffL;
		for (; p && steps < depth + 1000; p = pl_parent(&s, get(&s, p)), steps++) {
			json_t *pos = json_object_get(mainline, p);
			if (pos) {
				rest[i].mainline = (long)json_integer_value(pos);
				break;
			}
		}
	}
	qsort(rest, nrest, sizeof(*rest), cmp_mainline);
	if (iterative_auth(&s, partial, rest, nrest) < 0)
		goto oom;

	/* 6. The unconflicted map wins. */
	json_object_foreach(unconflicted, type, inner) {
		json_object_foreach(inner, sk, v) {
			if (state_map_set(partial, type, sk, json_string_value(v)) < 0)
				goto oom;
		}
	}
	result = partial;
	partial = NULL;
	goto out;
oom:
	set_err(&s, "out of memory");
out:
	json_decref(power_set);
	json_decref(mainline);
	free(power);
	free(rest);
	json_decref(partial);
	json_decref(unconflicted);
	json_decref(conflicted);
	json_decref(full);
	json_decref(chains);
	return result;
}
