/* Room endpoints of the client-server API v3: createRoom, send, state,
 * membership (join, invite, leave, forget, kick, ban, unban), members,
 * joined_rooms, event, messages, redact.  The work is in rooms.c; this
 * file maps requests to it and its results to the spec's errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "homeserver/aggregations.h"
#include "homeserver/api.h"
#include "homeserver/api_rooms.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store.h"

#define MESSAGES_DEFAULT 10
#define MESSAGES_MAX 1000

static void room_err(struct api_req *r, enum room_rc rc, const struct room_result *res)
{
	const char *why = res && res->reason[0] ? res->reason : NULL;
	switch (rc) {
	case ROOM_OK:
		break;
	case ROOM_NOT_FOUND:
		api_error(r, 404, "M_NOT_FOUND", "%s", why ? why : "Unknown room");
		break;
	case ROOM_FORBIDDEN:
		api_error(r, 403, "M_FORBIDDEN", "%s", why ? why : "Forbidden");
		break;
	case ROOM_TOO_LARGE:
		api_error(r, 413, "M_TOO_LARGE", "%s", why ? why : "Event too large");
		break;
	case ROOM_BAD_JSON:
		api_error(r, 400, "M_BAD_JSON", "%s", why ? why : "Malformed event");
		break;
	case ROOM_UNSUPPORTED:
		api_error(r, 400, "M_UNSUPPORTED_ROOM_VERSION", "%s",
			  why ? why : "Unsupported room version");
		break;
	default:
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		break;
	}
}

static struct rooms *rooms_of(struct api_req *r)
{
	if (!r->hs->rooms)
		api_error(r, 404, "M_UNRECOGNIZED", "Rooms are not enabled");
	return r->hs->rooms;
}

/* 403 unless the requester is joined. */
int api_require_joined(struct api_req *r, const char *room_id)
{
	char m[16];
	if (rooms_membership(r->hs->rooms, room_id, r->who.user_id, m) != ROOM_OK) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return -1;
	}
	if (strcmp(m, "join") != 0) {
		api_error(r, 403, "M_FORBIDDEN", "You are not joined to this room");
		return -1;
	}
	return 0;
}

/* Which events of the room the requester may read: all while joined, up
 * to their leave (or ban) once they left.  Answers 404/403 and returns -1
 * when none. */
static int readable_upto(struct api_req *r, const char *room_id, int64_t *upto)
{
	char m[16];
	json_t *ev;
	struct room_event e;
	const struct room_version *rv;
	char id[EVENT_ID_BUF];
	int ok = 0;

	*upto = INT64_MAX;
	if (rooms_membership(r->hs->rooms, room_id, r->who.user_id, m) != ROOM_OK) {
		api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return -1;
	}
	if (strcmp(m, "join") == 0)
		return 0;
	if (strcmp(m, "leave") == 0 || strcmp(m, "ban") == 0) {
		ev = rooms_state_event(r->hs->rooms, room_id, "m.room.member", r->who.user_id);
		if (ev && rooms_version(r->hs->rooms, room_id, &rv) == ROOM_OK &&
		    event_compute_id(rv, ev, id) == 0 &&
		    room_store_event_get(rooms_store(r->hs->rooms), id, &e) == STORE_OK) {
			*upto = e.stream_pos;
			room_event_clear(&e);
			ok = 1;
		}
		json_decref(ev);
		if (ok)
			return 0;
	}
	api_error(r, 403, "M_FORBIDDEN", "You are not joined to this room");
	return -1;
}

static void reply_event_id(struct api_req *r, const struct room_result *res)
{
	api_reply(r, 200, json_pack("{s:s}", "event_id", res->event_id));
}

static void send_one(struct api_req *r, const char *room_id, const char *type,
		     const char *state_key, const json_t *content, const char *redacts,
		     const char *txn_id)
{
	struct room_send s = { room_id, r->who.user_id, type, state_key, content, redacts,
			       r->who.device_id, txn_id };
	struct room_result res;
	enum room_rc rc = rooms_send(r->hs->rooms, &s, &res);
	if (rc == ROOM_OK)
		reply_event_id(r, &res);
	else
		room_err(r, rc, &res);
}

/* ---- createRoom --------------------------------------------------------- */

static int pl_level_ok(const json_t *v, int strict)
{
	if (json_is_integer(v))
		return 1;
	if (!strict && json_is_string(v)) {
		char *end;
		strtoll(json_string_value(v), &end, 10);
		return *json_string_value(v) && !*end;
	}
	return 0;
}

/* Power levels a client may ask for: integers (strings before v10). */
static int pl_valid(const json_t *pl, int strict)
{
	static const char *const levels[] = {
		"ban", "kick", "redact", "invite", "events_default", "state_default",
		"users_default",
	};
	const char *k;
	json_t *v;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if ((v = json_object_get(pl, levels[i])) && !pl_level_ok(v, strict))
			return 0;
	for (size_t i = 0; i < 2; i++) {
		json_t *m = json_object_get(pl, i ? "users" : "events");
		if (m && !json_is_object(m))
			return 0;
		json_object_foreach(m, k, v)
			if (!pl_level_ok(v, strict))
				return 0;
	}
	if ((v = json_object_get(pl, "notifications"))) {
		if (!json_is_object(v))
			return 0;
		json_t *room = json_object_get(v, "room");
		if (room && !pl_level_ok(room, strict))
			return 0;
	}
	return 1;
}

static void add_initial(json_t *list, const char *type, const char *state_key, json_t *content)
{
	json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "type", type, "state_key",
					      state_key, "content", content));
}

static json_t *member_content(struct api_req *r, const char *membership, const char *user)
{
	json_t *c = json_pack("{s:s}", "membership", membership);
	struct store_user u;
	memset(&u, 0, sizeof(u));
	if (c && user && store_user_get(r->hs->store, user, &u) == STORE_OK) {
		if (u.displayname)
			json_object_set_new(c, "displayname", json_string(u.displayname));
		if (u.avatar_url)
			json_object_set_new(c, "avatar_url", json_string(u.avatar_url));
	}
	store_user_clear(&u);
	return c;
}

