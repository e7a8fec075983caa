/* The Matrix authorisation rules for room versions 1-12, as a pure module.
 *
 * auth_check() decides whether an event is allowed against a given room
 * state.  The caller supplies that state as a lookup (type, state_key) ->
 * event; whether it is the state from the event's auth_events, the state
 * before the event, or the current state (the three checks of the
 * server-server API) is the caller's choice.  For room version 12 the state
 * must still answer ("m.room.create", "") with the room's create event,
 * even though v12 events do not list it in auth_events.
 *
 * Contract: no I/O, no allocation visible to the caller, no global state.
 * Events and state are borrowed for the duration of the call.  Results:
 * AUTH_ALLOW (0) or AUTH_REJECT (-1) with a one-line reason in reason
 * (reason may be NULL).  Malformed events are rejected, never crash.
 *
 * What is left to the caller (it needs keys or storage): that the event and
 * its auth events were not themselves rejected, and the signature checks on
 * receipt.  Rule "join_authorised_via_users_server must be validly signed"
 * calls st->signed_by when set; when it is NULL the presence of a signature
 * entry from that server is taken to mean the caller verified it already.
 */
#ifndef SCOP_AUTH_RULES_H
#define SCOP_AUTH_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "homeserver/events/room_version.h"

enum auth_result {
	AUTH_ALLOW = 0,
	AUTH_REJECT = -1,
};

/* v12 room creators have "infinite" power; every finite level is below. */
#define AUTH_PL_INFINITE INT64_MAX

struct auth_state {
	/* The state event for (type, state_key), borrowed, or NULL. */
	const json_t *(*lookup)(void *arg, const char *type, const char *state_key);
	/* Optional: 1 when ev carries a valid signature from server, else 0. */
	int (*signed_by)(void *arg, const json_t *ev, const char *server);
	void *arg;
};

int auth_check(const struct room_version *rv, const json_t *ev, const struct auth_state *st,
	       char *reason, size_t reasonlen);

/* One (type, state_key) that an event's auth_events should contain.  The
 * strings point into the event given to auth_events_selection(). */
struct auth_key {
	const char *type;
	const char *state_key;
};
#define AUTH_MAX_KEYS 8

/* The spec's auth events selection for ev: fills keys, returns the count
 * (at most AUTH_MAX_KEYS).  Used to build auth_events for a new event and
 * to check the ones a received event lists. */
size_t auth_events_selection(const struct room_version *rv, const json_t *ev,
			     struct auth_key keys[AUTH_MAX_KEYS]);

/* Checks the list of auth events an event cites (the rules "considering
 * the event's auth_events"): no duplicate (type, state_key), nothing the
 * selection would not pick, a create event present (v1-v11) or absent
 * (v12), and every room_id equal to the event's.  The caller resolves
 * auth_events IDs to events and checks they were not rejected. */
int auth_check_auth_events(const struct room_version *rv, const json_t *ev,
			   const json_t *const *auth_events, size_t n, char *reason, size_t reasonlen);

/* A ready-made struct auth_state over an array of events (e.g. the
 * resolved auth_events, plus for v12 the create event): set st.lookup =
 * auth_list_lookup and st.arg to a struct auth_list. */
struct auth_list {
	const json_t *const *events;
	size_t n;
};
const json_t *auth_list_lookup(void *arg, const char *type, const char *state_key);

/* The power level of user in the given state (v12 creators:
 * AUTH_PL_INFINITE). */
int64_t auth_user_power_level(const struct room_version *rv, const struct auth_state *st,
			      const char *user);

/* "Handling redactions" (v3+; also fine for v1/v2): 1 when redaction's
 * sender may redact original (redact level, or same sender domain). */
int auth_redaction_applies(const struct room_version *rv, const struct auth_state *st,
			   const json_t *redaction, const json_t *original);

#endif
