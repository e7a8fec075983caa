/* Unread notification counts.  See push_counts.h. */
#include "homeserver/push_counts.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/push_rules.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store_rooms.h"

#define NBUCKETS 4096
#define USER_CACHE 4096

/* A user's compiled rules, shared by the requests using them. */
struct rules {
	struct rules *next;
	char *user_id;
	unsigned gen;
	int refs;
	struct push_eval *pe;
};

/* Counts of one thread ("" is the main timeline). */
struct tcount {
	char *root;
	int64_t notify, highlight;
};

struct counts {
	struct tcount *t;
	size_t n;
};

/* Where a user has read up to in a room: an unthreaded receipt reads
 * everything up to its event, a threaded one only its thread ("" is the
 * main timeline). */
struct tpos {
	char *thread;
	int64_t pos;
};

struct readpos {
	int64_t all;
	struct tpos *t;
	size_t n;
};

static void readpos_clear(struct readpos *rp)
{
	for (size_t i = 0; i < rp->n; i++)
		free(rp->t[i].thread);
	free(rp->t);
	memset(rp, 0, sizeof(*rp));
}

static int readpos_raise(struct readpos *rp, const char *thread, int64_t pos)
{
	struct tpos *t;
	for (size_t i = 0; i < rp->n; i++)
		if (strcmp(rp->t[i].thread, thread) == 0) {
			if (pos > rp->t[i].pos)
				rp->t[i].pos = pos;
			return 0;
		}
	if (!(t = realloc(rp->t, (rp->n + 1) * sizeof(*t))))
		return -1;
	rp->t = t;
	if (!(t[rp->n].thread = strdup(thread)))
		return -1;
	t[rp->n++].pos = pos;
	return 0;
}

static int readpos_copy(struct readpos *dst, const struct readpos *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->all = src->all;
	for (size_t i = 0; i < src->n; i++)
		if (readpos_raise(dst, src->t[i].thread, src->t[i].pos) < 0) {
			readpos_clear(dst);
			return -1;
		}
	return 0;
}

/* The position read up to in thread ("" main). */
static int64_t readpos_of(const struct readpos *rp, const char *thread)
{
	int64_t p = rp->all;
	for (size_t i = 0; i < rp->n; i++)
		if (strcmp(rp->t[i].thread, thread) == 0 && rp->t[i].pos > p)
			p = rp->t[i].pos;
	return p;
}

struct entry {
	struct entry *next;
	char *room_id;
	char *user_id;
	char *receipts;      /* the receipts it was computed for, as text */
	struct readpos rp;   /* where they read up to */
	unsigned gen;        /* of the rules used */
	int64_t upto;
	struct counts c;
};

struct push_counts {
	struct rooms *rooms;
	pthread_mutex_t lock;
	pthread_mutex_t edit;  /* rule edits, one at a time */
	unsigned gen;
	struct rules *users[NBUCKETS];
	size_t nusers;
	struct entry *buckets[NBUCKETS];
	size_t nentries;
};

static uint32_t hash2(const char *a, const char *b)
{
	uint32_t h = 2166136261u;
	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h = (h ^ 0x1f) * 16777619u;
	for (; b && *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h % NBUCKETS;
}

static void counts_clear(struct counts *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->t[i].root);
	free(c->t);
	c->t = NULL;
	c->n = 0;
}

static int counts_add(struct counts *c, const char *root, int64_t n, int64_t h)
{
	struct tcount *t;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->t[i].root, root) == 0) {
			c->t[i].notify += n;
			c->t[i].highlight += h;
			return 0;
		}
	if (!(t = realloc(c->t, (c->n + 1) * sizeof(*t))))
		return -1;
	c->t = t;
	if (!(t[c->n].root = strdup(root)))
		return -1;
	t[c->n].notify = n;
	t[c->n].highlight = h;
	c->n++;
	return 0;
}

static int counts_copy(struct counts *dst, const struct counts *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		if (counts_add(dst, src->t[i].root, src->t[i].notify, src->t[i].highlight) < 0) {
			counts_clear(dst);
			return -1;
		}
	return 0;
}

static void entry_free(struct entry *e)
{
	free(e->room_id);
	free(e->user_id);
	free(e->receipts);
	readpos_clear(&e->rp);
	counts_clear(&e->c);
	free(e);
}

static void rules_release(struct rules *r)
{
	if (r && --r->refs == 0) {
		push_eval_free(r->pe);
		free(r->user_id);
		free(r);
	}
}

