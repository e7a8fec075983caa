/* Inbound room traffic.  PUT /_matrix/federation/v1/send/{txnId}: transactions.
 *
 * Each PDU of a room this server knows goes through pdu_check() with keys
 * from the keyring, auth events from the room store, the state after its
 * single prev event as the state before it, and the room's current state.
 * The room store has no path for remote events yet (rooms.c is the only
 * writer and keeps a cache in step with it), so nothing is persisted: each
 * PDU's entry in the answer names the verdict as an error.  EDUs are
 * accepted and ignored.
 */
#ifndef SCOP_FED_API_TXN_H
#define SCOP_FED_API_TXN_H

#include "federation/api_federation.h"

void fed_txn_handle(struct api_req *r, struct fed_service *fs, const char *origin);

/* GET /_matrix/federation/v1/make_join/{roomId}/{userId}?ver=...: a join
 * template over the room's current state (prev_events its forward
 * extremities, auth_events the auth rules' selection), after checking the
 * user belongs to the requesting server, the room version is among ver
 * (only "1" when none is given) and the join passes the auth rules against
 * current state.  send_join needs a path to persist remote events, which
 * the room store does not have yet. */
void fed_make_join(struct api_req *r, struct fed_service *fs, const char *origin);

#endif
