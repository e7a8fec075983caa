/* Unit tests for homeserver/push_rules.c: the default ruleset (one row per
 * default rule), every condition kind, glob matching, merging and edits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "homeserver/push_rules.h"

#define ME "@alice:example.org"
#define ROOM "!r:example.org"

/* Evaluates event (JSON text) against ruleset for ME. */
static void eval(const json_t *ruleset, const char *event, const struct push_ctx *ctx,
		 struct push_result *res)
{
	struct push_eval *pe = push_eval_new(ruleset);
	json_t *ev = json_loads(event, 0, NULL);
	assert_non_null(pe);
	assert_non_null(ev);
	push_eval_event(pe, ev, ctx, res);
	/* rule_id and sound point into pe: copy what the caller checks */
	static char id[128], sound[64];
	if (res->rule_id) {
		strncpy(id, res->rule_id, sizeof(id) - 1);
		res->rule_id = id;
	}
	if (res->sound) {
		strncpy(sound, res->sound, sizeof(sound) - 1);
		res->sound = sound;
	}
	push_eval_free(pe);
	json_decref(ev);
}

struct row {
	const char *name;
	const char *event;
	int64_t members;
	int64_t sender_power;
	const char *rule;       /* NULL: no rule matches */
	int notify, highlight;
	const char *sound;
};

#define MSG(body) "{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\",\"room_id\":\"" ROOM \
	"\",\"content\":{\"msgtype\":\"m.text\",\"body\":\"" body "\"}}"

