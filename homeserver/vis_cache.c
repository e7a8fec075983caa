/* History-visibility facts per (state group, user).  See vis_cache.h. */
#include "homeserver/vis_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A busy server has many rooms and viewers; 4096 slots is about 250 KB
 * with the user IDs. */
#define VIS_SLOTS 4096

struct vis_slot {
	int64_t group;
	char *user; /* NULL: empty */
	char hv[VIS_HV_LEN];
	char membership[VIS_MEMBERSHIP_LEN];
};

struct vis_cache {
	pthread_mutex_t lock;
	struct vis_slot slot[VIS_SLOTS];
};

static size_t slot_of(int64_t group, const char *user)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)group;
	while (*user)
		h = (h ^ (unsigned char)*user++) * 1099511628211ULL;
	return (size_t)(h % VIS_SLOTS);
}

struct vis_cache *vis_cache_new(void)
{
	struct vis_cache *c = calloc(1, sizeof(*c));
	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void vis_cache_free(struct vis_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < VIS_SLOTS; i++)
		free(c->slot[i].user);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int vis_cache_get(struct vis_cache *c, int64_t group, const char *user,
		  char hv[VIS_HV_LEN], char membership[VIS_MEMBERSHIP_LEN])
{
	struct vis_slot *s;
	int hit;
	if (!c)
		return 0;
	s = &c->slot[slot_of(group, user)];
	pthread_mutex_lock(&c->lock);
	hit = s->user && s->group == group && strcmp(s->user, user) == 0;
	if (hit) {
		memcpy(hv, s->hv, VIS_HV_LEN);
		memcpy(membership, s->membership, VIS_MEMBERSHIP_LEN);
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void vis_cache_put(struct vis_cache *c, int64_t group, const char *user, const char *hv,
		   const char *membership)
{
	struct vis_slot *s;
	char *u;
	if (!c || !(u = strdup(user)))
		return;
	s = &c->slot[slot_of(group, user)];
	pthread_mutex_lock(&c->lock);
	free(s->user);
	s->user = u;
	s->group = group;
	snprintf(s->hv, sizeof(s->hv), "%s", hv);
	snprintf(s->membership, sizeof(s->membership), "%s", membership);
	pthread_mutex_unlock(&c->lock);
}
