/* Room storage: rooms, per-event metadata, state snapshots, current state,
 * memberships, forward extremities, transaction ids and filters, on the
 * same database as store.h (migration 010).
 *
 * Contract (as store.h): thread-safe, returns enum store_rc, never aborts.
 * A struct room_store holds its own small pool of connections, opened
 * after store_open() has migrated the database.  room_store_append() is
 * the only writer of events here and does everything one new event implies
 * in one transaction: on STORE_OK it is committed; on error nothing of it
 * is left.  Appends are serialised, so stream positions become visible in
 * increasing order.  Concurrent appends share a transaction (group
 * commit, commit_queue.h).  Output strings are malloc'd and freed with the
 * matching clear or free function; inputs are borrowed.
 *
 * State snapshots ("state groups"): each state event makes a group, id =
 * its stream position, for the state after it (JSON {"type": {"state_key":
 * "event_id"}}); every event records the group in force before and after
 * it.  Group 0 is the empty state.  A group is stored as a delta (the
 * event's entry) on the group before it, with a full snapshot every 64
 * deltas (migration 014), so a room of n members costs O(n) rows of
 * snapshot, not O(n^2) bytes; readers get whole maps.
 */
#ifndef SCOP_STORE_ROOMS_H
#define SCOP_STORE_ROOMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "homeserver/store/commit_queue.h"
#include "homeserver/store/store.h"

struct room_store;

enum store_rc room_store_open(const char *backend, const char *conninfo,
			      struct room_store **out, char *err, size_t errlen);
void room_store_close(struct room_store *rs);

/* One current-state entry a remote event's append sets (see room_append.cur). */
struct room_state_set {
	const char *type;
	const char *state_key;
	const char *event_id;
	const char *membership;       /* m.room.member: the target's membership */
};

/* One new event and what it changes. */
struct room_append {
	const char *event_id;
	const char *room_id;
	const char *type;
	const char *state_key;        /* NULL: not a state event */
	const char *sender;
	int64_t origin_server_ts;
	int64_t depth;
	const char *json;             /* the PDU as stored */
	const char *const *prev_events; /* leave the forward extremities */
	size_t nprev;
	int64_t state_before;         /* group in force before the event */
	const char *state_after_json; /* state events: the new snapshot (or state_change) */
	int state_change;             /* a state event without state_after_json: the store
				       * works the new state out from state_before */
	const char *membership;       /* m.room.member: target is state_key */
	const char *redacts;          /* m.room.redaction: the event it hits */
	const char *device_id;        /* with txn_id: remembered for idempotency */
	const char *txn_id;
	const char *room_version;     /* create events: adds the rooms row */
	/* Remote events (explicit_current = 1): the room's current state is
	 * not simply "plus this event" (forks are resolved), so room_state and
	 * room_memberships change only by the ncur entries of cur, and
	 * current_group (when > 0 or < 0) is recorded as the group holding
	 * the current state.  state_key/membership then only describe the
	 * event itself. */
	int explicit_current;
	int clear_extremities;        /* drop every old forward extremity first */
	const struct room_state_set *cur;
	size_t ncur;
	int64_t current_group;
};
/* *stream_pos gets the event's position, *state_after its group.
 * STORE_CONFLICT: event ID or transaction id already stored. */
enum store_rc room_store_append(struct room_store *rs, const struct room_append *a,
				int64_t *stream_pos, int64_t *state_after);

/* The same in two steps, for a writer that builds the next event on this
 * one before it is committed (rooms.c): submit fixes the append's place in
 * the commit order (see commit_queue.h) and returns at once; wait blocks
 * until it is committed or failed and answers as room_store_append().
 * *a, everything it points to and *t stay valid until wait returns; every
 * append submitted with STORE_OK is waited for exactly once.  chain and
 * epoch: appends that build on each other (commit_queue.h; NULL, 0: none).
 * Submit fails (STORE_ERROR, nothing queued) only on a missing field. */
struct room_append_ticket {
	struct commit_ticket ct;     /* the fields are the store's */
	struct room_store *rs;
	const struct room_append *a;
	int64_t pos, after;
};
enum store_rc room_store_append_submit(struct room_store *rs, const struct room_append *a,
				       struct room_append_ticket *t, struct commit_chain *chain,
				       uint64_t epoch);
enum store_rc room_store_append_wait(struct room_append_ticket *t, int64_t *stream_pos,
				     int64_t *state_after);
/* Without blocking: 1 with the final code and position once the append's
 * fate is final, else 0.  Any thread may ask until wait returns. */
int room_store_append_poll(struct room_append_ticket *t, enum store_rc *rc, int64_t *stream_pos);
/* Appends (and other writes) submitted and not yet done (tests). */
size_t room_store_appends_pending(struct room_store *rs);