struct push_counts *push_counts_new(struct rooms *rooms)
{
	struct push_counts *pc = calloc(1, sizeof(*pc));
	if (!pc)
		return NULL;
	pc->rooms = rooms;
	pthread_mutex_init(&pc->lock, NULL);
	pthread_mutex_init(&pc->edit, NULL);
	return pc;
}

static void drop_all_entries(struct push_counts *pc)
{
	for (size_t b = 0; b < NBUCKETS; b++)
		while (pc->buckets[b]) {
			struct entry *e = pc->buckets[b];
			pc->buckets[b] = e->next;
			entry_free(e);
		}
	pc->nentries = 0;
}

static void drop_all_users(struct push_counts *pc)
{
	for (size_t b = 0; b < NBUCKETS; b++)
		while (pc->users[b]) {
			struct rules *r = pc->users[b];
			pc->users[b] = r->next;
			rules_release(r);
		}
	pc->nusers = 0;
}

void push_counts_free(struct push_counts *pc)
{
	if (!pc)
		return;
	drop_all_entries(pc);
	drop_all_users(pc);
	pthread_mutex_destroy(&pc->lock);
	pthread_mutex_destroy(&pc->edit);
	free(pc);
}

void push_counts_rules_changed(struct push_counts *pc, const char *user_id)
{
	struct rules **pp;
	if (!pc)
		return;
	pthread_mutex_lock(&pc->lock);
	pc->gen++;
	for (pp = &pc->users[hash2(user_id, NULL)]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->user_id, user_id) == 0) {
			struct rules *r = *pp;
			*pp = r->next;
			rules_release(r);
			pc->nusers--;
			break;
		}
	pthread_mutex_unlock(&pc->lock);
}

void push_counts_edit_begin(struct push_counts *pc)
{
	if (pc)
		pthread_mutex_lock(&pc->edit);
}

void push_counts_edit_end(struct push_counts *pc)
{
	if (pc)
		pthread_mutex_unlock(&pc->edit);
}

/* The user's compiled rules (a reference to release), NULL on failure. */
static struct rules *rules_get(struct push_counts *pc, const char *user_id)
{
	uint32_t b = hash2(user_id, NULL);
	struct rules *r;
	char *text = NULL;
	json_t *stored, *rs;
	unsigned gen;
	enum store_rc src;

	pthread_mutex_lock(&pc->lock);
	for (r = pc->users[b]; r; r = r->next)
		if (strcmp(r->user_id, user_id) == 0) {
			r->refs++;
			pthread_mutex_unlock(&pc->lock);
			return r;
		}
	gen = pc->gen;
	pthread_mutex_unlock(&pc->lock);

	src = room_store_account_data_get(rooms_store(pc->rooms), user_id, "", "m.push_rules",
					  &text);
	if (src != STORE_OK && src != STORE_NOT_FOUND)
		return NULL;
	stored = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	rs = push_rules_merge(user_id, stored);
	json_decref(stored);
	if (!rs || !(r = calloc(1, sizeof(*r)))) {
		json_decref(rs);
		return NULL;
	}
	r->pe = push_eval_new(rs);
	r->user_id = strdup(user_id);
	r->refs = 1;
	r->gen = gen;
	json_decref(rs);
	if (!r->pe || !r->user_id) {
		rules_release(r);
		return NULL;
	}
	pthread_mutex_lock(&pc->lock);
	/* cache it unless the rules changed meanwhile (then the next call
	 * loads them again) */
	if (pc->gen == gen) {
		if (pc->nusers >= USER_CACHE)
			drop_all_users(pc);
		r->refs++;
		r->next = pc->users[b];
		pc->users[b] = r;
		pc->nusers++;
	}
	pthread_mutex_unlock(&pc->lock);
	return r;
}

