/* libFuzzer harness for push rules from untrusted JSON: stored m.push_rules
 * content merged with the defaults, a ruleset compiled as it is, a rule body
 * as PUT gives it, and glob patterns.  Nothing may crash or leak, the merged
 * ruleset must survive a second merge unchanged, and evaluation must hold
 * up against odd events. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/push_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const events[] = {
	"{\"type\":\"m.room.message\",\"sender\":\"@b:x\",\"room_id\":\"!r:x\",\"content\":"
	"{\"msgtype\":\"m.text\",\"body\":\"hello alice, cake is a lie @room\"}}",
	"{\"type\":\"m.room.member\",\"sender\":\"@b:x\",\"state_key\":\"@alice:x\",\"content\":"
	"{\"membership\":\"invite\",\"m.mentions\":{\"user_ids\":[\"@alice:x\",1,null]}}}",
	"{\"type\":5,\"content\":[],\"sender\":null}",
};

static void evaluate(const json_t *ruleset)
{
	struct push_eval *pe = push_eval_new(ruleset);
	json_t *pl = json_pack("{s:{s:i}}", "notifications", "room", 10);
	struct push_ctx ctx = { "@alice:x", "Alice", 2, 20, pl };
	for (size_t i = 0; pe && i < sizeof(events) / sizeof(events[0]); i++) {
		json_t *ev = json_loads(events[i], 0, NULL);
		struct push_result res;
		push_eval_event(pe, ev, &ctx, &res);
		if (res.highlight && !res.notify)
			abort();
		json_decref(ev);
	}
	push_eval_free(pe);
	json_decref(pl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	char err[128];

	if (in) {
		json_t *m = push_rules_merge("@alice:x", in), *m2;
		if (!m)
			abort();
		m2 = push_rules_merge("@alice:x", m);
		if (!json_equal(m, m2))
			abort();
		evaluate(m);
		evaluate(in);
		for (int k = 0; k < PUSH_NKINDS; k++) {
			json_t *rs = push_rules_defaults("@alice:x");
			if (push_rules_put(rs, (enum push_kind)k, "r", in, NULL, NULL, err, sizeof(err)) ==
			    PUSH_OK) {
				json_t *again = push_rules_merge("@alice:x", rs);
				if (!json_equal(again, rs))
					abort();
				json_decref(again);
				evaluate(rs);
			}
			(void)push_rules_set_actions(rs, (enum push_kind)k, ".m.rule.master", in);
			json_decref(rs);
		}
		json_decref(m);
		json_decref(m2);
		json_decref(in);
	}
	/* the raw bytes as pattern and subject, split at the first newline */
	{
		char *s = malloc(size + 1), *nl;
		if (!s)
			return 0;
		memcpy(s, data, size);
		s[size] = 0;
		nl = strchr(s, '\n');
		if (nl) {
			*nl = 0;
			(void)push_glob_match(s, nl + 1, 0);
			(void)push_glob_match(s, nl + 1, 1);
		}
		free(s);
	}
	return 0;
}
