/* /sync responses and the long-poll hub.  See sync.h. */
#include "homeserver/sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "homeserver/aggregations.h"
#include "homeserver/hs.h"
#include "homeserver/http.h"
#include "homeserver/presence_timeout.h"
#include "homeserver/push_counts.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store.h"

#define TIMELINE_DEFAULT 10
#define TYPING_CHECK_MS 1000 /* how often expired typing notices are dropped */

void sync_params_clear(struct sync_params *p)
{
	if (p->presence && p->user_id)
		rooms_presence_sync(p->presence, p->user_id, 0, 0);
	free(p->user_id);
	free(p->device_id);
	room_filter_clear(&p->timeline);
	memset(p, 0, sizeof(*p));
}

static json_t *empty_events(void)
{
	return json_pack("{s:[]}", "events");
}

/* The timeline of one room: events in (since, upto], newest limit of them,
 * oldest first.  Sets *limited and *first_group (the state before the first
 * event returned; -1 when there is none). */
static json_t *timeline(struct hs *hs, const struct sync_params *p, const char *room_id,
			int64_t since, int64_t upto, int *limited, int64_t *first_group,
			int64_t *first_pos)
{
	struct rooms *rooms = hs->rooms;
	long limit = p->timeline.limit > 0 ? p->timeline.limit : TIMELINE_DEFAULT;
	struct room_event *evs = NULL;
	struct room_vis *vis;
	size_t n = 0;
	json_t *arr = json_array();

	*limited = 0;
	*first_group = -1;
	*first_pos = upto;
	if (!arr || room_store_events(rooms_store(rooms), room_id, 'b', upto, since,
				      (int)limit + 1, &evs, &n) != STORE_OK) {
		json_decref(arr);
		return NULL;
	}
	if ((long)n > limit) {
		*limited = 1;
		n = (size_t)limit;
	}
	vis = rooms_vis_new(rooms, room_id, p->user_id);
	for (size_t i = n; i-- > 0;) {
		json_t *ev = rooms_vis_client_event(vis, &evs[i], p->device_id);
		if (*first_group < 0) {
			*first_group = evs[i].state_before;
			*first_pos = evs[i].stream_pos - 1;
		}
		if (ev && room_filter_match(&p->timeline, ev))
			json_array_append(arr, ev);
		json_decref(ev);
	}
	rooms_vis_free(vis);
	/* (the extra event fetched to tell "limited" is not returned) */
	room_event_list_free(evs, *limited ? (size_t)limit + 1 : n);
	return arr;
}

/* The group in force at position upto in a room (the state after the last
 * event at or before it). */
static int64_t group_at(struct hs *hs, const char *room_id, int64_t upto)
{
	struct room_event *evs = NULL;
	size_t n = 0;
	int64_t g = 0;
	if (room_store_events(rooms_store(hs->rooms), room_id, 'b', upto, -1, 1, &evs, &n) ==
		    STORE_OK && n == 1)
		g = evs[0].state_after;
	room_event_list_free(evs, n);
	return g;
}

/* 1 when a timeline holds a member event. */
static int members_in(const json_t *tl)
{
	size_t i;
	json_t *ev;
	json_array_foreach(tl, i, ev)
		if (strcmp(json_string_value(json_object_get(ev, "type")) ?
			   json_string_value(json_object_get(ev, "type")) : "", "m.room.member") == 0)
			return 1;
	return 0;
}

