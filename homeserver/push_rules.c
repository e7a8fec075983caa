/* Push rules: defaults, merging, edits and evaluation.  See push_rules.h. */
#include "homeserver/push_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[PUSH_NKINDS] = {
	"override", "content", "room", "sender", "underride",
};

int push_kind_parse(const char *s)
{
	for (int k = 0; k < PUSH_NKINDS; k++)
		if (s && strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *push_kind_name(enum push_kind k)
{
	return (unsigned)k < PUSH_NKINDS ? kind_names[k] : "";
}

/* ---- the server-default rules (spec v1.9 onwards) ------------------------ */

static json_t *cond_match(const char *key, const char *pattern)
{
	return json_pack("{s:s,s:s,s:s}", "kind", "event_match", "key", key, "pattern", pattern);
}

static json_t *rule(const char *id, int enabled, json_t *conds, json_t *actions)
{
	return json_pack("{s:s,s:b,s:b,s:o,s:o}", "rule_id", id, "default", 1, "enabled", enabled,
			 "conditions", conds ? conds : json_array(), "actions",
			 actions ? actions : json_array());
}

/* notify, with a sound when sound != NULL, and highlight when asked. */
static json_t *notify(const char *sound, int highlight)
{
	json_t *a = json_array();
	json_array_append_new(a, json_string("notify"));
	if (sound)
		json_array_append_new(a, json_pack("{s:s,s:s}", "set_tweak", "sound", "value", sound));
	if (highlight)
		json_array_append_new(a, json_pack("{s:s}", "set_tweak", "highlight"));
	return a;
}

json_t *push_rules_defaults(const char *user_id)
{
	const char *lp = user_id[0] == '@' ? user_id + 1 : user_id;
	const char *colon = strchr(lp, ':');
	char local[256];
	size_t ll = colon ? (size_t)(colon - lp) : strlen(lp);
	json_t *over, *content, *under;

	if (ll >= sizeof(local))
		ll = sizeof(local) - 1;
	memcpy(local, lp, ll);
	local[ll] = 0;

	over = json_pack(
		"[o,o,o,o,o,o,o,o,o,o,o,o]",
		rule(".m.rule.master", 0, NULL, NULL),
		rule(".m.rule.suppress_notices", 1,
		     json_pack("[o]", cond_match("content.msgtype", "m.notice")), NULL),
		rule(".m.rule.invite_for_me", 1,
		     json_pack("[o,o,o]", cond_match("type", "m.room.member"),
			       cond_match("content.membership", "invite"),
			       cond_match("state_key", user_id)),
		     notify("default", 0)),
		rule(".m.rule.member_event", 1, json_pack("[o]", cond_match("type", "m.room.member")),
		     NULL),
		rule(".m.rule.is_user_mention", 1,
		     json_pack("[{s:s,s:s,s:s}]", "kind", "event_property_contains", "key",
			       "content.m\\.mentions.user_ids", "value", user_id),
		     notify("default", 1)),
		rule(".m.rule.contains_display_name", 1,
		     json_pack("[{s:s}]", "kind", "contains_display_name"), notify("default", 1)),
		rule(".m.rule.is_room_mention", 1,
		     json_pack("[{s:s,s:s,s:b},{s:s,s:s}]", "kind", "event_property_is", "key",
			       "content.m\\.mentions.room", "value", 1, "kind",
			       "sender_notification_permission", "key", "room"),
		     notify(NULL, 1)),
		rule(".m.rule.roomnotif", 1,
		     json_pack("[o,{s:s,s:s}]", cond_match("content.body", "@room"), "kind",
			       "sender_notification_permission", "key", "room"),
		     notify(NULL, 1)),
		rule(".m.rule.tombstone", 1,
		     json_pack("[o,o]", cond_match("type", "m.room.tombstone"),
			       cond_match("state_key", "")),
		     notify(NULL, 1)),
		rule(".m.rule.reaction", 1, json_pack("[o]", cond_match("type", "m.reaction")), NULL),
		rule(".m.rule.room.server_acl", 1,
		     json_pack("[o,o]", cond_match("type", "m.room.server_acl"),
			       cond_match("state_key", "")),
		     NULL),
		rule(".m.rule.suppress_edits", 1,
		     json_pack("[{s:s,s:s,s:s}]", "kind", "event_property_is", "key",
			       "content.m\\.relates_to.rel_type", "value", "m.replace"),
		     NULL));
	content = json_pack("[{s:s,s:b,s:b,s:s,s:o}]", "rule_id", ".m.rule.contains_user_name",
			    "default", 1, "enabled", 1, "pattern", local, "actions",
			    notify("default", 1));
	under = json_pack(
		"[o,o,o,o,o]",
		rule(".m.rule.call", 1, json_pack("[o]", cond_match("type", "m.call.invite")),
		     notify("ring", 0)),
		rule(".m.rule.encrypted_room_one_to_one", 1,
		     json_pack("[{s:s,s:s},o]", "kind", "room_member_count", "is", "2",
			       cond_match("type", "m.room.encrypted")),
		     notify("default", 0)),
		rule(".m.rule.room_one_to_one", 1,
		     json_pack("[{s:s,s:s},o]", "kind", "room_member_count", "is", "2",
			       cond_match("type", "m.room.message")),
		     notify("default", 0)),
		rule(".m.rule.message", 1, json_pack("[o]", cond_match("type", "m.room.message")),
		     notify(NULL, 0)),
		rule(".m.rule.encrypted", 1, json_pack("[o]", cond_match("type", "m.room.encrypted")),
		     notify(NULL, 0)));
	return json_pack("{s:{s:o,s:o,s:[],s:[],s:o}}", "global", "override", over, "content",
			 content, "room", "sender", "underride", under);
}

/* ---- validation and merging ---------------------------------------------- */

static int action_valid(const json_t *a)
{
	const char *s, *tweak;
	if ((s = json_string_value(a)))
		return strcmp(s, "notify") == 0 || strcmp(s, "dont_notify") == 0 ||
		       strcmp(s, "coalesce") == 0;
	if (!json_is_object(a) || !(tweak = json_string_value(json_object_get(a, "set_tweak"))))
		return 0;
	return tweak[0] != 0;
}

int push_actions_valid(const json_t *actions)
{
	size_t i;
	json_t *a;
	if (!json_is_array(actions))
		return 0;
	json_array_foreach(actions, i, a)
		if (!action_valid(a))
			return 0;
	return 1;
}

static int conditions_valid(const json_t *conds)
{
	size_t i;
	json_t *c;
	if (!json_is_array(conds))
		return 0;
	json_array_foreach(conds, i, c)
		if (!json_is_object(c) || !json_is_string(json_object_get(c, "kind")))
			return 0;
	return 1;
}

/* A rule ID a user may create: not server-default (".") and no slashes. */
static int user_rule_id_valid(const char *id)
{
	return id && id[0] && id[0] != '.' && !strchr(id, '/') && !strchr(id, '\\') &&
	       strlen(id) <= 1024;
}

static int pattern_valid(const json_t *p)
{
	return json_is_string(p) && json_string_length(p) <= PUSH_PATTERN_MAX * 4;
}

/* A user rule in canonical form from untrusted JSON, or NULL (invalid).
 * enabled < 0: take it from src (default true). */
static json_t *user_rule(enum push_kind kind, const char *id, const json_t *src, int enabled)
{
	const json_t *actions = json_object_get(src, "actions");
	json_t *r;
	if (!user_rule_id_valid(id) || !push_actions_valid(actions))
		return NULL;
	if (enabled < 0)
		enabled = !json_is_false(json_object_get(src, "enabled"));
	r = json_pack("{s:s,s:b,s:b,s:O}", "rule_id", id, "default", 0, "enabled", enabled,
		      "actions", actions);
	if (!r)
		return NULL;
	if (kind == PUSH_CONTENT) {
		const json_t *p = json_object_get(src, "pattern");
		if (!pattern_valid(p) || json_object_set(r, "pattern", (json_t *)p) < 0) {
			json_decref(r);
			return NULL;
		}
	} else if (kind == PUSH_OVERRIDE || kind == PUSH_UNDERRIDE) {
		const json_t *c = json_object_get(src, "conditions");
		if (c && !conditions_valid(c)) {
			json_decref(r);
			return NULL;
		}
		if (json_object_set_new(r, "conditions", c ? json_deep_copy(c) : json_array()) < 0) {
			json_decref(r);
			return NULL;
		}
	}
	return r;
}

static int kind_index(const json_t *arr, const char *rule_id)
{
	size_t i;
	json_t *r;
	json_array_foreach(arr, i, r) {
		const char *id = json_string_value(json_object_get(r, "rule_id"));
		if (id && strcmp(id, rule_id) == 0)
			return (int)i;
	}
	return -1;
}

static json_t *kind_array(json_t *ruleset, enum push_kind kind)
{
	return json_object_get(json_object_get(ruleset, "global"), kind_names[kind]);
}

static int is_default(const json_t *r)
{
	return json_is_true(json_object_get(r, "default"));
}

/* Where a new user rule goes when nothing says where: first among the
 * user's rules, which is after .m.rule.master in override. */
static size_t first_user_slot(const json_t *arr)
{
	size_t i = 0;
	while (i < json_array_size(arr)) {
		const char *id = json_string_value(json_object_get(json_array_get(arr, i), "rule_id"));
		if (!id || strcmp(id, ".m.rule.master") != 0)
			break;
		i++;
	}
	return i;
}

json_t *push_rules_merge(const char *user_id, const json_t *stored)
{
	json_t *rs = push_rules_defaults(user_id);
	const json_t *sg = json_object_get(stored, "global");
	if (!rs || !json_is_object(sg))
		return rs;
	for (int k = 0; k < PUSH_NKINDS; k++) {
		json_t *arr = kind_array(rs, (enum push_kind)k);
		const json_t *in = json_object_get(sg, kind_names[k]), *r;
		size_t i, slot = first_user_slot(arr), added = 0;
		if (!json_is_array(in))
			continue;
		json_array_foreach(in, i, r) {
			const char *id = json_string_value(json_object_get(r, "rule_id"));
			int at;
			if (!json_is_object(r) || !id)
				continue;
			at = kind_index(arr, id);
			if (is_default(r)) {
				/* a default rule: keep the user's enabled flag and actions */
				json_t *d = at >= 0 ? json_array_get(arr, (size_t)at) : NULL;
				const json_t *en = json_object_get(r, "enabled"),
					     *ac = json_object_get(r, "actions");
				if (!d || !is_default(d))
					continue;
				if (json_is_boolean(en))
					json_object_set(d, "enabled", (json_t *)en);
				if (push_actions_valid(ac))
					json_object_set_new(d, "actions", json_deep_copy(ac));
			} else if (at < 0 && added < PUSH_RULES_MAX) {
				json_t *u = user_rule((enum push_kind)k, id, r, -1);
				if (u && json_array_insert_new(arr, slot + added, u) == 0)
					added++;
			}
		}
	}
	return rs;
}

json_t *push_rules_find(json_t *ruleset, enum push_kind kind, const char *rule_id)
{
	json_t *arr = kind_array(ruleset, kind);
	int at = kind_index(arr, rule_id);
	return at >= 0 ? json_array_get(arr, (size_t)at) : NULL;
}

/* Index of a user rule named by before/after, -1 when there is none. */
static int anchor_index(const json_t *arr, const char *id)
{
	int at = kind_index(arr, id);
	return at >= 0 && !is_default(json_array_get(arr, (size_t)at)) ? at : -1;
}

enum push_rc push_rules_put(json_t *ruleset, enum push_kind kind, const char *rule_id,
			    const json_t *body, const char *before, const char *after,
			    char *err, size_t errlen)
{
	json_t *arr = kind_array(ruleset, kind), *r, *old;
	const char *anchor = before ? before : after;
	int at, enabled = 1;
	size_t slot;

	if (!json_is_array(arr))
		return PUSH_ERROR;
	if (!user_rule_id_valid(rule_id)) {
		snprintf(err, errlen, "Invalid rule ID");
		return PUSH_INVALID;
	}
	if (!push_actions_valid(json_object_get(body, "actions"))) {
		snprintf(err, errlen, "actions must be a list of known actions");
		return PUSH_BAD_JSON;
	}
	if (kind == PUSH_CONTENT && !pattern_valid(json_object_get(body, "pattern"))) {
		snprintf(err, errlen, "Content rules need a string pattern");
		return PUSH_BAD_JSON;
	}
	if ((kind == PUSH_OVERRIDE || kind == PUSH_UNDERRIDE) &&
	    json_object_get(body, "conditions") &&
	    !conditions_valid(json_object_get(body, "conditions"))) {
		snprintf(err, errlen, "conditions must be a list of objects with a kind");
		return PUSH_BAD_JSON;
	}
	if (anchor && (strcmp(anchor, rule_id) == 0 || anchor_index(arr, anchor) < 0)) {
		snprintf(err, errlen, "before/after rule not found: %.100s", anchor);
		return PUSH_REFUSED;
	}
	at = kind_index(arr, rule_id);
	if (at >= 0) {
		old = json_array_get(arr, (size_t)at);
		enabled = !json_is_false(json_object_get(old, "enabled"));
	} else {
		size_t i, users = 0;
		json_array_foreach(arr, i, old)
			users += !is_default(old);
		if (users >= PUSH_RULES_MAX) {
			snprintf(err, errlen, "At most %d rules of a kind", PUSH_RULES_MAX);
			return PUSH_REFUSED;
		}
	}
	if (!(r = user_rule(kind, rule_id, body, enabled)))
		return PUSH_ERROR;
	if (at >= 0 && !anchor) {
		json_array_set_new(arr, (size_t)at, r);
		return PUSH_OK;
	}
	if (at >= 0)
		json_array_remove(arr, (size_t)at);
	if (anchor) {
		int a = anchor_index(arr, anchor);
		slot = (size_t)a + (before ? 0 : 1);
	} else {
		slot = first_user_slot(arr);
	}
	if (json_array_insert_new(arr, slot, r) < 0)
		return PUSH_ERROR;
	return PUSH_OK;
}

enum push_rc push_rules_delete(json_t *ruleset, enum push_kind kind, const char *rule_id)
{
	json_t *arr = kind_array(ruleset, kind);
	int at = kind_index(arr, rule_id);
	if (at < 0)
		return PUSH_NOT_FOUND;
	if (is_default(json_array_get(arr, (size_t)at)))
		return PUSH_REFUSED;
	return json_array_remove(arr, (size_t)at) == 0 ? PUSH_OK : PUSH_ERROR;
}

enum push_rc push_rules_set_enabled(json_t *ruleset, enum push_kind kind, const char *rule_id,
				    int enabled)
{
	json_t *r = push_rules_find(ruleset, kind, rule_id);
	if (!r)
		return PUSH_NOT_FOUND;
	return json_object_set_new(r, "enabled", json_boolean(enabled)) == 0 ? PUSH_OK : PUSH_ERROR;
}

enum push_rc push_rules_set_actions(json_t *ruleset, enum push_kind kind, const char *rule_id,
				    const json_t *actions)
{
	json_t *r = push_rules_find(ruleset, kind, rule_id);
	if (!r)
		return PUSH_NOT_FOUND;
	if (!push_actions_valid(actions))
		return PUSH_BAD_JSON;
	return json_object_set_new(r, "actions", json_deep_copy(actions)) == 0 ? PUSH_OK
									      : PUSH_ERROR;
}

/* ---- glob matching ----------------------------------------------------------
 * A pattern compiles to tokens (code points, ASCII folded to lower case, or
 * GLOB_ANY / GLOB_STAR; runs of * collapse).  Matching runs an NFA whose
 * states are "tokens matched so far" as a bitset, one step per code point
 * of the subject, so time is linear in the subject whatever the pattern. */

#define GLOB_ANY 0xFFFFFFFEu
#define GLOB_STAR 0xFFFFFFFFu
#define GLOB_WORDS ((PUSH_PATTERN_MAX + 1 + 63) / 64)

struct glob {
	uint32_t *tok;
	size_t n;
	int literal;   /* no wildcards */
};

static uint32_t fold(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Next code point of s (advanced); bytes of broken UTF-8 stand for
 * themselves. */
static uint32_t next_cp(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t c = p[0];
	int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
				: (c & 0xF8) == 0xF0 ? 4 : 1;
	if (len > 1) {
		uint32_t v = c & (0x3Fu >> (len - 1));
		for (int i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80) {
				*s = p + 1;
				return c;
			}
			v = v << 6 | (p[i] & 0x3F);
		}
		c = v;
	}
	*s = p + len;
	return c;
}

/* 0, or -1 when too long or out of memory.  literal: * and ? are plain. */
static int glob_compile(struct glob *g, const char *pattern, int literal)
{
	const unsigned char *s = (const unsigned char *)pattern;
	size_t cap = strlen(pattern) + 1;
	g->n = 0;
	g->literal = 1;
	if (!(g->tok = malloc(cap * sizeof(*g->tok))))
		return -1;
	while (*s) {
		uint32_t c = next_cp(&s);
		if (!literal && c == '*') {
			g->literal = 0;
			if (g->n && g->tok[g->n - 1] == GLOB_STAR)
				continue;
			c = GLOB_STAR;
		} else if (!literal && c == '?') {
			g->literal = 0;
			c = GLOB_ANY;
		} else {
			c = fold(c);
		}
		g->tok[g->n++] = c;
	}
	if (g->n > PUSH_PATTERN_MAX) {
		free(g->tok);
		g->tok = NULL;
		return -1;
	}
	return 0;
}

static void glob_free(struct glob *g)
{
	free(g->tok);
	g->tok = NULL;
}

static int is_word(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

#define BIT_SET(b, k) ((b)[(k) >> 6] |= (uint64_t)1 << ((k) & 63))
#define BIT_HAS(b, k) (((b)[(k) >> 6] >> ((k) & 63)) & 1)

/* Adds the states reachable from those in b without input (past a *). */
static void closure(const struct glob *g, uint64_t *b, size_t nw)
{
	for (size_t w = 0; w < nw; w++) {
		uint64_t x = b[w];
		while (x) {
			size_t k = w * 64 + (size_t)__builtin_ctzll(x);
			x &= x - 1;
			if (k < g->n && g->tok[k] == GLOB_STAR)
				BIT_SET(b, k + 1);
		}
	}
}

static int glob_literal_full(const struct glob *g, const char *subject)
{
	const unsigned char *s = (const unsigned char *)subject;
	for (size_t i = 0; i < g->n; i++)
		if (!*s || fold(next_cp(&s)) != g->tok[i])
			return 0;
	return *s == 0;
}

#define LITERAL_SCAN_MAX 32 /* longer literals go through the NFA: linear */

/* A short literal anywhere between word boundaries: compare at each
 * boundary start (at most LITERAL_SCAN_MAX code points each). */
static int glob_literal_words(const struct glob *g, const char *subject)
{
	const unsigned char *s = (const unsigned char *)subject;
	int prev_word = 0;
	while (*s) {
		const unsigned char *p = s;
		uint32_t c = next_cp(&p);
		if (!prev_word && (g->n == 0 || fold(c) == g->tok[0])) {
			const unsigned char *q = s;
			size_t i = 0;
			while (i < g->n && *q && fold(next_cp(&q)) == g->tok[i])
				i++;
			if (i == g->n) {
				const unsigned char *r = q;
				if (!*q || !is_word(next_cp(&r)))
					return 1;
			}
		}
		prev_word = is_word(c);
		s = p;
	}
	return g->n == 0;
}

static int glob_run(const struct glob *g, const char *subject, int words)
{
	const unsigned char *s = (const unsigned char *)subject;
	uint64_t cur[GLOB_WORDS], nxt[GLOB_WORDS];
	size_t nw = (g->n + 1 + 63) / 64, m = g->n;
	int prev_word = 0;

	if (!words && g->literal)
		return glob_literal_full(g, subject);
	if (words && g->literal && g->n <= LITERAL_SCAN_MAX)
		return glob_literal_words(g, subject);
	memset(cur, 0, sizeof(cur));
	if (!words) {
		BIT_SET(cur, 0);
		closure(g, cur, nw);
	}
	for (;;) {
		const unsigned char *at = s;
		uint32_t c = *s ? next_cp(&s) : 0;
		int here_word = *at && is_word(c);
		if (words) {
			/* a match may end here, and a new one start here */
			if (BIT_HAS(cur, m) && !here_word)
				return 1;
			if (!prev_word) {
				BIT_SET(cur, 0);
				closure(g, cur, nw);
				if (BIT_HAS(cur, m) && !here_word)
					return 1;
			}
		}
		if (!*at)
			return !words && BIT_HAS(cur, m);
		{
			/* no live state: nothing to step (the common case between
			 * words in the body) */
			uint64_t live = 0;
			for (size_t w = 0; w < nw; w++)
				live |= cur[w];
			if (!live) {
				if (!words)
					return 0;
				prev_word = here_word;
				continue;
			}
		}
		memset(nxt, 0, nw * sizeof(uint64_t));
		c = fold(c);
		int any = 0;
		for (size_t w = 0; w < nw; w++) {
			uint64_t x = cur[w];
			while (x) {
				size_t k = w * 64 + (size_t)__builtin_ctzll(x);
				x &= x - 1;
				if (k >= m)
					continue;
				if (g->tok[k] == GLOB_STAR)
					BIT_SET(nxt, k);
				else if (g->tok[k] == GLOB_ANY || g->tok[k] == c)
					BIT_SET(nxt, k + 1);
				any = 1;
			}
		}
		closure(g, nxt, nw);
		memcpy(cur, nxt, nw * sizeof(uint64_t));
		if (!any && !words)
			return 0;
		prev_word = here_word;
	}
}

int push_glob_match(const char *pattern, const char *subject, int words)
{
	struct glob g;
	int rc;
	if (glob_compile(&g, pattern, 0) < 0)
		return 0;
	rc = glob_run(&g, subject, words);
	glob_free(&g);
	return rc;
}

/* ---- compiled rules and evaluation ------------------------------------------ */

enum cond_kind {
	C_NEVER = 0,        /* unknown or malformed: never matches */
	C_EVENT_MATCH,
	C_PROPERTY_IS,
	C_PROPERTY_CONTAINS,
	C_DISPLAY_NAME,
	C_MEMBER_COUNT,
	C_SENDER_PERMISSION,
};

enum count_op { OP_EQ, OP_LT, OP_GT, OP_LE, OP_GE };

struct cond {
	enum cond_kind kind;
	char **path;        /* the key split at unescaped dots */
	size_t npath;
	struct glob glob;   /* event_match */
	int words;          /* event_match on content.body */
	json_t *value;      /* event_property_* */
	enum count_op op;   /* room_member_count */
	int64_t count;
	char *perm_key;     /* sender_notification_permission */
};

enum rule_match { M_CONDITIONS, M_CONTENT, M_ROOM, M_SENDER };

struct crule {
	char *rule_id;
	enum rule_match match;
	int legacy;         /* deprecated default: skipped when content has m.mentions */
	struct cond *conds;
	size_t nconds;
	struct glob pattern; /* content rules */
	int notify, highlight;
	char *sound;
};

struct push_eval {
	struct crule *rules;
	size_t n;
};

/* Splits a dotted key ("content.m\.mentions.room") into segments; the
 * spec's escapes are \. and \\. */
static int path_parse(const char *key, char ***out, size_t *n)
{
	size_t len = strlen(key), cap = 1, k = 0;
	char **segs, *cur;
	int oom = 0;
	for (const char *p = key; *p; p++)
		cap += *p == '.';
	*out = NULL;
	*n = 0;
	if (!(segs = calloc(cap, sizeof(*segs))))
		return -1;
	if (!(cur = malloc(len + 1))) {
		free(segs);
		return -1;
	}
	for (const char *p = key; !oom; p++) {
		if (*p == '\\' && (p[1] == '.' || p[1] == '\\')) {
			cur[k++] = *++p;
		} else if (*p == '.' || !*p) {
			cur[k] = 0;
			k = 0;
			if (!(segs[*n] = strdup(cur)))
				oom = 1;
			else
				(*n)++;
			if (!*p)
				break;
		} else {
			cur[k++] = *p;
		}
	}
	free(cur);
	if (oom) {
		for (size_t i = 0; i < *n; i++)
			free(segs[i]);
		free(segs);
		*n = 0;
		return -1;
	}
	*out = segs;
	return 0;
}

static const json_t *path_get(const json_t *ev, char *const *path, size_t n)
{
	for (size_t i = 0; ev && i < n; i++)
		ev = json_is_object(ev) ? json_object_get(ev, path[i]) : NULL;
	return ev;
}

/* Values event_property_* compare: strings, integers in the canonical
 * JSON range, booleans and null. */
static int simple_value(const json_t *v)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		return i >= -9007199254740991LL && i <= 9007199254740991LL;
	}
	return json_is_string(v) || json_is_boolean(v) || json_is_null(v);
}

static void cond_clear(struct cond *c)
{
	for (size_t i = 0; i < c->npath; i++)
		free(c->path[i]);
	free(c->path);
	glob_free(&c->glob);
	json_decref(c->value);
	free(c->perm_key);
	memset(c, 0, sizeof(*c));
}

static int parse_count(const char *is, enum count_op *op, int64_t *n)
{
	char *end;
	long long v;
	*op = OP_EQ;
	if (strncmp(is, "==", 2) == 0)
		is += 2;
	else if (strncmp(is, "<=", 2) == 0)
		*op = OP_LE, is += 2;
	else if (strncmp(is, ">=", 2) == 0)
		*op = OP_GE, is += 2;
	else if (*is == '<')
		*op = OP_LT, is++;
	else if (*is == '>')
		*op = OP_GT, is++;
	if (*is < '0' || *is > '9')
		return -1;
	v = strtoll(is, &end, 10);
	if (*end || v < 0)
		return -1;
	*n = v;
	return 0;
}

/* Compiles one condition; what cannot be understood becomes C_NEVER.  -1
 * only when out of memory. */
static int cond_compile(struct cond *c, const json_t *j)
{
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *key = json_string_value(json_object_get(j, "key"));
	memset(c, 0, sizeof(*c));
	if (!kind)
		return 0;
	if (strcmp(kind, "event_match") == 0 || strcmp(kind, "event_property_is") == 0 ||
	    strcmp(kind, "event_property_contains") == 0) {
		const json_t *v = json_object_get(j, "value");
		const char *pat = json_string_value(json_object_get(j, "pattern"));
		if (!key || path_parse(key, &c->path, &c->npath) < 0)
			return 0;
		if (kind[6] == 'm') {
			if (!pat || glob_compile(&c->glob, pat, 0) < 0) {
				cond_clear(c);
				return 0;
			}
			c->words = strcmp(key, "content.body") == 0;
			c->kind = C_EVENT_MATCH;
		} else {
			if (!v || !simple_value(v)) {
				cond_clear(c);
				return 0;
			}
			c->value = json_incref((json_t *)v);
			c->kind = kind[15] == 'i' ? C_PROPERTY_IS : C_PROPERTY_CONTAINS;
		}
	} else if (strcmp(kind, "contains_display_name") == 0) {
		c->kind = C_DISPLAY_NAME;
	} else if (strcmp(kind, "room_member_count") == 0) {
		const char *is = json_string_value(json_object_get(j, "is"));
		if (is && parse_count(is, &c->op, &c->count) == 0)
			c->kind = C_MEMBER_COUNT;
	} else if (strcmp(kind, "sender_notification_permission") == 0) {
		if (key) {
			if (!(c->perm_key = strdup(key)))
				return -1;
			c->kind = C_SENDER_PERMISSION;
		}
	}
	return 0;
}

static void rule_clear(struct crule *r)
{
	free(r->rule_id);
	for (size_t i = 0; i < r->nconds; i++)
		cond_clear(&r->conds[i]);
	free(r->conds);
	glob_free(&r->pattern);
	free(r->sound);
}

static void actions_compile(struct crule *r, const json_t *actions)
{
	size_t i;
	json_t *a;
	json_array_foreach(actions, i, a) {
		const char *s = json_string_value(a), *tweak;
		if (s) {
			if (strcmp(s, "notify") == 0)
				r->notify = 1;
			continue;
		}
		tweak = json_string_value(json_object_get(a, "set_tweak"));
		if (!tweak)
			continue;
		if (strcmp(tweak, "highlight") == 0) {
			const json_t *v = json_object_get(a, "value");
			r->highlight = !v || json_is_true(v);
		} else if (strcmp(tweak, "sound") == 0 &&
			   json_is_string(json_object_get(a, "value"))) {
			free(r->sound);
			r->sound = strdup(json_string_value(json_object_get(a, "value")));
		}
	}
}

/* Compiles one rule into r; 1 when it is worth keeping (enabled, well
 * formed), 0 when skipped, -1 when out of memory. */
static int rule_compile(struct crule *r, enum push_kind kind, const json_t *j)
{
	const char *id = json_string_value(json_object_get(j, "rule_id"));
	const json_t *conds = json_object_get(j, "conditions");
	memset(r, 0, sizeof(*r));
	if (!json_is_object(j) || !id || json_is_false(json_object_get(j, "enabled")) ||
	    !json_is_array(json_object_get(j, "actions")))
		return 0;
	if (!(r->rule_id = strdup(id)))
		return -1;
	r->legacy = is_default(j) && (strcmp(id, ".m.rule.contains_display_name") == 0 ||
				      strcmp(id, ".m.rule.roomnotif") == 0 ||
				      strcmp(id, ".m.rule.contains_user_name") == 0);
	switch (kind) {
	case PUSH_CONTENT: {
		const char *pat = json_string_value(json_object_get(j, "pattern"));
		r->match = M_CONTENT;
		if (!pat || glob_compile(&r->pattern, pat, 0) < 0) {
			rule_clear(r);
			return 0;
		}
		break;
	}
	case PUSH_ROOM:
		r->match = M_ROOM;
		break;
	case PUSH_SENDER:
		r->match = M_SENDER;
		break;
	default:
		r->match = M_CONDITIONS;
		if (conds && !json_is_array(conds)) {
			rule_clear(r);
			return 0;
		}
		if (json_array_size(conds)) {
			r->conds = calloc(json_array_size(conds), sizeof(*r->conds));
			if (!r->conds) {
				rule_clear(r);
				return -1;
			}
			for (size_t i = 0; i < json_array_size(conds); i++) {
				if (cond_compile(&r->conds[i], json_array_get(conds, i)) < 0) {
					rule_clear(r);
					return -1;
				}
				r->nconds++;
			}
		}
	}
	actions_compile(r, json_object_get(j, "actions"));
	return 1;
}

struct push_eval *push_eval_new(const json_t *ruleset)
{
	struct push_eval *pe = calloc(1, sizeof(*pe));
	const json_t *g = json_object_get(ruleset, "global");
	size_t total = 0;
	if (!pe)
		return NULL;
	for (int k = 0; k < PUSH_NKINDS; k++)
		total += json_array_size(json_object_get(g, kind_names[k]));
	if (total && !(pe->rules = calloc(total, sizeof(*pe->rules)))) {
		free(pe);
		return NULL;
	}
	for (int k = 0; k < PUSH_NKINDS; k++) {
		const json_t *arr = json_object_get(g, kind_names[k]);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			int rc = rule_compile(&pe->rules[pe->n], (enum push_kind)k,
					      json_array_get(arr, i));
			if (rc < 0) {
				push_eval_free(pe);
				return NULL;
			}
			pe->n += (size_t)rc;
		}
	}
	return pe;
}

