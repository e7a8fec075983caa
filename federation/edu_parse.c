/* Inbound EDU shapes.  See edu_parse.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "federation/edu_parse.h"
#include "homeserver/events/event.h"

#define ID_MAX 255
#define STATUS_MSG_MAX 1024

static const struct {
	const char *type;
	enum fed_edu_kind kind;
} kinds[] = {
	{ "m.typing", FED_EDU_TYPING },
	{ "m.receipt", FED_EDU_RECEIPT },
	{ "m.presence", FED_EDU_PRESENCE },
	{ "m.device_list_update", FED_EDU_DEVICE_LIST },
	{ "m.signing_key_update", FED_EDU_SIGNING_KEY },
	{ "m.direct_to_device", FED_EDU_TO_DEVICE },
};

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* A sigil-prefixed ID of sane length ("!room", "$event"). */
static int id_ok(const char *s, char sigil)
{
	size_t n;
	if (!s || s[0] != sigil)
		return 0;
	n = strnlen(s, ID_MAX + 1);
	return n > 1 && n <= ID_MAX;
}

static int user_of(const char *user_id, const char *origin)
{
	const char *dom;
	if (!user_id || !matrix_user_id_valid(user_id))
		return 0;
	dom = matrix_id_domain(user_id);
	return dom && origin && strcmp(dom, origin) == 0;
}

static int presence_ok(const char *p)
{
	return p && (strcmp(p, "online") == 0 || strcmp(p, "unavailable") == 0 ||
		     strcmp(p, "offline") == 0);
}

/* Room for one more item; NULL (and one more skipped) past the cap. */
static struct fed_edu_item *push(struct fed_edu *e, size_t *cap)
{
	struct fed_edu_item *it;
	if (e->n == FED_EDU_MAX_ITEMS) {
		e->skipped++;
		return NULL;
	}
	if (e->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		if (nc > FED_EDU_MAX_ITEMS)
			nc = FED_EDU_MAX_ITEMS;
		it = realloc(e->items, nc * sizeof(*it));
		if (!it) {
			e->skipped++;
			return NULL;
		}
		e->items = it;
		*cap = nc;
	}
	it = &e->items[e->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

static int parse_typing(const json_t *c, const char *origin, struct fed_edu *e, size_t *cap)
{
	const char *room_id = json_string_value(json_object_get(c, "room_id"));
	const char *user_id = json_string_value(json_object_get(c, "user_id"));
	const json_t *typing = json_object_get(c, "typing");
	struct fed_edu_item *it;

	if (!id_ok(room_id, '!') || !user_of(user_id, origin) || !json_is_boolean(typing)) {
		e->skipped++;
		return 0;
	}
	if ((it = push(e, cap))) {
		it->room_id = room_id;
		it->user_id = user_id;
		it->typing = json_is_true(typing);
	}
	return 0;
}

static void receipt_user(const char *room_id, const char *user_id, const json_t *r,
			 const char *origin, struct fed_edu *e, size_t *cap)
{
	const json_t *ids = json_object_get(r, "event_ids"), *id;
	const json_t *thread = json_object_get(json_object_get(r, "data"), "thread_id");
	struct fed_edu_item *it;
	size_t i;

	if (!user_of(user_id, origin) || !json_is_array(ids) || json_array_size(ids) == 0 ||
	    (thread && !json_is_null(thread) &&
	     (!json_is_string(thread) || json_string_length(thread) == 0 || json_string_length(thread) > ID_MAX))) {
		e->skipped++;
		return;
	}
	json_array_foreach(ids, i, id) {
		if (!id_ok(json_string_value(id), '$')) {
			e->skipped++;
			continue;
		}
		if ((it = push(e, cap))) {
			it->room_id = room_id;
			it->user_id = user_id;
			it->event_id = json_string_value(id);
			it->thread_id = json_string_value(thread);
		}
	}
}

static int parse_receipt(const json_t *c, const char *origin, struct fed_edu *e, size_t *cap)
{
	const char *room_id, *rtype, *user_id;
	const json_t *types, *users, *r;

	json_object_foreach((json_t *)c, room_id, types) {
		if (!id_ok(room_id, '!') || !json_is_object(types)) {
			e->skipped++;
			continue;
		}
		json_object_foreach((json_t *)types, rtype, users) {
			if (strcmp(rtype, "m.read") != 0 || !json_is_object(users)) {
				e->skipped++;
				continue;
			}
			json_object_foreach((json_t *)users, user_id, r)
				receipt_user(room_id, user_id, r, origin, e, cap);
		}
	}
	return 0;
}

static int parse_presence(const json_t *c, const char *origin, struct fed_edu *e, size_t *cap,
			  char *err, size_t errlen)
{
	const json_t *push_list = json_object_get(c, "push"), *p, *msg;
	struct fed_edu_item *it;
	size_t i;

	if (!json_is_array(push_list)) {
		set_err(err, errlen, "m.presence without a push list");
		return -1;
	}
	json_array_foreach(push_list, i, p) {
		const char *user_id = json_string_value(json_object_get(p, "user_id"));
		const char *presence = json_string_value(json_object_get(p, "presence"));
		msg = json_object_get(p, "status_msg");
		if (!user_of(user_id, origin) || !presence_ok(presence) ||
		    (msg && !json_is_null(msg) &&
		     (!json_is_string(msg) || json_string_length(msg) > STATUS_MSG_MAX))) {
			e->skipped++;
			continue;
		}
		if ((it = push(e, cap))) {
			it->user_id = user_id;
			it->presence = presence;
			it->status_msg = json_string_value(msg);
		}
	}
	return 0;
}

int fed_edu_parse(const json_t *edu, const char *origin, struct fed_edu *out, char *err,
		  size_t errlen)
{
	const json_t *content = json_object_get(edu, "content");
	size_t cap = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->kind = FED_EDU_UNKNOWN;
	out->edu_type = json_string_value(json_object_get(edu, "edu_type"));
	if (!json_is_object(edu) || !out->edu_type) {
		set_err(err, errlen, "EDU without an edu_type");
		return -1;
	}
	if (!json_is_object(content)) {
		set_err(err, errlen, "EDU content is not an object");
		return -1;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(out->edu_type, kinds[i].type) == 0)
			out->kind = kinds[i].kind;
	switch (out->kind) {
	case FED_EDU_TYPING:
		rc = parse_typing(content, origin, out, &cap);
		break;
	case FED_EDU_RECEIPT:
		rc = parse_receipt(content, origin, out, &cap);
		break;
	case FED_EDU_PRESENCE:
		rc = parse_presence(content, origin, out, &cap, err, errlen);
		break;
	default:
		break;
	}
	if (rc < 0)
		fed_edu_clear(out);
	return rc;
}

void fed_edu_clear(struct fed_edu *e)
{
	free(e->items);
	e->items = NULL;
	e->n = 0;
}
