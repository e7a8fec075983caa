/* The authorisation rules; see auth_rules.h.  Rule numbers in comments are
 * those of room version 11 in the spec unless stated. */
#include "homeserver/events/auth_rules.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "homeserver/events/event.h"
#include "homeserver/events/event_sign.h"

/* Everything one check needs, so helpers take one argument. */
struct ctx {
	const struct room_version *rv;
	const struct auth_state *st;
	const json_t *create;
	const json_t *pl; /* current m.room.power_levels, or NULL */
	char *reason;
	size_t reasonlen;
};

static int reject(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int reject(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->reason && c->reasonlen) {
		va_start(ap, fmt);
		vsnprintf(c->reason, c->reasonlen, fmt, ap);
		va_end(ap);
	}
	return AUTH_REJECT;
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static const json_t *lookup(const struct ctx *c, const char *type, const char *sk)
{
	return c->st->lookup ? c->st->lookup(c->st->arg, type, sk) : NULL;
}

static const char *membership_of(const struct ctx *c, const char *user)
{
	const json_t *m = user ? lookup(c, "m.room.member", user) : NULL;

	return m ? str(json_object_get(m, "content"), "membership") : NULL;
}

/* ---- power levels ---- */

/* Parses one power level value as the room version allows: integers
 * always; strings of an optionally signed decimal with surrounding
 * whitespace before v10; floats (truncated) before v6.  0 on success. */
static int pl_value(const struct room_version *rv, const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && !rv->integer_power_levels) {
		const char *s = json_string_value(v), *p;
		char *end;
		long long n;

		while (isspace((unsigned char)*s))
			s++;
		p = s + (*s == '+' || *s == '-');
		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		n = strtoll(s, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (*end || errno)
			return -1;
		*out = n;
		return 0;
	}
	if (json_is_real(v) && !rv->strict_canonical_json) {
		double d = json_real_value(v);
		if (!isfinite(d) || d >= 9.2e18 || d <= -9.2e18)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	return -1;
}

static int64_t pl_field(const struct ctx *c, const json_t *content, const char *key, int64_t def)
{
	int64_t v;
	const json_t *j = json_object_get(content, key);

	return j && pl_value(c->rv, j, &v) == 0 ? v : def;
}

static bool is_creator(const struct ctx *c, const char *user)
{
	const json_t *ac;
	size_t i;
	json_t *item;

	if (!user || !c->create)
		return false;
	if (c->rv->creator_in_content)
		return streq(str(json_object_get(c->create, "content"), "creator"), user);
	if (streq(event_sender(c->create), user))
		return true;
	if (!c->rv->privileged_creators)
		return false;
	ac = json_object_get(json_object_get(c->create, "content"), "additional_creators");
	json_array_foreach(ac, i, item)
		if (streq(json_string_value(item), user))
			return true;
	return false;
}

static int64_t user_pl(const struct ctx *c, const char *user)
{
	const json_t *content;

	if (c->rv->privileged_creators && is_creator(c, user))
		return AUTH_PL_INFINITE;
	if (!c->pl)
		return is_creator(c, user) ? 100 : 0;
	content = json_object_get(c->pl, "content");
	const json_t *users = json_object_get(content, "users");
	const json_t *v = user ? json_object_get(users, user) : NULL;
	int64_t n;
	if (v && pl_value(c->rv, v, &n) == 0)
		return n;
	return pl_field(c, content, "users_default", 0);
}

static int64_t level(const struct ctx *c, const char *key, int64_t def)
{
	return c->pl ? pl_field(c, json_object_get(c->pl, "content"), key, def) : def;
}

static int64_t required_level(const struct ctx *c, const json_t *ev)
{
	const json_t *content = c->pl ? json_object_get(c->pl, "content") : NULL;
	const json_t *v = json_object_get(json_object_get(content, "events"), event_type(ev));
	int64_t n;

	if (v && pl_value(c->rv, v, &n) == 0)
		return n;
	if (event_state_key(ev))
		return pl_field(c, content, "state_default", 50);
	return pl_field(c, content, "events_default", 0);
}

/* ---- m.room.create ---- */

static int check_create(struct ctx *c, const json_t *ev)
{
	const json_t *content = json_object_get(ev, "content");
	const json_t *prev = json_object_get(ev, "prev_events"), *rvj;

	if (json_array_size(prev) > 0)
		return reject(c, "create event has prev_events");
	if (c->rv->room_id_is_create_hash) {
		if (json_object_get(ev, "room_id"))
			return reject(c, "create event has a room_id");
	} else if (!streq(matrix_id_domain(event_room_id(ev)), matrix_id_domain(event_sender(ev)))) {
		return reject(c, "room_id domain differs from sender domain");
	}
	rvj = json_object_get(content, "room_version");
	if (rvj && !room_version_get(json_string_value(rvj)))
		return reject(c, "unknown room_version");
	if (c->rv->creator_in_content && !json_object_get(content, "creator"))
		return reject(c, "create event has no creator");
	if (c->rv->privileged_creators && json_object_get(content, "additional_creators")) {
		const json_t *ac = json_object_get(content, "additional_creators");
		size_t i;
		json_t *item;
		if (!json_is_array(ac))
			return reject(c, "additional_creators is not an array");
		json_array_foreach(ac, i, item)
			if (!matrix_user_id_valid(json_string_value(item)))
				return reject(c, "additional_creators has an invalid user ID");
	}
	return AUTH_ALLOW;
}

/* ---- m.room.member ---- */

/* The create event's ID, for "the only previous event is the create". */
static int create_event_id(const struct ctx *c, char out[EVENT_ID_BUF])
{
	return event_compute_id(c->rv, c->create, out);
}

static bool only_prev_is_create(const struct ctx *c, const json_t *ev)
{
	const json_t *prev = json_object_get(ev, "prev_events");
	const json_t *p0 = json_array_get(prev, 0);
	char id[EVENT_ID_BUF];

	if (json_array_size(prev) != 1 || create_event_id(c, id) < 0)
		return false;
	if (c->rv->event_id == EVENT_ID_V1)
		p0 = json_array_get(p0, 0);
	return streq(json_string_value(p0), id);
}

static bool signed_by(const struct ctx *c, const json_t *ev, const char *server)
{
	if (!server)
		return false;
	if (c->st->signed_by)
		return c->st->signed_by(c->st->arg, ev, server) == 1;
	return json_is_object(json_object_get(json_object_get(ev, "signatures"), server));
}

static const char *join_rule(const struct ctx *c)
{
	const json_t *jr = lookup(c, "m.room.join_rules", "");
	const char *r = jr ? str(json_object_get(jr, "content"), "join_rule") : NULL;

	/* No join rules event: only invited users get in, as Synapse does. */
	return r ? r : "invite";
}

static int check_join(struct ctx *c, const json_t *ev, const char *sender, const char *target,
		      const char *jauth)
{
	const char *rule = join_rule(c), *cur = membership_of(c, sender);
	bool in_or_invited = streq(cur, "join") || streq(cur, "invite");

	if (c->create && only_prev_is_create(c, ev) && is_creator(c, target) &&
	    (c->rv->creator_in_content || streq(event_sender(c->create), target)))
		return AUTH_ALLOW;
	if (!streq(sender, target))
		return reject(c, "join sender differs from state_key");
	if (streq(cur, "ban"))
		return reject(c, "sender is banned");
	if (streq(rule, "invite") || (c->rv->knock && streq(rule, "knock")))
		return in_or_invited ? AUTH_ALLOW : reject(c, "join rule %s and not invited", rule);
	if ((c->rv->restricted && streq(rule, "restricted")) ||
	    (c->rv->knock_restricted && streq(rule, "knock_restricted"))) {
		if (in_or_invited)
			return AUTH_ALLOW;
		if (!jauth || !streq(membership_of(c, jauth), "join") ||
		    user_pl(c, jauth) < level(c, "invite", 0))
			return reject(c, "restricted join not authorised by a joined user able to invite");
		return AUTH_ALLOW;
	}
	if (streq(rule, "public"))
		return AUTH_ALLOW;
	return reject(c, "join rule %s does not allow joining", rule);
}

/* Does any signature on signed verify under a public key of tpi? */
static bool tpi_signature_ok(const json_t *signed_, const json_t *tpi)
{
	const json_t *content = json_object_get(tpi, "content");
	const json_t *keys[16];
	size_t nkeys = 0, i;
	json_t *item;
	const char *server, *key_id;
	json_t *per_server, *sig;

	if (json_object_get(content, "public_key"))
		keys[nkeys++] = json_object_get(content, "public_key");
	json_array_foreach(json_object_get(content, "public_keys"), i, item)
		if (nkeys < 16)
			keys[nkeys++] = json_object_get(item, "public_key");
	for (i = 0; i < nkeys; i++) {
		const char *b64 = json_string_value(keys[i]);
		unsigned char pub[48];
		size_t len = b64 ? strlen(b64) : 0;

		if (!b64 || len > 64)
			continue;
		if (base64_decode(b64, len, pub, sizeof(pub), BASE64_PAD_OPTIONAL) != 32 &&
		    base64_decode(b64, len, pub, sizeof(pub), BASE64_PAD_OPTIONAL | BASE64_URLSAFE) != 32)
			continue;
		json_object_foreach(json_object_get(signed_, "signatures"), server, per_server) {
			json_object_foreach(per_server, key_id, sig) {
				if (strncmp(key_id, "ed25519:", 8) == 0 &&
				    json_verify(signed_, server, key_id, pub) == 0)
					return true;
			}
		}
	}
	return false;
}

static int check_invite(struct ctx *c, const json_t *ev, const char *sender, const char *target)
{
	const json_t *content = json_object_get(ev, "content");
	const json_t *tpi_c = json_object_get(content, "third_party_invite");
	const char *tcur = membership_of(c, target);

	if (tpi_c) {
		const json_t *signed_ = json_object_get(tpi_c, "signed"), *tpi;
		const char *mxid = str(signed_, "mxid"), *token = str(signed_, "token");
		if (streq(tcur, "ban"))
			return reject(c, "target is banned");
		if (!json_is_object(signed_))
			return reject(c, "third_party_invite has no signed");
		if (!mxid || !token)
			return reject(c, "third_party_invite.signed lacks mxid or token");
		if (!streq(mxid, target))
			return reject(c, "third_party_invite mxid differs from state_key");
		tpi = lookup(c, "m.room.third_party_invite", token);
		if (!tpi)
			return reject(c, "no m.room.third_party_invite for the token");
		if (!streq(event_sender(tpi), sender))
			return reject(c, "sender differs from the third-party invite's sender");
		if (tpi_signature_ok(signed_, tpi))
			return AUTH_ALLOW;
		return reject(c, "no valid signature on third_party_invite.signed");
	}
	if (!streq(membership_of(c, sender), "join"))
		return reject(c, "inviter is not joined");
	if (streq(tcur, "join") || streq(tcur, "ban"))
		return reject(c, "target is %s", tcur);
	if (user_pl(c, sender) >= level(c, "invite", 0))
		return AUTH_ALLOW;
	return reject(c, "sender's power level is below the invite level");
}

static int check_member(struct ctx *c, const json_t *ev)
{
	const json_t *content = json_object_get(ev, "content");
	const char *target = event_state_key(ev), *sender = event_sender(ev);
	const char *m = str(content, "membership");
	const json_t *jauth_j = json_object_get(content, "join_authorised_via_users_server");
	const char *jauth = NULL;
	const char *scur = membership_of(c, sender);
	int64_t spl, tpl;

	if (!target || !m)
		return reject(c, "member event without state_key or membership");
	if (c->rv->restricted && jauth_j) {
		jauth = json_string_value(jauth_j);
		if (!signed_by(c, ev, matrix_id_domain(jauth)))
			return reject(c, "not signed by the server of join_authorised_via_users_server");
	}
	if (strcmp(m, "join") == 0)
		return check_join(c, ev, sender, target, jauth);
	if (strcmp(m, "invite") == 0)
		return check_invite(c, ev, sender, target);
	if (strcmp(m, "leave") == 0) {
		if (streq(sender, target)) {
			if (streq(scur, "invite") || streq(scur, "join") ||
			    (c->rv->knock && streq(scur, "knock")))
				return AUTH_ALLOW;
			return reject(c, "cannot leave from membership %s", scur ? scur : "none");
		}
		if (!streq(scur, "join"))
			return reject(c, "kicker is not joined");
		spl = user_pl(c, sender);
		tpl = user_pl(c, target);
		if (streq(membership_of(c, target), "ban") && spl < level(c, "ban", 50))
			return reject(c, "unban needs the ban level");
		if (spl >= level(c, "kick", 50) && tpl < spl)
			return AUTH_ALLOW;
		return reject(c, "insufficient power to kick");
	}
	if (strcmp(m, "ban") == 0) {
		if (!streq(scur, "join"))
			return reject(c, "banner is not joined");
		spl = user_pl(c, sender);
		tpl = user_pl(c, target);
		if (spl >= level(c, "ban", 50) && tpl < spl)
			return AUTH_ALLOW;
		return reject(c, "insufficient power to ban");
	}
	if (strcmp(m, "knock") == 0 && c->rv->knock) {
		const char *rule = join_rule(c);
		if (!streq(rule, "knock") && !(c->rv->knock_restricted && streq(rule, "knock_restricted")))
			return reject(c, "join rule does not allow knocking");
		if (!streq(sender, target))
			return reject(c, "knock sender differs from state_key");
		if (streq(scur, "ban") || streq(scur, "invite") || streq(scur, "join"))
			return reject(c, "cannot knock from membership %s", scur);
		return AUTH_ALLOW;
	}
	return reject(c, "unknown membership %s", m);
}

/* ---- m.room.power_levels ---- */

static const char *const pl_fields[] = {
	"users_default", "events_default", "state_default", "ban", "redact", "kick", "invite", NULL,
};

static int check_pl_shape(struct ctx *c, const json_t *content)
{
	const json_t *users = json_object_get(content, "users"), *v;
	const char *key;
	int64_t n;

	for (const char *const *f = pl_fields; *f; f++) {
		v = json_object_get(content, *f);
		if (v && pl_value(c->rv, v, &n) < 0)
			return reject(c, "power level %s is not an integer", *f);
	}
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "notifications" : "events";
		const json_t *obj = json_object_get(content, name);
		if (!obj)
			continue;
		if (!json_is_object(obj)) {
			if (c->rv->integer_power_levels)
				return reject(c, "%s is not an object", name);
			continue;
		}
		json_object_foreach((json_t *)obj, key, v)
			if (pl_value(c->rv, v, &n) < 0)
				return reject(c, "%s.%s is not an integer", name, key);
	}
	if (users) {
		if (!json_is_object(users))
			return reject(c, "users is not an object");
		json_object_foreach((json_t *)users, key, v) {
			if (!matrix_user_id_valid(key))
				return reject(c, "users has an invalid user ID");
			if (pl_value(c->rv, v, &n) < 0)
				return reject(c, "users.%s is not an integer", key);
			if (c->rv->privileged_creators && is_creator(c, key))
				return reject(c, "users must not list a room creator");
		}
	}
	return AUTH_ALLOW;
}

/* Compares one map (events, notifications or users) of the old and new
 * content.  users=true applies the stricter rule for other users' entries. */
static int check_pl_map(struct ctx *c, const json_t *oldm, const json_t *newm, const char *name,
			int64_t spl, const char *sender, bool users)
{
	const char *key;
	json_t *v;
	int64_t o, n;

	if (!json_is_object(oldm))
		oldm = NULL;
	if (!json_is_object(newm))
		newm = NULL;
	json_object_foreach((json_t *)oldm, key, v) {
		json_t *nv = json_object_get(newm, key);
		bool has_o = pl_value(c->rv, v, &o) == 0, has_n = nv && pl_value(c->rv, nv, &n) == 0;
		if (!has_o || (has_n && n == o))
			continue;
		/* Changed or removed. */
		if (users && !streq(key, sender) && o >= spl)
			return reject(c, "cannot change the level of %s, at or above yours", key);
		if (!users && o > spl)
			return reject(c, "cannot change %s.%s, above your level", name, key);
	}
	json_object_foreach((json_t *)newm, key, v) {
		json_t *ov = json_object_get(oldm, key);
		bool has_o = ov && pl_value(c->rv, ov, &o) == 0;
		if (pl_value(c->rv, v, &n) < 0 || (has_o && n == o))
			continue;
		/* Added or changed. */
		if (n > spl)
			return reject(c, "cannot set %s.%s above your level", name, key);
	}
	return AUTH_ALLOW;
}

static int check_power_levels(struct ctx *c, const json_t *ev)
{
	const json_t *newc = json_object_get(ev, "content"), *oldc;
	const char *sender = event_sender(ev);
	int64_t spl, o, n;

	if (check_pl_shape(c, newc) != AUTH_ALLOW)
		return AUTH_REJECT;
	if (!c->pl)
		return AUTH_ALLOW;
	oldc = json_object_get(c->pl, "content");
	spl = user_pl(c, sender);
	for (const char *const *f = pl_fields; *f; f++) {
		const json_t *ov = json_object_get(oldc, *f), *nv = json_object_get(newc, *f);
		bool has_o = ov && pl_value(c->rv, ov, &o) == 0;
		bool has_n = nv && pl_value(c->rv, nv, &n) == 0;
		if (has_o == has_n && (!has_o || o == n))
			continue;
		if (has_o && o > spl)
			return reject(c, "cannot change %s, above your level", *f);
		if (has_n && n > spl)
			return reject(c, "cannot set %s above your level", *f);
	}
	if (check_pl_map(c, json_object_get(oldc, "events"), json_object_get(newc, "events"),
			 "events", spl, sender, false) != AUTH_ALLOW)
		return AUTH_REJECT;
	if (c->rv->notifications_pl &&
	    check_pl_map(c, json_object_get(oldc, "notifications"), json_object_get(newc, "notifications"),
			 "notifications", spl, sender, false) != AUTH_ALLOW)
		return AUTH_REJECT;
	return check_pl_map(c, json_object_get(oldc, "users"), json_object_get(newc, "users"),
			    "users", spl, sender, true);
}

/* ---- the rules ---- */

int auth_check(const struct room_version *rv, const json_t *ev, const struct auth_state *st,
	       char *reason, size_t reasonlen)
{
	struct ctx c = { rv, st, NULL, NULL, reason, reasonlen };
	const char *type = event_type(ev), *sender = event_sender(ev), *sk;
	const json_t *fed;

	if (reason && reasonlen)
		reason[0] = '\0';
	if (!rv || !st || !json_is_object(ev) || !type || !sender || !json_is_object(json_object_get(ev, "content")))
		return reject(&c, "malformed event");
	sk = event_state_key(ev);
	if (json_object_get(ev, "state_key") && !sk)
		return reject(&c, "state_key is not a string");
	if (strcmp(type, "m.room.create") == 0)
		return check_create(&c, ev);

	c.create = lookup(&c, "m.room.create", "");
	if (!c.create)
		return reject(&c, "no m.room.create event in the auth state");
	if (rv->room_id_is_create_hash) {
		char rid[EVENT_ID_BUF];
		if (event_create_room_id(rv, c.create, rid) < 0 || !streq(event_room_id(ev), rid))
			return reject(&c, "room_id is not the create event's ID");
	}
	fed = json_object_get(json_object_get(c.create, "content"), "m.federate");
	if (json_is_false(fed) &&
	    !streq(matrix_id_domain(sender), matrix_id_domain(event_sender(c.create))))
		return reject(&c, "room does not federate with the sender's server");

	if (rv->special_case_aliases && strcmp(type, "m.room.aliases") == 0) {
		if (!sk)
			return reject(&c, "m.room.aliases without state_key");
		if (!streq(matrix_id_domain(sender), sk))
			return reject(&c, "m.room.aliases state_key is not the sender's domain");
		return AUTH_ALLOW;
	}

	c.pl = lookup(&c, "m.room.power_levels", "");
	if (strcmp(type, "m.room.member") == 0)
		return check_member(&c, ev);
	if (!streq(membership_of(&c, sender), "join"))
		return reject(&c, "sender is not joined to the room");
	if (strcmp(type, "m.room.third_party_invite") == 0) {
		if (user_pl(&c, sender) >= level(&c, "invite", 0))
			return AUTH_ALLOW;
		return reject(&c, "sender's power level is below the invite level");
	}
	if (required_level(&c, ev) > user_pl(&c, sender))
		return reject(&c, "sender's power level is below the level required for %s", type);
	if (sk && sk[0] == '@' && strcmp(sk, sender) != 0)
		return reject(&c, "state_key is another user's ID");
	if (strcmp(type, "m.room.power_levels") == 0)
		return check_power_levels(&c, ev);
	if (rv->redaction_auth_rule && strcmp(type, "m.room.redaction") == 0) {
		const char *redacts = event_redacts(rv, ev);
		if (user_pl(&c, sender) >= level(&c, "redact", 50))
			return AUTH_ALLOW;
		if (streq(matrix_id_domain(redacts), matrix_id_domain(str(ev, "event_id"))))
			return AUTH_ALLOW;
		return reject(&c, "cannot redact another server's event below the redact level");
	}
	return AUTH_ALLOW;
}

/* ---- auth events ---- */

size_t auth_events_selection(const struct room_version *rv, const json_t *ev,
			     struct auth_key keys[AUTH_MAX_KEYS])
{
	const char *type = event_type(ev), *m, *target;
	const json_t *content = json_object_get(ev, "content");
	size_t n = 0;

	if (!type || strcmp(type, "m.room.create") == 0)
		return 0;
	if (!rv->room_id_is_create_hash)
		keys[n++] = (struct auth_key){ "m.room.create", "" };
	keys[n++] = (struct auth_key){ "m.room.power_levels", "" };
	if (event_sender(ev))
		keys[n++] = (struct auth_key){ "m.room.member", event_sender(ev) };
	if (strcmp(type, "m.room.member") != 0 || !(target = event_state_key(ev)))
		return n;
	m = str(content, "membership");
	keys[n++] = (struct auth_key){ "m.room.member", target };
	if (streq(m, "join") || streq(m, "invite") || streq(m, "knock"))
		keys[n++] = (struct auth_key){ "m.room.join_rules", "" };
	if (streq(m, "invite")) {
		const char *token = str(json_object_get(json_object_get(content, "third_party_invite"), "signed"), "token");
		if (token)
			keys[n++] = (struct auth_key){ "m.room.third_party_invite", token };
	}
	if (streq(m, "join") && rv->restricted) {
		const char *j = str(content, "join_authorised_via_users_server");
		if (j)
			keys[n++] = (struct auth_key){ "m.room.member", j };
	}
	return n;
}

int auth_check_auth_events(const struct room_version *rv, const json_t *ev,
			   const json_t *const *auth_events, size_t n, char *reason, size_t reasonlen)
{
	struct auth_state st = { NULL, NULL, NULL };
	struct ctx c = { rv, &st, NULL, NULL, reason, reasonlen };
	struct auth_key keys[AUTH_MAX_KEYS];
	size_t nkeys = auth_events_selection(rv, ev, keys);
	bool have_create = false;

	for (size_t i = 0; i < n; i++) {
		const char *t = event_type(auth_events[i]), *sk = event_state_key(auth_events[i]);
		bool wanted = false;
		if (!t || !sk)
			return reject(&c, "auth event is not a state event");
		for (size_t j = 0; j < i; j++)
			if (streq(t, event_type(auth_events[j])) && streq(sk, event_state_key(auth_events[j])))
				return reject(&c, "duplicate auth event %s/%s", t, sk);
		for (size_t k = 0; k < nkeys && !wanted; k++)
			wanted = streq(t, keys[k].type) && streq(sk, keys[k].state_key);
		if (!wanted)
			return reject(&c, "auth event %s/%s is not one the selection picks", t, sk);
		if (strcmp(t, "m.room.create") == 0)
			have_create = true;
		if (!streq(event_room_id(auth_events[i]), event_room_id(ev)))
			return reject(&c, "auth event from another room");
	}
	if (!rv->room_id_is_create_hash && !have_create)
		return reject(&c, "no m.room.create among the auth events");
	return AUTH_ALLOW;
}

const json_t *auth_list_lookup(void *arg, const char *type, const char *state_key)
{
	const struct auth_list *l = arg;

	for (size_t i = 0; i < l->n; i++)
		if (streq(event_type(l->events[i]), type) && streq(event_state_key(l->events[i]), state_key))
			return l->events[i];
	return NULL;
}

int64_t auth_user_power_level(const struct room_version *rv, const struct auth_state *st,
			      const char *user)
{
	struct ctx c = { rv, st, NULL, NULL, NULL, 0 };

	c.create = lookup(&c, "m.room.create", "");
	c.pl = lookup(&c, "m.room.power_levels", "");
	return user_pl(&c, user);
}

int auth_redaction_applies(const struct room_version *rv, const struct auth_state *st,
			   const json_t *redaction, const json_t *original)
{
	struct ctx c = { rv, st, NULL, NULL, NULL, 0 };
	const char *rs = event_sender(redaction), *os = event_sender(original);

	c.create = lookup(&c, "m.room.create", "");
	c.pl = lookup(&c, "m.room.power_levels", "");
	if (rs && user_pl(&c, rs) >= level(&c, "redact", 50))
		return 1;
	return streq(matrix_id_domain(rs), matrix_id_domain(os));
}
