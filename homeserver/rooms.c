/* Rooms: the event-creation pipeline and the per-room cache.  See rooms.h. */
#include "homeserver/rooms.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/base64.h"
#include "common/canonjson.h"
#include "common/crypto.h"
#include "common/log.h"
#include "homeserver/events/auth_rules.h"
#include "homeserver/events/event_sign.h"
#include "homeserver/events/state_res.h"

#include "homeserver/presence_timeout.h"
#include "homeserver/rooms_int.h"
#include "homeserver/vis_cache.h"

static int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int64_t rooms_now_ms(void)
{
	return now_ms();
}

unsigned room_hash(const char *s)
{
	unsigned h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % NBUCKETS;
}

struct rooms *rooms_new(struct room_store *rs, const char *server_name,
			const struct scop_ed25519 *key)
{
	struct rooms *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->rs = rs;
	if (!(r->server_name = strdup(server_name))) {
		free(r);
		return NULL;
	}
	r->key = *key;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->xlock, NULL);
	pthread_mutex_init(&r->plock, NULL);
	pthread_mutex_init(&r->llock, NULL);
	r->vis_cache = vis_cache_new(); /* (without it, every request reads) */
	return r;
}

/* An empty room with its locks; NULL when out of memory. */
struct room *room_alloc(void)
{
	struct room *rm = calloc(1, sizeof(*rm));
	if (rm) {
		pthread_mutex_init(&rm->lock, NULL);
		pthread_cond_init(&rm->drained, NULL);
	}
	return rm;
}

void room_free(struct room *rm)
{
	free(rm->room_id);
	json_decref(rm->ids);
	json_decref(rm->events);
	json_decref(rm->typing);
	json_decref(rm->local);
	for (size_t i = 0; i < rm->nextrem; i++)
		free(rm->extrem[i]);
	free(rm->extrem);
	pthread_mutex_destroy(&rm->lock);
	pthread_cond_destroy(&rm->drained);
	free(rm);
}

void rooms_free(struct rooms *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		while (r->buckets[i]) {
			struct room *rm = r->buckets[i];
			r->buckets[i] = rm->next;
			room_free(rm);
		}
	scop_ed25519_clear(&r->key);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->xlock);
	pthread_mutex_destroy(&r->plock);
	json_decref(r->presence);
	pthread_mutex_destroy(&r->llock);
	json_decref(r->lazy_sent);
	vis_cache_free(r->vis_cache);
	free(r->server_name);
	free(r);
}

void rooms_set_listener(struct rooms *r, rooms_listener_fn fn, void *arg)
{
	r->listener = fn;
	r->listener_arg = arg;
}

void rooms_set_xlistener(struct rooms *r, rooms_xlistener_fn fn, void *arg)
{
	r->xlistener = fn;
	r->xlistener_arg = arg;
}

void rooms_set_outbound(struct rooms *r, rooms_outbound_fn fn, void *arg)
{
	r->outbound = fn;
	r->outbound_arg = arg;
}

void rooms_set_invite_hook(struct rooms *r, rooms_invite_fn fn, void *arg)
{
	r->invite = fn;
	r->invite_arg = arg;
}

struct room_store *rooms_store(struct rooms *r)
{
	return r->rs;
}

const char *rooms_server_name(const struct rooms *r)
{
	return r->server_name;
}

/* ---- the cache -------------------------------------------------------- */

int room_state_key_buf(char *out, size_t n, const char *type, const char *sk)
{
	int len = snprintf(out, n, "%s\x1f%s", type, sk);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

const json_t *room_cache_lookup(void *arg, const char *type, const char *sk)
{
	struct room *rm = arg;
	char key[2 * EVENT_MAX_ID_BYTES + 4];
	if (room_state_key_buf(key, sizeof(key), type, sk) < 0)
		return NULL;
	return json_object_get(rm->events, key);
}

static json_t *load_pdu(struct rooms *r, const char *event_id)
{
	struct room_event e;
	json_t *ev = NULL;
	if (room_store_event_get(r->rs, event_id, &e) == STORE_OK) {
		ev = json_loads(e.json, JSON_ALLOW_NUL, NULL);
		room_event_clear(&e);
	}
	return ev;
}

static const char *user_domain(const char *user);

/* Keeps rm->local in step with a new current member event. */
void room_local_member(struct rooms *r, struct room *rm, const char *type, const char *sk, const json_t *ev)
{
	const char *dom, *m;
	if (strcmp(type, "m.room.member") != 0 || !(dom = user_domain(sk)) || strcmp(dom, r->server_name) != 0)
		return;
	if (!rm->local && !(rm->local = json_object()))
		return;
	m = ev ? event_membership(ev) : NULL;
	if (m && (strcmp(m, "join") == 0 || strcmp(m, "invite") == 0))
		json_object_set_new(rm->local, sk, json_true());
	else
		json_object_del(rm->local, sk);
}

static struct room *room_load(struct rooms *r, const char *room_id)
{
	struct room *rm;
	struct room_head h;
	char *version = NULL;
	const char *type, *sk;
	json_t *m, *eid;

	if (room_store_room(r->rs, room_id, &version, NULL) != STORE_OK)
		return NULL;
	rm = room_alloc();
	if (!rm) {
		free(version);
		return NULL;
	}
	rm->rv = room_version_get(version);
	free(version);
	rm->room_id = strdup(room_id);
	rm->events = json_object();
	if (!rm->rv || !rm->room_id || !rm->events ||
	    room_store_head(r->rs, room_id, &h) != STORE_OK) {
		room_free(rm);
		return NULL;
	}
	rm->ids = h.state;
	h.state = NULL;
	rm->extrem = h.extremities;
	rm->nextrem = h.nextrem;
	h.extremities = NULL;
	h.nextrem = 0;
	rm->depth = h.depth;
	rm->group = h.state_group;
	room_head_clear(&h);
	json_object_foreach(rm->ids, type, m) {
		json_object_foreach(m, sk, eid) {
			char key[2 * EVENT_MAX_ID_BYTES + 4];
			json_t *ev = load_pdu(r, json_string_value(eid));
			if (!ev || room_state_key_buf(key, sizeof(key), type, sk) < 0 ||
			    json_object_set_new(rm->events, key, ev) < 0) {
				room_free(rm);
				return NULL;
			}
			room_local_member(r, rm, type, sk, ev);
		}
	}
	return rm;
}

/* The cached room, loaded on first use; NULL when it does not exist.
 * Rooms stay cached for the life of the process. */
struct room *room_get(struct rooms *r, const char *room_id)
{
	unsigned h = room_hash(room_id);
	struct room *rm, *loaded;

	pthread_mutex_lock(&r->lock);
	for (rm = r->buckets[h]; rm; rm = rm->next)
		if (strcmp(rm->room_id, room_id) == 0)
			break;
	pthread_mutex_unlock(&r->lock);
	if (rm)
		return rm;
	if (!(loaded = room_load(r, room_id)))
		return NULL;
	pthread_mutex_lock(&r->lock);
	for (rm = r->buckets[h]; rm; rm = rm->next)
		if (strcmp(rm->room_id, room_id) == 0)
			break;
	if (!rm) {
		loaded->next = r->buckets[h];
		r->buckets[h] = loaded;
		rm = loaded;
		loaded = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	if (loaded)
		room_free(loaded);
	return rm;
}

/* ---- the pipeline ----------------------------------------------------- */

void room_set_reason(struct room_result *res, const char *fmt, const char *arg)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	/* fmt is always a literal with at most one %s. */
	snprintf(res->reason, sizeof(res->reason), fmt, arg ? arg : "");
#pragma GCC diagnostic pop
}

/* Users to wake for an event: joined and invited members, and the target. */
static size_t wake_list(struct room *rm, const char *target, const char ***out)
{
	size_t n = 0, cap = json_object_size(rm->local) + 1;
	const char **users = calloc(cap, sizeof(*users));
	const char *uid;
	json_t *v;

	*out = users;
	if (!users)
		return 0;
	/* Only users of this server: nobody else syncs here. */
	json_object_foreach(rm->local, uid, v) {
		(void)v;
		users[n++] = uid;
	}
	if (target && !json_object_get(rm->local, target))
		users[n++] = target;
	return n;
}

static const char *user_domain(const char *user)
{
	const char *c = user ? strchr(user, ':') : NULL;
	return c ? c + 1 : NULL;
}

/* Hands a new local event to the federation hook: the servers with a
 * joined member in the current state (before the event), and target's. */
static void send_out(struct rooms *r, struct room *rm, const json_t *ev, const char *target)
{
	json_t *members = json_object_get(rm->ids, "m.room.member"), *v, *seen;
	const char **servers;
	const char *uid, *dom;
	size_t n = 0;

	if (!r->outbound)
		return;
	servers = calloc(json_object_size(members) + 1, sizeof(*servers));
	seen = json_object();
	if (!servers || !seen)
		goto out;
	json_object_foreach(members, uid, v) {
		const json_t *mev = room_cache_lookup(rm, "m.room.member", uid);
		const char *m = mev ? event_membership(mev) : NULL;
		(void)v;
		if (!m || strcmp(m, "join") != 0 || !(dom = user_domain(uid)) ||
		    strcmp(dom, r->server_name) == 0 || json_object_get(seen, dom))
			continue;
		json_object_set_new(seen, dom, json_true());
		servers[n++] = dom;
	}
	if (target && (dom = user_domain(target)) && strcmp(dom, r->server_name) != 0 &&
	    !json_object_get(seen, dom))
		servers[n++] = dom;
	if (n)
		r->outbound(r->outbound_arg, ev, servers, n);
out:
	free(servers);
	json_decref(seen);
}

static const char *const stripped_types[] = {
	"m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
	"m.room.canonical_alias", "m.room.encryption", "m.room.topic",
};

/* Stripped state of rm (locked): the types above and viewer's member
 * event (viewer NULL: none). */
static json_t *stripped_locked(struct room *rm, const char *viewer)
{
	size_t nt = sizeof(stripped_types) / sizeof(stripped_types[0]);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i <= nt; i++) {
		int member = i == nt;
		const json_t *ev;
		if (member && !viewer)
			break;
		ev = room_cache_lookup(rm, member ? "m.room.member" : stripped_types[i], member ? viewer : "");
		if (ev)
			json_array_append_new(arr, json_pack("{s:O?,s:O?,s:O?,s:O?}",
				"type", json_object_get(ev, "type"),
				"state_key", json_object_get(ev, "state_key"),
				"content", json_object_get(ev, "content"),
				"sender", json_object_get(ev, "sender")));
	}
	return arr;
}