/* The user's receipts in the room and a text naming them (the cache key). */
static int user_receipts(struct push_counts *pc, const char *room_id, const char *user_id,
			 char **text, struct room_extra **list, size_t *n)
{
	size_t len = 1;
	*text = NULL;
	if (room_store_user_receipts(rooms_store(pc->rooms), room_id, user_id, list, n) != STORE_OK)
		return -1;
	for (size_t i = 0; i < *n; i++)
		len += strlen((*list)[i].type) + strlen((*list)[i].value) +
		       strlen((*list)[i].thread_id ? (*list)[i].thread_id : "") + 3;
	if (!(*text = malloc(len)))
		return -1;
	{
		char *p = *text;
		for (size_t i = 0; i < *n; i++) {
			const struct room_extra *x = &(*list)[i];
			size_t left = len - (size_t)(p - *text);
			int w = snprintf(p, left, "%s/%s=%s;", x->type, x->thread_id ? x->thread_id : "",
					 x->value);
			if (w < 0 || (size_t)w >= left)
				return -1;
			p += w;
		}
		*p = 0;
	}
	return 0;
}

/* Positions of the m.read and m.read.private receipts' events. */
static int receipts_readpos(struct push_counts *pc, const struct room_extra *list, size_t n,
			    struct readpos *rp)
{
	memset(rp, 0, sizeof(*rp));
	for (size_t i = 0; i < n; i++) {
		struct room_event e;
		const char *th = list[i].thread_id ? list[i].thread_id : "";
		int rc = 0;
		if (strcmp(list[i].type, "m.read") != 0 && strcmp(list[i].type, "m.read.private") != 0)
			continue;
		memset(&e, 0, sizeof(e));
		if (room_store_event_get(rooms_store(pc->rooms), list[i].value, &e) == STORE_OK) {
			if (!th[0]) {
				if (e.stream_pos > rp->all)
					rp->all = e.stream_pos;
			} else {
				rc = readpos_raise(rp, strcmp(th, "main") == 0 ? "" : th, e.stream_pos);
			}
		}
		room_event_clear(&e);
		if (rc < 0) {
			readpos_clear(rp);
			return -1;
		}
	}
	return 0;
}

/* What evaluation needs from the room, read once per scan when needed. */
struct scan_ctx {
	struct push_ctx ctx;
	json_t *member;
	json_t *pl_event;
	int ready;
};

static void scan_ctx_load(struct push_counts *pc, struct scan_ctx *s, const char *room_id,
			  const char *user_id)
{
	json_t *sum = rooms_summary(pc->rooms, room_id, user_id);
	s->ctx.user_id = user_id;
	s->member = rooms_state_event(pc->rooms, room_id, "m.room.member", user_id);
	s->pl_event = rooms_state_event(pc->rooms, room_id, "m.room.power_levels", "");
	s->ctx.display_name = json_string_value(json_object_get(json_object_get(s->member, "content"),
								"displayname"));
	s->ctx.power_levels = json_object_get(s->pl_event, "content");
	s->ctx.member_count = json_integer_value(json_object_get(sum, "m.joined_member_count"));
	json_decref(sum);
	s->ready = 1;
}

static void scan_ctx_clear(struct scan_ctx *s)
{
	json_decref(s->member);
	json_decref(s->pl_event);
}

/* The thread an event belongs to ("" for the main timeline). */
static const char *thread_of(const json_t *ev)
{
	const json_t *rel = json_object_get(json_object_get(ev, "content"), "m.relates_to");
	const char *type = json_string_value(json_object_get(rel, "rel_type"));
	const char *root = json_string_value(json_object_get(rel, "event_id"));
	return type && root && strcmp(type, "m.thread") == 0 ? root : "";
}

#define THREAD_HOPS 3 /* the spec's advice: follow at most 3 relations to a thread */

/* The thread of an event that relates to another without m.thread (a
 * reaction, an edit, a reference): the thread of what it relates to,
 * following at most THREAD_HOPS relations ("" when none is found).  The
 * root is copied into buf. */
static const char *thread_deep(struct push_counts *pc, const json_t *ev, char *buf, size_t len)
{
	const char *th = thread_of(ev);
	json_t *cur = NULL;
	buf[0] = 0;
	if (th[0])
		return th;
	for (int hop = 0; hop < THREAD_HOPS; hop++) {
		const json_t *rel = json_object_get(json_object_get(cur ? cur : ev, "content"),
						    "m.relates_to");
		const char *target = json_string_value(json_object_get(rel, "event_id"));
		struct room_event e;
		json_t *next = NULL;
		if (!target)
			break;
		memset(&e, 0, sizeof(e));
		if (room_store_event_get(rooms_store(pc->rooms), target, &e) == STORE_OK)
			next = json_loads(e.json, JSON_ALLOW_NUL, NULL);
		room_event_clear(&e);
		json_decref(cur);
		cur = next;
		if (!cur)
			break;
		if (thread_of(cur)[0]) {
			snprintf(buf, len, "%s", thread_of(cur));
			break;
		}
	}
	json_decref(cur);
	return buf;
}

