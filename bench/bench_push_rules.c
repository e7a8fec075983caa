/* Benchmarks push-rule evaluation: events per second through the server
 * default ruleset for one user (what /sync's unread counts cost per event),
 * for a plain message that falls through to .m.rule.message, a long
 * message, a mention, and with 20 user content rules in front.  Each
 * figure is the rate over about half a second of one thread; the event is
 * parsed once, as /sync parses it once for all rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "homeserver/push_rules.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *plain =
	"{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\",\"room_id\":\"!abc:example.org\","
	"\"origin_server_ts\":1700000000000,\"content\":{\"msgtype\":\"m.text\",\"body\":\"A typical chat "
	"message of a sentence or two, with a little formatting.\",\"format\":\"org.matrix.custom.html\","
	"\"formatted_body\":\"A <b>typical</b> chat message of a sentence or two.\"}}";

static const char *mention =
	"{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\",\"room_id\":\"!abc:example.org\","
	"\"content\":{\"msgtype\":\"m.text\",\"body\":\"Alice: have a look at this\",\"m.mentions\":"
	"{\"user_ids\":[\"@alice:example.org\"]}}}";

static void run(const char *label, const struct push_eval *pe, const json_t *ev,
		const struct push_ctx *ctx, const char *want)
{
	struct push_result res;
	double t0 = now(), t;
	long n = 0;
	push_eval_event(pe, ev, ctx, &res);
	if (!res.rule_id || strcmp(res.rule_id, want) != 0) {
		fprintf(stderr, "%s: decided by %s, not %s\n", label, res.rule_id, want);
		exit(1);
	}
	do {
		for (int k = 0; k < 1000; k++, n++)
			push_eval_event(pe, ev, ctx, &res);
	} while ((t = now() - t0) < 0.5);
	printf("%-48s %10.0f /s  (%.2f us)\n", label, (double)n / t, t / (double)n * 1e6);
}

int main(void)
{
	json_t *rs = push_rules_defaults("@alice:example.org");
	json_t *ev = json_loads(plain, 0, NULL), *men = json_loads(mention, 0, NULL), *big;
	struct push_ctx ctx = { "@alice:example.org", "Alice Liddell", 5, 0, NULL };
	struct push_eval *pe = push_eval_new(rs);
	char *body = malloc(4001), err[128];

	if (!rs || !ev || !men || !pe || !body)
		return 1;
	run("plain message, default rules", pe, ev, &ctx, ".m.rule.message");
	run("mention (m.mentions), default rules", pe, men, &ctx, ".m.rule.is_user_mention");
	for (int i = 0; i < 4000; i++)
		body[i] = "lorem ipsum dolor sit amet "[i % 27];
	body[4000] = 0;
	big = json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "type", "m.room.message", "sender",
			"@bob:example.org", "room_id", "!abc:example.org", "content", "msgtype",
			"m.text", "body", body);
	run("4000-byte message, default rules", pe, big, &ctx, ".m.rule.message");
	push_eval_free(pe);
	for (int i = 0; i < 20; i++) {
		char id[16], pat[32];
		json_t *b;
		snprintf(id, sizeof(id), "kw%d", i);
		snprintf(pat, sizeof(pat), "keyword%d*", i);
		b = json_pack("{s:s,s:[s]}", "pattern", pat, "actions", "notify");
		push_rules_put(rs, PUSH_CONTENT, id, b, NULL, NULL, err, sizeof(err));
		json_decref(b);
	}
	pe = push_eval_new(rs);
	run("plain message, 20 content rules + defaults", pe, ev, &ctx, ".m.rule.message");
	push_eval_free(pe);
	json_decref(rs);
	json_decref(ev);
	json_decref(men);
	json_decref(big);
	free(body);
	return 0;
}