static json_t *joined_room(struct hs *hs, const struct sync_params *p,
			   const struct room_membership *m, int64_t upto, int *news,
			   json_t *ephemeral, json_t *account_data)
{
	int limited, newly = p->since == 0 || m->stream_pos > p->since;
	int64_t first_group, first_pos;
	json_t *tl, *state = NULL, *room, *summary;
	char tok[32];

	/* Joined since: the recent history, as for an initial sync. */
	tl = timeline(hs, p, m->room_id, newly && p->since ? 0 : p->since, upto, &limited,
		      &first_group, &first_pos);
	if (!tl)
		return NULL;
	if (newly || limited || p->full_state) {
		int64_t g = first_group >= 0 ? first_group : group_at(hs, m->room_id, upto);
		/* An incremental limited timeline: only what changed between the
		 * since position and the timeline's start. */
		int64_t from = newly || p->full_state ? -1 : group_at(hs, m->room_id, p->since);
		state = rooms_client_state_delta(hs->rooms, from, g, p->user_id, p->device_id);
	}
	if (!state)
		state = json_array();
	if (p->timeline.lazy_load_members) {
		/* Members only for the senders shown (and the user), each once
		 * per device unless include_redundant_members. */
		json_t *keep = json_array(), *lazy, *ev;
		size_t i;
		json_array_foreach(state, i, ev)
			if (strcmp(json_string_value(json_object_get(ev, "type")) ?
				   json_string_value(json_object_get(ev, "type")) : "",
				   "m.room.member") != 0)
				json_array_append(keep, ev);
		json_decref(state);
		state = keep;
		/* Nothing shown: nobody to introduce. */
		lazy = newly || json_array_size(tl) || p->full_state
			       ? rooms_lazy_members(hs->rooms, m->room_id, tl, p->user_id,
						    p->device_id,
						    (p->timeline.include_redundant_members
							     ? ROOMS_LAZY_REDUNDANT : 0) |
						    (p->since == 0 ? ROOMS_LAZY_RESET : 0))
			       : NULL;
		if (lazy)
			json_array_extend(state, lazy);
		json_decref(lazy);
	}
	if (json_array_size(tl) || json_array_size(state) || newly)
		*news = 1;
	if (json_array_size(ephemeral) || json_array_size(account_data))
		*news = 1;
	if (!newly && !json_array_size(tl) && !json_array_size(state) && !p->full_state &&
	    !json_array_size(ephemeral) && !json_array_size(account_data)) {
		json_decref(tl);
		json_decref(state);
		return json_null();
	}
	snprintf(tok, sizeof(tok), "s%lld", (long long)first_pos);
	/* The summary when membership may have changed (clients keep the last). */
	summary = NULL;
	if (newly || json_array_size(state) || members_in(tl))
		summary = rooms_summary(hs->rooms, m->room_id, p->user_id);
	room = json_pack("{s:{s:o,s:b,s:s},s:{s:o},s:{s:O},s:{s:O},s:{},s:o}",
			 "timeline", "events", tl, "limited", limited, "prev_batch", tok,
			 "state", "events", state, "ephemeral", "events", ephemeral,
			 "account_data", "events", account_data, "unread_notifications",
			 "summary", summary ? summary : json_object());
	{
		json_t *unread = push_counts_sync(hs->push, m->room_id, p->user_id, upto,
						  p->timeline.unread_thread_notifications);
		if (room && unread)
			json_object_update(room, unread);
		json_decref(unread);
	}
	return room;
}

static json_t *left_room(struct hs *hs, const struct sync_params *p,
			 const struct room_membership *m)
{
	int limited;
	int64_t first_group, first_pos;
	char tok[32];
	json_t *tl = timeline(hs, p, m->room_id, p->since, m->stream_pos, &limited, &first_group,
			      &first_pos);
	if (!tl)
		return NULL;
	snprintf(tok, sizeof(tok), "s%lld", (long long)first_pos);
	return json_pack("{s:{s:o,s:b,s:s},s:{s:[]},s:o}", "timeline", "events", tl,
			 "limited", limited, "prev_batch", tok, "state", "events",
			 "account_data", empty_events());
}

/* The m.receipt event of a room for receipts after since_x, or NULL. */
static json_t *receipts_event(struct hs *hs, const struct sync_params *p, const char *room_id,
			      int64_t upto_x)
{
	struct room_extra *list = NULL;
	size_t n = 0;
	json_t *content, *ev = NULL;
	if (room_store_receipts_since(rooms_store(hs->rooms), room_id, p->since_x, &list, &n) !=
		    STORE_OK || n == 0)
		return NULL;
	content = json_object();
	for (size_t i = 0; content && i < n; i++) {
		json_t *byev, *bytype;
		if (list[i].stream_pos > upto_x)
			continue;
		if (strcmp(list[i].type, "m.read.private") == 0 &&
		    strcmp(list[i].user_id, p->user_id) != 0)
			continue;
		if (!(byev = json_object_get(content, list[i].value))) {
			byev = json_object();
			json_object_set_new(content, list[i].value, byev);
		}
		if (!(bytype = json_object_get(byev, list[i].type))) {
			bytype = json_object();
			json_object_set_new(byev, list[i].type, bytype);
		}
		json_object_set_new(bytype, list[i].user_id,
				    list[i].thread_id && list[i].thread_id[0]
					    ? json_pack("{s:I,s:s}", "ts", (json_int_t)list[i].ts,
							"thread_id", list[i].thread_id)
					    : json_pack("{s:I}", "ts", (json_int_t)list[i].ts));
	}
	if (json_object_size(content))
		ev = json_pack("{s:s,s:O}", "type", "m.receipt", "content", content);
	json_decref(content);
	room_extra_list_free(list, n);
	return ev;
}