/* 1 when an event relates to another by something other than m.thread. */
static int relates_otherwise(const json_t *ev)
{
	const json_t *rel = json_object_get(json_object_get(ev, "content"), "m.relates_to");
	return json_is_string(json_object_get(rel, "event_id")) && !thread_of(ev)[0];
}

/* Counts the unread events in (lower, upto], newest first.  The user's own
 * event reads what precedes it in its thread, and in the main timeline
 * everything: *own is set when one was met.  0 or -1. */
static int scan(struct push_counts *pc, const struct push_eval *pe, const char *room_id,
		const char *user_id, int64_t lower, int64_t upto, const struct readpos *rp,
		struct counts *c, int *own)
{
	struct room_event *evs = NULL;
	struct scan_ctx s;
	struct readpos closed = { 0 };
	size_t n = 0;
	int rc = 0;

	*own = 0;
	memset(&s, 0, sizeof(s));
	if (upto <= lower)
		return 0;
	if (room_store_events(rooms_store(pc->rooms), room_id, 'b', upto, lower, PUSH_COUNT_SCAN,
			      &evs, &n) != STORE_OK)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *ev = json_loads(evs[i].json, JSON_ALLOW_NUL, NULL);
		const char *sender = json_string_value(json_object_get(ev, "sender"));
		const char *th = thread_of(ev);
		struct push_result res;
		int64_t have = 0, redact, kick, ban, invite;
		char buf[EVENT_ID_BUF];
		if (sender && strcmp(sender, user_id) == 0) {
			*own = 1;
			if (relates_otherwise(ev))
				th = thread_deep(pc, ev, buf, sizeof(buf));
			if (!th[0]) {
				json_decref(ev);
				break;
			}
			rc = readpos_raise(&closed, th, INT64_MAX);
		} else if (ev && sender && !evs[i].redacted_by) {
			if (!s.ready)
				scan_ctx_load(pc, &s, room_id, user_id);
			rooms_power(pc->rooms, room_id, sender, NULL, &have, NULL, &redact, &kick, &ban,
				    &invite);
			s.ctx.sender_power = have;
			push_eval_event(pe, ev, &s.ctx, &res);
			/* the thread matters only for what notifies: look it up then */
			if (res.notify && relates_otherwise(ev))
				th = thread_deep(pc, ev, buf, sizeof(buf));
			if (res.notify && readpos_of(&closed, th) == 0 &&
			    evs[i].stream_pos > readpos_of(rp, th))
				rc = counts_add(c, th, 1, res.highlight ? 1 : 0);
		}
		json_decref(ev);
	}
	readpos_clear(&closed);
	scan_ctx_clear(&s);
	room_event_list_free(evs, n);
	return rc;
}

static json_t *count_obj(int64_t n, int64_t h)
{
	return json_pack("{s:I,s:I}", "notification_count", (json_int_t)n, "highlight_count",
			 (json_int_t)h);
}

static json_t *render(const struct counts *c, int threads)
{
	int64_t n = 0, h = 0;
	json_t *out, *t = threads ? json_object() : NULL;
	for (size_t i = 0; i < c->n; i++) {
		if (!threads || !c->t[i].root[0]) {
			n += c->t[i].notify;
			h += c->t[i].highlight;
		} else if (c->t[i].notify) {
			json_object_set_new(t, c->t[i].root,
					    count_obj(c->t[i].notify, c->t[i].highlight));
		}
	}
	out = json_pack("{s:o}", "unread_notifications", count_obj(n, h));
	if (out && t)
		json_object_set_new(out, "unread_thread_notifications", t);
	else
		json_decref(t);
	return out;
}

static struct entry *entry_find(struct push_counts *pc, const char *room_id,
				const char *user_id, struct entry ***slot)
{
	struct entry **pp = &pc->buckets[hash2(room_id, user_id)];
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->room_id, room_id) == 0 && strcmp((*pp)->user_id, user_id) == 0)
			break;
	*slot = pp;
	return *pp;
}

