/* Profiles: GET /profile/{userId}[/displayname|/avatar_url] and PUT of the
 * two fields, which also updates the user's member event in every room they
 * are joined to (as Synapse does), so other members see the change. */
#include <stdlib.h>
#include <string.h>

#include "homeserver/api.h"
#include "homeserver/api_rooms.h"
#include "homeserver/events/event.h"
#include "homeserver/hs.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store.h"

#define PROFILE_FIELD_MAX 1024

/* A remote user's profile (field: "displayname", "avatar_url" or NULL
 * for both) from their server over federation.  1 when answered (the user
 * is remote), 0 when the user is local. */
static int remote(struct api_req *r, const char *field)
{
	const char *user_id = api_param(r, 0), *dom = matrix_id_domain(user_id);
	const char *params[4] = { "user_id", user_id, "field", field };
	long status = 0;
	json_t *reply = NULL, *o;

	if (!dom || strcmp(dom, r->hs->cfg->server_name) == 0)
		return 0;
	if (!r->hs->fed_query || !matrix_user_id_valid(user_id)) {
		api_error(r, 404, "M_NOT_FOUND", "Profile not found");
		return 1;
	}
	if (r->hs->fed_query(r->hs->remote_join_arg, dom, "profile", params, field ? 4 : 2, &status, &reply) < 0) {
		api_error(r, 502, "M_UNKNOWN", "Cannot reach the user's server");
		return 1;
	}
	if (status == 404 || (status == 200 && !json_is_object(reply))) {
		api_error(r, 404, "M_NOT_FOUND", "Profile not found");
	} else if (status != 200) {
		api_error(r, 502, "M_UNKNOWN", "The user's server answered %ld", status);
	} else {
		/* Only the two fields, as strings, are passed on. */
		o = json_object();
		for (int i = 0; i < 2; i++) {
			const char *k = i ? "avatar_url" : "displayname";
			json_t *v = json_object_get(reply, k);
			if (json_is_string(v) && (!field || strcmp(field, k) == 0))
				json_object_set(o, k, v);
		}
		if (field && !json_object_get(o, field)) {
			json_decref(o);
			api_error(r, 404, "M_NOT_FOUND", "The field is not set");
		} else {
			api_reply(r, 200, o);
		}
	}
	json_decref(reply);
	return 1;
}

static int load(struct api_req *r, struct store_user *u)
{
	enum store_rc rc = store_user_get(r->hs->store, api_param(r, 0), u);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && u->deactivated)) {
		store_user_clear(u);
		api_error(r, 404, "M_NOT_FOUND", "Profile not found");
		return -1;
	}
	if (rc != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		return -1;
	}
	return 0;
}

static void get_profile(struct api_req *r)
{
	struct store_user u;
	json_t *o;
	memset(&u, 0, sizeof(u));
	if (remote(r, NULL) || load(r, &u) < 0)
		return;
	o = json_object();
	if (u.displayname)
		json_object_set_new(o, "displayname", json_string(u.displayname));
	if (u.avatar_url)
		json_object_set_new(o, "avatar_url", json_string(u.avatar_url));
	store_user_clear(&u);
	api_reply(r, 200, o);
}

static void get_field(struct api_req *r, int avatar)
{
	struct store_user u;
	const char *v;
	memset(&u, 0, sizeof(u));
	if (remote(r, avatar ? "avatar_url" : "displayname") || load(r, &u) < 0)
		return;
	v = avatar ? u.avatar_url : u.displayname;
	if (!v)
		api_error(r, 404, "M_NOT_FOUND", "The field is not set");
	else
		api_reply(r, 200, json_pack("{s:s}", avatar ? "avatar_url" : "displayname", v));
	store_user_clear(&u);
}

static void get_displayname(struct api_req *r) { get_field(r, 0); }
static void get_avatar_url(struct api_req *r) { get_field(r, 1); }

/* New member events carrying the field, in every joined room. */
static void propagate(struct api_req *r, const char *key, const char *value)
{
	struct room_membership *list;
	size_t n;
	if (!r->hs->rooms ||
	    room_store_user_rooms(rooms_store(r->hs->rooms), r->who.user_id, &list, &n) != STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *ev, *c;
		struct room_result res;
		if (strcmp(list[i].membership, "join") != 0)
			continue;
		ev = rooms_state_event(r->hs->rooms, list[i].room_id, "m.room.member", r->who.user_id);
		c = ev ? json_deep_copy(json_object_get(ev, "content")) : NULL;
		json_decref(ev);
		if (!c)
			continue;
		if (value)
			json_object_set_new(c, key, json_string(value));
		else
			json_object_del(c, key);
		struct room_send s = { list[i].room_id, r->who.user_id, "m.room.member",
				       r->who.user_id, c, NULL, NULL, NULL };
		rooms_send(r->hs->rooms, &s, &res); /* a room that refuses keeps the old one */
		json_decref(c);
	}
	room_membership_list_free(list, n);
}

static void put_field(struct api_req *r, int avatar)
{
	const char *key = avatar ? "avatar_url" : "displayname";
	const char *v = NULL;
	enum store_rc rc;

	if (strcmp(api_param(r, 0), r->who.user_id) != 0 && !r->who.is_admin) {
		api_error(r, 403, "M_FORBIDDEN", "You cannot change another user's profile");
		return;
	}
	if (strcmp(api_param(r, 0), r->who.user_id) != 0) {
		api_error(r, 403, "M_FORBIDDEN", "Change other users' profiles through the admin API");
		return;
	}
	if (api_opt_string(r, r->body, key, &v) < 0)
		return;
	if (v && strlen(v) > PROFILE_FIELD_MAX) {
		api_error(r, 400, "M_TOO_LARGE", "%s is too long", key);
		return;
	}
	rc = avatar ? store_user_set_avatar_url(r->hs->store, r->who.user_id, v)
		    : store_user_set_displayname(r->hs->store, r->who.user_id, v);
	if (rc != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		return;
	}
	propagate(r, key, v);
	api_reply(r, 200, json_object());
}

static void put_displayname(struct api_req *r) { put_field(r, 0); }
static void put_avatar_url(struct api_req *r) { put_field(r, 1); }

#define V (API_CLIENT_R0 | API_CLIENT_V3)
const struct api_route api_profile_routes[] = {
	{ "GET", "/profile/{userId}", get_profile, V },
	{ "GET", "/profile/{userId}/displayname", get_displayname, V },
	{ "GET", "/profile/{userId}/avatar_url", get_avatar_url, V },
	{ "PUT", "/profile/{userId}/displayname", put_displayname, V | API_AUTH | API_JSON },
	{ "PUT", "/profile/{userId}/avatar_url", put_avatar_url, V | API_AUTH | API_JSON },
};
const size_t api_profile_nroutes = sizeof(api_profile_routes) / sizeof(api_profile_routes[0]);