struct room_event {
	int64_t stream_pos;
	char *event_id;
	char *room_id;
	char *json;
	int64_t depth;
	int64_t state_before;
	int64_t state_after;
	char *redacted_by;  /* NULL unless redacted */
	char *device_id;    /* sender's device, when sent with a txn id */
	char *txn_id;
	int kind;           /* ROOM_EVENT_* below */
};

/* Where an event lives.  Timeline events have a stream position, state
 * groups and are seen by clients.  The others (migration 013) have
 * stream_pos 0, depth from the PDU and are never shown to clients:
 * outliers (auth chain and state of a joined room, known only as such),
 * rejected events (failed the auth checks: never use one to authorise
 * another) and soft-failed events (passed the auth checks but not against
 * the current state).  Their state_before = state_after = 0 (none), but
 * for soft-failed events stored with room_store_soft_failed_put(): those
 * stay in the DAG, and an event citing one resolves the state after it. */
#define ROOM_EVENT_TIMELINE 0
#define ROOM_EVENT_OUTLIER 1
#define ROOM_EVENT_REJECTED 2
#define ROOM_EVENT_SOFT_FAILED 3
void room_event_clear(struct room_event *e);
void room_event_list_free(struct room_event *list, size_t n);

/* The timeline event, else the outlier (see kind); STORE_NOT_FOUND. */
enum store_rc room_store_event_get(struct room_store *rs, const char *event_id,
				   struct room_event *out);

/* ---- remote events (migration 013) ---- */
/* Keeps json as an event of kind (OUTLIER, REJECTED or SOFT_FAILED)
 * outside the timeline.  An event already stored (either way) is left as
 * it is and answers STORE_OK: the first verdict wins. */
enum store_rc room_store_outlier_put(struct room_store *rs, const char *event_id,
				     const char *room_id, int kind, const char *json);
/* A soft-failed event with the state groups before and after it (both
 * non-zero; after is before for a non-state event).  Same rules as
 * room_store_outlier_put(). */
enum store_rc room_store_soft_failed_put(struct room_store *rs, const char *event_id, const char *room_id,
					 const char *json, int64_t state_before, int64_t state_after);
/* The same for n events of one room in one transaction. */
enum store_rc room_store_outliers_put(struct room_store *rs, const char *room_id, int kind,
				      const char *const *ids, const char *const *jsons, size_t n);
/* Whether event_id is stored at all (timeline or outlier): 1, 0, -1 error. */
int room_store_event_known(struct room_store *rs, const char *event_id);
/* Stores a state snapshot that belongs to no single event (state resolved
 * over several prev events) under a new negative group id. */
enum store_rc room_store_group_put(struct room_store *rs, const char *room_id,
				   const char *state_json, int64_t *group);

/* The federation outbox: PDUs queued for other servers, kept until they
 * are delivered (fed_sender's persistence hooks).  Per destination in
 * queue order (seq).
 *
 * Once room_store_set_outbox() named this server, room_store_append() of
 * a local event (explicit_current 0) adds its rows itself, in the event's
 * own transaction: one for every other server with a joined member before
 * the event, and one for the server of a member event's remote target
 * (the servers rooms' outbound hook is given).  So a committed event is
 * never missing from the outbox after a crash.  Call it before appends
 * run; NULL or "" turns it off. */
void room_store_set_outbox(struct room_store *rs, const char *server_name);
enum store_rc room_store_outbox_add(struct room_store *rs, const char *dest, const char *pdu_json);
/* Drops the n oldest of dest. */
enum store_rc room_store_outbox_delivered(struct room_store *rs, const char *dest, size_t n);
/* Every queued PDU in order: *dests and *pdus are malloc'd arrays of n
 * malloc'd strings (free each and the arrays). */
enum store_rc room_store_outbox_list(struct room_store *rs, char ***dests, char ***pdus, size_t *n);
/* The (at most) limit oldest PDUs of dest, as *pdus (malloc'd array of *n
 * malloc'd strings). */
enum store_rc room_store_outbox_load(struct room_store *rs, const char *dest, size_t limit,
				     char ***pdus, size_t *n);
/* The destinations with queued PDUs (same ownership). */
enum store_rc room_store_outbox_dests(struct room_store *rs, char ***dests, size_t *n);
/* Events of one room by stream position.  dir 'f': after > from and <= to
 * (to < 0: no bound), ascending; dir 'b': <= from and > to, descending.  At
 * most limit (> 0).  *n may be 0. */
enum store_rc room_store_events(struct room_store *rs, const char *room_id, char dir,
				int64_t from, int64_t to, int limit,
				struct room_event **out, size_t *n);

/* STORE_NOT_FOUND: no such room. */
enum store_rc room_store_room(struct room_store *rs, const char *room_id,
			      char **version, char **creator);
/* The room's current state as a JSON map {"type": {"state_key":
 * "event_id"}}, its forward extremities, highest depth and current group. */
