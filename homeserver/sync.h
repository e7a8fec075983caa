/* /sync: building a response from a stream position, and the hub that
 * holds long-polling requests.
 *
 * A /sync with nothing new and a timeout is suspended (http_suspend) and
 * parked in the hub; no thread waits for it.  The rooms writer tells the
 * hub (sync_hub_listener, a rooms_listener_fn) which users an event
 * concerns; the hub's one thread rebuilds the response of each woken or
 * expired request, answers it and resumes its connection.
 *
 * Contract: thread-safe.  sync_hub_stop() answers every parked request
 * (with nothing new) and must run before the HTTP server stops;
 * sync_hub_free() after that.
 */
#ifndef SCOP_HS_SYNC_H
#define SCOP_HS_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "homeserver/filter.h"

struct hs;
struct http_request;
struct sync_hub;

struct sync_params {
	char *user_id;
	char *device_id;     /* may be NULL */
	int64_t since;       /* 0: initial sync */
	int64_t since_x;     /* extras stream (account data, receipts, typing) */
	int full_state;
	struct room_filter timeline;
	struct rooms *presence; /* set when the /sync counts for user's
				 * presence: clearing ends it there
				 * (rooms_presence_sync()) */
};
/* Frees p's strings and filter, ends its presence sync, zeroes it. */
void sync_params_clear(struct sync_params *p);

/* The response for p up to the current stream position; *news is 1 when
 * it carries anything a waiting client should get; *upto is its position.
 * NULL on failure. */
json_t *sync_build(struct hs *hs, const struct sync_params *p, int *news, int64_t *upto,
		   int64_t *upto_x);

struct sync_hub *sync_hub_new(struct hs *hs);
/* Parks a suspended request: takes p (moved: the caller's copy is zeroed)
 * and answers rq by deadline_ms (monotonic) at the latest. */
int sync_hub_park(struct sync_hub *h, struct http_request *rq, struct sync_params *p,
		  int64_t upto, int64_t upto_x, int64_t deadline_ms);
void sync_hub_listener(void *hub, int64_t stream_pos, const char *const *users, size_t n);
void sync_hub_xlistener(void *hub, int64_t xpos, const char *const *users, size_t n);
void sync_hub_stop(struct sync_hub *h);
void sync_hub_free(struct sync_hub *h);
/* Parked requests now (for the benchmarks and tests). */
size_t sync_hub_parked(struct sync_hub *h);

#endif