static const struct row default_rows[] = {
	{ "message in a group", MSG("hello"), 3, 0, ".m.rule.message", 1, 0, NULL },
	{ "message one to one", MSG("hello"), 2, 0, ".m.rule.room_one_to_one", 1, 0, "default" },
	{ "notice", "{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\",\"content\":"
		    "{\"msgtype\":\"m.notice\",\"body\":\"alice\"}}", 2, 0,
	  ".m.rule.suppress_notices", 0, 0, NULL },
	{ "invite for me", "{\"type\":\"m.room.member\",\"sender\":\"@bob:example.org\","
			   "\"state_key\":\"" ME "\",\"content\":{\"membership\":\"invite\"}}", 2, 0,
	  ".m.rule.invite_for_me", 1, 0, "default" },
	{ "invite for another", "{\"type\":\"m.room.member\",\"sender\":\"@bob:example.org\","
				"\"state_key\":\"@carol:example.org\",\"content\":{\"membership\":\"invite\"}}",
	  2, 0, ".m.rule.member_event", 0, 0, NULL },
	{ "join", "{\"type\":\"m.room.member\",\"sender\":\"@bob:example.org\","
		  "\"state_key\":\"@bob:example.org\",\"content\":{\"membership\":\"join\"}}", 2, 0,
	  ".m.rule.member_event", 0, 0, NULL },
	{ "user mention", "{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\",\"content\":"
			  "{\"body\":\"hi\",\"m.mentions\":{\"user_ids\":[\"@x:y\",\"" ME "\"]}}}", 3, 0,
	  ".m.rule.is_user_mention", 1, 1, "default" },
	{ "mention of another", "{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\",\"content\":"
				"{\"body\":\"hi Alice\",\"m.mentions\":{\"user_ids\":[\"@x:y\"]}}}", 3, 0,
	  ".m.rule.message", 1, 0, NULL },
	{ "display name", MSG("is Alice Liddell here?"), 3, 0, ".m.rule.contains_display_name", 1, 1,
	  "default" },
	{ "display name inside a word", MSG("xAlice Liddellx"), 3, 0, ".m.rule.message", 1, 0, NULL },
	{ "room mention allowed", "{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\",\"content\":"
				  "{\"body\":\"all\",\"m.mentions\":{\"room\":true}}}", 3, 50,
	  ".m.rule.is_room_mention", 1, 1, NULL },
	{ "room mention by the powerless", "{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\","
					   "\"content\":{\"body\":\"all\",\"m.mentions\":{\"room\":true}}}",
	  3, 0, ".m.rule.message", 1, 0, NULL },
	{ "@room", MSG("hey @room!"), 3, 100, ".m.rule.roomnotif", 1, 1, NULL },
	{ "@room by the powerless", MSG("hey @room!"), 3, 0, ".m.rule.message", 1, 0, NULL },
	{ "@room with m.mentions", "{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\","
				   "\"content\":{\"body\":\"@room\",\"m.mentions\":{}}}", 3, 100,
	  ".m.rule.message", 1, 0, NULL },
	{ "tombstone", "{\"type\":\"m.room.tombstone\",\"sender\":\"@bob:example.org\",\"state_key\":\"\","
		       "\"content\":{}}", 3, 0, ".m.rule.tombstone", 1, 1, NULL },
	{ "tombstone with a state key", "{\"type\":\"m.room.tombstone\",\"sender\":\"@bob:example.org\","
					"\"state_key\":\"x\",\"content\":{}}", 3, 0, NULL, 0, 0, NULL },
	{ "reaction", "{\"type\":\"m.reaction\",\"sender\":\"@bob:example.org\",\"content\":{}}", 2, 0,
	  ".m.rule.reaction", 0, 0, NULL },
	{ "server acl", "{\"type\":\"m.room.server_acl\",\"sender\":\"@bob:example.org\",\"state_key\":\"\","
			"\"content\":{}}", 2, 0, ".m.rule.room.server_acl", 0, 0, NULL },
	{ "edit", "{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\",\"content\":{\"body\":\"* alice\","
		  "\"m.relates_to\":{\"rel_type\":\"m.replace\",\"event_id\":\"$x\"}}}", 2, 0,
	  ".m.rule.suppress_edits", 0, 0, NULL },
	{ "user name", MSG("ping alice, please"), 3, 0, ".m.rule.contains_user_name", 1, 1, "default" },
	{ "user name inside a word", MSG("malice"), 3, 0, ".m.rule.message", 1, 0, NULL },
	{ "call", "{\"type\":\"m.call.invite\",\"sender\":\"@bob:example.org\",\"content\":{}}", 2, 0,
	  ".m.rule.call", 1, 0, "ring" },
	{ "encrypted one to one", "{\"type\":\"m.room.encrypted\",\"sender\":\"@bob:example.org\","
				  "\"content\":{}}", 2, 0, ".m.rule.encrypted_room_one_to_one", 1, 0,
	  "default" },
	{ "encrypted group", "{\"type\":\"m.room.encrypted\",\"sender\":\"@bob:example.org\","
			     "\"content\":{}}", 5, 0, ".m.rule.encrypted", 1, 0, NULL },
	{ "own message", "{\"type\":\"m.room.message\",\"sender\":\"" ME "\",\"content\":{\"body\":\"alice\"}}",
	  2, 0, NULL, 0, 0, NULL },
	{ "unknown type", "{\"type\":\"org.example\",\"sender\":\"@bob:example.org\",\"content\":{}}", 2, 0,
	  NULL, 0, 0, NULL },
};

static void check_row(const json_t *rs, const struct row *r)
{
	struct push_ctx ctx = { ME, "Alice Liddell", r->members, r->sender_power, NULL };
	struct push_result res;
	eval(rs, r->event, &ctx, &res);
	print_message("# %s\n", r->name);
	if (r->rule)
		assert_string_equal(res.rule_id ? res.rule_id : "(none)", r->rule);
	else
		assert_null(res.rule_id);
	assert_int_equal(res.notify, r->notify);
	assert_int_equal(res.highlight, r->highlight);
	if (r->sound)
		assert_string_equal(res.sound ? res.sound : "(none)", r->sound);
	else
		assert_null(res.sound);
}

