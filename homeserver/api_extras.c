/* Typing, receipts and read markers, account data and tags, room aliases
 * and the public room directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/api.h"
#include "homeserver/api_rooms.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store.h"

#define TYPING_MAX_MS 120000
#define ACCOUNT_DATA_MAX 65536

static int own(struct api_req *r, size_t param)
{
	if (strcmp(api_param(r, param), r->who.user_id) != 0) {
		api_error(r, 403, "M_FORBIDDEN", "You may only act for yourself");
		return -1;
	}
	return 0;
}

/* ---- typing ------------------------------------------------------------- */

static void typing(struct api_req *r)
{
	int on;
	json_t *t = json_object_get(r->body, "timeout");
	int64_t timeout = 30000;
	if (!r->hs->rooms || own(r, 1) < 0 || api_require_joined(r, api_param(r, 0)) < 0)
		return;
	if (!json_is_boolean(json_object_get(r->body, "typing"))) {
		api_error(r, 400, "M_BAD_JSON", "typing must be a boolean");
		return;
	}
	on = json_is_true(json_object_get(r->body, "typing"));
	if (t && !json_is_integer(t)) {
		api_error(r, 400, "M_BAD_JSON", "timeout must be an integer");
		return;
	}
	if (t)
		timeout = json_integer_value(t);
	if (timeout < 0 || timeout > TYPING_MAX_MS)
		timeout = TYPING_MAX_MS;
	if (rooms_typing(r->hs->rooms, api_param(r, 0), r->who.user_id, on, timeout) != ROOM_OK)
		api_error(r, 500, "M_UNKNOWN", "Internal error");
	else
		api_reply(r, 200, json_object());
}

/* ---- receipts and read markers -------------------------------------------- */

static int event_in_room(struct api_req *r, const char *room_id, const char *event_id)
{
	struct room_event e;
	int ok = room_store_event_get(rooms_store(r->hs->rooms), event_id, &e) == STORE_OK &&
		 strcmp(e.room_id, room_id) == 0;
	room_event_clear(&e);
	if (!ok)
		api_error(r, 404, "M_NOT_FOUND", "Unknown event");
	return ok ? 0 : -1;
}

static int fully_read(struct api_req *r, const char *room_id, const char *event_id)
{
	json_t *c = json_pack("{s:s}", "event_id", event_id);
	enum room_rc rc = rooms_account_data_put(r->hs->rooms, r->who.user_id, room_id,
						 "m.fully_read", c);
	json_decref(c);
	if (rc != ROOM_OK)
		api_error(r, 500, "M_UNKNOWN", "Internal error");
	return rc == ROOM_OK ? 0 : -1;
}

/* A threaded receipt must be for an event of its thread: the root or one
 * of its m.thread replies ("main": anything not in a thread). */
static int in_thread(struct api_req *r, const char *event_id, const char *thread_id)
{
	struct room_event e;
	json_t *ev = NULL, *rel;
	const char *type, *root;
	int ok;
	memset(&e, 0, sizeof(e));
	if (room_store_event_get(rooms_store(r->hs->rooms), event_id, &e) == STORE_OK)
		ev = json_loads(e.json, JSON_ALLOW_NUL, NULL);
	room_event_clear(&e);
	rel = json_object_get(json_object_get(ev, "content"), "m.relates_to");
	type = json_string_value(json_object_get(rel, "rel_type"));
	root = type && strcmp(type, "m.thread") == 0
		       ? json_string_value(json_object_get(rel, "event_id")) : NULL;
	if (strcmp(thread_id, "main") == 0)
		ok = !root;
	else
		ok = strcmp(event_id, thread_id) == 0 || (root && strcmp(root, thread_id) == 0);
	json_decref(ev);
	if (!ok)
		api_error(r, 400, "M_INVALID_PARAM", "The event is not in thread %.255s", thread_id);
	return ok ? 0 : -1;
}