static void create_room(struct api_req *r)
{
	struct rooms *rooms = rooms_of(r);
	const char *preset = NULL, *name = NULL, *topic = NULL, *version = NULL, *vis = NULL;
	const char *alias_name = NULL;
	char alias[300] = "";
	json_t *override = NULL, *creation = NULL, *initial_state, *invite, *list, *pl, *v;
	const struct room_version *rv;
	struct room_result res;
	enum room_rc rc;
	int is_direct, private_chat, trusted;
	size_t i;

	if (!rooms || api_opt_string(r, r->body, "preset", &preset) < 0 ||
	    api_opt_string(r, r->body, "name", &name) < 0 ||
	    api_opt_string(r, r->body, "topic", &topic) < 0 ||
	    api_opt_string(r, r->body, "room_version", &version) < 0 ||
	    api_opt_string(r, r->body, "visibility", &vis) < 0 ||
	    api_opt_string(r, r->body, "room_alias_name", &alias_name) < 0 ||
	    api_opt_object(r, r->body, "power_level_content_override", &override) < 0 ||
	    api_opt_object(r, r->body, "creation_content", &creation) < 0 ||
	    api_opt_bool(r, r->body, "is_direct", 0, &is_direct) < 0)
		return;
	initial_state = json_object_get(r->body, "initial_state");
	invite = json_object_get(r->body, "invite");
	if ((initial_state && !json_is_array(initial_state) && !json_is_null(initial_state)) ||
	    (invite && !json_is_array(invite) && !json_is_null(invite))) {
		api_error(r, 400, "M_BAD_JSON", "initial_state and invite must be arrays");
		return;
	}
	json_array_foreach(invite, i, v)
		if (!json_is_string(v) || !matrix_user_id_valid(json_string_value(v))) {
			api_error(r, 400, "M_INVALID_PARAM", "invite must list user IDs");
			return;
		}
	json_array_foreach(initial_state, i, v)
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "type")) ||
		    !json_is_object(json_object_get(v, "content")) ||
		    (json_object_get(v, "state_key") &&
		     !json_is_string(json_object_get(v, "state_key")))) {
			api_error(r, 400, "M_BAD_JSON", "initial_state entries need type and content");
			return;
		}
	if (alias_name) {
		char *taken = NULL;
		if (!*alias_name || strchr(alias_name, ':') || strchr(alias_name, '#') ||
		    (size_t)snprintf(alias, sizeof(alias), "#%s:%s", alias_name,
				     rooms_server_name(rooms)) >= 256) {
			api_error(r, 400, "M_INVALID_PARAM", "Invalid room_alias_name");
			return;
		}
		if (room_store_alias_get(rooms_store(rooms), alias, &taken, NULL) == STORE_OK) {
			free(taken);
			api_error(r, 400, "M_ROOM_IN_USE", "Room alias already taken");
			return;
		}
	}
	rv = room_version_get(version ? version : ROOM_VERSION_DEFAULT);
	if (!rv || rv->event_id == EVENT_ID_V1) {
		api_error(r, 400, "M_UNSUPPORTED_ROOM_VERSION", "Unsupported room version");
		return;
	}
	if (!preset)
		preset = vis && strcmp(vis, "public") == 0 ? "public_chat" : "private_chat";
	private_chat = strcmp(preset, "public_chat") != 0;
	trusted = strcmp(preset, "trusted_private_chat") == 0;
	if (strcmp(preset, "public_chat") != 0 && strcmp(preset, "private_chat") != 0 && !trusted) {
		api_error(r, 400, "M_INVALID_PARAM", "Unknown preset");
		return;
	}
	if (override && !pl_valid(override, rv->integer_power_levels)) {
		api_error(r, 400, "M_INVALID_PARAM", "power_level_content_override is invalid");
		return;
	}
	if (override && rv->privileged_creators &&
	    json_object_get(json_object_get(override, "users"), r->who.user_id)) {
		api_error(r, 400, "M_INVALID_PARAM", "room creators may not be listed in users");
		return;
	}
	list = json_array();
	add_initial(list, "m.room.member", r->who.user_id,
		    member_content(r, "join", r->who.user_id));
	pl = json_pack("{s:{},s:i,s:{s:i,s:i,s:i,s:i,s:i,s:i,s:i},s:i,s:i,s:i,s:i,s:i,s:i,"
		       "s:{s:i}}",
		       "users", "users_default", 0,
		       "events", "m.room.name", 50, "m.room.power_levels", 100,
		       "m.room.history_visibility", 100, "m.room.canonical_alias", 50,
		       "m.room.avatar", 50, "m.room.tombstone", 100, "m.room.encryption", 100,
		       "events_default", 0, "state_default", 50, "ban", 50, "kick", 50,
		       "redact", 50, "invite", 0, "notifications", "room", 50);
	if (!rv->privileged_creators)
		json_object_set_new(json_object_get(pl, "users"), r->who.user_id, json_integer(100));
	if (trusted)
		json_array_foreach(invite, i, v)
			json_object_set_new(json_object_get(pl, "users"), json_string_value(v),
					    json_integer(100));
	if (override) {
		const char *k;
		json_object_foreach(override, k, v)
			json_object_set(pl, k, v);
	}
	add_initial(list, "m.room.power_levels", "", pl);
	add_initial(list, "m.room.join_rules", "",
		    json_pack("{s:s}", "join_rule", private_chat ? "invite" : "public"));
	add_initial(list, "m.room.history_visibility", "",
		    json_pack("{s:s}", "history_visibility", "shared"));
	if (private_chat)
		add_initial(list, "m.room.guest_access", "",
			    json_pack("{s:s}", "guest_access", "can_join"));
	json_array_foreach(initial_state, i, v) {
		const char *sk = json_string_value(json_object_get(v, "state_key"));
		add_initial(list, json_string_value(json_object_get(v, "type")), sk ? sk : "",
			    json_deep_copy(json_object_get(v, "content")));
	}
	if (alias[0])
		add_initial(list, "m.room.canonical_alias", "", json_pack("{s:s}", "alias", alias));
	if (name)
		add_initial(list, "m.room.name", "", json_pack("{s:s}", "name", name));
	if (topic)
		add_initial(list, "m.room.topic", "", json_pack("{s:s}", "topic", topic));
	json_array_foreach(invite, i, v) {
		json_t *c = member_content(r, "invite", NULL);
		if (is_direct)
			json_object_set_new(c, "is_direct", json_true());
		add_initial(list, "m.room.member", json_string_value(v), c);
	}
	rc = rooms_create(rooms, r->who.user_id, rv->id, creation, list, &res);
	json_decref(list);
	if (rc == ROOM_FORBIDDEN || (rc == ROOM_BAD_JSON && res.room_id[0])) {
		api_error(r, 400, "M_INVALID_PARAM", "%s", res.reason);
		return;
	}
	if (rc != ROOM_OK) {
		room_err(r, rc, &res);
		return;
	}
	if (alias[0] && room_store_alias_put(rooms_store(rooms), alias, res.room_id,
					     r->who.user_id) != STORE_OK) {
		api_error(r, 400, "M_ROOM_IN_USE", "Room alias already taken");
		return;
	}
	if (vis && strcmp(vis, "public") == 0)
		room_store_directory_set(rooms_store(rooms), res.room_id, 1);
	api_reply(r, 200, json_pack("{s:s}", "room_id", res.room_id));
}