static void test_defaults_table(void **state)
{
	json_t *rs = push_rules_defaults(ME);
	(void)state;
	assert_non_null(rs);
	for (size_t i = 0; i < sizeof(default_rows) / sizeof(default_rows[0]); i++)
		check_row(rs, &default_rows[i]);
	json_decref(rs);
}

static void test_defaults_shape(void **state)
{
	static const char *const over[] = {
		".m.rule.master", ".m.rule.suppress_notices", ".m.rule.invite_for_me",
		".m.rule.member_event", ".m.rule.is_user_mention", ".m.rule.contains_display_name",
		".m.rule.is_room_mention", ".m.rule.roomnotif", ".m.rule.tombstone",
		".m.rule.reaction", ".m.rule.room.server_acl", ".m.rule.suppress_edits",
	};
	static const char *const under[] = {
		".m.rule.call", ".m.rule.encrypted_room_one_to_one", ".m.rule.room_one_to_one",
		".m.rule.message", ".m.rule.encrypted",
	};
	json_t *rs = push_rules_defaults(ME), *g = json_object_get(rs, "global"), *c;
	(void)state;
	assert_int_equal(json_array_size(json_object_get(g, "override")), 12);
	for (size_t i = 0; i < 12; i++) {
		json_t *r = json_array_get(json_object_get(g, "override"), i);
		assert_string_equal(json_string_value(json_object_get(r, "rule_id")), over[i]);
		assert_true(json_is_true(json_object_get(r, "default")));
		assert_int_equal(json_is_true(json_object_get(r, "enabled")), i != 0);
	}
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(json_string_value(json_object_get(
			json_array_get(json_object_get(g, "underride"), i), "rule_id")), under[i]);
	c = json_array_get(json_object_get(g, "content"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "pattern")), "alice");
	assert_int_equal(json_array_size(json_object_get(g, "room")), 0);
	assert_int_equal(json_array_size(json_object_get(g, "sender")), 0);
	/* the master rule, once enabled, silences everything */
	assert_int_equal(push_rules_set_enabled(rs, PUSH_OVERRIDE, ".m.rule.master", 1), PUSH_OK);
	{
		struct push_ctx ctx = { ME, "Alice", 2, 100, NULL };
		struct push_result res;
		eval(rs, MSG("alice @room"), &ctx, &res);
		assert_string_equal(res.rule_id, ".m.rule.master");
		assert_int_equal(res.notify, 0);
	}
	json_decref(rs);
}

static void test_glob(void **state)
{
	static const struct { const char *p, *s; int words, want; } rows[] = {
		{ "lunc?*", "Lunch plans", 0, 1 },
		{ "lunc?*", "LUNCH", 0, 1 },
		{ "lunc?*", " lunch", 0, 0 },
		{ "lunc?*", "lunc", 0, 0 },
		{ "m.notice", "m.notice", 0, 1 },
		{ "m.notice", "m.notices", 0, 0 },
		{ "", "", 0, 1 },
		{ "", "x", 0, 0 },
		{ "*", "", 0, 1 },
		{ "a*b*c", "aXXbYYc", 0, 1 },
		{ "a*b*c", "aXXbYYcd", 0, 0 },
		{ "a**?", "ab", 0, 1 },
		{ "?", "\xc3\xa9", 0, 1 },        /* one code point, two bytes */
		{ "??", "\xc3\xa9", 0, 0 },
		{ "\xc3\xa9t\xc3\xa9", "\xc3\xa9T\xc3\xa9", 0, 1 },
		{ "ex*ple", "An example event.", 1, 1 },
		{ "ex*ple", "exple", 1, 1 },
		{ "ex*ple", "An exciting triple-whammy", 1, 1 },
		{ "ex*ple", "examples", 1, 0 },
		{ "ex*ple", "an_example", 1, 0 },
		{ "alice", "ALICE!", 1, 1 },
		{ "alice", "malice", 1, 0 },
		{ "alice", "alice_", 1, 0 },
		{ "@room", "@room", 1, 1 },
		{ "@room", "x@room", 1, 0 },
		{ "@room", "hi @room.", 1, 1 },
		{ "cake*lie", "the cake is a lie", 1, 1 },
		{ "cake*lie", "the cake is a lie!", 1, 1 },
		{ "cake*lie", "the cake is a lief", 1, 0 },
		{ "a?c", "x abc y", 1, 1 },
		{ "a b", "a b", 1, 1 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("# %s ~ %s\n", rows[i].p, rows[i].s);
		assert_int_equal(push_glob_match(rows[i].p, rows[i].s, rows[i].words), rows[i].want);
	}
}

/* A ruleset with one override rule whose conditions are conds (JSON). */
static json_t *one_rule(const char *conds)
{
	json_t *rs = push_rules_defaults(ME);
	json_t *body = json_pack("{s:o,s:[s,{s:s}]}", "conditions", json_loads(conds, 0, NULL),
				 "actions", "notify", "set_tweak", "highlight");
	char err[128];
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "t", body, NULL, NULL, err, sizeof(err)),
			 PUSH_OK);
	json_decref(body);
	return rs;
}

