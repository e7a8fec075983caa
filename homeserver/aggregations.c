/* Bundled aggregations.  See aggregations.h. */
#include "homeserver/aggregations.h"

#include <stdlib.h>
#include <string.h>

#include "homeserver/rooms.h"
#include "homeserver/store/store_relsearch.h"

/* History visibility checkers, one per room met in a call (a response
 * rarely spans more than a few rooms). */
struct vis_set {
	size_t n, cap;
	struct vis_entry {
		const char *room_id; /* borrowed from the child event */
		struct room_vis *vis;
		int borrowed;        /* the caller's: not freed here */
	} *v;
};

/* The child as a client event for viewer, or NULL when they may not see
 * it. */
static json_t *visible(struct vis_set *vs, struct rooms *rooms, const struct room_event *e,
		       const char *viewer, const char *device)
{
	struct vis_entry *ent = NULL;
	for (size_t i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].room_id, e->room_id) == 0)
			ent = &vs->v[i];
	if (!ent) {
		if (vs->n == vs->cap) {
			size_t cap = vs->cap ? vs->cap * 2 : 4;
			struct vis_entry *nv = realloc(vs->v, cap * sizeof(*nv));
			if (!nv)
				return NULL;
			vs->v = nv;
			vs->cap = cap;
		}
		ent = &vs->v[vs->n++];
		ent->room_id = e->room_id;
		ent->vis = rooms_vis_new(rooms, e->room_id, viewer);
		ent->borrowed = 0;
	}
	return rooms_vis_client_event(ent->vis, e, device);
}

static void vis_set_free(struct vis_set *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		if (!vs->v[i].borrowed)
			rooms_vis_free(vs->v[i].vis);
	free(vs->v);
}

/* obj[key] as an object, made when absent (or not an object). */
static json_t *sub_object(json_t *obj, const char *key)
{
	json_t *o = json_object_get(obj, key);
	if (json_is_object(o))
		return o;
	if (!(o = json_object()) || json_object_set_new(obj, key, o) < 0)
		return NULL;
	return o;
}

/* The event's unsigned["m.relations"], made when absent. */
static json_t *relations_of(json_t *ev)
{
	json_t *uns = sub_object(ev, "unsigned");
	return uns ? sub_object(uns, "m.relations") : NULL;
}

/* The child as a client event: a copy of shown (the same event among
 * those being bundled, so already visible to the viewer and rendered for
 * them) without its own bundle, which is cheaper than parsing it again;
 * else read and checked. */
static json_t *child_event(struct rooms *rooms, struct vis_set *vs, const json_t *shown,
			   const struct relsearch_child *c, const char *viewer, const char *device)
{
	json_t *ce;
	if (!shown)
		return c->ev.json ? visible(vs, rooms, &c->ev, viewer, device) : NULL;
	if ((ce = json_deep_copy(shown)))
		json_object_del(json_object_get(ce, "unsigned"), "m.relations");
	return ce;
}

/* Adds one child's contribution to its parent; latest collects the latest
 * thread events for a second round (NULL: this is that round).  shown: the
 * child among the events being bundled, or NULL. */
static int add_child(struct rooms *rooms, struct vis_set *vs, json_t *parent,
		     const struct relsearch_child *c, const json_t *shown, const char *viewer,
		     const char *device, json_t *latest)
{
	json_t *rels = relations_of(parent), *ce = NULL, *o;

	if (!rels)
		return -1;
	if (strcmp(c->rel_type, "m.reference") == 0) {
		json_t *ref = sub_object(rels, "m.reference"), *chunk;
		if (!ref)
			return -1;
		chunk = json_object_get(ref, "chunk");
		if (!json_is_array(chunk)) {
			if (!(chunk = json_array()) || json_object_set_new(ref, "chunk", chunk) < 0)
				return -1;
		}
		return json_array_append_new(chunk, json_pack("{s:s}", "event_id",
							      c->ev.event_id));
	}
	ce = child_event(rooms, vs, shown, c, viewer, device);
	if (strcmp(c->rel_type, "m.replace") == 0)
		return ce ? json_object_set_new(rels, "m.replace", ce) : 0;
	/* m.thread: the summary stands even when the latest reply is hidden. */
	if (!(o = json_pack("{s:I,s:b}", "count", (json_int_t)c->count,
			    "current_user_participated", c->participated))) {
		json_decref(ce);
		return -1;
	}
	if (ce) {
		if (latest)
			json_array_append(latest, ce);
		json_object_set_new(o, "latest_event", ce);
	}
	return json_object_set_new(rels, "m.thread", o);
}

/* vs is shared by both rounds: a checker caches what it read of the
 * room's state. */
