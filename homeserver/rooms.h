/* Rooms of this server: the event-creation pipeline and the per-room cache.
 *
 * rooms_send() builds an event for a local sender (prev_events = the
 * room's forward extremities, auth_events from the auth rules' selection),
 * checks it against the current state, hashes and signs it with the
 * server key, persists it with everything it changes in one store
 * transaction (store_rooms.h), then updates the cache and tells the
 * listener (the /sync hub) whom to wake.  Events of one room are built
 * one at a time under a per-room lock, so concurrent sends never fork the
 * DAG.
 *
 * Message events (no state_key; room versions 3 and up) are pipelined:
 * the event is built and its append submitted under the lock, the cache
 * moves on at once, and the commit is waited for outside the lock, so
 * concurrent sends to one room share a group commit.  rooms_send() still
 * answers only once its event is committed.  The listener and the
 * federation hook hear of a room's events after their commit, in commit
 * order.  If an append fails, the appends built on it fail too and the
 * cache is reloaded from the store before the room's next event.  State
 * events and remote events wait until no message of the room is in
 * flight, and state events commit under the lock (the next event needs
 * their state group, which the store hands out).
 *
 * The cache holds, per room touched since start, its version, current
 * state (events), forward extremities and depth; it is loaded from the
 * store on first use and updated only by the writer, under the room lock.
 *
 * Contract: thread-safe.  Results are enum room_rc with a one-line reason
 * for the client in res->reason.  json_t * returned are new references the
 * caller decrefs; inputs are borrowed.  Nothing aborts on bad input.
 */
#ifndef SCOP_HS_ROOMS_H
#define SCOP_HS_ROOMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/crypto.h"
#include "homeserver/events/event.h"
#include "homeserver/store/store_rooms.h"

struct rooms;

enum room_rc {
	ROOM_OK = 0,
	ROOM_NOT_FOUND,     /* no such room / state / event */
	ROOM_FORBIDDEN,     /* the auth rules or a membership check said no */
	ROOM_TOO_LARGE,     /* the event passes 65,536 bytes */
	ROOM_BAD_JSON,      /* the event is malformed for the room version */
	ROOM_UNSUPPORTED,   /* room version this server cannot create */
	ROOM_ERROR,         /* storage or memory */
};

struct room_result {
	char event_id[EVENT_ID_BUF];
	char room_id[EVENT_ID_BUF];
	int64_t stream_pos;
	char reason[256];
};

/* Called after every stored event with the users who should hear of it
 * (joined or invited members, and a member event's target).  users is a
 * borrowed array, valid for the call. */
typedef void (*rooms_listener_fn)(void *arg, int64_t stream_pos, const char *const *users,
				  size_t nusers);

/* The same for the extras stream (account data, receipts, typing). */
typedef void (*rooms_xlistener_fn)(void *arg, int64_t xpos, const char *const *users,
				   size_t nusers);

/* server_name and key are copied. */
struct rooms *rooms_new(struct room_store *rs, const char *server_name,
			const struct scop_ed25519 *key);
void rooms_free(struct rooms *r);
void rooms_set_listener(struct rooms *r, rooms_listener_fn fn, void *arg);
void rooms_set_xlistener(struct rooms *r, rooms_xlistener_fn fn, void *arg);
struct room_store *rooms_store(struct rooms *r);
const char *rooms_server_name(const struct rooms *r);

struct room_send {
	const char *room_id;
	const char *sender;
	const char *type;
	const char *state_key;   /* NULL: message event */
	const json_t *content;
	const char *redacts;     /* m.room.redaction: the target */
	const char *device_id;   /* with txn_id: idempotent sends */
	const char *txn_id;
};
/* A txn_id already used by this device answers ROOM_OK with the first
 * event's ID. */
enum room_rc rooms_send(struct rooms *r, const struct room_send *s, struct room_result *res);

/* Creates a room: the create event (content given, "creator" added where
 * the version needs it), then each of initial (an array of {type,
 * state_key, content, sender?}) in order, each sent by creator.  version
 * NULL: the default. */
enum room_rc rooms_create(struct rooms *r, const char *creator, const char *version,
			  const json_t *create_content, const json_t *initial,
			  struct room_result *res);

/* Current state. */
enum room_rc rooms_version(struct rooms *r, const char *room_id,
			   const struct room_version **rv);
/* The current state event (a PDU), NULL when absent. */
json_t *rooms_state_event(struct rooms *r, const char *room_id, const char *type,
			  const char *state_key);
/* Every current state event (PDUs) as a new array, NULL if no such room. */
json_t *rooms_state_all(struct rooms *r, const char *room_id);
/* The servers with a joined member now (this one included), as a new
 * array of strings; NULL if no such room. */