void push_eval_free(struct push_eval *pe)
{
	if (!pe)
		return;
	for (size_t i = 0; i < pe->n; i++)
		rule_clear(&pe->rules[i]);
	free(pe->rules);
	free(pe);
}

/* 1 when s starts with name (case-insensitive); *end is past it. */
static int prefix_at(const unsigned char *s, const char *name, const unsigned char **end)
{
	const unsigned char *n = (const unsigned char *)name;
	while (*n)
		if (!*s || fold(next_cp(&s)) != fold(next_cp(&n)))
			return 0;
	*end = s;
	return 1;
}

/* The display name as a literal between word boundaries of body, compared
 * in place (it differs per room, so it is not compiled). */
static int display_name_in(const char *name, const char *body)
{
	const unsigned char *s = (const unsigned char *)body, *q;
	int prev_word = 0;
	if (!name || !name[0])
		return 0;
	while (*s) {
		const unsigned char *p = s;
		uint32_t c = next_cp(&p);
		if (!prev_word && prefix_at(s, name, &q)) {
			const unsigned char *r = q;
			if (!*q || !is_word(next_cp(&r)))
				return 1;
		}
		prev_word = is_word(c);
		s = p;
	}
	return 0;
}

static int cond_holds(const struct cond *c, const json_t *ev, const struct push_ctx *ctx)
{
	const json_t *v;
	switch (c->kind) {
	case C_EVENT_MATCH:
		v = path_get(ev, c->path, c->npath);
		return json_is_string(v) && glob_run(&c->glob, json_string_value(v), c->words);
	case C_PROPERTY_IS:
		v = path_get(ev, c->path, c->npath);
		return v && simple_value(v) && json_equal((json_t *)v, c->value);
	case C_PROPERTY_CONTAINS: {
		size_t i;
		json_t *e;
		v = path_get(ev, c->path, c->npath);
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, e)
			if (simple_value(e) && json_equal(e, c->value))
				return 1;
		return 0;
	}
	case C_DISPLAY_NAME:
		v = json_object_get(json_object_get(ev, "content"), "body");
		return json_is_string(v) && display_name_in(ctx->display_name, json_string_value(v));
	case C_MEMBER_COUNT:
		switch (c->op) {
		case OP_EQ: return ctx->member_count == c->count;
		case OP_LT: return ctx->member_count < c->count;
		case OP_GT: return ctx->member_count > c->count;
		case OP_LE: return ctx->member_count <= c->count;
		case OP_GE: return ctx->member_count >= c->count;
		}
		return 0;
	case C_SENDER_PERMISSION: {
		const json_t *need = json_object_get(json_object_get(ctx->power_levels,
								     "notifications"), c->perm_key);
		int64_t level = json_is_integer(need) ? json_integer_value(need) : 50;
		return ctx->sender_power >= level;
	}
	case C_NEVER:
		break;
	}
	return 0;
}