static int one_receipt(struct api_req *r, const char *room_id, const char *type,
		       const char *event_id, const char *thread_id)
{
	enum room_rc rc;
	if (event_in_room(r, room_id, event_id) < 0)
		return -1;
	if (strcmp(type, "m.fully_read") == 0 && thread_id) {
		api_error(r, 400, "M_INVALID_PARAM", "m.fully_read cannot be threaded");
		return -1;
	}
	if (strcmp(type, "m.fully_read") == 0)
		return fully_read(r, room_id, event_id);
	if (strcmp(type, "m.read") != 0 && strcmp(type, "m.read.private") != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Unknown receipt type");
		return -1;
	}
	if (thread_id && in_thread(r, event_id, thread_id) < 0)
		return -1;
	rc = thread_id ? rooms_receipt_put_thread(r->hs->rooms, room_id, r->who.user_id, type,
						  thread_id, event_id)
		       : rooms_receipt_put(r->hs->rooms, room_id, r->who.user_id, type, event_id);
	if (rc != ROOM_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		return -1;
	}
	return 0;
}

static void receipt(struct api_req *r)
{
	const char *thread_id = NULL;
	if (!r->hs->rooms || api_require_joined(r, api_param(r, 0)) < 0 ||
	    (r->body && api_opt_string(r, r->body, "thread_id", &thread_id) < 0))
		return;
	if (thread_id && !thread_id[0]) {
		api_error(r, 400, "M_INVALID_PARAM", "thread_id must not be empty");
		return;
	}
	if (one_receipt(r, api_param(r, 0), api_param(r, 1), api_param(r, 2), thread_id) == 0)
		api_reply(r, 200, json_object());
}