/* ---- send, state ------------------------------------------------------------ */

static void send_event(struct api_req *r)
{
	if (!rooms_of(r))
		return;
	send_one(r, api_param(r, 0), api_param(r, 1), NULL, r->body, NULL, api_param(r, 2));
}

static void put_state(struct api_req *r)
{
	const char *type = api_param(r, 1);
	const char *sk = r->match.nparams > 2 ? api_param(r, 2) : "";
	if (!rooms_of(r))
		return;
	if (strcmp(type, "m.room.create") == 0) {
		api_error(r, 403, "M_FORBIDDEN", "A room has one create event");
		return;
	}
	send_one(r, api_param(r, 0), type, sk, r->body, NULL, NULL);
}

static void get_state_event(struct api_req *r)
{
	const char *sk = r->match.nparams > 2 ? api_param(r, 2) : "";
	json_t *ev;
	if (!rooms_of(r) || api_require_joined(r, api_param(r, 0)) < 0)
		return;
	ev = rooms_state_event(r->hs->rooms, api_param(r, 0), api_param(r, 1), sk);
	if (!ev) {
		api_error(r, 404, "M_NOT_FOUND", "Event not found");
		return;
	}
	api_reply(r, 200, json_deep_copy(json_object_get(ev, "content")));
	json_decref(ev);
}

/* Each current state event of room in client format, filtered by type. */
static json_t *client_state(struct api_req *r, const char *room_id, const char *only_type)
{
	json_t *all = rooms_state_all(r->hs->rooms, room_id), *out = json_array(), *ev;
	size_t i;
	json_array_foreach(all, i, ev) {
		struct room_event e;
		char id[EVENT_ID_BUF];
		const struct room_version *rv;
		if (only_type && strcmp(event_type(ev) ? event_type(ev) : "", only_type) != 0)
			continue;
		if (rooms_version(r->hs->rooms, room_id, &rv) != ROOM_OK ||
		    event_compute_id(rv, ev, id) < 0)
			continue;
		if (room_store_event_get(rooms_store(r->hs->rooms), id, &e) == STORE_OK) {
			json_t *ce = rooms_client_event(r->hs->rooms, &e, r->who.user_id,
							r->who.device_id);
			if (ce)
				json_array_append_new(out, ce);
			room_event_clear(&e);
		}
	}
	json_decref(all);
	return out;
}

static void get_state(struct api_req *r)
{
	if (!rooms_of(r) || api_require_joined(r, api_param(r, 0)) < 0)
		return;
	api_reply(r, 200, client_state(r, api_param(r, 0), NULL));
}

/* ---- membership ------------------------------------------------------------ */

/* Joins or knocks over federation on a room this server is not in (or
 * not any more), through the servers named by ?server_name= / ?via= and
 * the room's own.  fn is hs->remote_join or hs->remote_knock; content, the
 * member event's, is borrowed. */
static void member_remote(struct api_req *r, hs_remote_join_fn fn, const char *room, const json_t *content)
{
	char *qs[2] = { http_query(r->http, "server_name"), http_query(r->http, "via") };
	const char *via[2];
	size_t nvia = 0;
	char room_id[256], errcode[64], error[256];
	int status;

	for (int i = 0; i < 2; i++)
		if (qs[i])
			via[nvia++] = qs[i];
	status = fn(r->hs->remote_join_arg, room, via, nvia, r->who.user_id, content, room_id,
		    sizeof(room_id), errcode, sizeof(errcode), error, sizeof(error));
	if (status == 200)
		api_reply(r, 200, json_pack("{s:s}", "room_id", room_id));
	else
		api_error(r, status >= 400 && status < 600 ? status : 502, errcode, "%s", error);
	free(qs[0]);
	free(qs[1]);
}

static void join_remote(struct api_req *r, const char *room)
{
	const char *reason = NULL;
	json_t *c;

	if (r->body && api_opt_string(r, r->body, "reason", &reason) < 0)
		return;
	if (!(c = member_content(r, "join", r->who.user_id))) {
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
		return;
	}
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	member_remote(r, r->hs->remote_join, room, c);
	json_decref(c);
}

static int http_query_present(struct api_req *r, const char *name)
{
	char *v = http_query(r->http, name);
	int present = v != NULL;
	free(v);
	return present;
}

/* Whether the requester's invite to room_id came from another server. */
static int invited_from_afar(struct api_req *r, const char *room_id)
{
	json_t *ev = rooms_state_event(r->hs->rooms, room_id, "m.room.member", r->who.user_id);
	const char *m = ev ? event_membership(ev) : NULL, *snd = ev ? event_sender(ev) : NULL;
	const char *dom = snd ? strchr(snd, ':') : NULL;
	int far = m && strcmp(m, "invite") == 0 && dom && strcmp(dom + 1, r->hs->cfg->server_name) != 0;
	json_decref(ev);
	return far;
}

/* Whether id (a room ID or alias) lives on another server. */
static int remote_id(struct api_req *r, const char *id)
{
	const char *dom = strchr(id, ':');
	return dom && strcmp(dom + 1, r->hs->cfg->server_name) != 0;
}

