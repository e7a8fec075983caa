/* Presence timeouts.  See presence_timeout.h. */
#include "homeserver/presence_timeout.h"

#include <stdio.h>
#include <string.h>

void presence_timeouts_default(struct presence_timeouts *t)
{
	t->sync_online_ms = PRESENCE_SYNC_ONLINE_MS;
	t->idle_ms = PRESENCE_IDLE_MS;
	t->federation_ms = PRESENCE_FEDERATION_MS;
	t->federation_ping_ms = PRESENCE_FEDERATION_PING_MS;
	t->sweep_ms = PRESENCE_SWEEP_MS;
}

int presence_timeouts_parse(struct presence_timeouts *t, const json_t *obj, char *err,
			    size_t errlen)
{
	struct presence_timeouts n = *t;
	const char *k;
	json_t *v;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "presence_timeouts_ms must be a mapping");
		return -1;
	}
	json_object_foreach((json_t *)obj, k, v) {
		int64_t *dst = strcmp(k, "sync_online") == 0       ? &n.sync_online_ms
			       : strcmp(k, "idle") == 0            ? &n.idle_ms
			       : strcmp(k, "federation") == 0      ? &n.federation_ms
			       : strcmp(k, "federation_ping") == 0 ? &n.federation_ping_ms
			       : strcmp(k, "sweep") == 0           ? &n.sweep_ms
								   : NULL;
		if (!dst) {
			snprintf(err, errlen, "presence_timeouts_ms: unknown key %.40s", k);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			snprintf(err, errlen, "presence_timeouts_ms.%s must be a positive integer", k);
			return -1;
		}
		*dst = json_integer_value(v);
	}
	*t = n;
	return 0;
}

enum presence_action presence_timeout_check(const struct presence_state *s, int64_t now,
					    const struct presence_timeouts *t)
{
	int online, unavailable;
	if (!s->presence || strcmp(s->presence, "offline") == 0)
		return PRESENCE_KEEP;
	if (!s->local)
		/* Their server pings every 25 minutes while the user is on: a
		 * silent server has gone, or forgot, and nobody should stay
		 * online forever because of it. */
		return now - s->last_update > t->federation_ms ? PRESENCE_GO_OFFLINE : PRESENCE_KEEP;
	online = strcmp(s->presence, "online") == 0;
	unavailable = strcmp(s->presence, "unavailable") == 0;
	if (!s->syncing && !(unavailable && s->explicit_set)) {
		/* Activity without a /sync (a bot that only sends) keeps the
		 * user on too. */
		int64_t last = s->last_sync > s->last_active ? s->last_sync : s->last_active;
		if (now - last > t->sync_online_ms)
			return PRESENCE_GO_OFFLINE;
	}
	if (online && now - s->last_active > t->idle_ms)
		return PRESENCE_GO_UNAVAILABLE;
	if (now - s->last_fed > t->federation_ping_ms)
		return PRESENCE_PING;
	return PRESENCE_KEEP;
}
