/* Matrix events (PDUs) as jansson trees: validation against the room
 * version's event format, the redaction algorithm, content and reference
 * hashes, and event and room IDs.
 *
 * Contract: functions never take ownership of the json_t they are given and
 * never modify it (except event_set_content_hash).  Functions returning
 * json_t * return a new reference the caller json_decref()s, or NULL.
 * Integer-returning functions give 0 on success and -1 on failure; where
 * there is an err buffer it receives a one-line reason (err may be NULL).
 * No I/O and no global state.
 */
#ifndef SCOP_EVENT_H
#define SCOP_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "homeserver/events/room_version.h"

#define EVENT_MAX_BYTES 65536   /* canonical JSON of the federation form */
#define EVENT_MAX_ID_BYTES 255  /* sender, room_id, event_id, type, state_key */
#define EVENT_MAX_AUTH_EVENTS 10
#define EVENT_MAX_PREV_EVENTS 20
/* "$" + 43 base64 characters + NUL, or a v1/v2 event ID of up to 255 bytes. */
#define EVENT_ID_BUF 256

/* Checks that ev is a well-formed PDU for room version rv: required keys
 * with the right JSON types, ID and key sizes, depth and timestamps in
 * range, prev_events/auth_events in the version's shape and counts, the
 * 64 KiB limit on the canonical encoding, and (v6+) canonical JSON integer
 * rules throughout, and no NUL character (which a parser allowing \u0000
 * lets through) in the IDs, type, state_key or the content the auth rules
 * read.  It does not check hashes, signatures or auth. */
int event_validate(const struct room_version *rv, const json_t *ev, char *err, size_t errlen);

/* The redaction algorithm of rv: a new object with only the keys the
 * version protects (top level and in content).  NULL if ev is not an object
 * or memory runs out. */
json_t *event_redact(const struct room_version *rv, const json_t *ev);

/* SHA-256 of the canonical JSON of ev without unsigned, signatures and
 * hashes. */
int event_content_hash(const struct room_version *rv, const json_t *ev, unsigned char out[32]);
/* Sets ev.hashes.sha256 to the content hash (unpadded base64). */
int event_set_content_hash(const struct room_version *rv, json_t *ev);
/* 0 when ev.hashes.sha256 matches the content hash, -1 otherwise (the
 * caller should then use the redacted event, per the spec). */
int event_check_content_hash(const struct room_version *rv, const json_t *ev);

/* SHA-256 of the canonical JSON of the redacted event without signatures,
 * unsigned and age_ts. */
int event_reference_hash(const struct room_version *rv, const json_t *ev, unsigned char out[32]);

/* The event ID into out[EVENT_ID_BUF]: for v3+ computed from the reference
 * hash; for v1/v2 the event's own event_id key (-1 when absent). */
int event_compute_id(const struct room_version *rv, const json_t *ev, char out[EVENT_ID_BUF]);

/* Room version 12: the room ID of the room a create event makes ("!" +
 * URL-safe unpadded base64 of its reference hash).  -1 for other versions. */
int event_create_room_id(const struct room_version *rv, const json_t *create, char out[EVENT_ID_BUF]);

/* A new unsigned PDU for room version 3 or later (NULL for v1/v2, whose
 * events need an event_id and reference-hash pairs this server does not
 * create): room_id (omitted for a v12 create event), sender, type,
 * state_key (NULL for a message event), a copy of content, the given
 * prev_events and auth_events IDs, depth and origin_server_ts.  Then call
 * event_hash_and_sign() (event_sign.h) and event_compute_id().  For
 * m.room.redaction the caller sets redacts (top level before v11, in
 * content from v11). */
json_t *event_new(const struct room_version *rv, const char *room_id, const char *sender,
		  const char *type, const char *state_key, const json_t *content,
		  const char *const *prev_events, size_t nprev,
		  const char *const *auth_events, size_t nauth, int64_t depth, int64_t origin_server_ts);

/* Small accessors that return NULL when the key is absent or not a string
 * (state_key: NULL means "not a state event"). */
const char *event_type(const json_t *ev);
const char *event_sender(const json_t *ev);
const char *event_state_key(const json_t *ev);
const char *event_room_id(const json_t *ev);
/* content.membership for m.room.member, else NULL. */
const char *event_membership(const json_t *ev);
/* The event redacted by an m.room.redaction (top-level redacts, or
 * content.redacts from v11), else NULL. */
const char *event_redacts(const struct room_version *rv, const json_t *ev);

/* The domain of a Matrix ID ("@u:example.org" -> "example.org"), or NULL
 * when id has no ':'.  Points into id. */
const char *matrix_id_domain(const char *id);
/* 1 when s is a user ID in the historical grammar the spec says servers
 * must accept: "@" localpart ":" server name, at most 255 bytes, localpart
 * without ':' or NUL. */
int matrix_user_id_valid(const char *s);

#endif