static void do_join(struct api_req *r, const char *room_id)
{
	struct room_send s;
	struct room_result res;
	enum room_rc rc;
	json_t *c;
	char m[16];

	if (room_id[0] == '#') {
		char *resolved = NULL;
		if (room_store_alias_get(rooms_store(r->hs->rooms), room_id, &resolved, NULL) !=
		    STORE_OK) {
			if (r->hs->remote_join && remote_id(r, room_id))
				join_remote(r, room_id);
			else
				api_error(r, 404, "M_NOT_FOUND", "Unknown room alias");
			return;
		}
		do_join(r, resolved);
		free(resolved);
		return;
	}
	if (room_id[0] != '!') {
		api_error(r, 400, "M_INVALID_PARAM", "Not a room ID or alias");
		return;
	}
	if (rooms_membership(r->hs->rooms, room_id, r->who.user_id, m) != ROOM_OK) {
		if (r->hs->remote_join)
			join_remote(r, room_id);
		else
			api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return;
	}
	if (strcmp(m, "join") == 0) {
		api_reply(r, 200, json_pack("{s:s}", "room_id", room_id));
		return;
	}
	if (r->hs->remote_join && !rooms_server_joined(r->hs->rooms, room_id) &&
	    (remote_id(r, room_id) || http_query_present(r, "via") || http_query_present(r, "server_name") ||
	     invited_from_afar(r, room_id))) {
		/* Known here, but nobody of ours is in it any more: our view may
		 * be stale, so join through the servers that are. */
		join_remote(r, room_id);
		return;
	}
	c = member_content(r, "join", r->who.user_id);
	memset(&s, 0, sizeof(s));
	s.room_id = room_id;
	s.sender = r->who.user_id;
	s.type = "m.room.member";
	s.state_key = r->who.user_id;
	s.content = c;
	rc = rooms_send(r->hs->rooms, &s, &res);
	json_decref(c);
	if (rc != ROOM_OK)
		room_err(r, rc, &res);
	else
		api_reply(r, 200, json_pack("{s:s}", "room_id", room_id));
}

static void join_room_id(struct api_req *r)
{
	if (rooms_of(r))
		do_join(r, api_param(r, 0));
}

static void membership_change(struct api_req *r, const char *membership, int needs_target)
{
	const char *target = r->who.user_id, *reason = NULL;
	json_t *c;
	char m[16];

	if (!rooms_of(r))
		return;
	if (r->body && api_opt_string(r, r->body, "reason", &reason) < 0)
		return;
	if (needs_target) {
		if (api_req_string(r, r->body, "user_id", &target) < 0)
			return;
		if (!matrix_user_id_valid(target)) {
			api_error(r, 400, "M_INVALID_PARAM", "Invalid user ID");
			return;
		}
	}
	if (rooms_membership(r->hs->rooms, api_param(r, 0), r->who.user_id, m) != ROOM_OK) {
		if (!needs_target && strcmp(membership, "leave") == 0 && r->hs->remote_leave) {
			/* Rejecting an invite to a room this server is not in. */
			char errcode[64], error[256];
			int status = r->hs->remote_leave(r->hs->remote_join_arg, api_param(r, 0), r->who.user_id,
							 reason, errcode, sizeof(errcode), error, sizeof(error));
			if (status == 200)
				api_reply(r, 200, json_object());
			else
				api_error(r, status >= 400 && status < 600 ? status : 502, errcode, "%s", error);
			return;
		}
		api_error(r, 404, "M_NOT_FOUND", "Unknown room");
		return;
	}
	/* An invite shows the invitee's profile, as the join will. */
	c = member_content(r, membership, strcmp(membership, "invite") == 0 ? target : NULL);
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	send_one(r, api_param(r, 0), "m.room.member", target, c, NULL, NULL);
	json_decref(c);
	if (r->http->status == 200) {
		json_decref(r->http->reply);
		r->http->reply = json_object();
	}
}

/* Knocks over federation on a room this server is not in. */
static void knock_remote(struct api_req *r, const char *room, const char *reason)
{
	json_t *c = reason ? json_pack("{s:s}", "reason", reason) : json_object();

	if (!c) {
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
		return;
	}
	member_remote(r, r->hs->remote_knock, room, c);
	json_decref(c);
}

/* A knock asks to join a room whose join rule is knock or knock_restricted;
 * the auth rules refuse it anywhere else (403). */
static void knock(struct api_req *r)
{
	const char *room_id = api_param(r, 0), *reason = NULL;
	char *resolved = NULL, m[16];
	json_t *c;

	if (!rooms_of(r) || (r->body && api_opt_string(r, r->body, "reason", &reason) < 0))
		return;
	if (room_id[0] == '#') {
		if (room_store_alias_get(rooms_store(r->hs->rooms), room_id, &resolved, NULL) !=
		    STORE_OK) {
			if (r->hs->remote_knock && remote_id(r, room_id))
				knock_remote(r, room_id, reason);
			else
				api_error(r, 404, "M_NOT_FOUND", "Unknown room alias");
			return;
		}
		room_id = resolved;
	} else if (room_id[0] != '!') {
		api_error(r, 400, "M_INVALID_PARAM", "Not a room ID or alias");
		return;
	}
	if (rooms_membership(r->hs->rooms, room_id, r->who.user_id, m) != ROOM_OK) {
		if (r->hs->remote_knock)
			knock_remote(r, room_id, reason);
		else
			api_error(r, 404, "M_NOT_FOUND", "Unknown room");
	} else {
		c = member_content(r, "knock", r->who.user_id);
		if (reason)
			json_object_set_new(c, "reason", json_string(reason));
		send_one(r, room_id, "m.room.member", r->who.user_id, c, NULL, NULL);
		json_decref(c);
		if (r->http->status == 200) {
			json_decref(r->http->reply);
			r->http->reply = json_pack("{s:s}", "room_id", room_id);
		}
	}
	free(resolved);
}

static void invite(struct api_req *r) { membership_change(r, "invite", 1); }
static void leave(struct api_req *r) { membership_change(r, "leave", 0); }
static void kick(struct api_req *r) { membership_change(r, "leave", 1); }
static void ban(struct api_req *r) { membership_change(r, "ban", 1); }

static void unban(struct api_req *r)
{
	const char *target;
	json_t *ev;
	if (!rooms_of(r) || api_req_string(r, r->body, "user_id", &target) < 0)
		return;
	ev = rooms_state_event(r->hs->rooms, api_param(r, 0), "m.room.member", target);
	if (!ev || strcmp(event_membership(ev) ? event_membership(ev) : "", "ban") != 0) {
		json_decref(ev);
		api_error(r, 403, "M_FORBIDDEN", "The user is not banned");
		return;
	}
	json_decref(ev);
	membership_change(r, "leave", 1);
}