json_t *sync_build(struct hs *hs, const struct sync_params *p, int *news, int64_t *upto,
		   int64_t *upto_x)
{
	struct room_membership *list = NULL;
	struct room_extra *ad = NULL;
	size_t n = 0, nad = 0;
	json_t *resp, *join, *invite, *leave, *knock, *global;
	char tok[48];

	*news = 0;
	*upto = 0;
	*upto_x = rooms_current_xpos(hs->rooms);
	if (*upto_x < p->since_x)
		*upto_x = p->since_x;
	if (store_stream_max(hs->store, upto) != STORE_OK ||
	    room_store_user_rooms(rooms_store(hs->rooms), p->user_id, &list, &n) != STORE_OK)
		return NULL;
	if (room_store_account_data_since(rooms_store(hs->rooms), p->user_id, p->since_x, &ad,
					  &nad) != STORE_OK) {
		room_membership_list_free(list, n);
		return NULL;
	}
	if (*upto < p->since)
		*upto = p->since;
	snprintf(tok, sizeof(tok), "s%lld_%lld", (long long)*upto, (long long)*upto_x);
	resp = json_pack("{s:s,s:{s:{},s:{},s:{},s:{}},s:o,s:o,s:o,s:{s:[],s:[]},s:{},s:[]}",
			 "next_batch", tok,
			 "rooms", "join", "invite", "leave", "knock",
			 "account_data", empty_events(), "presence", empty_events(),
			 "to_device", empty_events(),
			 "device_lists", "changed", "left",
			 "device_one_time_keys_count", "device_unused_fallback_key_types");
	if (!resp) {
		room_membership_list_free(list, n);
		return NULL;
	}
	global = json_object_get(json_object_get(resp, "account_data"), "events");
	for (size_t i = 0; i < nad; i++) {
		json_t *c;
		if (ad[i].room_id[0] || ad[i].stream_pos > *upto_x ||
		    !(c = json_loads(ad[i].value, 0, NULL)))
			continue;
		json_array_append_new(global, json_pack("{s:s,s:o}", "type", ad[i].type, "content", c));
		*news = 1;
	}
	if (p->since == 0 && p->since_x == 0)
		push_counts_initial_rules(global, p->user_id);
	{
		json_t *pres = rooms_presence_events(hs->rooms, p->user_id, p->since_x, *upto_x);
		if (json_array_size(pres)) {
			json_object_set(json_object_get(resp, "presence"), "events", pres);
			*news = 1;
		}
		json_decref(pres);
	}
	join = json_object_get(json_object_get(resp, "rooms"), "join");
	invite = json_object_get(json_object_get(resp, "rooms"), "invite");
	leave = json_object_get(json_object_get(resp, "rooms"), "leave");
	knock = json_object_get(json_object_get(resp, "rooms"), "knock");
	for (size_t i = 0; i < n; i++) {
		const struct room_membership *m = &list[i];
		int changed = m->stream_pos > p->since;
		json_t *room = NULL;
		if (m->forgotten || m->stream_pos > *upto)
			continue;
		if (strcmp(m->membership, "join") == 0) {
			json_t *eph = json_array(), *rad = json_array(), *e;
			if ((e = receipts_event(hs, p, m->room_id, *upto_x)))
				json_array_append_new(eph, e);
			if ((e = rooms_typing_event(hs->rooms, m->room_id, p->since_x)))
				json_array_append_new(eph, e);
			for (size_t k = 0; k < nad; k++) {
				json_t *c;
				if (strcmp(ad[k].room_id, m->room_id) != 0 || ad[k].stream_pos > *upto_x ||
				    !(c = json_loads(ad[k].value, 0, NULL)))
					continue;
				json_array_append_new(rad, json_pack("{s:s,s:o}", "type", ad[k].type,
								     "content", c));
			}
			room = joined_room(hs, p, m, *upto, news, eph, rad);
			json_decref(eph);
			json_decref(rad);
			if (room && !json_is_null(room))
				json_object_set(join, m->room_id, room);
		} else if (strcmp(m->membership, "invite") == 0 && (changed || !p->since)) {
			json_t *stripped = rooms_stripped_state(hs->rooms, m->room_id, p->user_id);
			room = json_pack("{s:{s:o}}", "invite_state", "events",
					 stripped ? stripped : json_array());
			json_object_set(invite, m->room_id, room);
			*news = 1;
		} else if (strcmp(m->membership, "knock") == 0 && (changed || !p->since)) {
			json_t *stripped = rooms_stripped_state(hs->rooms, m->room_id, p->user_id);
			room = json_pack("{s:{s:o}}", "knock_state", "events",
					 stripped ? stripped : json_array());
			json_object_set(knock, m->room_id, room);
			*news = 1;
		} else if ((strcmp(m->membership, "leave") == 0 ||
			    strcmp(m->membership, "ban") == 0) && changed && p->since) {
			room = left_room(hs, p, m);
			if (room) {
				json_object_set(leave, m->room_id, room);
				*news = 1;
			}
		}
		json_decref(room);
	}
	room_membership_list_free(list, n);
	room_extra_list_free(ad, nad);
	aggr_bundle_sync(hs->relsearch, hs->rooms, resp, p->user_id, p->device_id);
	return resp;
}