static void read_markers(struct api_req *r)
{
	static const char *const keys[] = { "m.fully_read", "m.read", "m.read.private" };
	const char *ids[3];
	if (!r->hs->rooms || api_require_joined(r, api_param(r, 0)) < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (api_opt_string(r, r->body, keys[i], &ids[i]) < 0)
			return;
	for (int i = 0; i < 3; i++)
		if (ids[i] && one_receipt(r, api_param(r, 0), keys[i], ids[i], NULL) < 0)
			return;
	api_reply(r, 200, json_object());
}

/* ---- account data and tags ------------------------------------------------- */

static int check_type(struct api_req *r, const char *type)
{
	if (strcmp(type, "m.fully_read") == 0 || strcmp(type, "m.push_rules") == 0) {
		api_error(r, 405, "M_BAD_JSON", "Cannot set %s through this API", type);
		return -1;
	}
	return 0;
}

static void account_data_get(struct api_req *r, const char *room_id, const char *type)
{
	char *c = NULL;
	json_t *v;
	if (room_store_account_data_get(rooms_store(r->hs->rooms), r->who.user_id, room_id, type,
					&c) != STORE_OK) {
		api_error(r, 404, "M_NOT_FOUND", "Account data not found");
		return;
	}
	v = json_loads(c, 0, NULL);
	free(c);
	if (v)
		api_reply(r, 200, v);
	else
		api_error(r, 500, "M_UNKNOWN", "Internal error");
}

static void account_data_put(struct api_req *r, const char *room_id, const char *type)
{
	char *s = json_dumps(r->body, JSON_COMPACT);
	size_t len = s ? strlen(s) : 0;
	free(s);
	if (len > ACCOUNT_DATA_MAX) {
		api_error(r, 413, "M_TOO_LARGE", "Account data too large");
		return;
	}
	if (rooms_account_data_put(r->hs->rooms, r->who.user_id, room_id, type, r->body) != ROOM_OK)
		api_error(r, 500, "M_UNKNOWN", "Internal error");
	else
		api_reply(r, 200, json_object());
}

static void global_ad_get(struct api_req *r)
{
	if (r->hs->rooms && own(r, 0) == 0)
		account_data_get(r, "", api_param(r, 1));
}

static void global_ad_put(struct api_req *r)
{
	if (r->hs->rooms && own(r, 0) == 0 && check_type(r, api_param(r, 1)) == 0)
		account_data_put(r, "", api_param(r, 1));
}

static int room_ok(struct api_req *r)
{
	const char *room = api_param(r, 1);
	if (room[0] != '!') {
		api_error(r, 400, "M_INVALID_PARAM", "Not a room ID");
		return -1;
	}
	return 0;
}

static void room_ad_get(struct api_req *r)
{
	if (r->hs->rooms && own(r, 0) == 0 && room_ok(r) == 0)
		account_data_get(r, api_param(r, 1), api_param(r, 2));
}

static void room_ad_put(struct api_req *r)
{
	if (r->hs->rooms && own(r, 0) == 0 && room_ok(r) == 0 && check_type(r, api_param(r, 2)) == 0)
		account_data_put(r, api_param(r, 1), api_param(r, 2));
}

static json_t *tags_of(struct api_req *r)
{
	char *c = NULL;
	json_t *v = NULL;
	if (room_store_account_data_get(rooms_store(r->hs->rooms), r->who.user_id, api_param(r, 1),
					"m.tag", &c) == STORE_OK)
		v = json_loads(c, 0, NULL);
	free(c);
	if (!json_is_object(json_object_get(v, "tags"))) {
		json_decref(v);
		v = json_pack("{s:{}}", "tags");
	}
	return v;
}

static void tags_get(struct api_req *r)
{
	if (r->hs->rooms && own(r, 0) == 0 && room_ok(r) == 0)
		api_reply(r, 200, tags_of(r));
}

static void tag_change(struct api_req *r, int add)
{
	json_t *t;
	if (!r->hs->rooms || own(r, 0) < 0 || room_ok(r) < 0)
		return;
	t = tags_of(r);
	if (add)
		json_object_set(json_object_get(t, "tags"), api_param(r, 2), r->body);
	else
		json_object_del(json_object_get(t, "tags"), api_param(r, 2));
	if (rooms_account_data_put(r->hs->rooms, r->who.user_id, api_param(r, 1), "m.tag", t) !=
	    ROOM_OK)
		api_error(r, 500, "M_UNKNOWN", "Internal error");
	else
		api_reply(r, 200, json_object());
	json_decref(t);
}

static void tag_put(struct api_req *r) { tag_change(r, 1); }
static void tag_delete(struct api_req *r) { tag_change(r, 0); }

/* ---- aliases and the directory ---------------------------------------------- */

static int alias_ok(struct api_req *r, const char *alias)
{
	const char *colon = strchr(alias, ':');
	if (alias[0] != '#' || !colon || colon == alias + 1 || strlen(alias) > 255) {
		api_error(r, 400, "M_INVALID_PARAM", "Invalid room alias");
		return -1;
	}
	if (strcmp(colon + 1, rooms_server_name(r->hs->rooms)) != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Room alias must be on this server");
		return -1;
	}
	return 0;
}

static void alias_put(struct api_req *r)
{
	const char *room_id;
	char m[16];
	enum store_rc rc;
	if (!r->hs->rooms || alias_ok(r, api_param(r, 0)) < 0 ||
	    api_req_string(r, r->body, "room_id", &room_id) < 0)
		return;
	if (rooms_membership(r->hs->rooms, room_id, r->who.user_id, m) != ROOM_OK) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return;
	}
	if (strcmp(m, "join") != 0) {
		api_error(r, 403, "M_FORBIDDEN", "You are not joined to this room");
		return;
	}
	rc = room_store_alias_put(rooms_store(r->hs->rooms), api_param(r, 0), room_id,
				  r->who.user_id);
	if (rc == STORE_CONFLICT)
		api_error(r, 409, "M_UNKNOWN", "Room alias already exists");
	else if (rc != STORE_OK)
		api_error(r, 500, "M_UNKNOWN", "Internal error");
	else
		api_reply(r, 200, json_object());
}

/* A remote alias from its server (federation directory query): 1 when
 * answered, 0 when the alias is local. */
static int alias_get_remote(struct api_req *r, const char *alias)
{
	const char *dom = strchr(alias, ':'), *params[2] = { "room_alias", alias };
	long status = 0;
	json_t *reply = NULL, *rid, *servers;

	if (!dom || strcmp(dom + 1, r->hs->cfg->server_name) == 0 || alias[0] != '#')
		return 0;
	if (!r->hs->fed_query) {
		api_error(r, 404, "M_NOT_FOUND", "Room alias not found");
		return 1;
	}
	if (r->hs->fed_query(r->hs->remote_join_arg, dom + 1, "directory", params, 2, &status, &reply) < 0) {
		api_error(r, 502, "M_UNKNOWN", "Cannot reach the alias's server");
		return 1;
	}
	rid = json_object_get(reply, "room_id");
	servers = json_object_get(reply, "servers");
	if (status == 200 && json_is_string(rid) && json_string_value(rid)[0] == '!' && json_is_array(servers))
		api_reply(r, 200, json_pack("{s:O,s:O}", "room_id", rid, "servers", servers));
	else if (status == 200 || status == 404)
		api_error(r, 404, "M_NOT_FOUND", "Room alias not found");
	else
		api_error(r, 502, "M_UNKNOWN", "The alias's server answered %ld", status);
	json_decref(reply);
	return 1;
}

