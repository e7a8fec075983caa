/* Joining rooms over federation, both sides.
 *
 * Resident side: PUT /_matrix/federation/v2/send_join/{roomId}/{eventId}
 * takes the join event a make_join template became (sender on the
 * requesting server, state_key = sender, membership join, the event ID
 * in the path), runs it through the receipt checks and stores it
 * (fed_receive_pdu()), then answers the state before it, the auth chain
 * of that state and of the join, and the join itself.
 *
 * Joining side: fed_join_remote() is the homeserver's remote-join hook
 * (hs->remote_join): it resolves a remote alias with the directory query,
 * asks the candidate servers in turn for a template (make_join), fills in
 * the content, hashes and signs the join, sends it (send_join v2), checks
 * every returned event (format, signatures, hashes, auth against its own
 * auth events), keeps the state and auth chain as outliers, and hands
 * the room to rooms_adopt() with the join on top.
 *
 * Contract: both block on the network (worker threads only); nothing
 * aborts on bad answers from the other server, which get an error.
 */
#ifndef SCOP_FED_JOIN_H
#define SCOP_FED_JOIN_H

#include <stddef.h>
#include <jansson.h>

#include "federation/api_federation.h"

struct room_store;
struct room_version;

void fed_send_join(struct api_req *r, struct fed_service *fs, const char *origin);

/* The hs_remote_join_fn of hs.h; arg is the struct fed_service. */
int fed_join_remote(void *arg, const char *room, const char *const *via, size_t nvia,
		    const char *user_id, const json_t *content, char *room_id_out, size_t outlen,
		    char *errcode, size_t errcodelen, char *error, size_t errorlen);

/* PUT /_matrix/federation/v2/invite/{roomId}/{eventId}: an invite for a
 * user of this server, signed by the inviting server; checked, signed by
 * us, kept (rooms_remote_invite()) and returned. */
void fed_invite(struct api_req *r, struct fed_service *fs, const char *origin);

/* The rooms_invite_fn of rooms.h (arg: struct fed_service): sends the
 * invite to the invitee's server and takes back the counter-signed
 * event after checking that server's signature. */
int fed_invite_remote(void *arg, const struct room_version *rv, json_t **event, const json_t *stripped, char *why,
		      size_t whylen);

/* PUT /_matrix/federation/v2/send_leave/{roomId}/{eventId}: the leave a
 * make_leave template became, checked and stored; answers {}. */
void fed_send_leave(struct api_req *r, struct fed_service *fs, const char *origin);

/* PUT /_matrix/federation/v1/send_knock/{roomId}/{eventId}: the same for
 * a knock; answers the room's stripped state (knock_room_state). */
void fed_send_knock(struct api_req *r, struct fed_service *fs, const char *origin);

/* hs->remote_knock (an hs_remote_join_fn; content may carry a reason):
 * knocks on a room this server is not in (make_knock/send_knock) and
 * keeps the knock with the stripped state the room's server answered. */
int fed_knock_remote(void *arg, const char *room, const char *const *via, size_t nvia, const char *user_id,
		     const json_t *content, char *room_id_out, size_t outlen, char *errcode, size_t errcodelen,
		     char *error, size_t errorlen);

/* The hs_remote_leave_fn of hs.h: rejects an invite to a room this server
 * is not in (make_leave/send_leave through the inviting server), and
 * keeps the leave. */
int fed_leave_remote(void *arg, const char *room_id, const char *user_id, const char *reason, char *errcode,
		     size_t errcodelen, char *error, size_t errorlen);

/* The state after prev (a prev event of a received PDU, which this
 * server lacks) from origin: /state_ids at it, then /event for each event
 * not stored here (at most 2,000), each checked (format, signatures,
 * hashes, auth against its own auth events) and stored as an outlier.  0
 * with *state a new map {type: {state_key: event_id}}, or -1. */
int fed_fetch_state(struct fed_service *fs, const char *origin, const char *room_id, const struct room_version *rv,
		    const char *prev, json_t **state);

/* The auth chain of events (an array of PDUs) from the room store: every
 * event reachable through auth_events, each once, as a new array (bounded
 * by limit). */
json_t *fed_auth_chain(struct room_store *rs, const struct room_version *rv, const json_t *events, size_t limit);

#endif