json_t *rooms_servers(struct rooms *r, const char *room_id);
/* Whether a user of this server is joined to the room now (0 also when
 * the room is unknown). */
int rooms_server_joined(struct rooms *r, const char *room_id);
/* user's current membership into out ("" if none). ROOM_NOT_FOUND: no room. */
enum room_rc rooms_membership(struct rooms *r, const char *room_id, const char *user,
			      char out[16]);
/* The power level user has and the level needed to send a state event of
 * type (needed may be NULL). */
enum room_rc rooms_power(struct rooms *r, const char *room_id, const char *user,
			 const char *state_type, int64_t *have, int64_t *needed, int64_t *redact,
			 int64_t *kick, int64_t *ban, int64_t *invite);

/* An event in the client-server format for viewer (event_id, room_id,
 * unsigned.transaction_id for the device that sent it, redacted content
 * with unsigned.redacted_because when redacted).  NULL on failure. */
json_t *rooms_client_event(struct rooms *r, const struct room_event *e,
			   const char *viewer, const char *viewer_device);
/* The state of a snapshot as client events (array), NULL on failure;
 * types (array of strings or NULL) limits which. */
json_t *rooms_client_state(struct rooms *r, int64_t group, const char *viewer,
			   const char *viewer_device);
/* The state events of snapshot group that differ from snapshot from (from
 * -1: all of them), as client events. */
json_t *rooms_client_state_delta(struct rooms *r, int64_t from, int64_t group,
				 const char *viewer, const char *viewer_device);
/* Stripped state for an invite: create, join rules, name, avatar, aliases,
 * encryption, topic and the viewer's member event. */
json_t *rooms_stripped_state(struct rooms *r, const char *room_id, const char *viewer);

/* The room summary of /sync: joined and invited counts and up to five
 * other members as heroes.  NULL if no such room. */
json_t *rooms_summary(struct rooms *r, const char *room_id, const char *viewer);

/* History visibility (the spec's rules): whether user may see an event,
 * from the history_visibility and the user's membership in the state
 * before it, and whether they are joined now; their own member events are
 * always visible to them.  A checker caches per state snapshot; make
 * one per request and room. */
struct room_vis;
struct room_vis *rooms_vis_new(struct rooms *r, const char *room_id, const char *user);
int rooms_vis_allows(struct room_vis *v, const struct room_event *e);
/* The client event for the checker's user if they may see e, else NULL
 * (also for v NULL or on failure): rooms_vis_allows() then
 * rooms_client_event(), with the event's JSON parsed once for both (the
 * parse is most of their cost). */
json_t *rooms_vis_client_event(struct room_vis *v, const struct room_event *e,
			       const char *viewer_device);
void rooms_vis_free(struct room_vis *v);

/* ---- the extras stream ----
 * Positions are allocated under one lock together with their write, so a
 * reader that sees position x has every row at or below x.  They never go
 * back across restarts (they are at least the wall clock in ms). */
int64_t rooms_current_xpos(struct rooms *r);
/* room_id "" for global account data; content is borrowed.  Wakes the user. */
enum room_rc rooms_account_data_put(struct rooms *r, const char *user, const char *room_id,
				    const char *type, const json_t *content);
/* Wakes the room's members (only user for m.read.private). */
enum room_rc rooms_receipt_put(struct rooms *r, const char *room_id, const char *user,
			       const char *type, const char *event_id);
/* The same for a threaded receipt (thread_id "main" or a thread root). */
enum room_rc rooms_receipt_put_thread(struct rooms *r, const char *room_id, const char *user,
				      const char *type, const char *thread_id,
				      const char *event_id);
/* Typing notifications (memory only); timeout_ms bounds how long a user
 * stays listed. */
enum room_rc rooms_typing(struct rooms *r, const char *room_id, const char *user, int typing,
			  int64_t timeout_ms);
/* Drops typing entries past their timeout and tells the rooms' members
 * (the sync hub calls it about once a second). */
void rooms_typing_expire(struct rooms *r);
/* An m.typing event for the room when its list changed after since_x (or
 * since_x is 0 and someone is typing), else NULL. */
json_t *rooms_typing_event(struct rooms *r, const char *room_id, int64_t since_x);

/* ---- presence (memory only, lost on restart) ----
 * Each real change (the presence, the status message, or an online user
 * active again after the "currently active" window: Synapse's
 * should_notify()) takes an extras position, wakes the users who share a
 * joined room with user and goes to the EDU hook (other servers); a call
 * that changes nothing only records activity, but an online user still
 * goes to the EDU hook every 25 minutes, so other servers do not time it
 * out. */
int rooms_presence_valid(const char *presence); /* online, unavailable, offline */
/* Presence off (Synapse's presence.enabled false): every setter succeeds
 * and records nothing, so everyone reads as offline.  Set before serving. */
