/* Push rule endpoints.  See api_push.h.
 *
 * A user's rules live in their global account data "m.push_rules" as the
 * whole merged ruleset (push_rules.h says why), so /sync delivers them to
 * clients as they expect.  Edits read, change and write it back under the
 * push context's edit lock: two edits by the same user at once must not
 * lose one of them, and edits are rare enough that one lock costs nothing. */
#include "homeserver/api_push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "homeserver/push_counts.h"
#include "homeserver/push_rules.h"
#include "homeserver/rooms.h"

/* The user's merged ruleset, or NULL after answering 500. */
static json_t *load(struct api_req *r)
{
	char *text = NULL;
	json_t *stored = NULL, *rs;
	if (r->hs->rooms) {
		enum store_rc rc = room_store_account_data_get(rooms_store(r->hs->rooms),
							       r->who.user_id, "", "m.push_rules",
							       &text);
		if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
			api_error(r, 500, "M_UNKNOWN", "Internal error");
			return NULL;
		}
		stored = text ? json_loads(text, 0, NULL) : NULL;
		free(text);
	}
	rs = push_rules_merge(r->who.user_id, stored);
	json_decref(stored);
	if (!rs)
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
	return rs;
}

static int save(struct api_req *r, const json_t *rs)
{
	if (!r->hs->rooms) {
		api_error(r, 404, "M_UNRECOGNIZED", "Rooms are not enabled");
		return -1;
	}
	if (rooms_account_data_put(r->hs->rooms, r->who.user_id, "", "m.push_rules", rs) !=
	    ROOM_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		return -1;
	}
	push_counts_rules_changed(r->hs->push, r->who.user_id);
	return 0;
}

static void answer_rc(struct api_req *r, enum push_rc rc, const char *err)
{
	switch (rc) {
	case PUSH_OK:
		api_reply(r, 200, json_object());
		break;
	case PUSH_NOT_FOUND:
		api_error(r, 404, "M_NOT_FOUND", "The push rule was not found");
		break;
	case PUSH_INVALID:
		api_error(r, 400, "M_INVALID_PARAM", "%s", err && err[0] ? err : "Invalid rule");
		break;
	case PUSH_BAD_JSON:
		api_error(r, 400, "M_BAD_JSON", "%s", err && err[0] ? err : "Invalid rule");
		break;
	case PUSH_REFUSED:
		api_error(r, 400, "M_UNKNOWN", "%s", err && err[0] ? err : "Refused");
		break;
	case PUSH_ERROR:
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		break;
	}
}

/* Path checks: scope (param 0) is "global"; kind (param 1) is known. */
static int scope_ok(struct api_req *r)
{
	if (strcmp(api_param(r, 0), "global") != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Unknown scope; only \"global\" exists");
		return 0;
	}
	return 1;
}

static int kind_of(struct api_req *r)
{
	int k = push_kind_parse(api_param(r, 1));
	if (k < 0)
		api_error(r, 400, "M_INVALID_PARAM", "Unknown rule kind");
	return k;
}

static void get_all(struct api_req *r)
{
	json_t *rs = load(r);
	if (rs)
		api_reply(r, 200, rs);
}

static void get_scope(struct api_req *r)
{
	json_t *rs;
	if (!scope_ok(r) || !(rs = load(r)))
		return;
	api_reply(r, 200, json_incref(json_object_get(rs, "global")));
	json_decref(rs);
}

static void get_kind(struct api_req *r)
{
	json_t *rs;
	int k;
	if (!scope_ok(r) || (k = kind_of(r)) < 0 || !(rs = load(r)))
		return;
	api_reply(r, 200, json_incref(json_object_get(json_object_get(rs, "global"),
						      push_kind_name((enum push_kind)k))));
	json_decref(rs);
}

/* The rule the path names, with field (NULL: the whole rule). */
static void get_rule_field(struct api_req *r, const char *field)
{
	json_t *rs, *rule;
	int k;
	if (!scope_ok(r) || (k = kind_of(r)) < 0 || !(rs = load(r)))
		return;
	rule = push_rules_find(rs, (enum push_kind)k, api_param(r, 2));
	if (!rule)
		answer_rc(r, PUSH_NOT_FOUND, NULL);
	else if (!field)
		api_reply(r, 200, json_incref(rule));
	else
		api_reply(r, 200, json_pack("{s:O}", field, json_object_get(rule, field)));
	json_decref(rs);
}

static void get_rule(struct api_req *r)
{
	get_rule_field(r, NULL);
}

static void get_enabled(struct api_req *r)
{
	get_rule_field(r, "enabled");
}

static void get_actions(struct api_req *r)
{
	get_rule_field(r, "actions");
}

enum edit { E_PUT, E_DELETE, E_ENABLED, E_ACTIONS };