static int rule_matches(const struct crule *r, const json_t *ev, const struct push_ctx *ctx,
			int has_mentions)
{
	const json_t *v;
	if (r->legacy && has_mentions)
		return 0;
	switch (r->match) {
	case M_CONTENT:
		v = json_object_get(json_object_get(ev, "content"), "body");
		return json_is_string(v) && glob_run(&r->pattern, json_string_value(v), 1);
	case M_ROOM:
		v = json_object_get(ev, "room_id");
		return json_is_string(v) && strcmp(json_string_value(v), r->rule_id) == 0;
	case M_SENDER:
		v = json_object_get(ev, "sender");
		return json_is_string(v) && strcmp(json_string_value(v), r->rule_id) == 0;
	case M_CONDITIONS:
		for (size_t i = 0; i < r->nconds; i++)
			if (!cond_holds(&r->conds[i], ev, ctx))
				return 0;
		return 1;
	}
	return 0;
}

void push_eval_event(const struct push_eval *pe, const json_t *event,
		     const struct push_ctx *ctx, struct push_result *out)
{
	const char *sender = json_string_value(json_object_get(event, "sender"));
	int has_mentions;
	memset(out, 0, sizeof(*out));
	if (!pe || !json_is_object(event) || (sender && ctx->user_id &&
					       strcmp(sender, ctx->user_id) == 0))
		return;
	has_mentions = json_object_get(json_object_get(event, "content"), "m.mentions") != NULL;
	for (size_t i = 0; i < pe->n; i++) {
		const struct crule *r = &pe->rules[i];
		if (!rule_matches(r, event, ctx, has_mentions))
			continue;
		out->rule_id = r->rule_id;
		out->notify = r->notify;
		out->highlight = r->notify && r->highlight;
		out->sound = r->notify ? r->sound : NULL;
		return;
	}
}