/* An invite of a user of another server must carry that server's
 * signature before it is stored: the invite hook gets it. */
static enum room_rc remote_invite_sign(struct rooms *r, struct room *rm, const struct room_send *s,
				       json_t **ev, struct room_result *res)
{
	const char *m = event_membership(*ev), *dom = user_domain(s->state_key);
	char why[200] = "", before[EVENT_ID_BUF], after[EVENT_ID_BUF];
	json_t *stripped;
	int rc;

	if (strcmp(s->type, "m.room.member") != 0 || !m || strcmp(m, "invite") != 0 || !dom ||
	    strcmp(dom, r->server_name) == 0 || !r->invite)
		return ROOM_OK;
	stripped = stripped_locked(rm, NULL);
	if (event_compute_id(rm->rv, *ev, before) < 0)
		return ROOM_ERROR;
	rc = r->invite(r->invite_arg, rm->rv, ev, stripped, why, sizeof(why));
	json_decref(stripped);
	if (rc < 0) {
		room_set_reason(res, "the invitee's server refused the invite: %s", why);
		return ROOM_FORBIDDEN;
	}
	if (event_compute_id(rm->rv, *ev, after) < 0 || strcmp(before, after) != 0) {
		room_set_reason(res, "the invitee's server changed the invite", NULL);
		return ROOM_FORBIDDEN;
	}
	return ROOM_OK;
}

/* Room versions 1 and 2: an event is named "$opaque:server" by the server
 * that makes it, and cites its prev and auth events as [event_id,
 * {"sha256": reference hash}] pairs.  ev was built with plain ID lists
 * (event_new() makes version 3 shapes); the cited events are read from the
 * store.  0, or -1 when one is missing or out of memory. */
static int v1_finish(struct rooms *r, const struct room_version *rv, json_t *ev)
{
	static const char *const lists[] = { "prev_events", "auth_events" };
	char tok[19], id[EVENT_ID_BUF], b64[64];
	unsigned char hash[32];
	int n;

	for (size_t l = 0; l < 2; l++) {
		json_t *ids = json_object_get(ev, lists[l]), *pairs = json_array(), *item;
		size_t i;
		if (!pairs)
			return -1;
		json_array_foreach(ids, i, item) {
			json_t *cited = load_pdu(r, json_string_value(item));
			int ok = cited && event_reference_hash(rv, cited, hash) == 0;
			json_decref(cited);
			if (!ok) {
				json_decref(pairs);
				return -1;
			}
			base64_encode(hash, sizeof(hash), b64, 0);
			if (json_array_append_new(pairs, json_pack("[O,{s:s}]", item, "sha256", b64)) < 0) {
				json_decref(pairs);
				return -1;
			}
		}
		if (json_object_set_new(ev, lists[l], pairs) < 0)
			return -1;
	}
	if (scop_random_token(tok, sizeof(tok) - 1) < 0)
		return -1;
	n = snprintf(id, sizeof(id), "$%s:%s", tok, r->server_name);
	if (n < 0 || (size_t)n >= sizeof(id))
		return -1;
	return json_object_set_new(ev, "event_id", json_string(id));
}

/* An event built for rm, ready to store. */
struct built {
	json_t *ev;
	char *json;
	struct room_append a;     /* prev_events: rm's extremities, borrowed */
};

static void built_clear(struct built *b)
{
	json_decref(b->ev);
	free(b->json);
	memset(b, 0, sizeof(*b));
}

/* Builds, checks and signs one event in rm (locked by the caller) on its
 * cache as it stands; res gets the event's and the room's IDs.  create:
 * rm is not yet in the table and the event is the create event.  dry: no
 * invite is signed by a remote server (see append_locked()). */
static enum room_rc build_locked(struct rooms *r, struct room *rm, const struct room_send *s,
				 struct room_result *res, int dry, struct built *b)
{
	const struct room_version *rv = rm->rv;
	struct auth_state st = { room_cache_lookup, NULL, rm };
	struct auth_key keys[AUTH_MAX_KEYS];
	const char *auth_ids[AUTH_MAX_KEYS];
	size_t nauth = 0, nkeys, nprev;
	json_t *ev = NULL;
	char *json = NULL;
	size_t len = 0;
	int flags = rv->strict_canonical_json ? 0 : CANONJSON_LAX;
	int is_create = strcmp(s->type, "m.room.create") == 0 && s->state_key &&
			!s->state_key[0] && !rm->nextrem;
	struct room_append *a = &b->a;
	enum room_rc rc = ROOM_ERROR;
	char err[200];

	memset(b, 0, sizeof(*b));
	nprev = rm->nextrem > EVENT_MAX_PREV_EVENTS ? EVENT_MAX_PREV_EVENTS : rm->nextrem;
	/* Versions 1 and 2 are built in version 3's shape, then v1_finish(). */
	ev = event_new(rv->event_id == EVENT_ID_V1 ? room_version_get("3") : rv,
		       rv->room_id_is_create_hash && is_create ? NULL : rm->room_id, s->sender,
		       s->type, s->state_key, s->content, (const char *const *)rm->extrem, nprev,
		       NULL, 0, rm->depth + 1, now_ms());
	if (!ev) {
		room_set_reason(res, "cannot build the event", NULL);
		return ROOM_BAD_JSON;
	}
	if (s->redacts) {
		if (rv->redacts_in_content)
			json_object_set_new(json_object_get(ev, "content"), "redacts",
					    json_string(s->redacts));
		else
			json_object_set_new(ev, "redacts", json_string(s->redacts));
	}
	/* auth_events: the selection's events from the current state. */
	nkeys = auth_events_selection(rv, ev, keys);
	for (size_t i = 0; i < nkeys; i++) {
		const json_t *ae = room_cache_lookup(rm, keys[i].type, keys[i].state_key);
		const char *id = ae ? json_string_value(json_object_get(
			json_object_get(rm->ids, keys[i].type), keys[i].state_key)) : NULL;
		size_t k;
		/* The sender's and the target's member event may be one. */
		for (k = 0; id && k < nauth && strcmp(auth_ids[k], id) != 0; k++)
			;
		if (id && k == nauth)
			auth_ids[nauth++] = id;
	}
	{
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < nauth; i++)
			json_array_append_new(arr, json_string(auth_ids[i]));
		if (!arr || json_object_set_new(ev, "auth_events", arr) < 0)
			goto out;
	}
	if (auth_check(rv, ev, &st, err, sizeof(err)) != AUTH_ALLOW) {
		room_set_reason(res, "%s", err);
		rc = ROOM_FORBIDDEN;
		goto out;
	}
	if (rv->event_id == EVENT_ID_V1 && v1_finish(r, rv, ev) < 0) {
		room_set_reason(res, "cannot cite the event's prev and auth events", NULL);
		goto out;
	}
	if (event_hash_and_sign(rv, ev, r->server_name, &r->key) < 0)
		goto out;
	if (!dry && s->state_key && (rc = remote_invite_sign(r, rm, s, &ev, res)) != ROOM_OK)
		goto out;
	rc = ROOM_ERROR;
	if (!(json = canonjson_dumps(ev, &len, flags))) {
		room_set_reason(res, "the event cannot be encoded as canonical JSON", NULL);
		rc = ROOM_BAD_JSON;
		goto out;
	}
	if (len > EVENT_MAX_BYTES) {
		room_set_reason(res, "event too large", NULL);
		rc = ROOM_TOO_LARGE;
		goto out;
	}
	if (event_validate(rv, ev, err, sizeof(err)) < 0) {
		room_set_reason(res, "%s", err);
		rc = ROOM_BAD_JSON;
		goto out;
	}
	if (event_compute_id(rv, ev, res->event_id) < 0)
		goto out;
	if (is_create && rv->room_id_is_create_hash) {
		if (event_create_room_id(rv, ev, res->room_id) < 0)
			goto out;
		free(rm->room_id);
		if (!(rm->room_id = strdup(res->room_id)))
			goto out;
	} else {
		snprintf(res->room_id, sizeof(res->room_id), "%s", rm->room_id);
	}
	a->event_id = res->event_id;
	a->room_id = rm->room_id;
	a->type = s->type;
	a->state_key = s->state_key;
	a->sender = s->sender;
	a->origin_server_ts = json_integer_value(json_object_get(ev, "origin_server_ts"));
	a->depth = rm->depth + 1;
	a->json = json;
	a->prev_events = (const char *const *)rm->extrem;
	a->nprev = rm->nextrem;
	a->state_before = rm->group;
	a->state_change = s->state_key != NULL; /* the store keeps it as a delta */
	a->membership = strcmp(s->type, "m.room.member") == 0 ? event_membership(ev) : NULL;
	a->redacts = s->redacts;
	a->device_id = s->device_id;
	a->txn_id = s->txn_id;
	a->room_version = is_create ? rv->id : NULL;
	b->ev = ev;
	b->json = json;
	return ROOM_OK;
