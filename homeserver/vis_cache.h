/* What the history-visibility check needs of a state snapshot, per
 * viewer: the history_visibility in force and the viewer's membership.
 *
 * A state snapshot (state group) never changes once written, so an entry
 * never goes stale and nothing needs invalidating.  The table has a fixed
 * number of slots, each holding one (group, user); a newcomer that maps to
 * a taken slot replaces it, so memory stays bounded whatever the traffic.
 *
 * Contract: thread-safe (one mutex; held only to copy a few bytes).  The
 * cache owns copies of what it is given.  hv and membership are cut to
 * VIS_HV_LEN - 1 and VIS_MEMBERSHIP_LEN - 1 bytes.
 */
#ifndef SCOP_HS_VIS_CACHE_H
#define SCOP_HS_VIS_CACHE_H

#include <stdint.h>

#define VIS_HV_LEN 24
#define VIS_MEMBERSHIP_LEN 16

struct vis_cache;

/* NULL when out of memory. */
struct vis_cache *vis_cache_new(void);
void vis_cache_free(struct vis_cache *c);

/* 1 with hv and membership filled when (group, user) is cached, else 0
 * (also for c NULL). */
int vis_cache_get(struct vis_cache *c, int64_t group, const char *user,
		  char hv[VIS_HV_LEN], char membership[VIS_MEMBERSHIP_LEN]);
/* Remembers them; does nothing when c is NULL or memory is short. */
void vis_cache_put(struct vis_cache *c, int64_t group, const char *user, const char *hv,
		   const char *membership);

#endif
