/* Inbound room traffic.  PUT /_matrix/federation/v1/send/{txnId}: transactions.
 *
 * Each PDU of a room this server knows goes to rooms_receive(), which
 * works out the state before it (state resolution over its prev events'
 * states) and, under the room lock, runs pdu_check() with keys from the
 * keyring, auth events from the room store (outliers and rejected events
 * included) and the room's current state, then stores it as the verdict
 * says: accepted into the timeline, soft-failed and rejected outside it,
 * dropped not at all.  Each PDU's entry in the answer is {} when it was
 * accepted, soft-failed or already known (so a repeated transaction gets
 * the same answer), and {"error": reason} otherwise.  Soft-failed events
 * stay in the DAG with their state, so one cited as a prev event is known.
 * A PDU any of whose prev events are unknown (while the transaction's
 * budget of TXN_MAX_GAPS fetches lasts) makes this server ask the origin
 * for the missing events (get_missing_events, at most 20, taken in oldest
 * first) and, if that does not close the gap, for the state after each
 * prev event still missing (fed_fetch_state(), at most
 * ROOMS_MAX_GIVEN_STATES), resolved with the states after the known ones;
 * it then enters the room as a fork.  EDUs go to fed_edu_handle().
 */
#ifndef SCOP_FED_API_TXN_H
#define SCOP_FED_API_TXN_H

#include "federation/api_federation.h"

#include "homeserver/rooms.h"

void fed_txn_handle(struct api_req *r, struct fed_service *fs, const char *origin);

/* One PDU of a known room through the receipt checks and into the store
 * (rooms_receive() with pdu_check()); results as rooms_receive(). */
enum room_rc fed_receive_pdu(struct fed_service *fs, const char *room_id, const json_t *pdu,
			     struct room_result *res, enum room_remote_verdict *verdict);

/* GET /_matrix/federation/v1/make_join/{roomId}/{userId}?ver=...: a join
 * template over the room's current state (prev_events its forward
 * extremities, auth_events the auth rules' selection), after checking the
 * user belongs to the requesting server, the room version is among ver
 * (only "1" when none is given) and the join passes the auth rules against
 * current state. */
void fed_make_join(struct api_req *r, struct fed_service *fs, const char *origin);
/* GET /_matrix/federation/v1/make_leave/{roomId}/{userId}: the same for a
 * leave (no ver). */
void fed_make_leave(struct api_req *r, struct fed_service *fs, const char *origin);
/* GET /_matrix/federation/v1/make_knock/{roomId}/{userId}?ver=...: for a
 * knock (ver as make_join). */
void fed_make_knock(struct api_req *r, struct fed_service *fs, const char *origin);

#endif