out:
	json_decref(ev);
	free(json);
	return rc;
}

/* Moves rm's cache (locked) past event_id, whose event ev was built on it
 * by build_locked(); group: the state group in force after it. */
static void cache_apply(struct rooms *r, struct room *rm, const struct room_send *s,
			const char *event_id, json_t *ev, int64_t group)
{
	char **one = calloc(1, sizeof(char *));
	char *id = strdup(event_id);

	if (!one || !id) {
		free(one);
		free(id);
		log_error("rooms: out of memory updating the cache of %s", rm->room_id);
	} else {
		for (size_t i = 0; i < rm->nextrem; i++)
			free(rm->extrem[i]);
		free(rm->extrem);
		one[0] = id;
		rm->extrem = one;
		rm->nextrem = 1;
	}
	rm->depth++;
	rm->group = group;
	if (s->state_key) {
		char key[2 * EVENT_MAX_ID_BYTES + 4];
		if (state_map_set(rm->ids, s->type, s->state_key, event_id) < 0)
			log_error("rooms: out of memory updating the cache of %s", rm->room_id);
		if (room_state_key_buf(key, sizeof(key), s->type, s->state_key) == 0)
			json_object_set(rm->events, key, ev);
		room_local_member(r, rm, s->type, s->state_key, ev);
	}
	if (s->redacts) {
		/* A redacted state event stays in the state in its redacted form. */
		const char *tk;
		json_t *cur;
		json_object_foreach(rm->events, tk, cur) {
			char cid[EVENT_ID_BUF];
			if (event_compute_id(rm->rv, cur, cid) == 0 && strcmp(cid, s->redacts) == 0) {
				json_t *red = event_redact(rm->rv, cur);
				if (red)
					json_object_set_new(rm->events, tk, red);
				break;
			}
		}
	}
}

/* Builds, checks, signs and stores one event in rm (locked by the caller),
 * then updates the cache; nothing of the room may be in flight (see
 * room_settle_locked()).  dry: everything but storing (the cache of rm is still
 * updated), so a throw-away room can try a sequence of events first. */
static enum room_rc append_locked(struct rooms *r, struct room *rm, const struct room_send *s,
				  struct room_result *res, int dry)
{
	struct built b;
	char *stored_txn = NULL;
	int64_t pos = 0, group = rm->group;
	enum room_rc rc;

	if (!dry && s->txn_id && s->device_id &&
	    room_store_txn_get(r->rs, s->sender, s->device_id, s->txn_id, &stored_txn) == STORE_OK) {
		snprintf(res->event_id, sizeof(res->event_id), "%s", stored_txn);
		free(stored_txn);
		return ROOM_OK;
	}
	if ((rc = build_locked(r, rm, s, res, dry, &b)) != ROOM_OK)
		return rc;
	if (!dry && room_store_append(r->rs, &b.a, &pos, &group) != STORE_OK) {
		room_set_reason(res, "cannot store the event", NULL);
		built_clear(&b);
		return ROOM_ERROR;
	}
	res->stream_pos = pos;
	if (!dry)
		send_out(r, rm, b.ev, b.a.membership ? s->state_key : NULL);
	/* Committed: now the cache. */
	cache_apply(r, rm, s, res->event_id, b.ev, group);
	built_clear(&b);
	return ROOM_OK;
}

void room_notify(struct rooms *r, struct room *rm, const char *target, int64_t pos)
{
	const char **users = NULL;
	size_t n;
	if (!r->listener)
		return;
	n = wake_list(rm, target, &users);
	r->listener(r->listener_arg, pos, users, n);
	free(users);
}

/* ---- the message pipeline (see struct room) ---------------------------- */

static void pending_free(struct pending *p)
{
	if (!p)
		return;
	json_decref(p->ev);
	free(p->json);
	for (size_t i = 0; i < p->nprev; i++)
		free(p->prev[i]);
	free(p->prev);
	free(p);
}

/* Takes b's event over, with copies of what the cache will drop. */
static struct pending *pending_new(struct built *b, const char *event_id)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p || (b->a.nprev && !(p->prev = calloc(b->a.nprev, sizeof(char *)))))
		goto fail;
	for (; p->nprev < b->a.nprev; p->nprev++)
		if (!(p->prev[p->nprev] = strdup(b->a.prev_events[p->nprev])))
			goto fail;
	snprintf(p->event_id, sizeof(p->event_id), "%s", event_id);
	p->a = b->a;
	p->a.event_id = p->event_id;
	p->a.prev_events = (const char *const *)p->prev;
	p->ev = b->ev;
	p->json = b->json;
	b->ev = NULL;
	b->json = NULL;
	return p;
fail:
	pending_free(p);
	return NULL;
}

/* Tells the federation hook and the listener of the room's appends that
 * are done, oldest first (commit order), and takes them off pend; their
 * owners free them.  rm locked. */
static void publish_locked(struct rooms *r, struct room *rm)
{
	struct pending *p;
	int64_t last = 0;
	while ((p = rm->pend) && room_store_append_poll(&p->t, &p->rc, &p->pos)) {
		rm->pend = p->next;
		if (!rm->pend)
			rm->pend_tail = NULL;
		p->next = NULL;
		if (p->rc == STORE_OK) {
			send_out(r, rm, p->ev, NULL);
			last = p->pos;
		}
		__atomic_store_n(&p->published, 1, __ATOMIC_RELEASE);
	}
	/* Messages have no target: one wake-up with the newest position
	 * tells the same users of all of them. */
	if (last)
		room_notify(r, rm, NULL, last);
	if (!rm->pend)
		pthread_cond_broadcast(&rm->drained);
}

/* Waits (rm locked) until none of the room's messages is in flight: their
 * owners publish them as they commit. */
static void drain_locked(struct rooms *r, struct room *rm)
{
	publish_locked(r, rm);
	rm->draining++;
	while (rm->pend)
		pthread_cond_wait(&rm->drained, &rm->lock);
	if (--rm->draining == 0)
		pthread_cond_broadcast(&rm->drained);
}

/* Reloads rm's cache (locked, nothing in flight) from the store. */
static int reload_locked(struct rooms *r, struct room *rm)
{
	struct room *fresh = room_load(r, rm->room_id);
	json_t *j;
	char **x;
	size_t n;

	if (!fresh)
		return -1;
	j = rm->ids, rm->ids = fresh->ids, fresh->ids = j;
	j = rm->events, rm->events = fresh->events, fresh->events = j;
	j = rm->local, rm->local = fresh->local, fresh->local = j;
	x = rm->extrem, rm->extrem = fresh->extrem, fresh->extrem = x;
	n = rm->nextrem, rm->nextrem = fresh->nextrem, fresh->nextrem = n;
	rm->depth = fresh->depth;
	rm->group = fresh->group;
	room_free(fresh);
	return 0;
}

/* For a writer that needs the cache to be exactly the store's (rm
 * locked): waits out the messages in flight, and reloads a cache that was
 * built on one that failed.  0, or -1 when the store cannot be read. */
int room_settle_locked(struct rooms *r, struct room *rm)
{
	uint64_t epoch;
	drain_locked(r, rm);
	/* Nothing in flight: the epoch cannot move now. */
	epoch = commit_chain_epoch(&rm->chain);
	if (epoch == rm->epoch)
		return 0;
	log_warn("rooms: an append to %s failed; reloading its cache", rm->room_id);
	if (reload_locked(r, rm) < 0)
		return -1;
	rm->epoch = epoch;
	return 0;
}

/* The same transaction as s still in flight in rm (locked). */
static int txn_in_flight(const struct room *rm, const struct room_send *s)
{
	for (const struct pending *p = rm->pend; p; p = p->next)
		if (p->a.txn_id && p->a.device_id && strcmp(p->a.txn_id, s->txn_id) == 0 &&
		    strcmp(p->a.device_id, s->device_id) == 0 && strcmp(p->a.sender, s->sender) == 0)
			return 1;
	return 0;
}

/* A message event (s has no state_key) in rm, locked on entry and
 * unlocked on return.  Built and submitted under the lock, the cache moved
 * on at once so the room's next event builds on it; committed outside the
 * lock, so concurrent sends to one room share a commit.  Answers once the
 * event is committed (or failed) and published. */
static enum room_rc send_pipelined(struct rooms *r, struct room *rm, const struct room_send *s,
				   struct room_result *res)
{
	struct pending *p;
	struct built b;
	char *stored = NULL;
	int64_t pos, group;
	enum store_rc src;
	enum room_rc rc;
	int txn = s->txn_id && s->device_id;

