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
		return joined(rooms, it->room_id, it->user_id) &&
		       rooms_receipt_put(rooms, it->room_id, it->user_id, "m.read", it->event_id) == ROOM_OK;
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
		      int typing, int64_t ts_ms)
{
	if (strcmp(type, "m.typing") == 0)
		return json_pack("{s:s,s:{s:s,s:s,s:b}}", "edu_type", "m.typing", "content", "room_id", room_id,
				 "user_id", user, "typing", typing);
	if (strcmp(type, "m.receipt") == 0 && event_id)
		return json_pack("{s:s,s:{s:{s:{s:{s:[s],s:{s:I}}}}}}", "edu_type", "m.receipt", "content", room_id,
				 "m.read", user, "event_ids", event_id, "data", "ts", (json_int_t)ts_ms);
	return NULL;
}

void fed_edu_outbound(void *arg, const char *room_id, const char *user, const char *type,
		      const char *event_id, int typing)
{
	struct fed_service *fs = arg;
	const char *dom = matrix_id_domain(user);
	json_t *edu, *servers, *d;
	size_t i;

	if (!fs || !fs->hs->rooms || !dom || strcmp(dom, fs->server_name) != 0)
		return;
	if (!(servers = fed_room_servers(fs->hs->rooms, room_id, NULL, fs->server_name)))
		return;
	if (json_array_size(servers) && (edu = fed_edu_build(room_id, user, type, event_id, typing, http_now_ms()))) {
		json_array_foreach(servers, i, d)
			if (fed_sender_queue_edu(fs->sender, json_string_value(d), edu) < 0)
				log_debug("federation: cannot queue %s for %s", type, json_string_value(d));
		json_decref(edu);
	}
	json_decref(servers);
}
