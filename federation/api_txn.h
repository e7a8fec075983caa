/* PUT /_matrix/federation/v1/send/{txnId}: inbound transactions.
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

#endif
