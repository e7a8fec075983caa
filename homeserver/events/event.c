/* Event format, redaction, hashes and IDs; see event.h. */
#include "homeserver/events/event.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/canonjson.h"
#include "common/crypto.h"

static const char *get_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

const char *event_type(const json_t *ev) { return get_str(ev, "type"); }
const char *event_sender(const json_t *ev) { return get_str(ev, "sender"); }
const char *event_state_key(const json_t *ev) { return get_str(ev, "state_key"); }
const char *event_room_id(const json_t *ev) { return get_str(ev, "room_id"); }

const char *event_membership(const json_t *ev)
{
	const char *type = event_type(ev);

	if (!type || strcmp(type, "m.room.member") != 0)
		return NULL;
	return get_str(json_object_get(ev, "content"), "membership");
}

const char *event_redacts(const struct room_version *rv, const json_t *ev)
{
	const char *type = event_type(ev);

	if (!type || strcmp(type, "m.room.redaction") != 0)
		return NULL;
	if (rv->redacts_in_content)
		return get_str(json_object_get(ev, "content"), "redacts");
	return get_str(ev, "redacts");
}

const char *matrix_id_domain(const char *id)
{
	const char *c = id ? strchr(id, ':') : NULL;

	return c ? c + 1 : NULL;
}

int matrix_user_id_valid(const char *s)
{
	const char *colon;
	size_t len;

	if (!s || s[0] != '@')
		return 0;
	len = strlen(s);
	colon = strchr(s, ':');
	/* Historical grammar: any localpart without ':'; server name non-empty. */
	return len <= EVENT_MAX_ID_BYTES && colon && colon[1] != '\0';
}

json_t *event_new(const struct room_version *rv, const char *room_id, const char *sender,
		  const char *type, const char *state_key, const json_t *content,
		  const char *const *prev_events, size_t nprev,
		  const char *const *auth_events, size_t nauth, int64_t depth, int64_t origin_server_ts)
{
	json_t *ev, *prev, *auth;
	bool v12_create;

	if (!rv || rv->event_id == EVENT_ID_V1 || !sender || !type || !json_is_object(content))
		return NULL;
	v12_create = rv->room_id_is_create_hash && strcmp(type, "m.room.create") == 0;
	if (!room_id && !v12_create)
		return NULL;
	ev = json_pack("{s:s, s:s, s:O, s:I, s:I, s:[], s:[], s:{}, s:{}}", "sender", sender, "type", type,
		       "content", content, "depth", (json_int_t)depth, "origin_server_ts",
		       (json_int_t)origin_server_ts, "prev_events", "auth_events", "hashes", "signatures");
	if (!ev)
		return NULL;
	prev = json_object_get(ev, "prev_events");
	auth = json_object_get(ev, "auth_events");
	for (size_t i = 0; i < nprev; i++)
		if (!prev_events[i] || json_array_append_new(prev, json_string(prev_events[i])) < 0)
			goto fail;
	for (size_t i = 0; i < nauth; i++)
		if (!auth_events[i] || json_array_append_new(auth, json_string(auth_events[i])) < 0)
			goto fail;
	if (state_key && json_object_set_new(ev, "state_key", json_string(state_key)) < 0)
		goto fail;
	if (!v12_create && json_object_set_new(ev, "room_id", json_string(room_id)) < 0)
		goto fail;
	return ev;
fail:
	json_decref(ev);
	return NULL;
}

/* ---- validation ---- */

/* 1 when a string in v (recursively) holds a NUL byte.  Parsers that allow
 * \u0000 (federation bodies do: Synapse sends it) hand such strings on,
 * and the C-string view of one would differ from what other servers
 * compare; so NUL is refused wherever identifiers and auth-relevant
 * content live, and allowed elsewhere (message bodies, topics, names). */
static int has_nul(const json_t *v)
{
	size_t i;
	const char *k;
	json_t *x;

	if (json_is_string(v))
		return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (has_nul(x))
				return 1;
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x)
			if (has_nul(x))
				return 1;
	}
	return 0;
}

/* The content the auth rules read: all of it for the types they
 * interpret, the membership fields of member events. */
static int content_nul(const char *type, const json_t *content)
{
	static const char *const whole[] = {
		"m.room.create", "m.room.join_rules", "m.room.power_levels", "m.room.third_party_invite",
		"m.room.redaction", "m.room.history_visibility", NULL,
	};
	for (size_t i = 0; whole[i]; i++)
		if (strcmp(type, whole[i]) == 0)
			return has_nul(content);
	if (strcmp(type, "m.room.member") == 0)
		return has_nul(json_object_get(content, "membership")) ||
		       has_nul(json_object_get(content, "join_authorised_via_users_server")) ||
		       has_nul(json_object_get(content, "third_party_invite"));
	return 0;
}