/* ---- the hub ------------------------------------------------------------
 *
 * Parked requests are indexed two ways so that no operation walks all of
 * them: by user (a hash table of per-user lists), so a new event wakes its
 * users' requests in time proportional to those, whatever the number of
 * idle polls of other users; and by deadline (a binary min-heap), so the
 * hub thread finds the next expiry at the top.  Woken requests go on a
 * ready list the hub thread drains.  Everything is under h->lock. */

#define HUB_BUCKETS 4096 /* user chains; a few per bucket at 10^4 users */

struct hub_user;

struct waiter {
	struct waiter *prev, *next; /* in the user's list */
	struct waiter *rnext;       /* in the ready list, when ready */
	struct hub_user *u;
	size_t heap_idx;
	int ready;
	struct http_request *rq;
	struct sync_params p;
	int64_t upto;
	int64_t upto_x;
	int64_t deadline;
};

struct hub_user {
	struct hub_user *next;      /* bucket chain */
	struct waiter *waiters;
	char *user_id;
};

struct sync_hub {
	struct hs *hs;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started;
	int stop;
	int64_t latest;       /* highest position announced */
	int64_t latest_x;     /* the same for the extras stream */
	struct hub_user *buckets[HUB_BUCKETS];
	struct waiter **heap; /* by deadline */
	size_t count, cap;
	struct waiter *ready;
};

static unsigned user_hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % HUB_BUCKETS;
}

static struct hub_user *user_find(struct sync_hub *h, const char *user_id)
{
	struct hub_user *u = h->buckets[user_hash(user_id)];
	while (u && strcmp(u->user_id, user_id) != 0)
		u = u->next;
	return u;
}

static void heap_swap(struct sync_hub *h, size_t a, size_t b)
{
	struct waiter *t = h->heap[a];
	h->heap[a] = h->heap[b];
	h->heap[b] = t;
	h->heap[a]->heap_idx = a;
	h->heap[b]->heap_idx = b;
}

static void heap_fix(struct sync_hub *h, size_t i)
{
	while (i > 0 && h->heap[(i - 1) / 2]->deadline > h->heap[i]->deadline) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->count && h->heap[l]->deadline < h->heap[m]->deadline)
			m = l;
		if (r < h->count && h->heap[r]->deadline < h->heap[m]->deadline)
			m = r;
		if (m == i)
			break;
		heap_swap(h, i, m);
		i = m;
	}
}

/* Room for one more waiter; -1 when out of memory. */
static int heap_reserve(struct sync_hub *h)
{
	struct waiter **n;
	size_t cap;
	if (h->count < h->cap)
		return 0;
	cap = h->cap ? h->cap * 2 : 64;
	if (!(n = realloc(h->heap, cap * sizeof(*n))))
		return -1;
	h->heap = n;
	h->cap = cap;
	return 0;
}