	while (rm->draining) /* a writer waits for the pipeline to empty */
		pthread_cond_wait(&rm->drained, &rm->lock);
	if (txn && txn_in_flight(rm, s))
		drain_locked(r, rm); /* its fate decides the answer */
	if (commit_chain_epoch(&rm->chain) != rm->epoch && room_settle_locked(r, rm) < 0) {
		room_set_reason(res, "cannot load the room", NULL);
		rc = ROOM_ERROR;
		goto unlock;
	}
	if (txn && room_store_txn_get(r->rs, s->sender, s->device_id, s->txn_id, &stored) == STORE_OK) {
		snprintf(res->event_id, sizeof(res->event_id), "%s", stored);
		free(stored);
		rc = ROOM_OK;
		goto unlock;
	}
	if ((rc = build_locked(r, rm, s, res, 0, &b)) != ROOM_OK)
		goto unlock;
	p = pending_new(&b, res->event_id);
	built_clear(&b);
	if (!p || room_store_append_submit(r->rs, &p->a, &p->t, &rm->chain, rm->epoch) != STORE_OK) {
		pending_free(p);
		room_set_reason(res, "cannot store the event", NULL);
		rc = ROOM_ERROR;
		goto unlock;
	}
	if (rm->pend_tail)
		rm->pend_tail->next = p;
	else
		rm->pend = p;
	rm->pend_tail = p;
	cache_apply(r, rm, s, res->event_id, p->ev, rm->group);
	pthread_mutex_unlock(&rm->lock);

	src = room_store_append_wait(&p->t, &pos, &group);
	/* Every earlier append of the room is done too, so either another
	 * owner published p already (a batch is published by whichever of its
	 * owners gets the lock first), or this publishes it. */
	if (!__atomic_load_n(&p->published, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&rm->lock);
		publish_locked(r, rm);
		pthread_mutex_unlock(&rm->lock);
	}
	if (src == STORE_OK) {
		res->stream_pos = pos;
		rc = ROOM_OK;
	} else if (src == STORE_CONFLICT && txn &&
		   room_store_txn_get(r->rs, s->sender, s->device_id, s->txn_id, &stored) == STORE_OK) {
		/* The same transaction was stored meanwhile, through another room. */
		snprintf(res->event_id, sizeof(res->event_id), "%s", stored);
		free(stored);
		rc = ROOM_OK;
	} else {
		room_set_reason(res, "cannot store the event", NULL);
		rc = ROOM_ERROR;
	}
	pending_free(p);
	return rc;
unlock:
	pthread_mutex_unlock(&rm->lock);
	return rc;
}

enum room_rc rooms_send(struct rooms *r, const struct room_send *s, struct room_result *res)
{
	struct room *rm;
	enum room_rc rc;

	memset(res, 0, sizeof(*res));
	if (!(rm = room_get(r, s->room_id))) {
		room_set_reason(res, "unknown room", NULL);
		return ROOM_NOT_FOUND;
	}
	if (strcmp(s->type, "m.room.create") == 0 && s->state_key) {
		room_set_reason(res, "a room has one create event", NULL);
		return ROOM_FORBIDDEN;
	}
	pthread_mutex_lock(&rm->lock);
	/* State events wait for their commit under the lock: the next event
	 * needs their state group, which the store hands out.  Versions 1 and
	 * 2 cite prev events by reference hashes read from the store. */
	if (!s->state_key && rm->rv->event_id != EVENT_ID_V1)
		return send_pipelined(r, rm, s, res); /* unlocks */
	if (room_settle_locked(r, rm) < 0) {
		room_set_reason(res, "cannot load the room", NULL);
		rc = ROOM_ERROR;
	} else {
		rc = append_locked(r, rm, s, res, 0);
		if (rc == ROOM_OK && res->stream_pos)
			room_notify(r, rm, strcmp(s->type, "m.room.member") == 0 ? s->state_key : NULL,
			       res->stream_pos);
	}
	pthread_mutex_unlock(&rm->lock);
	return rc;
}

/* Creates the room (dry: only tries, in a throw-away room). */
static enum room_rc create_run(struct rooms *r, const char *creator, const struct room_version *rv,
			       const json_t *content, const json_t *initial,
			       struct room_result *res, int dry)
{
	struct room *rm;
	struct room_send s;
	enum room_rc rc;
	char rid[EVENT_ID_BUF], rnd[19];
	size_t i;
	json_t *item;
	unsigned h;

	memset(res, 0, sizeof(*res));
	if (scop_random_token(rnd, 18) < 0 || !(rm = room_alloc()))
		return ROOM_ERROR;
	snprintf(rid, sizeof(rid), "!%s:%s", rnd, r->server_name);
	rm->rv = rv;
	rm->room_id = strdup(rid);
	rm->ids = json_object();
	rm->events = json_object();
	if (!rm->room_id || !rm->ids || !rm->events) {
		room_free(rm);
		return ROOM_ERROR;
	}
	memset(&s, 0, sizeof(s));
	s.room_id = rid;
	s.sender = creator;
	s.type = "m.room.create";
	s.state_key = "";
	s.content = content;
	/* Nobody else can know the room yet: no need for its lock here. */
	if ((rc = append_locked(r, rm, &s, res, dry)) != ROOM_OK) {
		room_free(rm);
		return rc;
	}
	snprintf(rid, sizeof(rid), "%s", res->room_id);
	if (!dry) {
		h = room_hash(rm->room_id);
		pthread_mutex_lock(&r->lock);
		rm->next = r->buckets[h];
		r->buckets[h] = rm;
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_lock(&rm->lock);
	json_array_foreach(initial, i, item) {
		struct room_result one;
		const char *sender = json_string_value(json_object_get(item, "sender"));
		memset(&s, 0, sizeof(s));
		memset(&one, 0, sizeof(one));
		s.room_id = rid;
		s.sender = sender ? sender : creator;
		s.type = json_string_value(json_object_get(item, "type"));
		s.state_key = json_string_value(json_object_get(item, "state_key"));
		s.content = json_object_get(item, "content");
		if (!s.type || !json_is_object(s.content)) {
			rc = ROOM_BAD_JSON;
			room_set_reason(res, "initial_state entries need a type and a content object", NULL);
			break;
		}
		rc = append_locked(r, rm, &s, &one, dry);
		if (rc != ROOM_OK) {
			snprintf(res->reason, sizeof(res->reason), "%.60s: %.190s", s.type, one.reason);
			break;
		}
		res->stream_pos = one.stream_pos;
	}
	if (res->stream_pos)
		room_notify(r, rm, NULL, res->stream_pos);
	pthread_mutex_unlock(&rm->lock);
	if (dry)
		room_free(rm);
	return rc;
}

enum room_rc rooms_create(struct rooms *r, const char *creator, const char *version,
			  const json_t *create_content, const json_t *initial,
			  struct room_result *res)
{
	const struct room_version *rv = room_version_get(version ? version : ROOM_VERSION_DEFAULT);
	json_t *content;
	enum room_rc rc;

