/* Throughput of the checks on receipt of a PDU (federation/pdu_check.c):
 * a message in a room version 10 room, checked N times with keys from
 * memory and both states given, so the figure is the CPU cost per PDU
 * (format, one Ed25519 verification, two hashes, three auth checks).
 *   bench_pdu_check [N]   (default 20000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "federation/pdu_check.h"
#include "homeserver/events/event_sign.h"

static struct scop_ed25519 key;
static json_t *evs[3];
static char ids[3][EVENT_ID_BUF];

static int key_cb(void *arg, const char *server, const char *key_id, int64_t ts, unsigned char pub[32])
{
	(void)arg;
	(void)server;
	(void)ts;
	if (strcmp(key_id, key.key_id) != 0)
		return -1;
	memcpy(pub, key.pub, 32);
	return 0;
}

static const json_t *event_cb(void *arg, const char *id, int *rejected)
{
	(void)arg;
	*rejected = 0;
	for (int i = 0; i < 3; i++)
		if (strcmp(ids[i], id) == 0)
			return evs[i];
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *make(const struct room_version *rv, const char *type, const char *sk, json_t *content,
		    const char **p, size_t np, const char **a, size_t na, int64_t depth)
{
	json_t *ev = event_new(rv, "!bench:a.test", "@u:a.test", type, sk, content, p, np, a, na, depth,
			       1700000000000LL + depth);
	json_decref(content);
	if (!ev || event_hash_and_sign(rv, ev, "a.test", &key) < 0)
		exit(1);
	return ev;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	const struct room_version *rv = room_version_get("10");
	unsigned char seed[32] = { 9 };

	if (n <= 0 || scop_ed25519_from_seed(&key, seed, "b") < 0)
		return 2;
	evs[0] = make(rv, "m.room.create", "", json_pack("{s:s,s:s}", "creator", "@u:a.test", "room_version", "10"),
		      NULL, 0, NULL, 0, 1);
	event_compute_id(rv, evs[0], ids[0]);
	const char *c[] = { ids[0] };
	evs[1] = make(rv, "m.room.member", "@u:a.test", json_pack("{s:s}", "membership", "join"), c, 1, c, 1, 2);
	event_compute_id(rv, evs[1], ids[1]);
	const char *p[] = { ids[1] }, *a[] = { ids[0], ids[1] };
	evs[2] = make(rv, "m.room.message", NULL, json_pack("{s:s,s:s}", "msgtype", "m.text", "body",
							  "a benchmark message of ordinary length"), p, 1, a, 2, 3);
	event_compute_id(rv, evs[2], ids[2]);

	const json_t *state[] = { evs[0], evs[1] };
	struct auth_list al = { state, 2 };
	struct auth_state st = { auth_list_lookup, NULL, &al };
	struct pdu_check_ctx ctx = { key_cb, NULL, event_cb, NULL, &st, &st };
	long ok = 0;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		struct pdu_check_result res;
		if (pdu_check(rv, evs[2], &ctx, &res) == PDU_ACCEPT)
			ok++;
		pdu_check_result_clear(&res);
	}
	double dt = now_s() - t0;
	printf("pdu_check: %ld PDUs (%ld accepted) in %.3f s: %.0f PDUs/s, %.1f us/PDU\n", n, ok, dt, (double)n / dt,
	       dt * 1e6 / (double)n);
	for (int i = 0; i < 3; i++)
		json_decref(evs[i]);
	return ok == n ? 0 : 1;
}