static void make_ready(struct sync_hub *h, struct waiter *w)
{
	if (w->ready)
		return;
	w->ready = 1;
	w->rnext = h->ready;
	h->ready = w;
}

/* Indexes w (its user entry may be new).  -1 when out of memory, with w
 * not indexed. */
static int insert_locked(struct sync_hub *h, struct waiter *w)
{
	struct hub_user *u = user_find(h, w->p.user_id);
	if (heap_reserve(h) < 0)
		return -1;
	if (!u) {
		unsigned b = user_hash(w->p.user_id);
		if (!(u = calloc(1, sizeof(*u))) || !(u->user_id = strdup(w->p.user_id))) {
			free(u);
			return -1;
		}
		u->next = h->buckets[b];
		h->buckets[b] = u;
	}
	w->u = u;
	w->prev = NULL;
	w->next = u->waiters;
	if (u->waiters)
		u->waiters->prev = w;
	u->waiters = w;
	w->heap_idx = h->count;
	h->heap[h->count++] = w;
	heap_fix(h, w->heap_idx);
	w->ready = 0;
	if (h->latest > w->upto || h->latest_x > w->upto_x)
		make_ready(h, w);
	return 0;
}

/* Takes w out of the user index and the heap (not the ready list). */
static void remove_locked(struct sync_hub *h, struct waiter *w)
{
	struct hub_user *u = w->u;
	size_t i = w->heap_idx;
	if (w->prev)
		w->prev->next = w->next;
	else
		u->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	if (!u->waiters) {
		struct hub_user **pp = &h->buckets[user_hash(u->user_id)];
		while (*pp != u)
			pp = &(*pp)->next;
		*pp = u->next;
		free(u->user_id);
		free(u);
	}
	w->u = NULL;
	h->count--;
	if (i != h->count) {
		h->heap[i] = h->heap[h->count];
		h->heap[i]->heap_idx = i;
		heap_fix(h, i);
	}
}

static void finish(struct waiter *w, json_t *resp)
{
	w->rq->status = 200;
	w->rq->reply = resp;
	http_resume(w->rq);
	sync_params_clear(&w->p);
	free(w);
}

/* Answers w with nothing new (stop, or a failed build). */
static void answer_empty(struct waiter *w)
{
	char tok[48];
	snprintf(tok, sizeof(tok), "s%lld_%lld", (long long)w->p.since, (long long)w->p.since_x);
	finish(w, json_pack("{s:s,s:{s:{},s:{},s:{},s:{}}}", "next_batch", tok, "rooms", "join",
			    "invite", "leave", "knock"));
}

/* The hub thread's work on one woken or expired request (h->lock not
 * held): answer it, or park it again when its news was not for it. */
static void process(struct sync_hub *h, struct waiter *w)
{
	int news = 0;
	int64_t upto, upto_x;
	json_t *resp = sync_build(h->hs, &w->p, &news, &upto, &upto_x);

	if (resp && !news && w->deadline > http_monotonic_ms()) {
		int ok;
		json_decref(resp);
		pthread_mutex_lock(&h->lock);
		w->upto = upto;
		w->upto_x = upto_x;
		ok = !h->stop && insert_locked(h, w) == 0;
		pthread_mutex_unlock(&h->lock);
		if (!ok)
			answer_empty(w);
		return;
	}
	if (resp)
		finish(w, resp);
	else
		answer_empty(w);
}

