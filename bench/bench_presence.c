/* Benchmarks the presence sweep (rooms_presence_sweep(), run by the sync
 * hub's thread every 5 s, during which no long-poll is answered) over a
 * real SQLite room store in a temp dir: BENCH_PRESENCE_USERS (default
 * 100000) users with presence, half local and half remote, in no room
 * (the wake-up then finds no peers but the user: one store query each).
 *   - a sweep with nothing due (the steady state),
 *   - every local user timing out at once (the worst case: each change
 *     takes a position, looks up the user's rooms and wakes), in passes
 *     of at most ROOMS_PRESENCE_SWEEP_MAX changes: the total and the
 *     longest pass (how long the hub's thread is kept from long-polls).
 * The first figure is the mean over repeated sweeps for about half a
 * second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "homeserver/presence_timeout.h"
#include "homeserver/rooms.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void xlistener(void *arg, int64_t pos, const char *const *users, size_t n)
{
	(void)pos;
	(void)users;
	*(size_t *)arg += n;
}

int main(void)
{
	const char *env = getenv("BENCH_PRESENCE_USERS");
	int users = env ? atoi(env) : 100000;
	char dir[] = "/tmp/scop-bench-pres-XXXXXX", path[128], err[256], id[64];
	struct store *st = NULL;
	struct room_store *rs = NULL;
	struct rooms *rooms = NULL;
	struct scop_ed25519 key;
	struct presence_timeouts t;
	size_t woken = 0, changed;
	int64_t base;
	double t0, el;
	long n = 0;

	scop_log_init("bench_presence", SCOP_LOG_WARN);
	presence_timeouts_default(&t);
	if (users < 2 || !mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/b.db", dir);
	if (store_open("sqlite", path, &st, err, sizeof(err)) != STORE_OK ||
	    room_store_open("sqlite", path, &rs, err, sizeof(err)) != STORE_OK ||
	    scop_ed25519_generate(&key, "b1") < 0 || !(rooms = rooms_new(rs, "bench", &key))) {
		fprintf(stderr, "bench_presence: setup failed: %s\n", err);
		return 1;
	}
	rooms_set_xlistener(rooms, xlistener, &woken);
	for (int i = 0; i < users; i++) {
		snprintf(id, sizeof(id), i % 2 ? "@u%d:remote.example" : "@u%d:bench", i);
		rooms_presence_set(rooms, id, "online", NULL, ROOMS_PRESENCE_QUIET);
		if (i % 2 == 0) {
			rooms_presence_sync(rooms, id, 1, 0);
			rooms_presence_sync(rooms, id, 0, 0);
		}
	}
	base = rooms_now_ms();

	t0 = now();
	do {
		changed = rooms_presence_sweep(rooms, base + 1000, &t);
		n++;
	} while ((el = now() - t0) < 0.5);
	printf("%d users, nothing due:       %9.2f ms per sweep (%zu changed)\n", users,
	       el / (double)n * 1e3, changed);

	{
		size_t total = 0, passes = 0, got;
		double longest = 0, t1;
		t0 = now();
		do {
			t1 = now();
			got = rooms_presence_sweep(rooms, base + t.sync_online_ms + 1000, &t);
			total += got;
			passes++;
			if (now() - t1 > longest)
				longest = now() - t1;
		} while (got >= ROOMS_PRESENCE_SWEEP_MAX);
		el = now() - t0;
		printf("%d users, %zu local time out: %9.2f ms in %zu passes (longest %.2f ms, "
		       "%.2f us per change, %zu woken)\n", users, total, el * 1e3, passes,
		       longest * 1e3, el / (double)(total ? total : 1) * 1e6, woken);
	}

	rooms_free(rooms);
	room_store_close(rs);
	store_close(st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 1;
	return 0;
}
