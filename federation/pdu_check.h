/* The checks on receipt of a PDU (server-server API, "Checks performed on
 * receipt of a PDU"), in the spec's order, as a pure function:
 *
 *  1. format: a valid event for the room version (event_validate)  -> drop
 *  2. signatures by every required server (event_required_signers),
 *     with keys from a callback; from room version 5 a key counts only
 *     while its valid_until_ts covers the event's origin_server_ts  -> drop
 *  3. content hash: on mismatch the event is redacted and checking
 *     goes on with the redacted copy (the spec's rule)
 *  4. auth against the event's cited auth events                  -> reject
 *  5. auth against the state before the event                      -> reject
 *  6. auth against the current state of the room                   -> soft-fail
 *
 * No I/O and no global state: keys, the cited auth events and both states
 * come from the caller (a keyring adapter, the event store, state
 * resolution).  Untrusted input never crashes it: anything malformed is a
 * drop with a reason.
 */
#ifndef SCOP_FED_PDU_CHECK_H
#define SCOP_FED_PDU_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "homeserver/events/auth_rules.h"
#include "homeserver/events/event.h"
#include "homeserver/events/room_version.h"

enum pdu_verdict {
	PDU_ACCEPT = 0,          /* persist and apply */
	PDU_ACCEPT_REDACTED,     /* hash mismatch: persist the redacted copy, apply */
	PDU_SOFT_FAIL,           /* persist (redacted when .redacted), but not into current state or clients */
	PDU_REJECT,              /* persist as rejected (auth failed at steps 4-5) */
	PDU_DROP,                /* do not persist (steps 1-2 failed) */
};

/* Which check decided a non-accept verdict. */
enum pdu_stage {
	PDU_STAGE_NONE = 0,
	PDU_STAGE_FORMAT,
	PDU_STAGE_SIGNATURES,
	PDU_STAGE_AUTH_EVENTS,
	PDU_STAGE_STATE_BEFORE,
	PDU_STAGE_CURRENT_STATE,
};

/* The public key server used as key_id.  ts_ms is the time the key must
 * have been valid at (the event's origin_server_ts), or 0 when any
 * validity will do (room versions 1-4).  0 with pub filled, or -1 when the
 * key is unknown or not valid then.  keyring_get() serves this. */
typedef int (*pdu_key_fn)(void *arg, const char *server, const char *key_id, int64_t ts_ms,
			  unsigned char pub[32]);

/* An event by ID from the caller's store: borrowed until pdu_check()
 * returns, or NULL when unknown; *rejected = 1 when it was rejected. */
typedef const json_t *(*pdu_event_fn)(void *arg, const char *event_id, int *rejected);

struct pdu_check_ctx {
	pdu_key_fn key;
	void *key_arg;
	pdu_event_fn event;          /* resolves auth_events (and the v12 create event) */
	void *event_arg;
	const struct auth_state *state_before;  /* NULL: skip step 5 */
	const struct auth_state *current_state; /* NULL: skip step 6 */
};

#define PDU_MAX_KEYS_PER_SERVER 8

struct pdu_check_result {
	enum pdu_verdict verdict;
	enum pdu_stage stage;        /* PDU_STAGE_NONE for ACCEPT / ACCEPT_REDACTED */
	int redacted;                /* the content hash did not match */
	int missing_auth_event;      /* step 4 failed only for want of an auth event
				      * (the caller may fetch it and check again) */
	json_t *event;               /* new reference to what to persist (the redacted
				      * copy when .redacted); NULL for DROP */
	char event_id[EVENT_ID_BUF]; /* computed (v3+) or given (v1/v2); may be "" for DROP */
	char reason[256];
};

/* Runs the checks on pdu for room version rv.  Always fills res (free it
 * with pdu_check_result_clear()); returns res->verdict. */
enum pdu_verdict pdu_check(const struct room_version *rv, const json_t *pdu, const struct pdu_check_ctx *ctx,
			   struct pdu_check_result *res);
void pdu_check_result_clear(struct pdu_check_result *res);

const char *pdu_verdict_str(enum pdu_verdict v);

#endif