static int check_id_list(const struct room_version *rv, const json_t *list, const char *name,
			 size_t max, char *err, size_t errlen)
{
	size_t i;
	json_t *item;

	if (!json_is_array(list))
		return scop_err(err, errlen, "%s must be an array", name);
	if (json_array_size(list) > max)
		return scop_err(err, errlen, "%s has more than %zu entries", name, max);
	json_array_foreach(list, i, item) {
		const json_t *id = item;
		if (rv->event_id == EVENT_ID_V1) {
			/* v1/v2: [event_id, {"sha256": ...}] pairs. */
			if (!json_is_array(item) || json_array_size(item) != 2 ||
			    !json_is_object(json_array_get(item, 1)))
				return scop_err(err, errlen, "%s entries must be [event_id, hashes] pairs", name);
			id = json_array_get(item, 0);
		}
		if (!json_is_string(id) || json_string_length(id) > EVENT_MAX_ID_BYTES ||
		    json_string_value(id)[0] != '$' || has_nul(id))
			return scop_err(err, errlen, "%s has an entry that is not an event ID", name);
	}
	return 0;
}

static int check_opt_string(const json_t *ev, const char *key, size_t max, char *err, size_t errlen)
{
	const json_t *v = json_object_get(ev, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return scop_err(err, errlen, "%s must be a string", key);
	if (json_string_length(v) > max)
		return scop_err(err, errlen, "%s is longer than %zu bytes", key, max);
	if (has_nul(v))
		return scop_err(err, errlen, "%s contains a NUL character", key);
	return 0;
}

int event_validate(const struct room_version *rv, const json_t *ev, char *err, size_t errlen)
{
	const json_t *v;
	const char *type;
	json_int_t depth_max = rv->depth_53bit ? CANONJSON_INT_MAX : INT64_MAX;
	size_t len;
	char *enc;

	if (!json_is_object(ev))
		return scop_err(err, errlen, "event is not a JSON object");
	if (rv->strict_canonical_json && !canonjson_is_strict(ev))
		return scop_err(err, errlen, "event has a float or an integer out of the canonical JSON range");
	type = event_type(ev);
	if (!type)
		return scop_err(err, errlen, "type must be a string");
	if (check_opt_string(ev, "type", EVENT_MAX_ID_BYTES, err, errlen) < 0 ||
	    check_opt_string(ev, "state_key", EVENT_MAX_ID_BYTES, err, errlen) < 0 ||
	    check_opt_string(ev, "room_id", EVENT_MAX_ID_BYTES, err, errlen) < 0 ||
	    check_opt_string(ev, "event_id", EVENT_MAX_ID_BYTES, err, errlen) < 0)
		return -1;
	if (!matrix_user_id_valid(event_sender(ev)) || has_nul(json_object_get(ev, "sender")))
		return scop_err(err, errlen, "sender must be a user ID");
	v = json_object_get(ev, "room_id");
	if (!v && !(rv->room_id_is_create_hash && strcmp(type, "m.room.create") == 0))
		return scop_err(err, errlen, "room_id is missing");
	if (v && json_string_value(v)[0] != '!')
		return scop_err(err, errlen, "room_id must start with '!'");
	v = json_object_get(ev, "origin_server_ts");
	if (!json_is_integer(v))
		return scop_err(err, errlen, "origin_server_ts must be an integer");
	if (!json_is_object(json_object_get(ev, "content")))
		return scop_err(err, errlen, "content must be an object");
	if (content_nul(type, json_object_get(ev, "content")))
		return scop_err(err, errlen, "content the auth rules read contains a NUL character");
	v = json_object_get(ev, "depth");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > depth_max)
		return scop_err(err, errlen, "depth must be a non-negative integer in range");
	v = json_object_get(ev, "hashes");
	if (!json_is_object(v) || !json_is_string(json_object_get(v, "sha256")))
		return scop_err(err, errlen, "hashes.sha256 must be a string");
	if (!json_is_object(json_object_get(ev, "signatures")))
		return scop_err(err, errlen, "signatures must be an object");
	v = json_object_get(ev, "unsigned");
	if (v && !json_is_object(v))
		return scop_err(err, errlen, "unsigned must be an object");
	if (check_id_list(rv, json_object_get(ev, "prev_events"), "prev_events",
			  EVENT_MAX_PREV_EVENTS, err, errlen) < 0 ||
	    check_id_list(rv, json_object_get(ev, "auth_events"), "auth_events",
			  EVENT_MAX_AUTH_EVENTS, err, errlen) < 0)
		return -1;
	if (rv->event_id == EVENT_ID_V1) {
		const char *id = get_str(ev, "event_id");
		if (!id || id[0] != '$' || !matrix_id_domain(id))
			return scop_err(err, errlen, "event_id must be \"$opaque:domain\" in this room version");
	}
	if (!rv->redacts_in_content && check_opt_string(ev, "redacts", EVENT_MAX_ID_BYTES, err, errlen) < 0)
		return -1;
	if (strcmp(type, "m.room.redaction") == 0 && !event_redacts(rv, ev))
		return scop_err(err, errlen, "m.room.redaction without redacts");
	enc = canonjson_dumps(ev, &len, rv->strict_canonical_json ? 0 : CANONJSON_LAX);
	if (!enc)
		return scop_err(err, errlen, "event cannot be encoded as canonical JSON");
	free(enc);
	if (len > EVENT_MAX_BYTES)
		return scop_err(err, errlen, "event is %zu bytes, more than %d", len, EVENT_MAX_BYTES);
	return 0;
}

