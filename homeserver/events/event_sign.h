/* Ed25519 signatures on JSON objects and events (spec appendices "Signing
 * JSON", server-server API "Signing Events").
 *
 * Contract: signing functions modify the given object in place (adding to
 * its "signatures" and, for events, "hashes"); verification never modifies
 * its input.  0 on success, -1 on failure (bad input, encoding impossible,
 * or, for verification, a missing or wrong signature).  The key is only
 * read; callers keep ownership.  No I/O: looking up a remote server's keys
 * is the caller's job.
 */
#ifndef SCOP_EVENT_SIGN_H
#define SCOP_EVENT_SIGN_H

#include <jansson.h>

#include "common/crypto.h"
#include "homeserver/events/room_version.h"

/* Signs obj (without its signatures and unsigned) and adds
 * signatures[entity][key->key_id]. */
int json_sign(json_t *obj, const char *entity, const struct scop_ed25519 *key);
/* Checks signatures[entity][key_id] over obj with public key pub. */
int json_verify(const json_t *obj, const char *entity, const char *key_id, const unsigned char pub[32]);

/* The spec's hash_and_sign_event: sets hashes.sha256, then signs the
 * redacted event and copies the signature back. */
int event_hash_and_sign(const struct room_version *rv, json_t *ev, const char *server,
			const struct scop_ed25519 *key);
/* Verifies server's signature with key_id over the redacted form of ev (so
 * it also holds for a redacted copy). */
int event_verify_signature(const struct room_version *rv, const json_t *ev, const char *server,
			   const char *key_id, const unsigned char pub[32]);

/* The servers whose signatures a received event must carry (the checks on
 * receipt of a PDU): the sender's server, except for an invite made through
 * a third-party invite (the auth rules check its signed block instead, and
 * the transaction's origin may differ from the sender); in room versions
 * 1 and 2 also the server of the event_id; from room version 8 the server
 * of a join's join_authorised_via_users_server.  Fills servers (pointers into ev, no
 * duplicates) and returns the count, at most EVENT_MAX_SIGNERS. */
#define EVENT_MAX_SIGNERS 3
size_t event_required_signers(const struct room_version *rv, const json_t *ev,
			      const char *servers[EVENT_MAX_SIGNERS]);

#endif