static void alias_get(struct api_req *r)
{
	char *room_id = NULL;
	if (!r->hs->rooms || alias_get_remote(r, api_param(r, 0)))
		return;
	if (room_store_alias_get(rooms_store(r->hs->rooms), api_param(r, 0), &room_id, NULL) !=
	    STORE_OK) {
		api_error(r, 404, "M_NOT_FOUND", "Room alias not found");
		return;
	}
	api_reply(r, 200, json_pack("{s:s,s:[s]}", "room_id", room_id, "servers",
				    rooms_server_name(r->hs->rooms)));
	free(room_id);
}

static void alias_delete(struct api_req *r)
{
	char *room_id = NULL, *creator = NULL;
	int64_t have = 0, needed = 0, x;
	if (!r->hs->rooms)
		return;
	if (room_store_alias_get(rooms_store(r->hs->rooms), api_param(r, 0), &room_id, &creator) !=
	    STORE_OK) {
		api_error(r, 404, "M_NOT_FOUND", "Room alias not found");
		return;
	}
	/* Its creator, or someone who may change the canonical alias. */
	rooms_power(r->hs->rooms, room_id, r->who.user_id, "m.room.canonical_alias", &have, &needed,
		    &x, &x, &x, &x);
	if (strcmp(creator, r->who.user_id) != 0 && !r->who.is_admin && have < needed)
		api_error(r, 403, "M_FORBIDDEN", "You may not remove this alias");
	else if (room_store_alias_delete(rooms_store(r->hs->rooms), api_param(r, 0)) != STORE_OK)
		api_error(r, 500, "M_UNKNOWN", "Internal error");
	else
		api_reply(r, 200, json_object());
	free(room_id);
	free(creator);
}

static void room_aliases(struct api_req *r)
{
	json_t *list;
	if (!r->hs->rooms || api_require_joined(r, api_param(r, 0)) < 0)
		return;
	if (room_store_aliases_of(rooms_store(r->hs->rooms), api_param(r, 0), &list) != STORE_OK)
		api_error(r, 500, "M_UNKNOWN", "Internal error");
	else
		api_reply(r, 200, json_pack("{s:o}", "aliases", list));
}

static void visibility_get(struct api_req *r)
{
	const struct room_version *rv;
	int pub = 0;
	if (!r->hs->rooms)
		return;
	if (rooms_version(r->hs->rooms, api_param(r, 0), &rv) != ROOM_OK) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return;
	}
	room_store_directory_get(rooms_store(r->hs->rooms), api_param(r, 0), &pub);
	api_reply(r, 200, json_pack("{s:s}", "visibility", pub ? "public" : "private"));
}

static void visibility_put(struct api_req *r)
{
	const char *vis = NULL;
	int64_t have = 0, needed = 0, x;
	if (!r->hs->rooms || api_opt_string(r, r->body, "visibility", &vis) < 0 ||
	    api_require_joined(r, api_param(r, 0)) < 0)
		return;
	if (vis && strcmp(vis, "public") != 0 && strcmp(vis, "private") != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "visibility must be public or private");
		return;
	}
	rooms_power(r->hs->rooms, api_param(r, 0), r->who.user_id, "m.room.canonical_alias", &have,
		    &needed, &x, &x, &x, &x);
	if (have < needed) {
		api_error(r, 403, "M_FORBIDDEN", "You may not publish this room");
		return;
	}
	if (room_store_directory_set(rooms_store(r->hs->rooms), api_param(r, 0),
				     vis && strcmp(vis, "public") == 0) != STORE_OK)
		api_error(r, 500, "M_UNKNOWN", "Internal error");
	else
		api_reply(r, 200, json_object());
}

