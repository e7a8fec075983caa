/* Inbound EDUs.  See edu.h. */
#include <string.h>

#include "common/log.h"
#include "federation/api_federation.h"
#include "federation/edu.h"
#include "federation/room_servers.h"
#include "federation/sender.h"
#include "homeserver/rooms.h"

static int joined(struct rooms *rooms, const char *room_id, const char *user_id)
{
	char m[16];
	return rooms_membership(rooms, room_id, user_id, m) == ROOM_OK && strcmp(m, "join") == 0;
}

/* Joined to some room here: only then can anyone here see their presence.
 * The store lists the rooms where the user has any membership; the
 * rooms' current state says which are joins. */
static int joined_anywhere(struct rooms *rooms, const char *user_id)
{
	struct room_membership *list = NULL;
	size_t n = 0;
	int yes = 0;
	if (room_store_user_rooms(rooms_store(rooms), user_id, &list, &n) != STORE_OK)
		return 0;
	for (size_t i = 0; i < n && !yes; i++)
		yes = joined(rooms, list[i].room_id, user_id);
	room_membership_list_free(list, n);
	return yes;
}

static int apply_item(struct rooms *rooms, enum fed_edu_kind kind, const struct fed_edu_item *it)
{
	switch (kind) {
	case FED_EDU_TYPING:
		return joined(rooms, it->room_id, it->user_id) &&
		       rooms_typing(rooms, it->room_id, it->user_id, it->typing, FED_EDU_TYPING_MS) == ROOM_OK;
	case FED_EDU_RECEIPT:
		if (!joined(rooms, it->room_id, it->user_id))
			return 0;
		if (it->thread_id)
			return rooms_receipt_put_thread(rooms, it->room_id, it->user_id, "m.read", it->thread_id,
							it->event_id) == ROOM_OK;
		return rooms_receipt_put(rooms, it->room_id, it->user_id, "m.read", it->event_id) == ROOM_OK;
	case FED_EDU_PRESENCE:
		return joined_anywhere(rooms, it->user_id) &&
		       rooms_presence_set(rooms, it->user_id, it->presence, it->status_msg, 0) == ROOM_OK;
	default:
		return 0;
	}
}

int fed_edu_apply(struct rooms *rooms, const struct fed_edu *e)
{
	size_t applied = 0;

	switch (e->kind) {
	case FED_EDU_DEVICE_LIST:
	case FED_EDU_SIGNING_KEY:
	case FED_EDU_TO_DEVICE:
		log_debug("federation: %s accepted and dropped (no end-to-end key store)", e->edu_type);
		return 0;
	case FED_EDU_UNKNOWN:
		log_debug("federation: unknown EDU type skipped");
		return -1;
	default:
		break;
	}
	if (!rooms)
		return -1;
	for (size_t i = 0; i < e->n; i++)
		applied += (size_t)apply_item(rooms, e->kind, &e->items[i]);
	if (applied < e->n + e->skipped)
		log_debug("federation: %s: %zu item(s) applied, %zu skipped", e->edu_type, applied,
			  e->n + e->skipped - applied);
	return applied ? 0 : -1;
}

int fed_edu_handle(struct fed_service *fs, const char *origin, const json_t *edu)
{
	struct fed_edu e;
	char err[128];
	int rc;

	if (fed_edu_parse(edu, origin, &e, err, sizeof(err)) < 0) {
		log_debug("federation: EDU from %s skipped: %s", origin, err);
		return -1;
	}
	rc = fed_edu_apply(fs->hs->rooms, &e);
	fed_edu_clear(&e);
	return rc;
}

/* ---- outbound ---- */

json_t *fed_edu_build(const char *room_id, const char *user, const char *type, const char *event_id,
		      const char *thread_id, int typing, int64_t ts_ms)
{
	if (strcmp(type, "m.typing") == 0)
		return json_pack("{s:s,s:{s:s,s:s,s:b}}", "edu_type", "m.typing", "content", "room_id", room_id,
				 "user_id", user, "typing", typing);
	if (strcmp(type, "m.receipt") == 0 && event_id)
		return json_pack("{s:s,s:{s:{s:{s:{s:[s],s:{s:I,s:s*}}}}}}", "edu_type", "m.receipt", "content",
				 room_id, "m.read", user, "event_ids", event_id, "data", "ts", (json_int_t)ts_ms,
				 "thread_id", thread_id);
	return NULL;
}

json_t *fed_edu_build_presence(const char *user, const json_t *content)
{
	json_t *entry;
	if (!json_is_string(json_object_get(content, "presence")) || !(entry = json_deep_copy(content)))
		return NULL;
	json_object_set_new(entry, "user_id", json_string(user));
	return json_pack("{s:s,s:{s:[o]}}", "edu_type", "m.presence", "content", "push", entry);
}

/* Every other server sharing a joined room with user, as a new array
 * (NULL when out of memory). */
static json_t *peer_servers(struct fed_service *fs, const char *user)
{
	struct room_membership *list = NULL;
	size_t n = 0, k;
	json_t *seen = json_object(), *out = json_array(), *servers, *d;

	if (!seen || !out || room_store_user_rooms(rooms_store(fs->hs->rooms), user, &list, &n) != STORE_OK) {
		json_decref(seen);
		return out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!list[i].membership || strcmp(list[i].membership, "join") != 0 ||
		    !(servers = fed_room_servers(fs->hs->rooms, list[i].room_id, NULL, fs->server_name)))
			continue;
		json_array_foreach(servers, k, d)
			if (!json_object_get(seen, json_string_value(d))) {
				json_object_set_new(seen, json_string_value(d), json_true());
				json_array_append(out, d);
			}
		json_decref(servers);
	}
	room_membership_list_free(list, n);
	json_decref(seen);
	return out;
}

void fed_edu_outbound(void *arg, const char *room_id, const char *user, const char *type,
		      const char *event_id, const char *thread_id, int typing)
{
	struct fed_service *fs = arg;
	const char *dom = matrix_id_domain(user);
	json_t *edu = NULL, *servers, *d;
	size_t i;

	if (!fs || !fs->hs->rooms || !dom || strcmp(dom, fs->server_name) != 0)
		return;
	if (strcmp(type, "m.presence") == 0)
		servers = peer_servers(fs, user);
	else
		servers = room_id ? fed_room_servers(fs->hs->rooms, room_id, NULL, fs->server_name) : NULL;
	if (json_array_size(servers) == 0) {
		json_decref(servers);
		return;
	}
	if (strcmp(type, "m.presence") == 0) {
		json_t *content = rooms_presence_get(fs->hs->rooms, user);
		edu = fed_edu_build_presence(user, content);
		json_decref(content);
	} else {
		edu = fed_edu_build(room_id, user, type, event_id, thread_id, typing, http_now_ms());
	}
	json_array_foreach(servers, i, d)
		if (edu && fed_sender_queue_edu(fs->sender, json_string_value(d), edu) < 0)
			log_debug("federation: cannot queue %s for %s", type, json_string_value(d));
	json_decref(edu);
	json_decref(servers);
}