static void edit(struct api_req *r, enum edit what)
{
	char *before = NULL, *after = NULL, err[160] = "";
	const json_t *v = NULL;
	enum push_rc rc;
	json_t *rs;
	int k;

	if (!scope_ok(r) || (k = kind_of(r)) < 0)
		return;
	if (what != E_DELETE) {
		const char *key = what == E_ENABLED ? "enabled" : "actions";
		v = json_object_get(r->body, key);
		if (!v) {
			api_error(r, 400, "M_MISSING_PARAM", "Missing %s", key);
			return;
		}
		if (what == E_ENABLED && !json_is_boolean(v)) {
			api_error(r, 400, "M_BAD_JSON", "enabled must be a boolean");
			return;
		}
	}
	if (what == E_PUT) {
		before = http_query(r->http, "before");
		after = http_query(r->http, "after");
	}
	push_counts_edit_begin(r->hs->push);
	if ((rs = load(r))) {
		const char *id = api_param(r, 2);
		switch (what) {
		case E_PUT:
			rc = push_rules_put(rs, (enum push_kind)k, id, r->body, before, after, err,
					    sizeof(err));
			break;
		case E_DELETE:
			rc = push_rules_delete(rs, (enum push_kind)k, id);
			if (rc == PUSH_REFUSED)
				strcpy(err, "Server-default rules cannot be deleted");
			break;
		case E_ENABLED:
			rc = push_rules_set_enabled(rs, (enum push_kind)k, id, json_is_true(v));
			break;
		default:
			rc = push_rules_set_actions(rs, (enum push_kind)k, id, v);
			if (rc == PUSH_BAD_JSON)
				strcpy(err, "actions must be a list of known actions");
			break;
		}
		if (rc != PUSH_OK)
			answer_rc(r, rc, err);
		else if (save(r, rs) == 0)
			answer_rc(r, PUSH_OK, NULL);
		json_decref(rs);
	}
	push_counts_edit_end(r->hs->push);
	free(before);
	free(after);
}

static void put_rule(struct api_req *r)
{
	edit(r, E_PUT);
}

static void delete_rule(struct api_req *r)
{
	edit(r, E_DELETE);
}

static void put_enabled(struct api_req *r)
{
	edit(r, E_ENABLED);
}

static void put_actions(struct api_req *r)
{
	edit(r, E_ACTIONS);
}

#define NOTIFS_LIMIT_DEFAULT 20
#define NOTIFS_LIMIT_MAX 100

/* GET /notifications: computed on read from the rules (push_counts.h);
 * tokens are "n<stream position>". */
static void notifications(struct api_req *r)
{
	char *from = http_query(r->http, "from");
	char *only = http_query(r->http, "only"), *end;
	long long before = 0;
	long limit;
	int64_t next = 0;
	json_t *list;

	if (from && (from[0] != 'n' || (before = strtoll(from + 1, &end, 10)) <= 0 || *end)) {
		api_error(r, 400, "M_INVALID_PARAM", "Bad from token");
		goto out;
	}
	/* limit=0 gives an empty list and no next_token. */
	if (api_query_limit(r, NOTIFS_LIMIT_DEFAULT, NOTIFS_LIMIT_MAX, &limit) < 0)
		goto out;
	if (!r->hs->rooms || limit == 0) {
		api_reply(r, 200, json_pack("{s:[]}", "notifications"));
		goto out;
	}
	list = push_counts_notifications(r->hs->push, r->who.user_id, before, (int)limit,
					 only && strcmp(only, "highlight") == 0, &next);
	if (!list) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	if (next) {
		char tok[32];
		snprintf(tok, sizeof(tok), "n%lld", (long long)next);
		api_reply(r, 200, json_pack("{s:o,s:s}", "notifications", list, "next_token", tok));
	} else {
		api_reply(r, 200, json_pack("{s:o}", "notifications", list));
	}
out:
	free(from);
	free(only);
}

#define V (API_CLIENT_R0 | API_CLIENT_V3)
#define A (V | API_AUTH)
#define RULE "/pushrules/{scope}/{kind}/{ruleId}"
const struct api_route api_push_routes[] = {
	{ "GET", "/pushrules", get_all, A },
	{ "GET", "/pushrules/{scope}", get_scope, A },
	{ "GET", "/pushrules/{scope}/{kind}", get_kind, A },
	{ "GET", RULE, get_rule, A },
	{ "PUT", RULE, put_rule, A | API_JSON },
	{ "DELETE", RULE, delete_rule, A },
	{ "GET", RULE "/enabled", get_enabled, A },
	{ "PUT", RULE "/enabled", put_enabled, A | API_JSON },
	{ "GET", RULE "/actions", get_actions, A },
	{ "PUT", RULE "/actions", put_actions, A | API_JSON },
	{ "GET", "/notifications", notifications, A },
};
const size_t api_push_nroutes = sizeof(api_push_routes) / sizeof(api_push_routes[0]);