static void state_string(struct api_req *r, const char *room, const char *type,
			 const char *key, json_t *out, const char *as)
{
	json_t *ev = rooms_state_event(r->hs->rooms, room, type, "");
	json_t *v = json_object_get(json_object_get(ev, "content"), key);
	if (json_is_string(v))
		json_object_set(out, as, v);
	json_decref(ev);
}

static void public_rooms(struct api_req *r)
{
	json_t *ids, *chunk, *id;
	size_t i;
	if (!r->hs->rooms)
		return;
	if (room_store_directory_list(rooms_store(r->hs->rooms), &ids) != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		return;
	}
	chunk = json_array();
	json_array_foreach(ids, i, id) {
		const char *rid = json_string_value(id);
		json_t *all = rooms_state_all(r->hs->rooms, rid), *ev, *o;
		size_t k, joined = 0;
		json_array_foreach(all, k, ev)
			if (strcmp(event_type(ev) ? event_type(ev) : "", "m.room.member") == 0 &&
			    strcmp(event_membership(ev) ? event_membership(ev) : "", "join") == 0)
				joined++;
		json_decref(all);
		o = json_pack("{s:s,s:I,s:b,s:b}", "room_id", rid, "num_joined_members",
			      (json_int_t)joined, "world_readable", 0, "guest_can_join", 0);
		state_string(r, rid, "m.room.name", "name", o, "name");
		state_string(r, rid, "m.room.topic", "topic", o, "topic");
		state_string(r, rid, "m.room.canonical_alias", "alias", o, "canonical_alias");
		state_string(r, rid, "m.room.avatar", "url", o, "avatar_url");
		state_string(r, rid, "m.room.join_rules", "join_rule", o, "join_rule");
		json_array_append_new(chunk, o);
	}
	json_decref(ids);
	api_reply(r, 200, json_pack("{s:o,s:I}", "chunk", chunk, "total_room_count_estimate",
				    (json_int_t)json_array_size(chunk)));
}

#define V (API_CLIENT_R0 | API_CLIENT_V3)
#define A (V | API_AUTH)
const struct api_route api_extras_routes[] = {
	{ "PUT", "/rooms/{roomId}/typing/{userId}", typing, A | API_JSON },
	{ "POST", "/rooms/{roomId}/receipt/{receiptType}/{eventId}", receipt, A | API_JSON_OPTIONAL },
	{ "POST", "/rooms/{roomId}/read_markers", read_markers, A | API_JSON },
	{ "GET", "/user/{userId}/account_data/{type}", global_ad_get, A },
	{ "PUT", "/user/{userId}/account_data/{type}", global_ad_put, A | API_JSON },
	{ "GET", "/user/{userId}/rooms/{roomId}/account_data/{type}", room_ad_get, A },
	{ "PUT", "/user/{userId}/rooms/{roomId}/account_data/{type}", room_ad_put, A | API_JSON },
	{ "GET", "/user/{userId}/rooms/{roomId}/tags", tags_get, A },
	{ "PUT", "/user/{userId}/rooms/{roomId}/tags/{tag}", tag_put, A | API_JSON },
	{ "DELETE", "/user/{userId}/rooms/{roomId}/tags/{tag}", tag_delete, A | API_JSON_OPTIONAL },
	{ "PUT", "/directory/room/{roomAlias}", alias_put, A | API_JSON },
	{ "GET", "/directory/room/{roomAlias}", alias_get, V },
	{ "DELETE", "/directory/room/{roomAlias}", alias_delete, A | API_JSON_OPTIONAL },
	{ "GET", "/rooms/{roomId}/aliases", room_aliases, A },
	{ "GET", "/directory/list/room/{roomId}", visibility_get, V },
	{ "PUT", "/directory/list/room/{roomId}", visibility_put, A | API_JSON },
	{ "GET", "/publicRooms", public_rooms, V },
	{ "POST", "/publicRooms", public_rooms, A | API_JSON_OPTIONAL },
};
const size_t api_extras_nroutes = sizeof(api_extras_routes) / sizeof(api_extras_routes[0]);