	memset(res, 0, sizeof(*res));
	if (!rv || rv->event_id == EVENT_ID_V1) {
		room_set_reason(res, "unsupported room version %s", version);
		return ROOM_UNSUPPORTED;
	}
	if (create_content && !json_is_object(create_content)) {
		room_set_reason(res, "creation_content must be an object", NULL);
		return ROOM_BAD_JSON;
	}
	content = create_content ? json_deep_copy(create_content) : json_object();
	if (!content)
		return ROOM_ERROR;
	if (rv->creator_in_content)
		json_object_set_new(content, "creator", json_string(creator));
	else
		json_object_del(content, "creator");
	json_object_set_new(content, "room_version", json_string(rv->id));
	/* Try the whole sequence first, so a refused event leaves no room
	 * behind; then do it for real. */
	rc = create_run(r, creator, rv, content, initial, res, 1);
	if (rc == ROOM_OK)
		rc = create_run(r, creator, rv, content, initial, res, 0);
	json_decref(content);
	return rc;
}

/* ---- reads ------------------------------------------------------------ */

enum room_rc rooms_version(struct rooms *r, const char *room_id, const struct room_version **rv)
{
	struct room *rm = room_get(r, room_id);
	*rv = rm ? rm->rv : NULL;
	return rm ? ROOM_OK : ROOM_NOT_FOUND;
}

json_t *rooms_state_event(struct rooms *r, const char *room_id, const char *type,
			  const char *state_key)
{
	struct room *rm = room_get(r, room_id);
	json_t *ev = NULL;
	if (!rm)
		return NULL;
	pthread_mutex_lock(&rm->lock);
	ev = json_incref((json_t *)room_cache_lookup(rm, type, state_key));
	pthread_mutex_unlock(&rm->lock);
	return ev;
}

json_t *rooms_state_all(struct rooms *r, const char *room_id)
{
	struct room *rm = room_get(r, room_id);
	json_t *arr, *ev;
	const char *k;
	if (!rm || !(arr = json_array()))
		return NULL;
	pthread_mutex_lock(&rm->lock);
	json_object_foreach(rm->events, k, ev)
		json_array_append(arr, ev);
	pthread_mutex_unlock(&rm->lock);
	return arr;
}

json_t *rooms_servers(struct rooms *r, const char *room_id)
{
	struct room *rm = room_get(r, room_id);
	json_t *seen, *out, *v;
	const char *uid, *dom;

	if (!rm)
		return NULL;
	if (!(seen = json_object()))
		return NULL;
	pthread_mutex_lock(&rm->lock);
	json_object_foreach(json_object_get(rm->ids, "m.room.member"), uid, v) {
		const json_t *ev = room_cache_lookup(rm, "m.room.member", uid);
		const char *m = ev ? event_membership(ev) : NULL;
		if (m && strcmp(m, "join") == 0 && (dom = user_domain(uid)))
			json_object_set_new(seen, dom, json_true());
	}
	pthread_mutex_unlock(&rm->lock);
	out = json_array();
	json_object_foreach(seen, dom, v)
		json_array_append_new(out, json_string(dom));
	json_decref(seen);
	return out;
}

int rooms_server_joined(struct rooms *r, const char *room_id)
{
	struct room *rm = room_get(r, room_id);
	json_t *members, *v;
	const char *uid, *dom;
	int joined = 0;

	if (!rm)
		return 0;
	pthread_mutex_lock(&rm->lock);
	members = json_object_get(rm->ids, "m.room.member");
	json_object_foreach(members, uid, v) {
		const json_t *ev = room_cache_lookup(rm, "m.room.member", uid);
		const char *m = ev ? event_membership(ev) : NULL;
		(void)v;
		if (m && strcmp(m, "join") == 0 && (dom = user_domain(uid)) && strcmp(dom, r->server_name) == 0) {
			joined = 1;
			break;
		}
	}
	pthread_mutex_unlock(&rm->lock);
	return joined;
}

enum room_rc rooms_membership(struct rooms *r, const char *room_id, const char *user,
			      char out[16])
{
	struct room *rm = room_get(r, room_id);
	const char *m;
	out[0] = '\0';
	if (!rm)
		return ROOM_NOT_FOUND;
	pthread_mutex_lock(&rm->lock);
	m = event_membership(room_cache_lookup(rm, "m.room.member", user));
	if (m)
		snprintf(out, 16, "%s", m);
	pthread_mutex_unlock(&rm->lock);
	return ROOM_OK;
}

static int64_t pl_field(const json_t *pl, const char *key, int64_t dflt)
{
	const json_t *v = json_object_get(json_object_get(pl, "content"), key);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return dflt;
}

enum room_rc rooms_power(struct rooms *r, const char *room_id, const char *user,
			 const char *state_type, int64_t *have, int64_t *needed, int64_t *redact,
			 int64_t *kick, int64_t *ban, int64_t *invite)
{
	struct room *rm = room_get(r, room_id);
	struct auth_state st = { room_cache_lookup, NULL, rm };
	const json_t *pl;
	if (!rm)
		return ROOM_NOT_FOUND;
	pthread_mutex_lock(&rm->lock);
	pl = room_cache_lookup(rm, "m.room.power_levels", "");
	*have = auth_user_power_level(rm->rv, &st, user);
	if (needed) {
		const json_t *ev = json_object_get(json_object_get(json_object_get(pl, "content"),
								    "events"), state_type);
		*needed = json_is_integer(ev) ? json_integer_value(ev)
					      : pl_field(pl, "state_default", pl ? 50 : 0);
	}
	*redact = pl_field(pl, "redact", 50);
	*kick = pl_field(pl, "kick", 50);
	*ban = pl_field(pl, "ban", 50);
	*invite = pl_field(pl, "invite", 0);
	pthread_mutex_unlock(&rm->lock);
	return ROOM_OK;
}

/* ---- client format ---------------------------------------------------- */

static const char *const pdu_only[] = {
	"auth_events", "prev_events", "depth", "hashes", "signatures", "origin",
	"prev_state", "membership",
};

/* rooms_client_event() of an event whose JSON the caller parsed already
 * (ev, stolen; NULL gives NULL), so that checks before it need not parse
 * it again. */
static json_t *client_event(struct rooms *r, const struct room_event *e, json_t *ev,
			    const char *viewer, const char *viewer_device)
{
	json_t *uns;
	const struct room_version *rv = NULL;

	if (!ev)
		return NULL;
	rooms_version(r, e->room_id, &rv);
	if (e->redacted_by && rv) {
		json_t *red = event_redact(rv, ev);
		if (red) {
			json_decref(ev);
			ev = red;
		}
	}
	for (size_t i = 0; i < sizeof(pdu_only) / sizeof(pdu_only[0]); i++)
		json_object_del(ev, pdu_only[i]);
	json_object_set_new(ev, "event_id", json_string(e->event_id));
	json_object_set_new(ev, "room_id", json_string(e->room_id));
	uns = json_object_get(ev, "unsigned");
	if (!json_is_object(uns)) {
		uns = json_object();
		json_object_set_new(ev, "unsigned", uns);
	}
	{
		int64_t age = now_ms() - json_integer_value(json_object_get(ev, "origin_server_ts"));
		json_object_set_new(uns, "age", json_integer(age < 0 ? 0 : age));
	}
	if (e->txn_id && e->device_id && viewer_device && viewer &&
	    strcmp(e->device_id, viewer_device) == 0 &&
	    strcmp(event_sender(ev) ? event_sender(ev) : "", viewer) == 0)
		json_object_set_new(uns, "transaction_id", json_string(e->txn_id));
	if (e->redacted_by) {
		struct room_event re;
		if (room_store_event_get(r->rs, e->redacted_by, &re) == STORE_OK) {
			if (!re.redacted_by) {
				json_t *because = rooms_client_event(r, &re, NULL, NULL);
				if (because)
					json_object_set_new(uns, "redacted_because", because);
			}
			room_event_clear(&re);
		}
	}
	return ev;
}

json_t *rooms_client_event(struct rooms *r, const struct room_event *e,
			   const char *viewer, const char *viewer_device)
{
	return client_event(r, e, json_loads(e->json, JSON_ALLOW_NUL, NULL), viewer,
			    viewer_device);
}

json_t *rooms_client_state_delta(struct rooms *r, int64_t from, int64_t group,
				 const char *viewer, const char *viewer_device)
{
	json_t *map = NULL, *old = NULL, *arr = json_array(), *m, *eid;
	const char *type, *sk;

	if (!arr || room_store_state_group(r->rs, group, &map) != STORE_OK ||
	    (from >= 0 && room_store_state_group(r->rs, from, &old) != STORE_OK)) {
		json_decref(arr);
		json_decref(map);
		return NULL;
	}
	json_object_foreach(map, type, m) {
		json_object_foreach(m, sk, eid) {
			struct room_event e;
			const char *was = json_string_value(json_object_get(json_object_get(old, type), sk));
			if (was && strcmp(was, json_string_value(eid)) == 0)
				continue;
			if (room_store_event_get(r->rs, json_string_value(eid), &e) == STORE_OK) {
				json_t *ce = rooms_client_event(r, &e, viewer, viewer_device);
				if (ce)
					json_array_append_new(arr, ce);
				room_event_clear(&e);
			}
		}
	}
	json_decref(map);
	json_decref(old);
	return arr;
}

json_t *rooms_client_state(struct rooms *r, int64_t group, const char *viewer,
			   const char *viewer_device)
{
	return rooms_client_state_delta(r, -1, group, viewer, viewer_device);
}

/* For a room this server is not in: the stripped state the inviting
 * server sent with viewer's invite (kept in its unsigned), and the
 * invite itself. */
static json_t *remote_stripped_state(struct rooms *r, const char *room_id, const char *viewer)
{
	struct room_membership *ms = NULL;
	struct room_event e;
	size_t n = 0;
	json_t *arr = NULL;

	if (room_store_user_rooms(r->rs, viewer, &ms, &n) != STORE_OK)
		return NULL;
	for (size_t i = 0; i < n && !arr; i++) {
		json_t *ev;
		if (strcmp(ms[i].room_id, room_id) != 0 || room_store_event_get(r->rs, ms[i].event_id, &e) != STORE_OK)
			continue;
		ev = json_loads(e.json, JSON_ALLOW_NUL, NULL);
		room_event_clear(&e);
		arr = json_deep_copy(json_object_get(json_object_get(ev, "unsigned"), "invite_room_state"));
		if (!json_is_array(arr)) {
			json_decref(arr);
			arr = json_array();
		}
		if (ev)
			json_array_append_new(arr, json_pack("{s:O?,s:O?,s:O?,s:O?}",
				"type", json_object_get(ev, "type"),
				"state_key", json_object_get(ev, "state_key"),
				"content", json_object_get(ev, "content"),
				"sender", json_object_get(ev, "sender")));
		json_decref(ev);
	}
	room_membership_list_free(ms, n);
	return arr ? arr : json_array();
}

json_t *rooms_stripped_state(struct rooms *r, const char *room_id, const char *viewer)
{
	struct room *rm = room_get(r, room_id);
	json_t *arr;
	if (!rm)
		return remote_stripped_state(r, room_id, viewer);
	pthread_mutex_lock(&rm->lock);
	arr = stripped_locked(rm, viewer);
	pthread_mutex_unlock(&rm->lock);
	return arr;
}

/* ---- the extras stream -------------------------------------------------- */

/* Caller holds xlock. */
static void xinit_locked(struct rooms *r)
{
	if (!r->xinit) {
		int64_t max = 0;
		room_store_max_xpos(r->rs, &max);
		r->xpos = max;
		r->xinit = 1;
	}
}

static int64_t xnext_locked(struct rooms *r)
{
	int64_t now = now_ms();
	xinit_locked(r);
	r->xpos = r->xpos + 1 > now ? r->xpos + 1 : now;
	return r->xpos;
}

int64_t rooms_current_xpos(struct rooms *r)
{
	int64_t x;
	pthread_mutex_lock(&r->xlock);
	xinit_locked(r);
	x = r->xpos;
	pthread_mutex_unlock(&r->xlock);
	return x;
}

static void xnotify_room(struct rooms *r, struct room *rm, const char *only, int64_t x)
{
	const char **users = NULL;
	size_t n;
	if (!r->xlistener)
		return;
	if (only) {
		r->xlistener(r->xlistener_arg, x, &only, 1);
		return;
	}
	pthread_mutex_lock(&rm->lock);
	n = wake_list(rm, NULL, &users);
	r->xlistener(r->xlistener_arg, x, users, n);
	pthread_mutex_unlock(&rm->lock);
	free(users);
}

enum room_rc rooms_account_data_put(struct rooms *r, const char *user, const char *room_id,
				    const char *type, const json_t *content)
{
	char *json = json_dumps(content, JSON_COMPACT | JSON_SORT_KEYS);
	enum store_rc rc;
	int64_t x;
	if (!json)
		return ROOM_ERROR;
	pthread_mutex_lock(&r->xlock);
	x = xnext_locked(r);
	rc = room_store_account_data_put(r->rs, user, room_id, type, json, x);
	pthread_mutex_unlock(&r->xlock);
	free(json);
	if (rc != STORE_OK)
		return ROOM_ERROR;
	if (r->xlistener)
		r->xlistener(r->xlistener_arg, x, &user, 1);
	return ROOM_OK;
}

enum room_rc rooms_receipt_put(struct rooms *r, const char *room_id, const char *user,
			       const char *type, const char *event_id)
{
	struct room *rm = room_get(r, room_id);
	enum store_rc rc;
	int64_t x;
	if (!rm)
		return ROOM_NOT_FOUND;
	pthread_mutex_lock(&r->xlock);
	x = xnext_locked(r);
	rc = room_store_receipt_put(r->rs, room_id, user, type, event_id, now_ms(), x);
	pthread_mutex_unlock(&r->xlock);
	if (rc != STORE_OK)
		return ROOM_ERROR;
	xnotify_room(r, rm, strcmp(type, "m.read.private") == 0 ? user : NULL, x);
	if (r->edu_hook && strcmp(type, "m.read") == 0)
		r->edu_hook(r->edu_hook_arg, room_id, user, "m.receipt", event_id, NULL, 0);
	return ROOM_OK;
}

enum room_rc rooms_receipt_put_thread(struct rooms *r, const char *room_id, const char *user,
				      const char *type, const char *thread_id,
				      const char *event_id)
{
	struct room *rm = room_get(r, room_id);
	enum store_rc rc;
	int64_t x;
	if (!rm)
		return ROOM_NOT_FOUND;
	pthread_mutex_lock(&r->xlock);
	x = xnext_locked(r);
	rc = room_store_receipt_put_thread(r->rs, room_id, user, type, thread_id, event_id,
					   now_ms(), x);
	pthread_mutex_unlock(&r->xlock);
	if (rc != STORE_OK)
		return ROOM_ERROR;
	xnotify_room(r, rm, strcmp(type, "m.read.private") == 0 ? user : NULL, x);
	if (r->edu_hook && strcmp(type, "m.read") == 0)
		r->edu_hook(r->edu_hook_arg, room_id, user, "m.receipt", event_id, thread_id, 0);
	return ROOM_OK;
}

enum room_rc rooms_typing(struct rooms *r, const char *room_id, const char *user, int typing,
			  int64_t timeout_ms)
{
	struct room *rm = room_get(r, room_id);
	int changed;
	int64_t x = 0;
	if (!rm)
		return ROOM_NOT_FOUND;
	pthread_mutex_lock(&rm->lock);
	if (!rm->typing)
		rm->typing = json_object();
	changed = typing ? !json_object_get(rm->typing, user)
			 : json_object_get(rm->typing, user) != NULL;
	if (typing)
		json_object_set_new(rm->typing, user, json_integer(now_ms() + timeout_ms));
	else
		json_object_del(rm->typing, user);
	if (changed) {
		pthread_mutex_lock(&r->xlock);
		x = xnext_locked(r);
		pthread_mutex_unlock(&r->xlock);
		rm->typing_pos = x;
	}
	pthread_mutex_unlock(&rm->lock);
	if (changed)
		xnotify_room(r, rm, NULL, x);
	if (r->edu_hook)
		r->edu_hook(r->edu_hook_arg, room_id, user, "m.typing", NULL, NULL, typing);
	return ROOM_OK;
}

json_t *rooms_typing_event(struct rooms *r, const char *room_id, int64_t since_x)
{
	struct room *rm = room_get(r, room_id);
	json_t *ids, *ev = NULL, *v;
	const char *u;
	int64_t now = now_ms();
	if (!rm)
		return NULL;
	pthread_mutex_lock(&rm->lock);
	if (rm->typing && (rm->typing_pos > since_x ||
			   (since_x == 0 && json_object_size(rm->typing)))) {
		ids = json_array();
		json_object_foreach(rm->typing, u, v)
			if (json_integer_value(v) > now)
				json_array_append_new(ids, json_string(u));
		ev = json_pack("{s:s,s:{s:o}}", "type", "m.typing", "content", "user_ids", ids);
	}
	pthread_mutex_unlock(&rm->lock);
	return ev;
}

json_t *rooms_summary(struct rooms *r, const char *room_id, const char *viewer)
{
	struct room *rm = room_get(r, room_id);
	json_t *members, *v, *heroes;
	const char *uid;
	json_int_t joined = 0, invited = 0;
	if (!rm || !(heroes = json_array()))
		return NULL;
	pthread_mutex_lock(&rm->lock);
	members = json_object_get(rm->ids, "m.room.member");
	json_object_foreach(members, uid, v) {
		const char *m = event_membership(room_cache_lookup(rm, "m.room.member", uid));
		int j = m && strcmp(m, "join") == 0, i = m && strcmp(m, "invite") == 0;
		joined += j;
		invited += i;
		if ((j || i) && strcmp(uid, viewer) != 0 && json_array_size(heroes) < 5)
			json_array_append_new(heroes, json_string(uid));
	}
	pthread_mutex_unlock(&rm->lock);
	return json_pack("{s:I,s:I,s:o}", "m.joined_member_count", joined,
			 "m.invited_member_count", invited, "m.heroes", heroes);
}

void rooms_typing_expire(struct rooms *r)
{
	int64_t now = now_ms();
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct room *rm;
		pthread_mutex_lock(&r->lock);
		rm = r->buckets[b];
		pthread_mutex_unlock(&r->lock);
		/* Rooms are never unlinked, so walking the chain needs no lock
		 * beyond reading each next pointer, which is only set before a
		 * room is published at the head. */
		for (; rm; rm = rm->next) {
			const char *u;
			json_t *v, *tmp;
			int removed = 0;
			int64_t x = 0;
			pthread_mutex_lock(&rm->lock);
			json_object_foreach_safe(rm->typing, tmp, u, v) {
				if (json_integer_value(v) <= now) {
					json_object_del(rm->typing, u);
					removed = 1;
				}
			}
			if (removed) {
				pthread_mutex_lock(&r->xlock);
				x = xnext_locked(r);
				pthread_mutex_unlock(&r->xlock);
				rm->typing_pos = x;
			}
			pthread_mutex_unlock(&rm->lock);
			if (removed)
				xnotify_room(r, rm, NULL, x);
		}
	}
}