static int bundle(struct relsearch *rs, struct rooms *rooms, struct vis_set *vs, json_t *events,
		  const char *viewer, const char *device, int second)
{
	json_t *byid = json_object(), *ids = json_array(), *latest = NULL, *ev;
	struct relsearch_child *ch = NULL;
	size_t i, n = 0;
	char *ids_json = NULL;
	int rc = -1;

	if (!byid || !ids)
		goto out;
	json_array_foreach(events, i, ev) {
		json_t *id = json_object_get(ev, "event_id"), *same;
		/* Redacted events lose their relations' aggregations. */
		if (!json_is_string(id) ||
		    json_object_get(json_object_get(ev, "unsigned"), "redacted_because"))
			continue;
		/* The same event may come twice (a search hit in another's
		 * context): each copy gets the bundle. */
		if (!(same = json_object_get(byid, json_string_value(id)))) {
			if (!(same = json_array()) ||
			    json_object_set_new(byid, json_string_value(id), same) < 0)
				goto out;
			json_array_append(ids, id);
		}
		json_array_append(same, ev);
	}
	if (json_array_size(ids) == 0) {
		rc = 0;
		goto out;
	}
	if (!(ids_json = json_dumps(ids, JSON_COMPACT)) ||
	    relsearch_bundle(rs, ids_json, viewer, &ch, &n) != STORE_OK)
		goto out;
	if (!second && !(latest = json_array()))
		goto out;
	rc = 0;
	for (i = 0; i < n; i++) {
		json_t *same = json_object_get(byid, ch[i].parent), *parent;
		const json_t *shown = json_array_get(json_object_get(byid, ch[i].ev.event_id), 0);
		size_t j;
		json_array_foreach(same, j, parent)
			if (add_child(rooms, vs, parent, &ch[i], shown, viewer, device, latest) < 0)
				rc = -1;
	}
	/* The latest thread events get their own edits (not their threads:
	 * threads do not nest). */
	if (latest && json_array_size(latest) &&
	    bundle(rs, rooms, vs, latest, viewer, device, 1) < 0)
		rc = -1;
out:
	relsearch_children_free(ch, n);
	free(ids_json);
	json_decref(latest);
	json_decref(ids);
	json_decref(byid);
	return rc;
}

/* The first round, with its checkers (seeded with the caller's for
 * room_id, when given). */
static int bundle_all(struct relsearch *rs, struct rooms *rooms, struct room_vis *vis,
		      const char *room_id, json_t *events, const char *viewer, const char *device)
{
	struct vis_entry seed = { room_id, vis, 1 };
	struct vis_set vs = { 0, 0, NULL };
	int rc;

	if (vis && room_id && (vs.v = malloc(sizeof(*vs.v)))) {
		vs.v[0] = seed;
		vs.n = vs.cap = 1;
	}
	rc = bundle(rs, rooms, &vs, events, viewer, device, 0);
	vis_set_free(&vs);
	return rc;
}

int aggr_bundle(struct relsearch *rs, struct rooms *rooms, json_t *events, const char *viewer,
		const char *viewer_device)
{
	if (!rs || !rooms || !json_is_array(events) || !viewer)
		return 0;
	return bundle_all(rs, rooms, NULL, NULL, events, viewer, viewer_device);
}

int aggr_bundle_room(struct relsearch *rs, struct rooms *rooms, struct room_vis *vis,
		     const char *room_id, json_t *events, const char *viewer,
		     const char *viewer_device)
{
	if (!rs || !rooms || !json_is_array(events) || !viewer)
		return 0;
	return bundle_all(rs, rooms, vis, room_id, events, viewer, viewer_device);
}

int aggr_bundle_context(struct relsearch *rs, struct rooms *rooms, json_t *before,
			json_t *event, json_t *after, const char *viewer,
			const char *viewer_device)
{
	json_t *all;
	int rc = -1;
	if (!rs || !rooms || !viewer)
		return 0;
	if (!(all = json_array()))
		return -1;
	/* The arrays hold references to the same objects, so bundling the
	 * copy's members bundles the caller's. */
	if ((!before || json_array_extend(all, before) == 0) &&
	    (!json_is_object(event) || json_array_append(all, event) == 0) &&
	    (!after || json_array_extend(all, after) == 0))
		rc = bundle_all(rs, rooms, NULL, NULL, all, viewer, viewer_device);
	json_decref(all);
	return rc;
}

int aggr_bundle_one(struct relsearch *rs, struct rooms *rooms, json_t *event,
		    const char *viewer, const char *viewer_device)
{
	return json_is_object(event)
		       ? aggr_bundle_context(rs, rooms, NULL, event, NULL, viewer, viewer_device)
		       : 0;
}

int aggr_bundle_sync(struct relsearch *rs, struct rooms *rooms, json_t *sync,
		     const char *viewer, const char *viewer_device)
{
	static const char *const sections[] = { "join", "leave" };
	json_t *all, *rooms_obj = json_object_get(sync, "rooms"), *room;
	const char *room_id;
	int rc = -1;

	if (!rs || !rooms || !viewer || !json_is_object(rooms_obj))
		return 0;
	if (!(all = json_array()))
		return -1;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		json_object_foreach(json_object_get(rooms_obj, sections[i]), room_id, room) {
			json_t *evs = json_object_get(json_object_get(room, "timeline"), "events");
			if (json_is_array(evs) && json_array_extend(all, evs) < 0)
				goto out;
		}
	}
	rc = bundle_all(rs, rooms, NULL, NULL, all, viewer, viewer_device);
out:
	json_decref(all);
	return rc;
}