static void forget(struct api_req *r)
{
	enum store_rc rc;
	if (!rooms_of(r))
		return;
	rc = room_store_forget(rooms_store(r->hs->rooms), api_param(r, 0), r->who.user_id);
	if (rc == STORE_OK)
		api_reply(r, 200, json_object());
	else if (rc == STORE_CONFLICT)
		api_error(r, 400, "M_UNKNOWN", "You must leave the room before forgetting it");
	else if (rc == STORE_NOT_FOUND)
		api_error(r, 404, "M_NOT_FOUND", "You were never in this room");
	else
		api_error(r, 500, "M_UNKNOWN", "Internal error");
}

static void members(struct api_req *r)
{
	char *want = http_query(r->http, "membership"), *not = http_query(r->http, "not_membership");
	json_t *all, *chunk = json_array(), *ev;
	size_t i;
	if (rooms_of(r) && api_require_joined(r, api_param(r, 0)) == 0) {
		all = client_state(r, api_param(r, 0), "m.room.member");
		json_array_foreach(all, i, ev) {
			const char *m = json_string_value(json_object_get(
				json_object_get(ev, "content"), "membership"));
			if (!m || (want && strcmp(m, want) != 0) || (not && strcmp(m, not) == 0))
				continue;
			json_array_append(chunk, ev);
		}
		json_decref(all);
		api_reply(r, 200, json_pack("{s:O}", "chunk", chunk));
	}
	json_decref(chunk);
	free(want);
	free(not);
}

static void joined_members(struct api_req *r)
{
	json_t *all, *joined, *ev;
	size_t i;
	if (!rooms_of(r) || api_require_joined(r, api_param(r, 0)) < 0)
		return;
	all = rooms_state_all(r->hs->rooms, api_param(r, 0));
	joined = json_object();
	json_array_foreach(all, i, ev) {
		json_t *c = json_object_get(ev, "content"), *o;
		if (strcmp(event_type(ev) ? event_type(ev) : "", "m.room.member") != 0 ||
		    strcmp(event_membership(ev) ? event_membership(ev) : "", "join") != 0)
			continue;
		o = json_pack("{s:n,s:n}", "display_name", "avatar_url");
		if (json_is_string(json_object_get(c, "displayname")))
			json_object_set(o, "display_name", json_object_get(c, "displayname"));
		if (json_is_string(json_object_get(c, "avatar_url")))
			json_object_set(o, "avatar_url", json_object_get(c, "avatar_url"));
		json_object_set_new(joined, event_state_key(ev), o);
	}
	json_decref(all);
	api_reply(r, 200, json_pack("{s:o}", "joined", joined));
}

static void joined_rooms(struct api_req *r)
{
	struct room_membership *list;
	size_t n;
	json_t *ids;
	if (!rooms_of(r))
		return;
	if (room_store_user_rooms(rooms_store(r->hs->rooms), r->who.user_id, &list, &n) != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		return;
	}
	ids = json_array();
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].membership, "join") == 0)
			json_array_append_new(ids, json_string(list[i].room_id));
	room_membership_list_free(list, n);
	api_reply(r, 200, json_pack("{s:o}", "joined_rooms", ids));
}

/* ---- events ----------------------------------------------------------------- */

static void get_event(struct api_req *r)
{
	struct room_event e;
	json_t *ce;
	int64_t upto;
	if (!rooms_of(r) || readable_upto(r, api_param(r, 0), &upto) < 0)
		return;
	/* Outliers and soft-failed events are never shown to clients. */
	if (room_store_event_get(rooms_store(r->hs->rooms), api_param(r, 1), &e) != STORE_OK ||
	    e.kind != ROOM_EVENT_TIMELINE || strcmp(e.room_id, api_param(r, 0)) != 0 || e.stream_pos > upto) {
		room_event_clear(&e);
		api_error(r, 404, "M_NOT_FOUND", "Event not found");
		return;
	}
	{
		struct room_vis *vis = rooms_vis_new(r->hs->rooms, api_param(r, 0), r->who.user_id);
		int ok = vis && rooms_vis_allows(vis, &e);
		rooms_vis_free(vis);
		if (!ok) {
			room_event_clear(&e);
			api_error(r, 404, "M_NOT_FOUND", "Event not found");
			return;
		}
	}
	ce = rooms_client_event(r->hs->rooms, &e, r->who.user_id, r->who.device_id);
	room_event_clear(&e);
	aggr_bundle_one(r->hs->relsearch, r->hs->rooms, ce, r->who.user_id, r->who.device_id);
	if (ce)
		api_reply(r, 200, ce);
	else
		api_error(r, 500, "M_UNKNOWN", "Internal error");
}

