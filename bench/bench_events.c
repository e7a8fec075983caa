/* Benchmarks the event core: canonical JSON encodes, event hash+sign,
 * signature verifies, event ID computations and auth checks per second.
 * Each figure is the rate over about half a second of one thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/canonjson.h"
#include "common/crypto.h"
#include "homeserver/events/auth_rules.h"
#include "homeserver/events/event.h"
#include "homeserver/events/event_sign.h"
#include "homeserver/events/room_version.h"

static const char *message =
	"{\"auth_events\":[\"$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg\",\"$AAAAF-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg\","
	"\"$BBBBF-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg\"],\"content\":{\"body\":\"A typical chat message of a "
	"sentence or two, with a little formatting.\",\"format\":\"org.matrix.custom.html\",\"formatted_body\":"
	"\"A <b>typical</b> chat message of a sentence or two, with a little formatting.\",\"msgtype\":\"m.text\","
	"\"m.relates_to\":{\"rel_type\":\"m.thread\",\"event_id\":\"$CCCCF-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg\"}},"
	"\"depth\":1234,\"hashes\":{\"sha256\":\"x\"},\"origin_server_ts\":1700000000000,\"prev_events\":"
	"[\"$DDDDF-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg\"],\"room_id\":\"!abcdefghijkl:example.org\","
	"\"sender\":\"@alice:example.org\",\"signatures\":{},\"type\":\"m.room.message\",\"unsigned\":{\"age\":5}}";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define RUN(label, body)                                                         \
	do {                                                                     \
		double t0 = now(), t;                                            \
		long n = 0;                                                      \
		do {                                                             \
			for (int k_ = 0; k_ < 100; k_++, n++) {                  \
				body;                                            \
			}                                                        \
		} while ((t = now() - t0) < 0.5);                                \
		printf("%-40s %10.0f /s\n", label, (double)n / t);                 \
	} while (0)

static json_t *state_event(const char *type, const char *sk, const char *sender, json_t *content)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:o}", "type", type, "state_key", sk, "sender", sender,
			 "room_id", "!abcdefghijkl:example.org", "content", content);
}

int main(void)
{
	const struct room_version *rv = room_version_get("10");
	struct scop_ed25519 key;
	json_t *ev = json_loads(message, 0, NULL), *signed_ev;
	char id[EVENT_ID_BUF], *s;
	size_t len;
	int failures = 0;

	if (!ev || !rv || scop_ed25519_generate(&key, "bench") < 0)
		return 1;
	s = canonjson_dumps(ev, &len, 0);
	printf("event: %zu bytes of canonical JSON, room version %s\n", len, rv->id);
	free(s);

	RUN("canonical JSON encodes", { s = canonjson_dumps(ev, NULL, 0); failures += !s; free(s); });
	RUN("strict JSON parses", {
		json_t *p = canonjson_parse(message, strlen(message), 0, NULL, 0);
		failures += !p;
		json_decref(p);
	});
	signed_ev = json_deep_copy(ev);
	RUN("event hash+sign", { failures += event_hash_and_sign(rv, signed_ev, "example.org", &key) != 0; });
	RUN("event signature verify", {
		failures += event_verify_signature(rv, signed_ev, "example.org", "ed25519:bench", key.pub) != 0;
	});
	RUN("event content hash check", { failures += event_check_content_hash(rv, signed_ev) != 0; });
	RUN("event ID (reference hash)", { failures += event_compute_id(rv, signed_ev, id) != 0; });
	RUN("event validation", { failures += event_validate(rv, signed_ev, NULL, 0) != 0; });

	/* Auth: a message and a kick against a room state of 10 members. */
	const json_t *st_events[16];
	json_t *owned[16];
	size_t nst = 0;
	owned[nst++] = state_event("m.room.create", "", "@alice:example.org", json_pack("{ss}", "creator", "@alice:example.org"));
	owned[nst++] = state_event("m.room.power_levels", "", "@alice:example.org",
				 json_pack("{s{sisi}}", "users", "@alice:example.org", 100, "@mod:example.org", 50));
	owned[nst++] = state_event("m.room.join_rules", "", "@alice:example.org", json_pack("{ss}", "join_rule", "invite"));
	for (int i = 0; i < 10; i++) {
		char user[64];
		snprintf(user, sizeof(user), i == 0 ? "@alice:example.org" : i == 1 ? "@mod:example.org" : "@user%d:example.org", i);
		owned[nst++] = state_event("m.room.member", user, user, json_pack("{ss}", "membership", "join"));
	}
	for (size_t i = 0; i < nst; i++)
		st_events[i] = owned[i];
	struct auth_list list = { st_events, nst };
	struct auth_state st = { auth_list_lookup, NULL, &list };
	json_t *kick = json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:[s],s:i}", "type", "m.room.member", "state_key",
				 "@user5:example.org", "sender", "@mod:example.org", "room_id", "!abcdefghijkl:example.org",
				 "content", "membership", "leave", "prev_events", "$x", "depth", 5);
	RUN("auth checks (message)", { failures += auth_check(rv, signed_ev, &st, NULL, 0) != AUTH_ALLOW; });
	RUN("auth checks (kick)", { failures += auth_check(rv, kick, &st, NULL, 0) != AUTH_ALLOW; });

	json_decref(kick);
	for (size_t i = 0; i < nst; i++)
		json_decref(owned[i]);
	json_decref(signed_ev);
	json_decref(ev);
	scop_ed25519_clear(&key);
	if (failures) {
		fprintf(stderr, "bench_events: %d operations failed\n", failures);
		return 1;
	}
	return 0;
}
