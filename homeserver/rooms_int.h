/* Internal to the rooms module (rooms.c, rooms_remote.c): the room
 * table, the per-room cache and the helpers both files use.  Nothing
 * outside homeserver/rooms*.c includes it; the contract is rooms.h's.
 */
#ifndef SCOP_HS_ROOMS_INT_H
#define SCOP_HS_ROOMS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "homeserver/rooms.h"
#include "homeserver/store/commit_queue.h"

#define NBUCKETS 1024

struct room {
	struct room *next;
	char *room_id;
	const struct room_version *rv;
	pthread_mutex_t lock;     /* held by the writer, and briefly by readers */
	json_t *ids;              /* {"type": {"state_key": "event_id"}} */
	json_t *events;           /* "type\x1fstate_key" -> PDU */
	char **extrem;
	size_t nextrem;
	int64_t depth;
	int64_t group;
	json_t *local;            /* joined or invited users of this server -> true:
				   * the only ones a new event wakes */
	json_t *typing;           /* user -> expiry (ms), under lock */
	int64_t typing_pos;       /* extras position of the last change */
	/* Message events are stored in a pipeline (rooms_send()): the cache
	 * moves on as each is submitted, before it commits.  The room's
	 * appends form one chain (commit_queue.h): when one fails, the later
	 * ones fail too, and the cache, built on it, is reloaded. */
	struct commit_chain chain;
	uint64_t epoch;           /* chain epoch the cache was built at */
	struct pending *pend, *pend_tail; /* submitted, not yet published, in
					   * commit order */
	int draining;             /* writers waiting for pend to empty: new
				   * messages wait too, or it never might */
	pthread_cond_t drained;   /* with lock: pend became empty, or draining 0 */
};

/* A message event between its submission and its publication (the
 * listener and the federation hook told, in the room's commit order). */
struct pending {
	struct pending *next;
	struct room_append_ticket t;
	struct room_append a;     /* strings: the sender's room_send, the room's ID and: */
	char event_id[EVENT_ID_BUF];
	char *json;
	char **prev;              /* the extremities it cites: the cache moves on */
	size_t nprev;
	json_t *ev;
	enum store_rc rc;         /* final code and position, once published */
	int64_t pos;
	int published;            /* set last, atomically: then only the owner
				   * touches it */
};

struct rooms {
	struct room_store *rs;
	char *server_name;
	struct scop_ed25519 key;
	pthread_mutex_t lock;     /* the table */
	struct room *buckets[NBUCKETS];
	rooms_listener_fn listener;
	void *listener_arg;
	rooms_xlistener_fn xlistener;
	void *xlistener_arg;
	rooms_outbound_fn outbound;
	void *outbound_arg;
	rooms_invite_fn invite;
	void *invite_arg;
	pthread_mutex_t xlock;    /* the extras stream */
	int xinit;
	int64_t xpos;
	pthread_mutex_t plock;    /* presence (memory only) */
	json_t *presence;         /* user -> {presence, status_msg?, active, pos,
				   * fed, seen, explicit?, syncs, sync,
				   * sync_until}: see rooms_presence_sweep() */
	int presence_off;         /* presence disabled: nothing is recorded */
	pthread_mutex_t llock;    /* lazy-loaded members sent */
	json_t *lazy_sent;        /* "user\x1fdevice\x1froom" -> {member: event_id} */
	rooms_edu_hook_fn edu_hook; /* federation: typing and receipts to send */
	void *edu_hook_arg;
	struct vis_cache *vis_cache; /* history visibility per snapshot and user; may be NULL */
};

/* Bucket of a room ID in the table. */
unsigned room_hash(const char *s);
/* An empty room with its locks; NULL when out of memory. */
struct room *room_alloc(void);
void room_free(struct room *rm);
/* The cached room, loaded on first use; NULL when it does not exist.
 * Rooms stay cached for the life of the process. */
struct room *room_get(struct rooms *r, const char *room_id);
/* The cache's key of a state entry ("type\x1fstate_key"): 0, or -1 when
 * it does not fit n. */
int room_state_key_buf(char *out, size_t n, const char *type, const char *sk);
/* The auth rules' state lookup over a room's cache (arg: struct room). */
const json_t *room_cache_lookup(void *arg, const char *type, const char *sk);
/* Keeps rm->local in step with a new current member event. */
void room_local_member(struct rooms *r, struct room *rm, const char *type, const char *sk,
		       const json_t *ev);
/* res->reason from fmt, a literal with at most one %s. */
void room_set_reason(struct room_result *res, const char *fmt, const char *arg)
	__attribute__((format(printf, 2, 0)));
/* Wakes the listener for an event at pos of rm (target: a member event's). */
void room_notify(struct rooms *r, struct room *rm, const char *target, int64_t pos);
/* For a writer that needs the cache to be exactly the store's (rm
 * locked): waits out the messages in flight, and reloads a cache built on
 * one that failed.  0, or -1 when the store cannot be read. */
int room_settle_locked(struct rooms *r, struct room *rm);

#endif