static void messages(struct api_req *r)
{
	char *from_s = http_query(r->http, "from"), *to_s = http_query(r->http, "to");
	char *dir_s = http_query(r->http, "dir"), *filter_s = http_query(r->http, "filter");
	struct room_filter f;
	int64_t from, to = -1, max = 0, upto;
	long limit;
	char dir = 'b', tok[32];
	json_t *chunk = NULL;
	struct room_vis *vis = NULL;
	const char *room_id = api_param(r, 0);

	room_filter_init(&f);
	if (!rooms_of(r) || readable_upto(r, room_id, &upto) < 0)
		goto out;
	if (dir_s && strcmp(dir_s, "b") != 0 && strcmp(dir_s, "f") != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "dir must be b or f");
		goto out;
	}
	if (dir_s)
		dir = dir_s[0];
	/* limit=0 gives an empty chunk whose end is its start. */
	if (api_query_limit(r, MESSAGES_DEFAULT, MESSAGES_MAX, &limit) < 0)
		goto out;
	if (filter_s && room_filter_parse(&f, filter_s, strlen(filter_s), 0) < 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad filter");
		goto out;
	}
	if (f.limit > 0 && f.limit < limit)
		limit = f.limit;
	store_stream_max(r->hs->store, &max);
	if (from_s) {
		if (sync_token_parse(from_s, &from) < 0) {
			api_error(r, 400, "M_INVALID_PARAM", "Bad from token");
			goto out;
		}
	} else {
		from = dir == 'b' ? max : 0;
	}
	if (to_s && sync_token_parse(to_s, &to) < 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad to token");
		goto out;
	}
	/* A user who left reads up to their leave. */
	if (dir == 'b' && from > upto)
		from = upto;
	if (dir == 'f' && upto != INT64_MAX && (to < 0 || to > upto))
		to = upto;
	chunk = json_array();
	if (!(vis = rooms_vis_new(r->hs->rooms, room_id, r->who.user_id))) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	{
		int64_t pos = from, last = from;
		int exhausted = 0, rounds = 0;
		while ((long)json_array_size(chunk) < limit && !exhausted && rounds++ < 20) {
			struct room_event *evs;
			size_t n;
			if (room_store_events(rooms_store(r->hs->rooms), room_id, dir, pos, to,
					      (int)limit, &evs, &n) != STORE_OK) {
				api_error(r, 500, "M_UNKNOWN", "Internal error");
				goto out;
			}
			exhausted = n < (size_t)limit;
			for (size_t i = 0; i < n; i++) {
				last = dir == 'b' ? evs[i].stream_pos - 1 : evs[i].stream_pos;
				if ((long)json_array_size(chunk) >= limit) {
					exhausted = 0;
					break;
				}
				json_t *ev = rooms_vis_client_event(vis, &evs[i], r->who.device_id);
				if (ev && room_filter_match(&f, ev))
					json_array_append(chunk, ev);
				json_decref(ev);
			}
			if (n)
				pos = dir == 'b' ? evs[n - 1].stream_pos - 1 : evs[n - 1].stream_pos;
			room_event_list_free(evs, n);
		}
		aggr_bundle_room(r->hs->relsearch, r->hs->rooms, vis, room_id, chunk, r->who.user_id,
				 r->who.device_id);
		snprintf(tok, sizeof(tok), "s%lld", (long long)from);
		json_t *body = json_pack("{s:s,s:O,s:[]}", "start", tok, "chunk", chunk, "state");
		if (f.lazy_load_members) {
			json_t *lazy = rooms_lazy_members(r->hs->rooms, room_id, chunk,
							  r->who.user_id, r->who.device_id,
							  f.include_redundant_members
								  ? ROOMS_LAZY_REDUNDANT : 0);
			if (lazy)
				json_object_set_new(body, "state", lazy);
		}
		if (!exhausted || json_array_size(chunk) > 0) {
			snprintf(tok, sizeof(tok), "s%lld", (long long)last);
			if (!exhausted)
				json_object_set_new(body, "end", json_string(tok));
		}
		api_reply(r, 200, body);
	}
out:
	rooms_vis_free(vis);
	json_decref(chunk);
	room_filter_clear(&f);
	free(from_s);
	free(to_s);
	free(dir_s);
	free(filter_s);
}

/* Client events of room in (from, to] (dir f) or [.., from] down (dir b),
 * at most limit, filtered; *last gets the position to continue from. */
static json_t *page(struct api_req *r, const char *room_id, char dir, int64_t from, int64_t to,
		    long limit, const struct room_filter *f, int64_t *last)
{
	struct room_event *evs = NULL;
	struct room_vis *vis;
	size_t n = 0;
	json_t *arr = json_array();
	*last = from;
	if (limit <= 0)
		return arr;
	if (room_store_events(rooms_store(r->hs->rooms), room_id, dir, from, to, (int)limit, &evs,
			      &n) != STORE_OK) {
		json_decref(arr);
		return NULL;
	}
	vis = rooms_vis_new(r->hs->rooms, room_id, r->who.user_id);
	for (size_t i = 0; i < n; i++) {
		json_t *ev = rooms_vis_client_event(vis, &evs[i], r->who.device_id);
		*last = dir == 'b' ? evs[i].stream_pos - 1 : evs[i].stream_pos;
		if (ev && room_filter_match(f, ev))
			json_array_append(arr, ev);
		json_decref(ev);
	}
	rooms_vis_free(vis);
	room_event_list_free(evs, n);
	return arr;
}

static void context(struct api_req *r)
{
	char *filter_s = http_query(r->http, "filter");
	struct room_filter f;
	struct room_event e;
	json_t *ev = NULL, *before = NULL, *after = NULL, *state = NULL;
	int64_t upto, b_last, a_last;
	long limit;
	char start[32], end[32];
	const char *room_id = api_param(r, 0);

	memset(&e, 0, sizeof(e));
	room_filter_init(&f);
	if (!rooms_of(r) || readable_upto(r, room_id, &upto) < 0)
		goto out;
	/* limit=0 gives the event alone. */
	if (api_query_limit(r, MESSAGES_DEFAULT, MESSAGES_MAX, &limit) < 0)
		goto out;
	if (filter_s && room_filter_parse(&f, filter_s, strlen(filter_s), 0) < 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad filter");
		goto out;
	}
	if (room_store_event_get(rooms_store(r->hs->rooms), api_param(r, 1), &e) != STORE_OK ||
	    e.kind != ROOM_EVENT_TIMELINE || strcmp(e.room_id, room_id) != 0 || e.stream_pos > upto) {
		api_error(r, 404, "M_NOT_FOUND", "Event not found");
		goto out;
	}
	{
		struct room_vis *vis = rooms_vis_new(r->hs->rooms, room_id, r->who.user_id);
		int ok = vis && rooms_vis_allows(vis, &e);
		rooms_vis_free(vis);
		if (!ok) {
			api_error(r, 404, "M_NOT_FOUND", "Event not found");
			goto out;
		}
	}
	/* Half the limit each side, as Synapse does. */
	before = page(r, room_id, 'b', e.stream_pos - 1, -1, limit / 2, &f, &b_last);
	after = page(r, room_id, 'f', e.stream_pos, upto == INT64_MAX ? -1 : upto,
		     limit - limit / 2, &f, &a_last);
	ev = rooms_client_event(r->hs->rooms, &e, r->who.user_id, r->who.device_id);
	aggr_bundle_context(r->hs->relsearch, r->hs->rooms, before, ev, after, r->who.user_id,
			    r->who.device_id);
	if (f.lazy_load_members && before && after && ev) {
		/* Members of the senders shown only. */
		json_t *shown = json_array();
		json_array_extend(shown, before);
		json_array_append(shown, ev);
		json_array_extend(shown, after);
		state = rooms_lazy_members(r->hs->rooms, room_id, shown, r->who.user_id,
					   r->who.device_id,
					   f.include_redundant_members ? ROOMS_LAZY_REDUNDANT : 0);
		json_decref(shown);
	} else {
		state = rooms_client_state(r->hs->rooms, e.state_before, r->who.user_id,
					   r->who.device_id);
	}
	if (!before || !after || !ev || !state) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	snprintf(start, sizeof(start), "s%lld", (long long)b_last);
	snprintf(end, sizeof(end), "s%lld", (long long)a_last);
	api_reply(r, 200, json_pack("{s:O,s:O,s:O,s:O,s:s,s:s}", "event", ev, "events_before",
				    before, "events_after", after, "state", state, "start", start,
				    "end", end));
out:
	json_decref(ev);
	json_decref(before);
	json_decref(after);
	json_decref(state);
	room_event_clear(&e);
	room_filter_clear(&f);
	free(filter_s);
}