struct room_head {
	json_t *state;          /* new reference */
	char **extremities;
	size_t nextrem;
	int64_t depth;
	int64_t state_group;
};
enum store_rc room_store_head(struct room_store *rs, const char *room_id, struct room_head *out);
void room_head_clear(struct room_head *h);
/* A snapshot as a new JSON map (group 0: empty). */
enum store_rc room_store_state_group(struct room_store *rs, int64_t group, json_t **out);

struct room_membership {
	char *room_id;
	char *user_id;
	char *membership;
	char *event_id;
	int64_t stream_pos;
	int forgotten;
};
void room_membership_list_free(struct room_membership *list, size_t n);
/* A user's memberships (every room where they have one, forgotten too). */
enum store_rc room_store_user_rooms(struct room_store *rs, const char *user_id,
				    struct room_membership **out, size_t *n);
/* A room's memberships. */
enum store_rc room_store_members(struct room_store *rs, const char *room_id,
				 struct room_membership **out, size_t *n);
/* Marks a left room forgotten for user: STORE_CONFLICT while they are
 * joined or invited, STORE_NOT_FOUND when they never were in it. */
enum store_rc room_store_forget(struct room_store *rs, const char *room_id, const char *user_id);

/* The event a (user, device, txn_id) produced; STORE_NOT_FOUND if none. */
enum store_rc room_store_txn_get(struct room_store *rs, const char *user_id,
				 const char *device_id, const char *txn_id, char **event_id);

/* Filters (POST /user/{userId}/filter): ids count from 0 per user. */
enum store_rc room_store_filter_add(struct room_store *rs, const char *user_id,
				    const char *json, int64_t *filter_id);
enum store_rc room_store_filter_get(struct room_store *rs, const char *user_id,
				    int64_t filter_id, char **json);

/* ---- account data, receipts, aliases, directory (migration 011) ----
 * Rows carry a position of the "extras" stream (the caller picks it, see
 * rooms_next_xpos()); readers ask for rows after a position. */
struct room_extra {
	char *room_id;   /* "" for global account data */
	char *user_id;
	char *type;      /* account data type, or receipt type */
	char *value;     /* account data content JSON, or receipt event ID */
	int64_t ts;      /* receipts */
	int64_t stream_pos;
	char *thread_id; /* receipts: "" (unthreaded), "main" or a thread root;
			  * else NULL (migration 016) */
};
void room_extra_list_free(struct room_extra *list, size_t n);
/* room_id "" for global account data; content is JSON text. */
enum store_rc room_store_account_data_put(struct room_store *rs, const char *user_id,
					  const char *room_id, const char *type,
					  const char *content, int64_t pos);
enum store_rc room_store_account_data_get(struct room_store *rs, const char *user_id,
					  const char *room_id, const char *type, char **content);
/* The user's account data changed after since (every room and global). */
enum store_rc room_store_account_data_since(struct room_store *rs, const char *user_id,
					    int64_t since, struct room_extra **out, size_t *n);
enum store_rc room_store_receipt_put(struct room_store *rs, const char *room_id,
				     const char *user_id, const char *type,
				     const char *event_id, int64_t ts, int64_t pos);
enum store_rc room_store_receipts_since(struct room_store *rs, const char *room_id,
					int64_t since, struct room_extra **out, size_t *n);
/* A receipt for one thread (thread_id "" is an unthreaded receipt, which
 * room_store_receipt_put() writes). */
enum store_rc room_store_receipt_put_thread(struct room_store *rs, const char *room_id,
					    const char *user_id, const char *type,
					    const char *thread_id, const char *event_id,
					    int64_t ts, int64_t pos);
/* One user's receipts in a room (every type and thread). */
enum store_rc room_store_user_receipts(struct room_store *rs, const char *room_id,
				       const char *user_id, struct room_extra **out, size_t *n);
/* Highest extras position stored (0 if none). */
enum store_rc room_store_max_xpos(struct room_store *rs, int64_t *pos);

/* STORE_CONFLICT: the alias is taken. */
enum store_rc room_store_alias_put(struct room_store *rs, const char *alias,
				   const char *room_id, const char *creator);
/* *room_id and (creator may be NULL) *creator; STORE_NOT_FOUND. */
enum store_rc room_store_alias_get(struct room_store *rs, const char *alias,
				   char **room_id, char **creator);
enum store_rc room_store_alias_delete(struct room_store *rs, const char *alias);
/* A room's aliases as a new JSON array of strings. */
enum store_rc room_store_aliases_of(struct room_store *rs, const char *room_id, json_t **out);
enum store_rc room_store_directory_set(struct room_store *rs, const char *room_id, int pub);
enum store_rc room_store_directory_get(struct room_store *rs, const char *room_id, int *pub);
/* Every published room ID as a new JSON array. */
enum store_rc room_store_directory_list(struct room_store *rs, json_t **out);

#endif
