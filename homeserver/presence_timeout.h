/* Presence timeouts: when a user's presence changes with nobody asking,
 * as Synapse's handle_timeout() (synapse/handlers/presence.py).
 *
 * A pure function of one user's record and the time, so the rules can be
 * tested with any clock; rooms_presence_sweep() applies it to every user
 * periodically (the sync hub's thread calls it).
 *
 * Local users:
 *   - online, no activity for idle_ms                  -> unavailable
 *   - not offline, no /sync in flight, and neither a /sync nor any
 *     activity for sync_online_ms since the last one   -> offline,
 *     except a presence the user set explicitly (PUT /presence) to
 *     unavailable, which stays until the user changes it.
 *   - otherwise, not offline and other servers last told more than
 *     federation_ping_ms ago -> tell them again (they time users out).
 * Remote users:
 *   - not offline and no update from their server for federation_ms
 *     -> offline here (their server announces it to everyone else).
 */
#ifndef SCOP_HS_PRESENCE_TIMEOUT_H
#define SCOP_HS_PRESENCE_TIMEOUT_H

#include <stdint.h>

#include <jansson.h>

/* Synapse's constants (ms). */
#define PRESENCE_SYNC_ONLINE_MS (30 * 1000)
#define PRESENCE_IDLE_MS (5 * 60 * 1000)
#define PRESENCE_FEDERATION_MS (30 * 60 * 1000)
#define PRESENCE_FEDERATION_PING_MS (25 * 60 * 1000)
#define PRESENCE_SWEEP_MS (5 * 1000)

struct presence_timeouts {
	int64_t sync_online_ms;
	int64_t idle_ms;
	int64_t federation_ms;
	int64_t federation_ping_ms;
	int64_t sweep_ms;           /* how often the sweep runs */
};

/* The defaults above. */
void presence_timeouts_default(struct presence_timeouts *t);

/* Reads {sync_online, idle, federation, federation_ping, sweep} (each
 * optional, a positive number of ms) into t, over what t holds.  0, or -1
 * with err set when a value is not a positive integer or a key unknown;
 * t is then unchanged. */
int presence_timeouts_parse(struct presence_timeouts *t, const json_t *obj, char *err,
			    size_t errlen);

/* One user's presence as the sweep sees it. */
struct presence_state {
	const char *presence; /* online, unavailable or offline */
	int local;            /* a user of this server */
	int explicit_set;     /* set by the user (PUT /presence), not by /sync */
	int syncing;          /* a /sync of the user is in flight */
	int64_t last_active;  /* last activity (ms) */
	int64_t last_sync;    /* when the last /sync began or ended (ms); 0: never */
	int64_t last_update;  /* remote: last update from their server (ms) */
	int64_t last_fed;     /* local: when other servers were last told (ms) */
};

enum presence_action {
	PRESENCE_KEEP = 0,
	PRESENCE_GO_UNAVAILABLE, /* local, idle */
	PRESENCE_GO_OFFLINE,     /* local without syncs, or remote timed out */
	PRESENCE_PING,           /* local: tell other servers again, no change */
};

/* What should happen to s at time now under t. */
enum presence_action presence_timeout_check(const struct presence_state *s, int64_t now,
					    const struct presence_timeouts *t);

#endif