static int matches(const char *conds, const char *event, int64_t members, int64_t power,
		   const char *pl)
{
	json_t *rs = one_rule(conds), *plj = pl ? json_loads(pl, 0, NULL) : NULL;
	struct push_ctx ctx = { ME, "Alice", members, power, plj };
	struct push_result res;
	eval(rs, event, &ctx, &res);
	json_decref(rs);
	json_decref(plj);
	return res.rule_id && strcmp(res.rule_id, "t") == 0;
}

#define EV(content) "{\"type\":\"x.t\",\"sender\":\"@b:c\",\"room_id\":\"!r:c\",\"content\":" content "}"

static void test_conditions(void **state)
{
	(void)state;
	/* event_match: whole value, case-insensitive; strings only */
	assert_true(matches("[{\"kind\":\"event_match\",\"key\":\"content.topic\",\"pattern\":\"lunc?*\"}]",
			    EV("{\"topic\":\"Lunch plans\"}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"event_match\",\"key\":\"content.topic\",\"pattern\":\"*\"}]",
			     EV("{\"topic\":null}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"event_match\",\"key\":\"content.n\",\"pattern\":\"1\"}]",
			     EV("{\"n\":1}"), 3, 0, NULL));
	assert_true(matches("[{\"kind\":\"event_match\",\"key\":\"content.body\",\"pattern\":\"tea\"}]",
			    EV("{\"body\":\"time for tea!\"}"), 3, 0, NULL));
	/* escaped dots in keys */
	assert_true(matches("[{\"kind\":\"event_match\",\"key\":\"content.m\\\\.x.y\",\"pattern\":\"v\"}]",
			    EV("{\"m.x\":{\"y\":\"v\"}}"), 3, 0, NULL));
	assert_true(matches("[{\"kind\":\"event_match\",\"key\":\"content.a\\\\\\\\b\",\"pattern\":\"v\"}]",
			    EV("{\"a\\\\b\":\"v\"}"), 3, 0, NULL));
	/* event_property_is: exact, no type casts */
	assert_true(matches("[{\"kind\":\"event_property_is\",\"key\":\"content.m\\\\.federate\",\"value\":true}]",
			    EV("{\"m.federate\":true}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"event_property_is\",\"key\":\"content.m\\\\.federate\",\"value\":true}]",
			     EV("{\"m.federate\":\"true\"}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"event_property_is\",\"key\":\"content.n\",\"value\":true}]",
			     EV("{\"n\":1}"), 3, 0, NULL));
	assert_true(matches("[{\"kind\":\"event_property_is\",\"key\":\"content.n\",\"value\":null}]",
			    EV("{\"n\":null}"), 3, 0, NULL));
	assert_true(matches("[{\"kind\":\"event_property_is\",\"key\":\"content.n\",\"value\":42}]",
			    EV("{\"n\":42}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"event_property_is\",\"key\":\"content.n\",\"value\":42}]",
			     EV("{}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"event_property_is\",\"key\":\"content.n\",\"value\":[1]}]",
			     EV("{\"n\":[1]}"), 3, 0, NULL));
	/* event_property_contains */
	assert_true(matches("[{\"kind\":\"event_property_contains\",\"key\":\"content.a\",\"value\":\"#r:x\"}]",
			    EV("{\"a\":[\"#s:x\",\"#r:x\"]}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"event_property_contains\",\"key\":\"content.a\",\"value\":\":x\"}]",
			     EV("{\"a\":[\"#s:x\",\"#r:x\"]}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"event_property_contains\",\"key\":\"content.a\",\"value\":\"x\"}]",
			     EV("{\"a\":\"x\"}"), 3, 0, NULL));
	/* contains_display_name (Alice) */
	assert_true(matches("[{\"kind\":\"contains_display_name\"}]", EV("{\"body\":\"hi alice\"}"), 3, 0,
			    NULL));
	assert_false(matches("[{\"kind\":\"contains_display_name\"}]", EV("{\"body\":\"hi alicex\"}"), 3,
			     0, NULL));
	/* room_member_count */
	assert_true(matches("[{\"kind\":\"room_member_count\",\"is\":\"2\"}]", EV("{}"), 2, 0, NULL));
	assert_false(matches("[{\"kind\":\"room_member_count\",\"is\":\"2\"}]", EV("{}"), 3, 0, NULL));
	assert_true(matches("[{\"kind\":\"room_member_count\",\"is\":\"==3\"}]", EV("{}"), 3, 0, NULL));
	assert_true(matches("[{\"kind\":\"room_member_count\",\"is\":\"<3\"}]", EV("{}"), 2, 0, NULL));
	assert_false(matches("[{\"kind\":\"room_member_count\",\"is\":\"<3\"}]", EV("{}"), 3, 0, NULL));
	assert_true(matches("[{\"kind\":\"room_member_count\",\"is\":\">3\"}]", EV("{}"), 4, 0, NULL));
	assert_false(matches("[{\"kind\":\"room_member_count\",\"is\":\">3\"}]", EV("{}"), 3, 0, NULL));
	assert_true(matches("[{\"kind\":\"room_member_count\",\"is\":\"<=3\"}]", EV("{}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"room_member_count\",\"is\":\"<=3\"}]", EV("{}"), 4, 0, NULL));
	assert_true(matches("[{\"kind\":\"room_member_count\",\"is\":\">=3\"}]", EV("{}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"room_member_count\",\"is\":\">=3\"}]", EV("{}"), 2, 0, NULL));
	assert_false(matches("[{\"kind\":\"room_member_count\",\"is\":\"x\"}]", EV("{}"), 2, 0, NULL));
	assert_false(matches("[{\"kind\":\"room_member_count\",\"is\":\"=<2\"}]", EV("{}"), 2, 0, NULL));
	assert_false(matches("[{\"kind\":\"room_member_count\"}]", EV("{}"), 2, 0, NULL));
	/* sender_notification_permission: notifications.room, default 50 */
	assert_true(matches("[{\"kind\":\"sender_notification_permission\",\"key\":\"room\"}]", EV("{}"), 3,
			    50, NULL));
	assert_false(matches("[{\"kind\":\"sender_notification_permission\",\"key\":\"room\"}]", EV("{}"), 3,
			     49, NULL));
	assert_true(matches("[{\"kind\":\"sender_notification_permission\",\"key\":\"room\"}]", EV("{}"), 3,
			    10, "{\"notifications\":{\"room\":10}}"));
	assert_false(matches("[{\"kind\":\"sender_notification_permission\",\"key\":\"room\"}]", EV("{}"), 3,
			     50, "{\"notifications\":{\"room\":60}}"));
	/* unknown conditions never match; no conditions always match */
	assert_false(matches("[{\"kind\":\"org.example.future\"}]", EV("{}"), 3, 0, NULL));
	assert_false(matches("[{\"kind\":\"event_match\",\"key\":\"type\"}]", EV("{}"), 3, 0, NULL));
	assert_true(matches("[]", EV("{}"), 3, 0, NULL));
}

static void test_room_sender_content_rules(void **state)
{
	json_t *rs = push_rules_defaults(ME), *b;
	struct push_ctx ctx = { ME, NULL, 2, 0, NULL };
	struct push_result res;
	char err[128];
	(void)state;
	/* a room rule with no actions silences the room (before underrides) */
	b = json_pack("{s:[]}", "actions");
	assert_int_equal(push_rules_put(rs, PUSH_ROOM, ROOM, b, NULL, NULL, err, sizeof(err)), PUSH_OK);
	json_decref(b);
	eval(rs, MSG("hello"), &ctx, &res);
	assert_string_equal(res.rule_id, ROOM);
	assert_int_equal(res.notify, 0);
	/* ["dont_notify"] is the same as [] */
	b = json_pack("{s:[s]}", "actions", "dont_notify");
	assert_int_equal(push_rules_put(rs, PUSH_ROOM, ROOM, b, NULL, NULL, err, sizeof(err)), PUSH_OK);
	json_decref(b);
	eval(rs, MSG("hello"), &ctx, &res);
	assert_int_equal(res.notify, 0);
	/* a content rule goes before the room rule */
	b = json_pack("{s:s,s:[s,{s:s,s:b}]}", "pattern", "cake*", "actions", "notify", "set_tweak",
		      "highlight", "value", 1);
	assert_int_equal(push_rules_put(rs, PUSH_CONTENT, "cake", b, NULL, NULL, err, sizeof(err)),
			 PUSH_OK);
	json_decref(b);
	eval(rs, MSG("I like cakes"), &ctx, &res);
	assert_string_equal(res.rule_id, "cake");
	assert_int_equal(res.highlight, 1);
	/* a sender rule, for another room */
	b = json_pack("{s:[s]}", "actions", "notify");
	assert_int_equal(push_rules_put(rs, PUSH_SENDER, "@bob:example.org", b, NULL, NULL, err,
					sizeof(err)), PUSH_OK);
	json_decref(b);
	eval(rs, "{\"type\":\"x\",\"sender\":\"@bob:example.org\",\"room_id\":\"!o:x\",\"content\":{}}",
	     &ctx, &res);
	assert_string_equal(res.rule_id, "@bob:example.org");
	assert_int_equal(res.notify, 1);
	assert_int_equal(res.highlight, 0);
	/* disabled rules never match */
	assert_int_equal(push_rules_set_enabled(rs, PUSH_SENDER, "@bob:example.org", 0), PUSH_OK);
	eval(rs, "{\"type\":\"x\",\"sender\":\"@bob:example.org\",\"room_id\":\"!o:x\",\"content\":{}}",
	     &ctx, &res);
	assert_null(res.rule_id);
	json_decref(rs);
}

static const char *id_at(json_t *rs, const char *kind, size_t i)
{
	return json_string_value(json_object_get(
		json_array_get(json_object_get(json_object_get(rs, "global"), kind), i), "rule_id"));
}

static void test_edits(void **state)
{
	json_t *rs = push_rules_defaults(ME), *b = json_pack("{s:[s]}", "actions", "notify"), *bad;
	char err[128];
	(void)state;
	/* new rules go first among the user's (after the master rule) */
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "a", b, NULL, NULL, err, sizeof(err)), PUSH_OK);
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "b", b, NULL, NULL, err, sizeof(err)), PUSH_OK);
	assert_string_equal(id_at(rs, "override", 0), ".m.rule.master");
	assert_string_equal(id_at(rs, "override", 1), "b");
	assert_string_equal(id_at(rs, "override", 2), "a");
	assert_string_equal(id_at(rs, "override", 3), ".m.rule.suppress_notices");
	/* before / after */
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "c", b, NULL, "a", err, sizeof(err)), PUSH_OK);
	assert_string_equal(id_at(rs, "override", 3), "c");
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "c", b, "b", NULL, err, sizeof(err)), PUSH_OK);
	assert_string_equal(id_at(rs, "override", 1), "c");
	assert_string_equal(id_at(rs, "override", 2), "b");
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "d", b, "nope", NULL, err, sizeof(err)),
			 PUSH_REFUSED);
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "d", b, ".m.rule.master", NULL, err,
					sizeof(err)), PUSH_REFUSED);
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "c", b, "c", NULL, err, sizeof(err)),
			 PUSH_REFUSED);
	/* an update keeps the place and the enabled flag */
	assert_int_equal(push_rules_set_enabled(rs, PUSH_OVERRIDE, "b", 0), PUSH_OK);
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "b", b, NULL, NULL, err, sizeof(err)), PUSH_OK);
	assert_string_equal(id_at(rs, "override", 2), "b");
	assert_true(json_is_false(json_object_get(push_rules_find(rs, PUSH_OVERRIDE, "b"), "enabled")));
	/* bad input */
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, ".x", b, NULL, NULL, err, sizeof(err)),
			 PUSH_INVALID);
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "a/b", b, NULL, NULL, err, sizeof(err)),
			 PUSH_INVALID);
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "a\\b", b, NULL, NULL, err, sizeof(err)),
			 PUSH_INVALID);
	assert_int_equal(push_rules_put(rs, PUSH_CONTENT, "p", b, NULL, NULL, err, sizeof(err)),
			 PUSH_BAD_JSON);
	bad = json_pack("{s:[s]}", "actions", "explode");
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "e", bad, NULL, NULL, err, sizeof(err)),
			 PUSH_BAD_JSON);
	json_decref(bad);
	bad = json_pack("{s:[s],s:[i]}", "actions", "notify", "conditions", 1);
	assert_int_equal(push_rules_put(rs, PUSH_UNDERRIDE, "e", bad, NULL, NULL, err, sizeof(err)),
			 PUSH_BAD_JSON);
	json_decref(bad);
	bad = json_pack("{s:s}", "actions", "notify");
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "e", bad, NULL, NULL, err, sizeof(err)),
			 PUSH_BAD_JSON);
	assert_int_equal(push_rules_set_actions(rs, PUSH_OVERRIDE, "a", bad), PUSH_BAD_JSON);
	json_decref(bad);
	/* at most PUSH_RULES_MAX of a kind (what push_rules_merge keeps) */
	for (int i = 0; i < PUSH_RULES_MAX; i++) {
		char id[16];
		snprintf(id, sizeof(id), "s%d", i);
		assert_int_equal(push_rules_put(rs, PUSH_SENDER, id, b, NULL, NULL, err, sizeof(err)),
				 PUSH_OK);
	}
	assert_int_equal(push_rules_put(rs, PUSH_SENDER, "one too many", b, NULL, NULL, err,
					sizeof(err)), PUSH_REFUSED);
	assert_int_equal(push_rules_put(rs, PUSH_SENDER, "s7", b, NULL, NULL, err, sizeof(err)),
			 PUSH_OK);
	/* delete */
	assert_int_equal(push_rules_delete(rs, PUSH_OVERRIDE, "a"), PUSH_OK);
	assert_null(push_rules_find(rs, PUSH_OVERRIDE, "a"));
	assert_int_equal(push_rules_delete(rs, PUSH_OVERRIDE, "a"), PUSH_NOT_FOUND);
	assert_int_equal(push_rules_delete(rs, PUSH_OVERRIDE, ".m.rule.master"), PUSH_REFUSED);
	assert_int_equal(push_rules_set_enabled(rs, PUSH_OVERRIDE, "zz", 1), PUSH_NOT_FOUND);
	/* default rules take new actions */
	assert_int_equal(push_rules_set_actions(rs, PUSH_UNDERRIDE, ".m.rule.message",
						json_object_get(b, "actions")), PUSH_OK);
	assert_int_equal(push_kind_parse("underride"), PUSH_UNDERRIDE);
	assert_int_equal(push_kind_parse("global"), -1);
	assert_string_equal(push_kind_name(PUSH_SENDER), "sender");
	json_decref(b);
	json_decref(rs);
}