/* ---- presence ------------------------------------------------------------ */

#define PRESENCE_ACTIVE_MS (5 * 60 * 1000) /* "currently active" window */
/* An online user's presence goes to other servers again after this long
 * without a change, as Synapse's FEDERATION_PING_INTERVAL: they may time
 * remote users out (Synapse after 30 minutes). */
#define PRESENCE_FED_PING_MS PRESENCE_FEDERATION_PING_MS
/* A /sync counts as in flight at most this long past its own timeout, so
 * a lost end (which should not happen) cannot keep a user online. */
#define PRESENCE_SYNC_GRACE_MS (60 * 1000)

void rooms_set_presence_enabled(struct rooms *r, int enabled)
{
	r->presence_off = !enabled;
}

int rooms_presence_valid(const char *presence)
{
	return presence && (strcmp(presence, "online") == 0 || strcmp(presence, "offline") == 0 ||
			    strcmp(presence, "unavailable") == 0);
}

/* The users who share a joined room with user, as an object (a set),
 * user included. */
static json_t *room_peers(struct rooms *r, const char *user)
{
	struct room_membership *list = NULL;
	size_t n = 0;
	json_t *set = json_object();
	json_object_set_new(set, user, json_true());
	if (room_store_user_rooms(r->rs, user, &list, &n) != STORE_OK)
		return set;
	for (size_t i = 0; i < n; i++) {
		struct room *rm;
		const char *uid;
		json_t *v;
		if (strcmp(list[i].membership, "join") != 0 || !(rm = room_get(r, list[i].room_id)))
			continue;
		pthread_mutex_lock(&rm->lock);
		json_object_foreach(json_object_get(rm->ids, "m.room.member"), uid, v) {
			const char *m = event_membership(room_cache_lookup(rm, "m.room.member", uid));
			if (m && strcmp(m, "join") == 0)
				json_object_set_new(set, uid, json_true());
		}
		pthread_mutex_unlock(&rm->lock);
	}
	room_membership_list_free(list, n);
	return set;
}

