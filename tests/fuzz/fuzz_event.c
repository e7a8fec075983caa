/* Fuzzes the event core: validation, redaction, hashes, IDs, the auth
 * rules and state resolution.  Input is either an event, or {"v": version,
 * "event": {...}, "state": [events]} to drive auth_check against a chosen
 * state, or {"v": version, "events": {id: event}, "sets": [state maps]} to
 * drive state resolution. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/canonjson.h"
#include "homeserver/events/auth_rules.h"
#include "homeserver/events/event.h"
#include "homeserver/events/room_version.h"
#include "homeserver/events/state_res.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct room_version *rv, const json_t *ev, const json_t *state)
{
	const json_t *evs[64];
	struct auth_list l = { evs, 0 };
	struct auth_state st = { auth_list_lookup, NULL, &l };
	struct auth_key keys[AUTH_MAX_KEYS];
	char err[256], id[EVENT_ID_BUF];
	unsigned char h[32];
	json_t *red, *item;
	size_t i;

	event_validate(rv, ev, err, sizeof(err));
	red = event_redact(rv, ev);
	if (red) {
		/* Redaction is idempotent. */
		json_t *again = event_redact(rv, red);
		if (!again || !json_equal(red, again))
			__builtin_trap();
		json_decref(again);
		json_decref(red);
	}
	event_content_hash(rv, ev, h);
	event_reference_hash(rv, ev, h);
	event_compute_id(rv, ev, id);
	event_create_room_id(rv, ev, id);
	auth_events_selection(rv, ev, keys);
	json_array_foreach(state, i, item)
		if (l.n < 64)
			evs[l.n++] = item;
	auth_check(rv, ev, &st, err, sizeof(err));
	auth_check_auth_events(rv, ev, evs, l.n, err, sizeof(err));
	auth_user_power_level(rv, &st, json_string_value(json_object_get(ev, "sender")));
	if (l.n)
		auth_redaction_applies(rv, &st, ev, evs[0]);
}

static const json_t *get_event(void *arg, const char *id)
{
	return json_object_get((const json_t *)arg, id);
}

static void resolve(const struct room_version *rv, const json_t *events, const json_t *sets)
{
	struct state_res_ctx ctx = { rv, get_event, NULL, NULL, (void *)events };
	const json_t *maps[8];
	size_t n = 0, i;
	json_t *m;
	char err[128];

	json_array_foreach(sets, i, m)
		if (n < 8)
			maps[n++] = m;
	json_decref(state_res_resolve(&ctx, maps, n, err, sizeof(err)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = canonjson_parse((const char *)data, size, CANONJSON_LAX, NULL, 0);
	const struct room_version *rv;
	int n;

	if (!v)
		return 0;
	rv = room_version_get(json_string_value(json_object_get(v, "v")));
	if (rv && json_is_object(json_object_get(v, "events"))) {
		resolve(rv, json_object_get(v, "events"), json_object_get(v, "sets"));
	} else if (rv && json_is_object(json_object_get(v, "event"))) {
		exercise(rv, json_object_get(v, "event"), json_object_get(v, "state"));
	} else {
		const struct room_version *all = room_version_all(&n);
		for (int i = 0; i < n; i++)
			exercise(&all[i], v, NULL);
	}
	json_decref(v);
	return 0;
}
