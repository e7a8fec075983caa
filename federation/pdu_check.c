/* The checks on receipt of a PDU; see pdu_check.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "federation/pdu_check.h"
#include "homeserver/events/event_sign.h"

static enum pdu_verdict finish(struct pdu_check_result *res, enum pdu_verdict v, enum pdu_stage st,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum pdu_verdict finish(struct pdu_check_result *res, enum pdu_verdict v, enum pdu_stage st,
			       const char *fmt, ...)
{
	res->verdict = v;
	res->stage = st;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
		va_end(ap);
	}
	if (v == PDU_DROP) {
		json_decref(res->event);
		res->event = NULL;
	}
	return v;
}

/* Room versions 1-4 predate the rule that a key only verifies events from
 * its validity period; unknown (unnumbered) versions get the strict rule. */
static int enforces_key_validity(const struct room_version *rv)
{
	char *end;
	long n = strtol(rv->id, &end, 10);
	return !(*end == '\0' && end != rv->id && n >= 1 && n <= 4);
}

/* Step 2 for one server: every signature whose key we can get must verify,
 * and at least one must.  0 or -1 with a reason. */
static int check_server_sigs(const struct room_version *rv, const json_t *ev, const char *server,
			     const struct pdu_check_ctx *ctx, int64_t ts, char *why, size_t whylen)
{
	const json_t *sigs = json_object_get(json_object_get(ev, "signatures"), server), *v;
	const char *kid;
	size_t tried = 0, good = 0;
	unsigned char pub[32];

	if (!json_is_object(sigs) || json_object_size(sigs) == 0) {
		snprintf(why, whylen, "no signature from %s", server);
		return -1;
	}
	json_object_foreach((json_t *)sigs, kid, v) {
		if (strncmp(kid, "ed25519:", 8) != 0 || !json_is_string(v))
			continue; /* unknown algorithms are ignored, as in JSON signing */
		if (++tried > PDU_MAX_KEYS_PER_SERVER)
			break;
		if (ctx->key(ctx->key_arg, server, kid, ts, pub) < 0)
			continue;
		if (event_verify_signature(rv, ev, server, kid, pub) < 0) {
			snprintf(why, whylen, "bad signature from %s with %s", server, kid);
			return -1;
		}
		good++;
	}
	if (!good) {
		snprintf(why, whylen, "no usable key of %s for its signature", server);
		return -1;
	}
	return 0;
}

/* The cited auth event IDs: strings (v3+) or [id, hashes] pairs (v1/v2).
 * event_validate() has already checked the shape and the count. */
static const char *auth_event_id(const struct room_version *rv, const json_t *item)
{
	if (rv->event_id == EVENT_ID_V1)
		return json_string_value(json_array_get(item, 0));
	return json_string_value(item);
}

static int is_create(const json_t *ev)
{
	const char *t = event_type(ev), *sk = event_state_key(ev);
	return t && sk && strcmp(t, "m.room.create") == 0 && sk[0] == '\0';
}

/* Step 4: resolves the cited auth events and runs the auth rules over them. */
static enum pdu_verdict check_auth_events(const struct room_version *rv, const json_t *ev,
					  const struct pdu_check_ctx *ctx, struct pdu_check_result *res)
{
	const json_t *list[EVENT_MAX_AUTH_EVENTS + 1];
	const json_t *ids = json_object_get(ev, "auth_events"), *item;
	struct auth_list al;
	struct auth_state st;
	size_t i, n = 0;
	char why[200];

	if (!ctx->event)
		return finish(res, PDU_REJECT, PDU_STAGE_AUTH_EVENTS, "no event lookup for the auth events");
	json_array_foreach(ids, i, item) {
		const char *id = auth_event_id(rv, item);
		int rejected = 0;
		const json_t *ae;
		if (!id || n >= EVENT_MAX_AUTH_EVENTS)
			return finish(res, PDU_REJECT, PDU_STAGE_AUTH_EVENTS, "malformed auth_events");
		ae = ctx->event(ctx->event_arg, id, &rejected);
		if (!ae) {
			res->missing_auth_event = 1;
			return finish(res, PDU_REJECT, PDU_STAGE_AUTH_EVENTS, "auth event %.80s is unknown", id);
		}
		if (rejected)
			return finish(res, PDU_REJECT, PDU_STAGE_AUTH_EVENTS, "auth event %.80s was rejected", id);
		list[n++] = ae;
	}
	why[0] = '\0';
	if (!is_create(ev) && auth_check_auth_events(rv, ev, list, n, why, sizeof(why)) != AUTH_ALLOW)
		return finish(res, PDU_REJECT, PDU_STAGE_AUTH_EVENTS, "auth events: %s", why);
	/* v12 events do not cite the create event: its ID is the room ID's hash. */
	if (rv->room_id_is_create_hash && !is_create(ev)) {
		const char *room = event_room_id(ev);
		char cid[EVENT_ID_BUF];
		int rejected = 0;
		const json_t *create;
		if (!room || room[0] != '!' || strlen(room) >= sizeof(cid))
			return finish(res, PDU_REJECT, PDU_STAGE_AUTH_EVENTS, "bad room_id");
		snprintf(cid, sizeof(cid), "$%s", room + 1);
		create = ctx->event(ctx->event_arg, cid, &rejected);
		if (!create) {
			res->missing_auth_event = 1;
			return finish(res, PDU_REJECT, PDU_STAGE_AUTH_EVENTS, "the room's create event is unknown");
		}
		if (rejected)
			return finish(res, PDU_REJECT, PDU_STAGE_AUTH_EVENTS, "the room's create event was rejected");
		list[n++] = create;
	}
	al.events = list;
	al.n = n;
	st.lookup = auth_list_lookup;
	st.signed_by = NULL; /* step 2 verified every required signer, incl. the authorising server */
	st.arg = &al;
	if (auth_check(rv, ev, &st, why, sizeof(why)) != AUTH_ALLOW)
		return finish(res, PDU_REJECT, PDU_STAGE_AUTH_EVENTS, "not allowed by its auth events: %s", why);
	return PDU_ACCEPT;
}