/* A new extras position for a presence change of cur (r->plock held). */
static int64_t presence_pos_locked(struct rooms *r, json_t *cur)
{
	int64_t x;
	pthread_mutex_lock(&r->xlock);
	x = xnext_locked(r);
	pthread_mutex_unlock(&r->xlock);
	json_object_set_new(cur, "pos", json_integer(x));
	return x;
}

/* Outside the locks: wakes user's room peers for a change at x (when x is
 * not 0) and hands the presence to the federation hook (fed). */
static void presence_announce(struct rooms *r, const char *user, int64_t x, int fed)
{
	json_t *peers;
	if (x && r->xlistener && (peers = room_peers(r, user))) {
		const char **users = calloc(json_object_size(peers) + 1, sizeof(*users));
		const char *u;
		json_t *v;
		size_t n = 0;
		json_object_foreach(peers, u, v)
			if (users)
				users[n++] = u;
		if (users)
			r->xlistener(r->xlistener_arg, x, users, n);
		free(users);
		json_decref(peers);
	}
	if (fed && r->edu_hook)
		r->edu_hook(r->edu_hook_arg, NULL, user, "m.presence", NULL, NULL, 0);
}

/* The presence record of user, made empty when there is none; NULL when
 * out of memory.  Caller holds plock. */
static json_t *presence_record_locked(struct rooms *r, const char *user)
{
	json_t *cur;

	if (!r->presence && !(r->presence = json_object()))
		return NULL;
	if ((cur = json_object_get(r->presence, user)))
		return cur;
	if (!(cur = json_object()) || json_object_set_new(r->presence, user, cur) < 0)
		return NULL;
	return cur;
}

enum room_rc rooms_presence_set(struct rooms *r, const char *user, const char *presence,
				const char *status_msg, int flags)
{
	int keep_msg = flags & ROOMS_PRESENCE_KEEP_MSG;
	json_t *cur;
	const char *old;
	int changed, moved, ping = 0;
	int64_t x = 0, now = now_ms();

	if (!rooms_presence_valid(presence))
		return ROOM_BAD_JSON;
	if (r->presence_off)
		return ROOM_OK;
	pthread_mutex_lock(&r->plock);
	if (!(cur = presence_record_locked(r, user))) {
		pthread_mutex_unlock(&r->plock);
		return ROOM_ERROR;
	}
	/* A real change, as Synapse's should_notify(): the presence or the
	 * status message, or an online user becoming currently active again
	 * (so a client's every /sync is none, but its first one is). */
	old = json_string_value(json_object_get(cur, "presence"));
	moved = old && strcmp(old, presence) != 0;
	changed = !old || moved;
	if (!changed && strcmp(presence, "online") == 0 &&
	    now - json_integer_value(json_object_get(cur, "active")) >= PRESENCE_ACTIVE_MS)
		changed = 1;
	if (!keep_msg) {
		const char *om = json_string_value(json_object_get(cur, "status_msg"));
		if ((om == NULL) != (status_msg == NULL) || (om && strcmp(om, status_msg) != 0))
			changed = 1;
		if (status_msg)
			json_object_set_new(cur, "status_msg", json_string(status_msg));
		else
			json_object_del(cur, "status_msg");
	}
	json_object_set_new(cur, "presence", json_string(presence));
	json_object_set_new(cur, "seen", json_integer(now));
	if (flags & ROOMS_PRESENCE_EXPLICIT)
		json_object_set_new(cur, "explicit", json_true());
	else
		json_object_del(cur, "explicit");
	if (strcmp(presence, "online") == 0)
		json_object_set_new(cur, "active", json_integer(now));
	else if (!json_object_get(cur, "active"))
		json_object_set_new(cur, "active", json_integer(now));
	/* Other servers are told of every real change, quiet or not (else
	 * a user who only ever syncs stays offline there), and of an online
	 * user now and then all the same. */
	if (changed || (strcmp(presence, "online") == 0 &&
			now - json_integer_value(json_object_get(cur, "fed")) >= PRESENCE_FED_PING_MS)) {
		ping = 1;
		json_object_set_new(cur, "fed", json_integer(now));
	}
	/* Quiet spares peers a client's first /sync and the "active again"
	 * of later ones, not a new presence: a user timed out to offline
	 * comes back for them too. */
	if ((flags & ROOMS_PRESENCE_QUIET) && !moved)
		changed = 0;
	if (changed)
		x = presence_pos_locked(r, cur);
	pthread_mutex_unlock(&r->plock);
	presence_announce(r, user, x, ping);
	return ROOM_OK;
}

enum room_rc rooms_presence_sync(struct rooms *r, const char *user, int begin,
				 int64_t timeout_ms)
{
	json_t *cur;
	json_int_t n;
	int64_t now = now_ms();
	if (r->presence_off)
		return ROOM_OK;
	pthread_mutex_lock(&r->plock);
	if (!(cur = presence_record_locked(r, user))) {
		pthread_mutex_unlock(&r->plock);
		return ROOM_ERROR;
	}
	n = json_integer_value(json_object_get(cur, "syncs"));
	if (begin) {
		int64_t until = now + timeout_ms + PRESENCE_SYNC_GRACE_MS;
		json_object_set_new(cur, "syncs", json_integer(n + 1));
		if (until > json_integer_value(json_object_get(cur, "sync_until")))
			json_object_set_new(cur, "sync_until", json_integer(until));
	} else if (n > 0) {
		json_object_set_new(cur, "syncs", json_integer(n - 1));
	}
	json_object_set_new(cur, "sync", json_integer(now));
	pthread_mutex_unlock(&r->plock);
	return ROOM_OK;
}

static int user_is_local(const struct rooms *r, const char *user)
{
	const char *colon = strchr(user, ':');
	return colon && strcmp(colon + 1, r->server_name) == 0;
}

/* A user the sweep changed or pings (strings owned). */
struct swept {
	char *user;
	int64_t x;   /* extras position of a change, 0 for a ping */
	int fed;     /* tell other servers */
};

size_t rooms_presence_sweep(struct rooms *r, int64_t now, const struct presence_timeouts *t)
{
	struct swept *list = NULL;
	size_t n = 0, cap = 0;
	const char *u;
	json_t *cur;

	pthread_mutex_lock(&r->plock);
	json_object_foreach(r->presence, u, cur) {
		struct presence_state s;
		enum presence_action a;
		const char *next = NULL;
		s.presence = json_string_value(json_object_get(cur, "presence"));
		s.local = user_is_local(r, u);
		s.explicit_set = json_is_true(json_object_get(cur, "explicit"));
		s.syncing = json_integer_value(json_object_get(cur, "syncs")) > 0 &&
			    now < json_integer_value(json_object_get(cur, "sync_until"));
		s.last_active = json_integer_value(json_object_get(cur, "active"));
		s.last_sync = json_integer_value(json_object_get(cur, "sync"));
		s.last_update = json_integer_value(json_object_get(cur, "seen"));
		s.last_fed = json_integer_value(json_object_get(cur, "fed"));
		a = presence_timeout_check(&s, now, t);
		if (a == PRESENCE_KEEP)
			continue;
		if (n == ROOMS_PRESENCE_SWEEP_MAX)
			break;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct swept *nl = realloc(list, nc * sizeof(*nl));
			if (!nl)
				break; /* the next sweep does the rest */
			list = nl;
			cap = nc;
		}
		if (!(list[n].user = strdup(u)))
			break;
		list[n].x = 0;
		list[n].fed = s.local;
		if (a == PRESENCE_GO_OFFLINE)
			next = "offline";
		else if (a == PRESENCE_GO_UNAVAILABLE)
			next = "unavailable";
		if (next) {
			json_object_set_new(cur, "presence", json_string(next));
			/* A timed-out state is the server's guess, not the user's
			 * choice: the next /sync may override it. */
			json_object_del(cur, "explicit");
			list[n].x = presence_pos_locked(r, cur);
		}
		if (s.local)
			json_object_set_new(cur, "fed", json_integer(now));
		n++;
	}
	pthread_mutex_unlock(&r->plock);
	for (size_t i = 0; i < n; i++) {
		presence_announce(r, list[i].user, list[i].x, list[i].fed);
		free(list[i].user);
	}
	free(list);
	return n;
}

/* The content of user's presence; cur is locked or NULL. */
static json_t *presence_content(const json_t *cur, int64_t now)
{
	const char *p = cur ? json_string_value(json_object_get(cur, "presence")) : NULL;
	json_int_t active = json_integer_value(json_object_get(cur, "active"));
	json_t *c = json_pack("{s:s}", "presence", p ? p : "offline");
	if (!c || !cur)
		return c;
	json_object_set_new(c, "last_active_ago", json_integer(now - active));
	json_object_set_new(c, "currently_active",
			    json_boolean(p && strcmp(p, "online") == 0 &&
					 now - active < PRESENCE_ACTIVE_MS));
	if (json_object_get(cur, "status_msg"))
		json_object_set(c, "status_msg", json_object_get(cur, "status_msg"));
	return c;
}

