/* Push rules (client-server API, "Push Notifications"): the server-default
 * ruleset, a user's ruleset with their changes merged in, edits to it as the
 * /pushrules endpoints make them, and the evaluation of an event for a user.
 * Pure: no I/O, no locks, no global state.
 *
 * A ruleset is JSON in the shape GET /pushrules answers and m.push_rules
 * account data carries: {"global": {"override": [...], "content": [...],
 * "room": [...], "sender": [...], "underride": [...]}}, each rule an object
 * with rule_id, default, enabled, actions and, by kind, conditions or
 * pattern.  Order inside a kind is priority order.
 *
 * Merge order (the spec's): within each kind the user's rules come before
 * the server-default ones, except .m.rule.master, which stays first of all.
 * The stored form is the merged ruleset itself (what clients read from
 * account data); push_rules_merge() rebuilds it against the current
 * defaults, keeping the user's rules and only the enabled flag and actions
 * of the default rules, so defaults added by a newer spec appear and
 * dropped ones disappear.
 *
 * Evaluation compiles a ruleset once (struct push_eval) and then answers per
 * event: the first enabled rule whose conditions all hold decides.  Actions
 * "dont_notify" and "coalesce" are historical and ignored, as the spec
 * says, so ["dont_notify"] means "no notification".
 *
 * Contract: json_t * results are new references the caller decrefs; inputs
 * are borrowed.  Untrusted JSON never crashes these functions: malformed
 * stored rules are dropped by push_rules_merge(); a condition the compiler
 * does not understand never matches (the spec's rule for unknown
 * conditions).  Glob matching is linear in the subject (a bitset NFA), with
 * patterns capped at PUSH_PATTERN_MAX characters.
 */
#ifndef SCOP_HS_PUSH_RULES_H
#define SCOP_HS_PUSH_RULES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PUSH_PATTERN_MAX 500   /* glob pattern, in code points */
#define PUSH_RULES_MAX 1000    /* user rules per kind */

enum push_kind {
	PUSH_OVERRIDE = 0,
	PUSH_CONTENT,
	PUSH_ROOM,
	PUSH_SENDER,
	PUSH_UNDERRIDE,
	PUSH_NKINDS
};

enum push_rc {
	PUSH_OK = 0,
	PUSH_NOT_FOUND,      /* 404 M_NOT_FOUND: no such rule */
	PUSH_INVALID,        /* 400 M_INVALID_PARAM: bad kind, scope or rule ID */
	PUSH_BAD_JSON,       /* 400 M_BAD_JSON: malformed rule body */
	PUSH_REFUSED,        /* 400 M_UNKNOWN: deleting a server-default rule,
			      * before/after naming no user rule */
	PUSH_ERROR,          /* out of memory */
};

/* "override" ... "underride" to its kind; -1 for anything else. */
int push_kind_parse(const char *s);
const char *push_kind_name(enum push_kind k);

/* The server-default ruleset for user_id (a full user ID). */
json_t *push_rules_defaults(const char *user_id);
/* The user's ruleset: defaults merged with stored (m.push_rules content as
 * stored, or NULL).  NULL only when out of memory. */
json_t *push_rules_merge(const char *user_id, const json_t *stored);

/* A rule of a ruleset (borrowed), NULL if absent. */
json_t *push_rules_find(json_t *ruleset, enum push_kind kind, const char *rule_id);

/* PUT /pushrules/global/{kind}/{ruleId}: body is the request ({actions,
 * conditions?, pattern?}); before/after may be NULL.  A new rule is enabled
 * and goes first among the user's rules of its kind (or where before/after
 * put it); an existing one keeps its place and enabled flag unless
 * before/after move it.  err gets a reason for the client. */
enum push_rc push_rules_put(json_t *ruleset, enum push_kind kind, const char *rule_id,
			    const json_t *body, const char *before, const char *after,
			    char *err, size_t errlen);
enum push_rc push_rules_delete(json_t *ruleset, enum push_kind kind, const char *rule_id);
enum push_rc push_rules_set_enabled(json_t *ruleset, enum push_kind kind, const char *rule_id,
				    int enabled);
/* actions is validated (PUSH_BAD_JSON) and copied. */
enum push_rc push_rules_set_actions(json_t *ruleset, enum push_kind kind, const char *rule_id,
				    const json_t *actions);
/* 1 when actions is an array of known actions in the spec's format. */
int push_actions_valid(const json_t *actions);

/* ---- evaluation ---- */

struct push_eval;

/* What evaluation needs to know beyond the event, all borrowed. */
struct push_ctx {
	const char *user_id;        /* whose rules */
	const char *display_name;   /* the user's in this room, NULL if none */
	int64_t member_count;       /* joined members now */
	int64_t sender_power;       /* the sender's power level */
	const json_t *power_levels; /* m.room.power_levels content, or NULL */
};

struct push_result {
	int notify;
	int highlight;              /* only set together with notify */
	const char *sound;          /* borrowed from the compiled rules, or NULL */
	const char *rule_id;        /* the rule that decided, NULL if none */
};

/* Compiles a ruleset (as push_rules_merge() gives, or anything: what does
 * not parse is skipped).  NULL only when out of memory. */
struct push_eval *push_eval_new(const json_t *ruleset);
void push_eval_free(struct push_eval *pe);
/* Evaluates event (a PDU or client event: type, content, sender, room_id,
 * state_key) for ctx->user_id.  Events the user sent never notify. */
void push_eval_event(const struct push_eval *pe, const json_t *event,
		     const struct push_ctx *ctx, struct push_result *out);

/* Glob match (the spec's: * and ?, case-insensitive for ASCII).  words:
 * pattern may match any substring that starts and ends at a word boundary
 * (content.body), else the whole subject. */
int push_glob_match(const char *pattern, const char *subject, int words);

#endif