static void redact(struct api_req *r)
{
	struct room_event e;
	const char *reason = NULL;
	json_t *c;
	int64_t have, red, kick_l, ban_l, inv;
	json_t *orig;

	if (!rooms_of(r) || api_opt_string(r, r->body, "reason", &reason) < 0 ||
	    api_require_joined(r, api_param(r, 0)) < 0)
		return;
	if (room_store_event_get(rooms_store(r->hs->rooms), api_param(r, 1), &e) != STORE_OK ||
	    strcmp(e.room_id, api_param(r, 0)) != 0) {
		room_event_clear(&e);
		api_error(r, 404, "M_NOT_FOUND", "Event not found");
		return;
	}
	orig = json_loads(e.json, JSON_ALLOW_NUL, NULL);
	room_event_clear(&e);
	if (rooms_power(r->hs->rooms, api_param(r, 0), r->who.user_id, NULL, &have, NULL, &red,
			&kick_l, &ban_l, &inv) != ROOM_OK ||
	    (strcmp(event_sender(orig) ? event_sender(orig) : "", r->who.user_id) != 0 &&
	     have < red)) {
		json_decref(orig);
		api_error(r, 403, "M_FORBIDDEN", "You may not redact this event");
		return;
	}
	json_decref(orig);
	c = json_object();
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	send_one(r, api_param(r, 0), "m.room.redaction", NULL, c, api_param(r, 1), api_param(r, 2));
	json_decref(c);
}

/* ---- room upgrade ------------------------------------------------------------
 * The replacement room gets the old one's transferable state, bans, local
 * aliases and directory listing; the old room gets a tombstone and power
 * levels that silence ordinary members. */

/* State that moves to the replacement room as it is. */
static const char *const upgrade_copied[] = {
	"m.room.join_rules", "m.room.history_visibility", "m.room.name", "m.room.topic",
	"m.room.avatar", "m.room.encryption", "m.room.guest_access", "m.room.server_acl",
	"m.room.canonical_alias",
};

static json_t *state_content(struct api_req *r, const char *room_id, const char *type)
{
	json_t *ev = rooms_state_event(r->hs->rooms, room_id, type, ""), *c = NULL;
	if (ev && json_is_object(json_object_get(ev, "content")))
		c = json_deep_copy(json_object_get(ev, "content"));
	json_decref(ev);
	return c;
}

/* The power levels of the new room: the old ones, with the upgrader at
 * their old level (capped at 100; none where creators are privileged). */
static json_t *upgrade_power_levels(struct api_req *r, const char *old, int64_t have,
				    const struct room_version *rv)
{
	json_t *pl = state_content(r, old, "m.room.power_levels"), *users;
	if (!pl)
		pl = json_object();
	users = json_object_get(pl, "users");
	if (!json_is_object(users)) {
		users = json_object();
		json_object_set_new(pl, "users", users);
	}
	if (rv->privileged_creators)
		json_object_del(users, r->who.user_id);
	else
		json_object_set_new(users, r->who.user_id, json_integer(have > 100 ? 100 : have));
	return pl;
}

/* After the tombstone: members may no longer talk or invite in the old
 * room unless they are moderators. */
static void restrict_old_room(struct api_req *r, const char *old)
{
	json_t *pl = state_content(r, old, "m.room.power_levels");
	json_int_t ud, lvl;
	struct room_send s;
	struct room_result res;
	if (!pl)
		return;
	ud = json_integer_value(json_object_get(pl, "users_default"));
	lvl = ud + 1 > 50 ? ud + 1 : 50;
	if (json_integer_value(json_object_get(pl, "events_default")) < lvl)
		json_object_set_new(pl, "events_default", json_integer(lvl));
	if (json_integer_value(json_object_get(pl, "invite")) < lvl)
		json_object_set_new(pl, "invite", json_integer(lvl));
	memset(&s, 0, sizeof(s));
	s.room_id = old;
	s.sender = r->who.user_id;
	s.type = "m.room.power_levels";
	s.state_key = "";
	s.content = pl;
	if (rooms_send(r->hs->rooms, &s, &res) != ROOM_OK)
		log_warn("upgrade of %s: old power levels not restricted: %s", old, res.reason);
	json_decref(pl);
}

/* Moves the local aliases of old to new, and the canonical alias with
 * them. */
static void move_aliases(struct api_req *r, const char *old, const char *new_id)
{
	json_t *aliases = NULL, *v, *c;
	size_t i;
	struct room_store *rs = rooms_store(r->hs->rooms);
	if (room_store_aliases_of(rs, old, &aliases) != STORE_OK)
		return;
	json_array_foreach(aliases, i, v) {
		const char *a = json_string_value(v);
		if (a && room_store_alias_delete(rs, a) == STORE_OK &&
		    room_store_alias_put(rs, a, new_id, r->who.user_id) != STORE_OK)
			log_warn("upgrade of %s: alias %s lost", old, a);
	}
	json_decref(aliases);
	if ((c = state_content(r, old, "m.room.canonical_alias")) && json_object_size(c)) {
		json_t *empty = json_object();
		struct room_send s;
		struct room_result res;
		memset(&s, 0, sizeof(s));
		s.room_id = old;
		s.sender = r->who.user_id;
		s.type = "m.room.canonical_alias";
		s.state_key = "";
		s.content = empty;
		rooms_send(r->hs->rooms, &s, &res);
		json_decref(empty);
	}
	json_decref(c);
}