json_t *push_counts_sync(struct push_counts *pc, const char *room_id, const char *user_id,
			 int64_t upto, int threads)
{
	struct room_extra *list = NULL;
	size_t nlist = 0;
	char *rtext = NULL;
	struct rules *rules = NULL;
	struct counts c = { 0 };
	struct readpos rp = { 0 };
	struct entry *e, **slot;
	int incremental = 0, have_rp = 0, own = 0;
	int64_t from = 0;
	json_t *out = NULL;

	if (!pc)
		return render(&c, threads);
	if (user_receipts(pc, room_id, user_id, &rtext, &list, &nlist) < 0 ||
	    !(rules = rules_get(pc, user_id)))
		goto done;
	/* Reuse what is cached when the receipts and rules are the same: the
	 * read positions, and the counts up to the cached position. */
	pthread_mutex_lock(&pc->lock);
	e = entry_find(pc, room_id, user_id, &slot);
	if (e && strcmp(e->receipts, rtext) == 0 && e->gen == rules->gen &&
	    readpos_copy(&rp, &e->rp) == 0) {
		have_rp = 1;
		if (e->upto <= upto && counts_copy(&c, &e->c) == 0) {
			incremental = 1;
			from = e->upto;
		}
	}
	pthread_mutex_unlock(&pc->lock);
	if (incremental && scan(pc, rules->pe, room_id, user_id, from, upto, &rp, &c, &own) < 0)
		goto done;
	if (!have_rp && receipts_readpos(pc, list, nlist, &rp) < 0)
		goto done;
	if (!incremental || own) {
		/* from scratch (an own event among the new ones may read older ones) */
		counts_clear(&c);
		if (scan(pc, rules->pe, room_id, user_id, rp.all, upto, &rp, &c, &own) < 0)
			goto done;
	}
	out = render(&c, threads);
	/* remember the result */
	pthread_mutex_lock(&pc->lock);
	e = entry_find(pc, room_id, user_id, &slot);
	if (!e || e->upto <= upto) {
		struct entry *ne = calloc(1, sizeof(*ne));
		if (ne && (ne->room_id = strdup(room_id)) && (ne->user_id = strdup(user_id)) &&
		    counts_copy(&ne->c, &c) == 0 && readpos_copy(&ne->rp, &rp) == 0) {
			ne->receipts = rtext;
			rtext = NULL;
			ne->gen = rules->gen;
			ne->upto = upto;
			if (e) {
				ne->next = e->next;
				*slot = ne;
				entry_free(e);
			} else {
				if (pc->nentries >= PUSH_COUNT_CACHE) {
					drop_all_entries(pc);
					entry_find(pc, room_id, user_id, &slot);
				}
				ne->next = NULL;
				*slot = ne;
				pc->nentries++;
			}
		} else if (ne) {
			entry_free(ne);
		}
	}
	pthread_mutex_unlock(&pc->lock);
done:
	if (rules) {
		pthread_mutex_lock(&pc->lock);
		rules_release(rules);
		pthread_mutex_unlock(&pc->lock);
	}
	counts_clear(&c);
	readpos_clear(&rp);
	free(rtext);
	room_extra_list_free(list, nlist);
	return out;
}

void push_counts_initial_rules(json_t *events, const char *user_id)
{
	size_t i;
	json_t *ev, *rs;
	json_array_foreach(events, i, ev)
		if (strcmp(json_string_value(json_object_get(ev, "type")) ?
			   json_string_value(json_object_get(ev, "type")) : "", "m.push_rules") == 0)
			return;
	if ((rs = push_rules_merge(user_id, NULL)))
		json_array_append_new(events, json_pack("{s:s,s:o}", "type", "m.push_rules", "content",
							rs));
}

/* ---- GET /notifications ------------------------------------------------------ */

struct notif {
	int64_t pos;
	json_t *item;
};

static int notif_cmp(const void *a, const void *b)
{
	const struct notif *x = a, *y = b;
	return x->pos < y->pos ? 1 : x->pos > y->pos ? -1 : 0;
}

static json_t *actions_of(const struct push_result *res)
{
	json_t *a = json_pack("[s]", "notify");
	if (a && res->sound)
		json_array_append_new(a, json_pack("{s:s,s:s}", "set_tweak", "sound", "value",
						   res->sound));
	if (a && res->highlight)
		json_array_append_new(a, json_pack("{s:s}", "set_tweak", "highlight"));
	return a;
}

/* Adds the notified events of one room below position before (newest
 * first, at most limit) to list. */