/* ---- redaction ---- */

static const char *const keep_v1[] = {
	"event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
	"signatures", "depth", "prev_events", "prev_state", "auth_events", "origin",
	"origin_server_ts", "membership", NULL,
};
static const char *const keep_v11[] = {
	"event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
	"signatures", "depth", "prev_events", "auth_events", "origin_server_ts", NULL,
};

static int in_list(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

/* The content keys type keeps under algorithm a; NULL means "keep all". */
static const char *const *content_keep(enum redaction_algo a, const char *type)
{
	static const char *const none[] = { NULL };
	static const char *const member[] = { "membership", NULL };
	static const char *const member_v9[] = { "membership", "join_authorised_via_users_server", NULL };
	static const char *const create[] = { "creator", NULL };
	static const char *const jr[] = { "join_rule", NULL };
	static const char *const jr_v8[] = { "join_rule", "allow", NULL };
	static const char *const pl[] = { "ban", "events", "events_default", "kick", "redact",
					  "state_default", "users", "users_default", NULL };
	static const char *const pl_v11[] = { "ban", "events", "events_default", "invite", "kick",
					      "redact", "state_default", "users", "users_default", NULL };
	static const char *const aliases[] = { "aliases", NULL };
	static const char *const hv[] = { "history_visibility", NULL };
	static const char *const redaction[] = { "redacts", NULL };

	if (strcmp(type, "m.room.member") == 0)
		return a >= REDACT_V9 ? member_v9 : member;
	if (strcmp(type, "m.room.create") == 0)
		return a >= REDACT_V11 ? NULL : create;
	if (strcmp(type, "m.room.join_rules") == 0)
		return a >= REDACT_V8 ? jr_v8 : jr;
	if (strcmp(type, "m.room.power_levels") == 0)
		return a >= REDACT_V11 ? pl_v11 : pl;
	if (strcmp(type, "m.room.aliases") == 0 && a == REDACT_V1)
		return aliases;
	if (strcmp(type, "m.room.history_visibility") == 0)
		return hv;
	if (strcmp(type, "m.room.redaction") == 0 && a >= REDACT_V11)
		return redaction;
	return none;
}

json_t *event_redact(const struct room_version *rv, const json_t *ev)
{
	const char *const *keep = rv->redaction >= REDACT_V11 ? keep_v11 : keep_v1;
	const char *const *ckeep;
	const char *key, *type;
	json_t *out, *val, *content, *newc;

	if (!json_is_object(ev) || !(out = json_object()))
		return NULL;
	json_object_foreach((json_t *)ev, key, val) {
		if (in_list(keep, key) && strcmp(key, "content") != 0 &&
		    json_object_set(out, key, val) < 0)
			goto oom;
	}
	content = json_object_get(ev, "content");
	type = event_type(ev);
	if (!json_is_object(content) || !type) {
		/* Keep a malformed content as is: validation rejects it anyway, and
		 * redaction must not invent structure. */
		if (content && json_object_set(out, "content", content) < 0)
			goto oom;
		return out;
	}
	ckeep = content_keep(rv->redaction, type);
	if (!ckeep) {
		newc = json_deep_copy(content);
	} else {
		newc = json_object();
		json_object_foreach(content, key, val) {
			if (newc && in_list(ckeep, key) && json_object_set(newc, key, val) < 0) {
				json_decref(newc);
				newc = NULL;
			}
		}
	}
	/* v11: a member event keeps third_party_invite, reduced to its signed key. */
	if (newc && rv->redaction >= REDACT_V11 && strcmp(type, "m.room.member") == 0) {
		json_t *tpi = json_object_get(content, "third_party_invite");
		json_t *signed_ = json_object_get(tpi, "signed");
		if (json_is_object(tpi) && signed_ &&
		    json_object_set_new(newc, "third_party_invite",
					json_pack("{sO}", "signed", signed_)) < 0) {
			json_decref(newc);
			newc = NULL;
		}
	}
	if (!newc || json_object_set_new(out, "content", newc) < 0)
		goto oom;
	return out;
oom:
	json_decref(out);
	return NULL;
}

/* ---- hashes and IDs ---- */

static int hash_without(const struct room_version *rv, const json_t *ev, const char *const *drop,
			unsigned char out[32])
{
	json_t *copy = json_copy((json_t *)ev);
	char *enc;
	size_t len;
	int rc;

	if (!copy)
		return -1;
	for (; *drop; drop++)
		json_object_del(copy, *drop);
	enc = canonjson_dumps(copy, &len, rv->strict_canonical_json ? 0 : CANONJSON_LAX);
	json_decref(copy);
	if (!enc)
		return -1;
	rc = scop_sha256(enc, len, out);
	free(enc);
	return rc;
}

int event_content_hash(const struct room_version *rv, const json_t *ev, unsigned char out[32])
{
	static const char *const drop[] = { "unsigned", "signatures", "hashes", NULL };

	if (!json_is_object(ev))
		return -1;
	return hash_without(rv, ev, drop, out);
}

int event_set_content_hash(const struct room_version *rv, json_t *ev)
{
	unsigned char h[32];
	char b64[48];

	if (event_content_hash(rv, ev, h) < 0)
		return -1;
	base64_encode(h, sizeof(h), b64, 0);
	return json_object_set_new(ev, "hashes", json_pack("{ss}", "sha256", b64));
}

int event_check_content_hash(const struct room_version *rv, const json_t *ev)
{
	const char *claimed = get_str(json_object_get(ev, "hashes"), "sha256");
	unsigned char h[32], got[33];

	if (!claimed || event_content_hash(rv, ev, h) < 0)
		return -1;
	if (strlen(claimed) != 43 || base64_decode(claimed, 43, got, sizeof(got), 0) != 32)
		return -1;
	return scop_ct_equal(h, 32, got, 32) ? 0 : -1;
}

int event_reference_hash(const struct room_version *rv, const json_t *ev, unsigned char out[32])
{
	static const char *const drop[] = { "signatures", "unsigned", "age_ts", NULL };
	json_t *red = event_redact(rv, ev);
	int rc;

	if (!red)
		return -1;
	rc = hash_without(rv, red, drop, out);
	json_decref(red);
	return rc;
}

static int hash_id(const struct room_version *rv, const json_t *ev, char sigil, int urlsafe,
		   char out[EVENT_ID_BUF])
{
	unsigned char h[32];

	if (event_reference_hash(rv, ev, h) < 0)
		return -1;
	out[0] = sigil;
	base64_encode(h, sizeof(h), out + 1, urlsafe ? BASE64_URLSAFE : 0);
	return 0;
}

int event_compute_id(const struct room_version *rv, const json_t *ev, char out[EVENT_ID_BUF])
{
	const char *id;

	switch (rv->event_id) {
	case EVENT_ID_V1:
		id = get_str(ev, "event_id");
		if (!id || strlen(id) >= EVENT_ID_BUF)
			return -1;
		strcpy(out, id);
		return 0;
	case EVENT_ID_V3:
		return hash_id(rv, ev, '$', 0, out);
	case EVENT_ID_V4:
		return hash_id(rv, ev, '$', 1, out);
	}
	return -1;
}

int event_create_room_id(const struct room_version *rv, const json_t *create, char out[EVENT_ID_BUF])
{
	const char *type = event_type(create);

	if (!rv->room_id_is_create_hash || !type || strcmp(type, "m.room.create") != 0)
		return -1;
	return hash_id(rv, create, '!', 1, out);
}