static void *hub_main(void *arg)
{
	struct sync_hub *h = arg;
	const struct presence_timeouts *pt = h->hs->cfg ? &h->hs->cfg->presence_timeouts : NULL;
	int64_t expire_at = http_monotonic_ms() + TYPING_CHECK_MS;
	int64_t sweep_at = pt ? http_monotonic_ms() + pt->sweep_ms : INT64_MAX;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		int64_t now = http_monotonic_ms(), next;
		struct waiter *work = NULL;
		if (now >= expire_at) {
			pthread_mutex_unlock(&h->lock);
			rooms_typing_expire(h->hs->rooms);
			pthread_mutex_lock(&h->lock);
			expire_at = now + TYPING_CHECK_MS;
			continue;
		}
		/* Presence timeouts: one pass over the users, not a timer each. */
		if (now >= sweep_at) {
			pthread_mutex_unlock(&h->lock);
			size_t done = rooms_presence_sweep(h->hs->rooms, rooms_now_ms(), pt);
			pthread_mutex_lock(&h->lock);
			/* A capped pass: the rest soon, long-polls served between. */
			sweep_at = now + (done >= ROOMS_PRESENCE_SWEEP_MAX ? 20 : pt->sweep_ms);
			continue;
		}
		while (h->count && h->heap[0]->deadline <= now) {
			struct waiter *w = h->heap[0];
			remove_locked(h, w);
			make_ready(h, w);
		}
		while (h->ready) {
			struct waiter *w = h->ready;
			h->ready = w->rnext;
			if (w->u)
				remove_locked(h, w);
			w->ready = 0;
			w->rnext = work;
			work = w;
		}
		if (work) {
			pthread_mutex_unlock(&h->lock);
			while (work) {
				struct waiter *w = work;
				work = w->rnext;
				process(h, w);
			}
			pthread_mutex_lock(&h->lock);
			continue;
		}
		next = expire_at < sweep_at ? expire_at : sweep_at;
		if (h->count && h->heap[0]->deadline < next)
			next = h->heap[0]->deadline;
		{
			struct timespec ts;
			int64_t wait = next - now;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&h->cond, &h->lock, &ts);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct sync_hub *sync_hub_new(struct hs *hs)
{
	struct sync_hub *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->hs = hs;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->thread, NULL, hub_main, h) != 0) {
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->cond);
		free(h);
		return NULL;
	}
	h->started = 1;
	return h;
}

int sync_hub_park(struct sync_hub *h, struct http_request *rq, struct sync_params *p,
		  int64_t upto, int64_t upto_x, int64_t deadline_ms)
{
	struct waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->rq = rq;
	w->p = *p;
	w->upto = upto;
	w->upto_x = upto_x;
	w->deadline = deadline_ms;
	pthread_mutex_lock(&h->lock);
	if (h->stop) {
		pthread_mutex_unlock(&h->lock);
		memset(p, 0, sizeof(*p));
		answer_empty(w);
		return 0;
	}
	if (insert_locked(h, w) < 0) {
		/* The caller keeps p and answers at once. */
		pthread_mutex_unlock(&h->lock);
		free(w);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	/* A new earliest deadline or a request already behind: the hub
	 * thread must look again. */
	if (w->ready || h->heap[0] == w)
		pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static void wake(struct sync_hub *h, int64_t pos, int64_t xpos, const char *const *users,
		 size_t n)
{
	int any = 0;
	pthread_mutex_lock(&h->lock);
	if (pos > h->latest)
		h->latest = pos;
	if (xpos > h->latest_x)
		h->latest_x = xpos;
	for (size_t i = 0; i < n; i++) {
		struct hub_user *u = user_find(h, users[i]);
		for (struct waiter *w = u ? u->waiters : NULL; w; w = w->next) {
			make_ready(h, w);
			any = 1;
		}
	}
	if (any)
		pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

void sync_hub_listener(void *hub, int64_t stream_pos, const char *const *users, size_t n)
{
	wake(hub, stream_pos, 0, users, n);
}

void sync_hub_xlistener(void *hub, int64_t xpos, const char *const *users, size_t n)
{
	wake(hub, 0, xpos, users, n);
}

void sync_hub_stop(struct sync_hub *h)
{
	struct waiter *all = NULL;
	if (!h || !h->started)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	h->started = 0;
	pthread_mutex_lock(&h->lock);
	while (h->count) {
		struct waiter *w = h->heap[0];
		remove_locked(h, w);
		w->rnext = all;
		all = w;
	}
	h->ready = NULL; /* every ready waiter was also indexed */
	free(h->heap);
	h->heap = NULL;
	h->cap = 0;
	pthread_mutex_unlock(&h->lock);
	while (all) {
		struct waiter *next = all->rnext;
		answer_empty(all);
		all = next;
	}
}

void sync_hub_free(struct sync_hub *h)
{
	if (!h)
		return;
	sync_hub_stop(h);
	free(h->heap);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}

size_t sync_hub_parked(struct sync_hub *h)
{
	size_t n;
	pthread_mutex_lock(&h->lock);
	n = h->count;
	pthread_mutex_unlock(&h->lock);
	return n;
}