enum pdu_verdict pdu_check(const struct room_version *rv, const json_t *pdu, const struct pdu_check_ctx *ctx,
			   struct pdu_check_result *res)
{
	const char *signers[EVENT_MAX_SIGNERS];
	const json_t *ev;
	char why[200];
	size_t ns;
	int64_t ts = 0;

	memset(res, 0, sizeof(*res));
	if (!rv || !pdu || !ctx || !ctx->key)
		return finish(res, PDU_DROP, PDU_STAGE_FORMAT, "bad arguments");

	/* 1. Format. */
	why[0] = '\0';
	if (event_validate(rv, pdu, why, sizeof(why)) < 0)
		return finish(res, PDU_DROP, PDU_STAGE_FORMAT, "invalid event: %s", why);
	if (event_compute_id(rv, pdu, res->event_id) < 0)
		return finish(res, PDU_DROP, PDU_STAGE_FORMAT, "cannot compute the event ID");

	/* 2. Signatures. */
	if (enforces_key_validity(rv))
		ts = (int64_t)json_integer_value(json_object_get(pdu, "origin_server_ts"));
	if (ts <= 0 && enforces_key_validity(rv))
		ts = 1; /* the epoch: still a real time, never "any" */
	ns = event_required_signers(rv, pdu, signers);
	for (size_t i = 0; i < ns; i++)
		if (check_server_sigs(rv, pdu, signers[i], ctx, ts, why, sizeof(why)) < 0)
			return finish(res, PDU_DROP, PDU_STAGE_SIGNATURES, "%s", why);

	/* 3. Content hash: a mismatch means the sending server changed the
	 * content after signing (or a relay did); keep only what the
	 * signature covers. */
	if (event_check_content_hash(rv, pdu) < 0) {
		res->event = event_redact(rv, pdu);
		res->redacted = 1;
	} else {
		res->event = json_deep_copy(pdu);
	}
	if (!res->event)
		return finish(res, PDU_DROP, PDU_STAGE_FORMAT, "out of memory");
	ev = res->event;

	/* 4. Auth against the cited auth events. */
	if (check_auth_events(rv, ev, ctx, res) != PDU_ACCEPT)
		return res->verdict;

	/* 5. Auth against the state before the event. */
	if (ctx->state_before && auth_check(rv, ev, ctx->state_before, why, sizeof(why)) != AUTH_ALLOW)
		return finish(res, PDU_REJECT, PDU_STAGE_STATE_BEFORE, "not allowed by the state before it: %s", why);

	/* 6. Auth against the current state: failing it does not reject the
	 * event (other servers may accept it), it just stays out of view. */
	if (ctx->current_state && auth_check(rv, ev, ctx->current_state, why, sizeof(why)) != AUTH_ALLOW)
		return finish(res, PDU_SOFT_FAIL, PDU_STAGE_CURRENT_STATE, "soft-failed against current state: %s",
			      why);

	return finish(res, res->redacted ? PDU_ACCEPT_REDACTED : PDU_ACCEPT, PDU_STAGE_NONE,
		      res->redacted ? "content hash mismatch: accepted redacted" : NULL);
}

void pdu_check_result_clear(struct pdu_check_result *res)
{
	json_decref(res->event);
	res->event = NULL;
}

const char *pdu_verdict_str(enum pdu_verdict v)
{
	switch (v) {
	case PDU_ACCEPT: return "accept";
	case PDU_ACCEPT_REDACTED: return "accept (redacted)";
	case PDU_SOFT_FAIL: return "soft-fail";
	case PDU_REJECT: return "reject";
	case PDU_DROP: return "drop";
	}
	return "?";
}