static void test_merge(void **state)
{
	json_t *rs = push_rules_defaults(ME), *b = json_pack("{s:[s]}", "actions", "notify");
	json_t *stored, *m, *m2;
	char err[128];
	(void)state;
	assert_int_equal(push_rules_put(rs, PUSH_OVERRIDE, "a", b, NULL, NULL, err, sizeof(err)), PUSH_OK);
	assert_int_equal(push_rules_put(rs, PUSH_UNDERRIDE, "u", b, NULL, NULL, err, sizeof(err)), PUSH_OK);
	assert_int_equal(push_rules_set_enabled(rs, PUSH_OVERRIDE, ".m.rule.master", 1), PUSH_OK);
	m = json_array();
	assert_int_equal(push_rules_set_actions(rs, PUSH_UNDERRIDE, ".m.rule.message", m), PUSH_OK);
	json_decref(m);
	/* round trip */
	m = push_rules_merge(ME, rs);
	assert_true(json_equal(m, rs));
	/* stale and malformed stored rules */
	stored = json_deep_copy(rs);
	json_array_append_new(json_object_get(json_object_get(stored, "global"), "override"),
			      json_pack("{s:s,s:b,s:b,s:[]}", "rule_id", ".m.rule.gone", "default", 1,
					"enabled", 1, "actions"));
	json_array_append_new(json_object_get(json_object_get(stored, "global"), "override"),
			      json_pack("{s:s,s:b,s:i}", "rule_id", "broken", "default", 0, "actions", 3));
	json_array_append_new(json_object_get(json_object_get(stored, "global"), "content"),
			      json_pack("{s:s,s:[]}", "rule_id", "nopattern", "actions"));
	json_array_append_new(json_object_get(json_object_get(stored, "global"), "room"), json_integer(7));
	json_array_append_new(json_object_get(json_object_get(stored, "global"), "sender"),
			      json_pack("{s:s,s:[]}", "rule_id", "@x:y", "actions"));
	m2 = push_rules_merge(ME, stored);
	assert_null(push_rules_find(m2, PUSH_OVERRIDE, ".m.rule.gone"));
	assert_null(push_rules_find(m2, PUSH_OVERRIDE, "broken"));
	assert_null(push_rules_find(m2, PUSH_CONTENT, "nopattern"));
	assert_non_null(push_rules_find(m2, PUSH_SENDER, "@x:y"));
	assert_true(json_is_true(json_object_get(push_rules_find(m2, PUSH_OVERRIDE, ".m.rule.master"),
						 "enabled")));
	assert_int_equal(json_array_size(json_object_get(
				 push_rules_find(m2, PUSH_UNDERRIDE, ".m.rule.message"), "actions")), 0);
	assert_string_equal(id_at(m2, "override", 1), "a");
	assert_string_equal(id_at(m2, "underride", 0), "u");
	/* garbage gives the defaults */
	json_decref(m);
	m = push_rules_merge(ME, json_object_get(stored, "nothing"));
	json_decref(rs);
	rs = push_rules_defaults(ME);
	assert_true(json_equal(m, rs));
	json_decref(m);
	json_decref(m2);
	json_decref(stored);
	json_decref(rs);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_table),
		cmocka_unit_test(test_defaults_shape),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_room_sender_content_rules),
		cmocka_unit_test(test_edits),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