static void upgrade(struct api_req *r)
{
	const char *old = api_param(r, 0), *version;
	const struct room_version *rv;
	int64_t have, needed, red, kick_l, ban_l, inv;
	json_t *create = NULL, *old_create, *list, *c, *tomb;
	struct room_result res;
	struct room_send s;
	enum room_rc rc;

	if (!rooms_of(r) || api_req_string(r, r->body, "new_version", &version) < 0)
		return;
	rv = room_version_get(version);
	if (!rv || rv->event_id == EVENT_ID_V1) {
		api_error(r, 400, "M_UNSUPPORTED_ROOM_VERSION", "Unsupported room version");
		return;
	}
	if (api_require_joined(r, old) < 0)
		return;
	if (rooms_power(r->hs->rooms, old, r->who.user_id, "m.room.tombstone", &have, &needed,
			&red, &kick_l, &ban_l, &inv) != ROOM_OK || have < needed) {
		api_error(r, 403, "M_FORBIDDEN", "You may not upgrade this room");
		return;
	}
	create = json_pack("{s:{s:s}}", "predecessor", "room_id", old);
	if ((old_create = state_content(r, old, "m.room.create"))) {
		static const char *const kept[] = { "m.federate", "type" };
		for (size_t i = 0; i < 2; i++)
			if (json_object_get(old_create, kept[i]))
				json_object_set(create, kept[i], json_object_get(old_create, kept[i]));
		json_decref(old_create);
	}
	list = json_array();
	add_initial(list, "m.room.member", r->who.user_id,
		    member_content(r, "join", r->who.user_id));
	add_initial(list, "m.room.power_levels", "", upgrade_power_levels(r, old, have, rv));
	for (size_t i = 0; i < sizeof(upgrade_copied) / sizeof(upgrade_copied[0]); i++)
		if ((c = state_content(r, old, upgrade_copied[i])))
			add_initial(list, upgrade_copied[i], "", c);
	/* Bans carry over when the upgrader may ban. */
	if (have >= ban_l) {
		json_t *all = rooms_state_all(r->hs->rooms, old), *ev;
		size_t i;
		json_array_foreach(all, i, ev)
			if (strcmp(event_type(ev) ? event_type(ev) : "", "m.room.member") == 0 &&
			    strcmp(event_membership(ev) ? event_membership(ev) : "", "ban") == 0 &&
			    strcmp(event_state_key(ev), r->who.user_id) != 0)
				add_initial(list, "m.room.member", event_state_key(ev),
					    json_pack("{s:s}", "membership", "ban"));
		json_decref(all);
	}
	rc = rooms_create(r->hs->rooms, r->who.user_id, rv->id, create, list, &res);
	json_decref(list);
	json_decref(create);
	if (rc != ROOM_OK) {
		room_err(r, rc, &res);
		return;
	}
	move_aliases(r, old, res.room_id);
	{
		int pub = 0;
		if (room_store_directory_get(rooms_store(r->hs->rooms), old, &pub) == STORE_OK && pub) {
			room_store_directory_set(rooms_store(r->hs->rooms), res.room_id, 1);
			room_store_directory_set(rooms_store(r->hs->rooms), old, 0);
		}
	}
	tomb = json_pack("{s:s,s:s}", "body", "This room has been replaced", "replacement_room",
			 res.room_id);
	memset(&s, 0, sizeof(s));
	s.room_id = old;
	s.sender = r->who.user_id;
	s.type = "m.room.tombstone";
	s.state_key = "";
	s.content = tomb;
	{
		struct room_result tres;
		rc = rooms_send(r->hs->rooms, &s, &tres);
		json_decref(tomb);
		if (rc != ROOM_OK) {
			room_err(r, rc, &tres);
			return;
		}
	}
	restrict_old_room(r, old);
	api_reply(r, 200, json_pack("{s:s}", "replacement_room", res.room_id));
}

#define V (API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH)
const struct api_route api_rooms_routes[] = {
	{ "POST", "/createRoom", create_room, V | API_JSON },
	{ "PUT", "/rooms/{roomId}/send/{eventType}/{txnId}", send_event, V | API_JSON },
	{ "PUT", "/rooms/{roomId}/state/{eventType}", put_state, V | API_JSON },
	{ "PUT", "/rooms/{roomId}/state/{eventType}/{stateKey}", put_state, V | API_JSON },
	{ "GET", "/rooms/{roomId}/state/{eventType}", get_state_event, V },
	{ "GET", "/rooms/{roomId}/state/{eventType}/{stateKey}", get_state_event, V },
	{ "GET", "/rooms/{roomId}/state", get_state, V },
	{ "POST", "/join/{roomIdOrAlias}", join_room_id, V | API_JSON_OPTIONAL },
	{ "POST", "/rooms/{roomId}/join", join_room_id, V | API_JSON_OPTIONAL },
	{ "POST", "/rooms/{roomId}/invite", invite, V | API_JSON },
	{ "POST", "/knock/{roomIdOrAlias}", knock, V | API_JSON_OPTIONAL },
	{ "POST", "/rooms/{roomId}/upgrade", upgrade, V | API_JSON },
	{ "POST", "/rooms/{roomId}/leave", leave, V | API_JSON_OPTIONAL },
	{ "POST", "/rooms/{roomId}/forget", forget, V | API_JSON_OPTIONAL },
	{ "POST", "/rooms/{roomId}/kick", kick, V | API_JSON },
	{ "POST", "/rooms/{roomId}/ban", ban, V | API_JSON },
	{ "POST", "/rooms/{roomId}/unban", unban, V | API_JSON },
	{ "GET", "/rooms/{roomId}/members", members, V },
	{ "GET", "/rooms/{roomId}/joined_members", joined_members, V },
	{ "GET", "/joined_rooms", joined_rooms, V },
	{ "GET", "/rooms/{roomId}/event/{eventId}", get_event, V },
	{ "GET", "/rooms/{roomId}/messages", messages, V },
	{ "GET", "/rooms/{roomId}/context/{eventId}", context, V },
	{ "PUT", "/rooms/{roomId}/redact/{eventId}/{txnId}", redact, V | API_JSON },
};
const size_t api_rooms_nroutes = sizeof(api_rooms_routes) / sizeof(api_rooms_routes[0]);