void rooms_set_presence_enabled(struct rooms *r, int enabled);
#define ROOMS_PRESENCE_KEEP_MSG 1 /* leave the status message as it is */
#define ROOMS_PRESENCE_QUIET 2    /* no position, no local wake-up (a /sync
				   * without set_presence) unless the
				   * presence itself changes; other servers
				   * are told all the same */
#define ROOMS_PRESENCE_EXPLICIT 4 /* the user's own choice (PUT /presence):
				   * an unavailable one outlives the end of
				   * their /syncs (presence_timeout.h) */
/* ROOM_BAD_JSON: presence is not one of the three. */
enum room_rc rooms_presence_set(struct rooms *r, const char *user, const char *presence,
				const char *status_msg, int flags);
/* {presence, last_active_ago, currently_active, status_msg?}; offline for
 * users never seen. */
json_t *rooms_presence_get(struct rooms *r, const char *user);
/* Whether viewer shares a joined room with user (or is user). */
int rooms_presence_visible(struct rooms *r, const char *viewer, const char *user);
/* m.presence events of viewer's room peers changed in (since_x, upto_x]. */
json_t *rooms_presence_events(struct rooms *r, const char *viewer, int64_t since_x,
			      int64_t upto_x);
/* A /sync of user that counts for presence begins (begin 1; it lasts at
 * most timeout_ms) or ends (begin 0): while one is in flight the user
 * does not time out.  ROOM_ERROR when out of memory. */
enum room_rc rooms_presence_sync(struct rooms *r, const char *user, int begin,
				 int64_t timeout_ms);
/* Applies presence_timeout.h's rules to the users at time now (ms since
 * the epoch, as the records'): each change takes an extras position and
 * wakes the user's room peers; local users' changes and pings go to the
 * EDU hook, remote users' do not (their server tells everyone).  Returns
 * the number of users changed or pinged: at most ROOMS_PRESENCE_SWEEP_MAX,
 * so one call stays short (the caller's thread answers long-polls too);
 * when it returns that many, call again soon for the rest. */
#define ROOMS_PRESENCE_SWEEP_MAX 1000
struct presence_timeouts;
size_t rooms_presence_sweep(struct rooms *r, int64_t now, const struct presence_timeouts *t);
/* The wall clock the presence records use (ms since the epoch). */
int64_t rooms_now_ms(void);

/* ---- lazy-loaded members ----
 * The current member events of the senders of events (client events) and
 * of viewer, leaving out those already sent to viewer's device (memory
 * only: a restart sends them again).  ROOMS_LAZY_REDUNDANT: send every
 * one (include_redundant_members); ROOMS_LAZY_RESET: the client starts
 * afresh (initial sync), send every one and remember them.  New array, or
 * NULL on failure. */
#define ROOMS_LAZY_REDUNDANT 1
#define ROOMS_LAZY_RESET 2
json_t *rooms_lazy_members(struct rooms *r, const char *room_id, const json_t *events,
			   const char *viewer, const char *device, int flags);

/* ---- the federation hook ----
 * Called after every rooms_typing() (type "m.typing", typing set), every
 * stored m.read receipt (type "m.receipt", event_id set, thread_id for a
 * threaded one, else NULL) and every
 * announced presence change (type "m.presence", room_id NULL: read it with
 * rooms_presence_get()), for local and remote users alike (the hook
 * picks), outside the locks, so the federation service can tell the other
 * servers in the room.  Set it before serving and clear it (fn NULL)
 * before the hook's arg goes away. */
typedef void (*rooms_edu_hook_fn)(void *arg, const char *room_id, const char *user,
				  const char *type, const char *event_id, const char *thread_id,
				  int typing);
void rooms_set_edu_hook(struct rooms *r, rooms_edu_hook_fn fn, void *arg);

/* ---- remote events (federation) ----
 * rooms_receive() takes a PDU of a room this server knows into the room,
 * under the room lock: it works out the state before the event (the state
 * after its prev event, or state resolution v2 over the states after each
 * of several), has check decide (federation's pdu_check: signatures,
 * hashes, auth events, the state before, the current state), then stores
 * what the verdict says:
 *   ROOM_REMOTE_ACCEPT     into the timeline; current state and forward
 *                          extremities updated (forks resolved with state
 *                          resolution), memberships, cache, listener;
 *   ROOM_REMOTE_SOFT_FAIL  outside the timeline, the forward extremities
 *                          and current state as ROOM_EVENT_SOFT_FAILED, with
 *                          its state groups: still in the DAG, so a later
 *                          event citing it is processed normally;
 *   ROOM_REMOTE_REJECT     outside the timeline as ROOM_EVENT_REJECTED;
 *   ROOM_REMOTE_DROP       nowhere.
 * An event already stored (either way) is not checked again: ROOM_OK and
 * *verdict = ROOM_REMOTE_KNOWN.  ROOM_NOT_FOUND: unknown room, or none of
 * its prev events is in the timeline or soft-failed (res->reason says
 * which).
 *
 * check gets the room version, the PDU, the two states, and fills *event
 * (new reference: what to persist, e.g. the redacted copy), event_id and
 * why; it returns a ROOM_REMOTE_* verdict.  It runs under the room lock
 * and may block (key fetches). */