static int room_notifs(struct push_counts *pc, const struct push_eval *pe, const char *room_id,
		       const char *user_id, int64_t before, int limit, int only_highlight,
		       struct notif **list, size_t *n, size_t *cap)
{
	struct room_event *evs = NULL;
	struct room_extra *rl = NULL;
	struct readpos rp;
	struct scan_ctx s;
	size_t nev = 0, nrl = 0;
	char *rtext = NULL;
	int found = 0, rc = 0;

	if (user_receipts(pc, room_id, user_id, &rtext, &rl, &nrl) < 0 ||
	    receipts_readpos(pc, rl, nrl, &rp) < 0) {
		free(rtext);
		room_extra_list_free(rl, nrl);
		return -1;
	}
	free(rtext);
	room_extra_list_free(rl, nrl);
	if (room_store_events(rooms_store(pc->rooms), room_id, 'b', before - 1, 0,
			      PUSH_NOTIFY_SCAN, &evs, &nev) != STORE_OK) {
		readpos_clear(&rp);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < nev && found < limit && rc == 0; i++) {
		json_t *ev = evs[i].redacted_by ? NULL : json_loads(evs[i].json, JSON_ALLOW_NUL, NULL), *ce, *item;
		const char *sender = json_string_value(json_object_get(ev, "sender"));
		struct push_result res;
		int64_t have = 0, redact, kick, ban, invite;
		if (!ev || !sender || strcmp(sender, user_id) == 0) {
			json_decref(ev);
			continue;
		}
		if (!s.ready)
			scan_ctx_load(pc, &s, room_id, user_id);
		rooms_power(pc->rooms, room_id, sender, NULL, &have, NULL, &redact, &kick, &ban,
			    &invite);
		s.ctx.sender_power = have;
		push_eval_event(pe, ev, &s.ctx, &res);
		if (!res.notify || (only_highlight && !res.highlight) ||
		    !(ce = rooms_client_event(pc->rooms, &evs[i], user_id, NULL))) {
			json_decref(ev);
			continue;
		}
		item = json_pack("{s:o,s:o,s:b,s:s,s:I}", "actions", actions_of(&res), "event", ce,
				 "read", evs[i].stream_pos <= readpos_of(&rp, thread_of(ev)), "room_id",
				 room_id, "ts",
				 json_object_get(ev, "origin_server_ts")
					 ? json_integer_value(json_object_get(ev, "origin_server_ts"))
					 : (json_int_t)0);
		json_decref(ev);
		if (!item) {
			rc = -1;
			break;
		}
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			struct notif *nl = realloc(*list, nc * sizeof(*nl));
			if (!nl) {
				json_decref(item);
				rc = -1;
				break;
			}
			*list = nl;
			*cap = nc;
		}
		(*list)[*n].pos = evs[i].stream_pos;
		(*list)[(*n)++].item = item;
		found++;
	}
	scan_ctx_clear(&s);
	readpos_clear(&rp);
	room_event_list_free(evs, nev);
	return rc;
}

json_t *push_counts_notifications(struct push_counts *pc, const char *user_id, int64_t before,
				  int limit, int only_highlight, int64_t *next)
{
	struct room_membership *rooms = NULL;
	struct notif *list = NULL;
	size_t nrooms = 0, n = 0, cap = 0;
	struct rules *rules;
	json_t *out = NULL;
	int rc = 0;

	*next = 0;
	if (!pc || !(rules = rules_get(pc, user_id)))
		return NULL;
	if (before <= 0)
		before = INT64_MAX;
	if (room_store_user_rooms(rooms_store(pc->rooms), user_id, &rooms, &nrooms) != STORE_OK)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < nrooms; i++)
		if (strcmp(rooms[i].membership, "join") == 0)
			rc = room_notifs(pc, rules->pe, rooms[i].room_id, user_id, before, limit,
					 only_highlight, &list, &n, &cap);
	if (rc == 0 && (out = json_array())) {
		if (n)
			qsort(list, n, sizeof(*list), notif_cmp);
		for (size_t i = 0; i < n && i < (size_t)limit; i++)
			json_array_append(out, list[i].item);
		if (limit > 0 && n >= (size_t)limit && n)
			*next = list[(size_t)limit - 1].pos;
	}
	for (size_t i = 0; i < n; i++)
		json_decref(list[i].item);
	free(list);
	room_membership_list_free(rooms, nrooms);
	pthread_mutex_lock(&pc->lock);
	rules_release(rules);
	pthread_mutex_unlock(&pc->lock);
	return out;
}