json_t *rooms_presence_get(struct rooms *r, const char *user)
{
	json_t *c;
	pthread_mutex_lock(&r->plock);
	c = presence_content(json_object_get(r->presence, user), now_ms());
	pthread_mutex_unlock(&r->plock);
	return c;
}

int rooms_presence_visible(struct rooms *r, const char *viewer, const char *user)
{
	json_t *peers = room_peers(r, viewer);
	int ok = json_object_get(peers, user) != NULL;
	json_decref(peers);
	return ok;
}

json_t *rooms_presence_events(struct rooms *r, const char *viewer, int64_t since_x,
			      int64_t upto_x)
{
	json_t *peers = room_peers(r, viewer), *out = json_array(), *cur;
	const char *u;
	int64_t now = now_ms();
	if (!out) {
		json_decref(peers);
		return NULL;
	}
	pthread_mutex_lock(&r->plock);
	json_object_foreach(r->presence, u, cur) {
		json_int_t pos = json_integer_value(json_object_get(cur, "pos"));
		if (pos <= since_x || pos > upto_x || !json_object_get(peers, u))
			continue;
		json_array_append_new(out, json_pack("{s:s,s:s,s:o}", "type", "m.presence", "sender",
						     u, "content", presence_content(cur, now)));
	}
	pthread_mutex_unlock(&r->plock);
	json_decref(peers);
	return out;
}

/* ---- lazy-loaded members --------------------------------------------------- */

/* Whether this member event was already sent to the device; marks it. */
static int lazy_seen(struct rooms *r, const char *key, const char *member, const char *id)
{
	json_t *sent;
	const char *had;
	int seen;
	pthread_mutex_lock(&r->llock);
	if (!r->lazy_sent)
		r->lazy_sent = json_object();
	if (!(sent = json_object_get(r->lazy_sent, key))) {
		sent = json_object();
		json_object_set_new(r->lazy_sent, key, sent);
	}
	had = json_string_value(json_object_get(sent, member));
	seen = had && strcmp(had, id) == 0;
	json_object_set_new(sent, member, json_string(id));
	pthread_mutex_unlock(&r->llock);
	return seen;
}

json_t *rooms_lazy_members(struct rooms *r, const char *room_id, const json_t *events,
			   const char *viewer, const char *device, int flags)
{
	json_t *senders = json_object(), *out = json_array(), *ev;
	const struct room_version *rv;
	const char *u;
	size_t i, klen = strlen(viewer) + (device ? strlen(device) : 0) + strlen(room_id) + 3;
	char *key = malloc(klen);

	if (key)
		snprintf(key, klen, "%s\x1f%s\x1f%s", viewer, device ? device : "", room_id);
	if (!key || !senders || !out || rooms_version(r, room_id, &rv) != ROOM_OK) {
		free(key);
		json_decref(senders);
		json_decref(out);
		return NULL;
	}
	json_object_set_new(senders, viewer, json_true());
	json_array_foreach(events, i, ev) {
		const char *type = json_string_value(json_object_get(ev, "type"));
		const char *sk = json_string_value(json_object_get(ev, "state_key"));
		const char *id = json_string_value(json_object_get(ev, "event_id"));
		if ((u = json_string_value(json_object_get(ev, "sender"))))
			json_object_set_new(senders, u, json_true());
		/* A member event in the timeline itself is sent already. */
		if (type && sk && id && strcmp(type, "m.room.member") == 0 &&
		    !(flags & ROOMS_LAZY_REDUNDANT))
			lazy_seen(r, key, sk, id);
	}
	json_object_foreach(senders, u, ev) {
		json_t *pdu = rooms_state_event(r, room_id, "m.room.member", u);
		char id[EVENT_ID_BUF];
		struct room_event e;
		if (!pdu || event_compute_id(rv, pdu, id) < 0) {
			json_decref(pdu);
			continue;
		}
		json_decref(pdu);
		if (lazy_seen(r, key, u, id) && !(flags & (ROOMS_LAZY_REDUNDANT | ROOMS_LAZY_RESET)))
			continue;
		if (room_store_event_get(r->rs, id, &e) == STORE_OK) {
			json_t *ce = rooms_client_event(r, &e, viewer, device);
			if (ce)
				json_array_append_new(out, ce);
			room_event_clear(&e);
		}
	}
	free(key);
	json_decref(senders);
	return out;
}

/* ---- history visibility ------------------------------------------------- */

#define VIS_CACHE 16

struct room_vis {
	struct rooms *r;
	char *user;
	int joined_now;
	size_t n;
	struct {
		int64_t group;
		char hv[VIS_HV_LEN];
		char membership[VIS_MEMBERSHIP_LEN];
	} c[VIS_CACHE];
};

struct room_vis *rooms_vis_new(struct rooms *r, const char *room_id, const char *user)
{
	struct room_vis *v = calloc(1, sizeof(*v));
	char m[16];
	if (!v || !(v->user = strdup(user))) {
		free(v);
		return NULL;
	}
	v->r = r;
	v->joined_now = rooms_membership(r, room_id, user, m) == ROOM_OK && strcmp(m, "join") == 0;
	return v;
}

void rooms_vis_free(struct room_vis *v)
{
	if (!v)
		return;
	free(v->user);
	free(v);
}

/* content.key of the event with that ID, into out (left alone when there
 * is no such event ID or key).  -1 when the event could not be read. */
static int content_of(struct rooms *r, const char *event_id, const char *key, char *out,
		      size_t n)
{
	struct room_event e;
	json_t *ev;
	int rc = -1;
	if (!event_id)
		return 0;
	if (room_store_event_get(r->rs, event_id, &e) != STORE_OK)
		return -1;
	if ((ev = json_loads(e.json, JSON_ALLOW_NUL, NULL))) {
		rc = 0;
		const char *s = json_string_value(json_object_get(json_object_get(ev, "content"), key));
		if (s)
			snprintf(out, n, "%s", s);
		json_decref(ev);
	}
	room_event_clear(&e);
	return rc;
}

/* rooms_vis_allows() with the event's JSON parsed (pdu; NULL when it
 * would not parse). */
static int vis_allows(struct room_vis *v, const struct room_event *e, const json_t *pdu)
{
	size_t i;
	const char *hv, *mem;
	char own[16] = "";

	for (i = 0; i < v->n; i++)
		if (v->c[i].group == e->state_before)
			break;
	if (i == v->n) {
		json_t *map = NULL;
		if (v->n == VIS_CACHE)
			v->n = 0;
		i = v->n++;
		v->c[i].group = e->state_before;
		if (!vis_cache_get(v->r->vis_cache, e->state_before, v->user, v->c[i].hv,
				   v->c[i].membership)) {
			snprintf(v->c[i].hv, sizeof(v->c[i].hv), "shared");
			v->c[i].membership[0] = '\0';
			/* Only what was read in full is remembered. */
			if (room_store_state_group(v->r->rs, e->state_before, &map) == STORE_OK &&
			    content_of(v->r, json_string_value(json_object_get(json_object_get(map,
				       "m.room.history_visibility"), "")), "history_visibility",
				       v->c[i].hv, sizeof(v->c[i].hv)) == 0 &&
			    content_of(v->r, json_string_value(json_object_get(json_object_get(map,
				       "m.room.member"), v->user)), "membership",
				       v->c[i].membership, sizeof(v->c[i].membership)) == 0)
				vis_cache_put(v->r->vis_cache, e->state_before, v->user, v->c[i].hv,
					      v->c[i].membership);
			json_decref(map);
		}
	}
	hv = v->c[i].hv;
	mem = v->c[i].membership;
	/* The user's own member event: */
	if (pdu) {
		const char *t = event_type(pdu), *sk = event_state_key(pdu);
		const char *m = event_membership(pdu);
		if (t && sk && m && strcmp(t, "m.room.member") == 0 && strcmp(sk, v->user) == 0)
			snprintf(own, sizeof(own), "%s", m);
	}
	/* ... and they always see their own membership changes (a kick or ban
	 * must reach them, or the room never leaves their client). */
	if (own[0])
		return 1;
	if (strcmp(hv, "world_readable") == 0 || strcmp(mem, "join") == 0)
		return 1;
	if (strcmp(hv, "shared") == 0 && v->joined_now)
		return 1;
	if (strcmp(hv, "invited") == 0 && strcmp(mem, "invite") == 0)
		return 1;
	return 0;
}

int rooms_vis_allows(struct room_vis *v, const struct room_event *e)
{
	json_t *pdu = json_loads(e->json, JSON_ALLOW_NUL, NULL);
	int ok = vis_allows(v, e, pdu);
	json_decref(pdu);
	return ok;
}

json_t *rooms_vis_client_event(struct room_vis *v, const struct room_event *e,
			       const char *viewer_device)
{
	json_t *pdu;
	if (!v || !(pdu = json_loads(e->json, JSON_ALLOW_NUL, NULL)))
		return NULL;
	if (!vis_allows(v, e, pdu)) {
		json_decref(pdu);
		return NULL;
	}
	return client_event(v->r, e, pdu, v->user, viewer_device);
}

/* ---- the federation hook ---------------------------------------------- */

void rooms_set_edu_hook(struct rooms *r, rooms_edu_hook_fn fn, void *arg)
{
	r->edu_hook = fn;
	r->edu_hook_arg = arg;
}