enum room_remote_verdict {
	ROOM_REMOTE_ACCEPT = 0,
	ROOM_REMOTE_SOFT_FAIL,
	ROOM_REMOTE_REJECT,
	ROOM_REMOTE_DROP,
	ROOM_REMOTE_KNOWN,
};
struct auth_state;
typedef enum room_remote_verdict (*rooms_check_fn)(void *arg, const struct room_version *rv,
						   const json_t *pdu, const struct auth_state *before,
						   const struct auth_state *current, json_t **event,
						   char event_id[EVENT_ID_BUF], char *why, size_t whylen);
enum room_rc rooms_receive(struct rooms *r, const char *room_id, const json_t *pdu,
			   rooms_check_fn check, void *check_arg, struct room_result *res,
			   enum room_remote_verdict *verdict);

/* Takes the room over from a join (or knock) answered by another server:
 * state is the room's state before event as a map {type: {state_key:
 * event_id}} whose events are stored already (outliers, checked by the
 * caller), event the checked membership event.  The room is created here
 * when unknown (or started afresh, its old forward extremities dropped,
 * when this server left it before); event goes into the timeline with
 * state as the state before it, and the listener hears of it.  A repeated
 * call for the same event is ROOM_OK. */
enum room_rc rooms_adopt(struct rooms *r, const char *version, const char *room_id,
			 const json_t *state, const json_t *event, struct room_result *res);

/* An invite for a user of this server to a room this server is not in
 * (PUT /v2/invite): event is checked and signed by the caller, stripped
 * the invite_room_state the inviting server sent.  The invite is kept
 * (with the stripped state in its unsigned.invite_room_state, which
 * rooms_stripped_state() answers from) and the invitee woken; they can
 * then join over federation.  For a room this server is in, nothing is
 * stored (the event arrives through /send).  ROOM_OK when already kept. */
enum room_rc rooms_remote_invite(struct rooms *r, const char *version, const char *room_id,
				 const json_t *event, const json_t *stripped, struct room_result *res);

/* Before an invite of a user of another server is stored, the invitee's
 * server signs it: fn gets the event (hashed and signed by us, replace
 * *event by the counter-signed one), the room version and the stripped
 * state, under the room lock; 0, or -1 with a reason (the invite then
 * fails with ROOM_FORBIDDEN).  Set by the federation service. */
typedef int (*rooms_invite_fn)(void *arg, const struct room_version *rv, json_t **event,
			       const json_t *stripped, char *why, size_t whylen);
void rooms_set_invite_hook(struct rooms *r, rooms_invite_fn fn, void *arg);

/* As rooms_receive(), but ROOM_NOT_FOUND as soon as one of its prev
 * events has no state here (rooms_receive() goes on with the others'), so
 * the caller can fetch what is missing first. */
enum room_rc rooms_receive_complete(struct rooms *r, const char *room_id, const json_t *pdu,
				    rooms_check_fn check, void *check_arg, struct room_result *res,
				    enum room_remote_verdict *verdict);

/* As rooms_receive(), for a PDU some of whose prev events have no state
 * here: states[0..n) (maps {type: {state_key: event_id}} whose events are
 * stored, e.g. as outliers; 1 <= n <= ROOMS_MAX_GIVEN_STATES) are the
 * states after those, worked out elsewhere (the origin's /state_ids).
 * The state before the PDU is their resolution with the states after its
 * prev events that are known (state resolution v2).  It joins the room as
 * a fork, resolved with the rest as any other. */
#define ROOMS_MAX_GIVEN_STATES 8
enum room_rc rooms_receive_with_states(struct rooms *r, const char *room_id, const json_t *pdu,
				       const json_t *const *states, size_t n, rooms_check_fn check,
				       void *check_arg, struct room_result *res,
				       enum room_remote_verdict *verdict);

/* Called after every event this server created (rooms_send,
 * rooms_create) with the PDU and the servers to send it to: those with a
 * joined member in the state before it, plus the target's server for a
 * member event of a remote user; never this server.  servers is borrowed
 * for the call.  The federation service sets it (rooms does not depend on
 * federation). */
typedef void (*rooms_outbound_fn)(void *arg, const json_t *pdu, const char *const *servers,
				  size_t nservers);
void rooms_set_outbound(struct rooms *r, rooms_outbound_fn fn, void *arg);

#endif
