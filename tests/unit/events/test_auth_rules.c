/* Table tests for homeserver/events/auth_rules.c.
 *
 * Each row is run against every room version in [vmin, vmax].  A room is
 * built per run: @alice:a created it and is joined (PL 100; in v12 she is a
 * creator and absent from users), @mod:a (PL 50) and @bob:b (PL 0) are
 * joined, @eve:e has no membership, join rule "invite".  A row's state
 * column replaces (or with content null removes) entries of that room; its
 * event column is [type, state_key, sender, content].  JSON in the table
 * uses ' for " to stay readable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/base64.h"
#include "common/canonjson.h"
#include "common/crypto.h"
#include "homeserver/events/event_sign.h"
#include "homeserver/events/auth_rules.h"
#include "homeserver/events/event.h"
#include "homeserver/events/room_version.h"

enum {
	F_PREV_CREATE = 1,     /* prev_events = [the create event] */
	F_NO_PREV = 2,         /* prev_events = [] */
	F_ROOM_ID = 4,         /* v12 create event carrying a room_id */
	F_ONLY_CREATE = 8,     /* the room state is just the create event */
	F_JAUTH_UNSIGNED = 16, /* no signature from join_authorised_via_users_server's server */
	F_NO_CREATE = 32,      /* the room state lacks the create event */
	F_KEEP_CREATOR = 64,   /* v12: keep @alice:a in power level users */
};

struct row {
	const char *name;
	int vmin, vmax;
	const char *state;
	const char *ev;
	int flags;
	int allow;
};

#define ALL 1, 12
#define Y 1
#define N 0

static const struct row rows[] = {
	/* ---- m.room.create ---- */
	{ "create ok", ALL, NULL, "['m.room.create','','@alice:a',{'creator':'@alice:a'}]", F_NO_PREV, Y },
	{ "create without creator", 1, 10, NULL, "['m.room.create','','@alice:a',{}]", F_NO_PREV, N },
	{ "create without creator v11+", 11, 12, NULL, "['m.room.create','','@alice:a',{}]", F_NO_PREV, Y },
	{ "create with prev_events", ALL, NULL, "['m.room.create','','@alice:a',{'creator':'@alice:a'}]", 0, N },
	{ "create unknown room_version", ALL, NULL, "['m.room.create','','@alice:a',{'creator':'@alice:a','room_version':'99'}]", F_NO_PREV, N },
	{ "create non-string room_version", ALL, NULL, "['m.room.create','','@alice:a',{'creator':'@alice:a','room_version':5}]", F_NO_PREV, N },
	{ "create known room_version", ALL, NULL, "['m.room.create','','@alice:a',{'creator':'@alice:a','room_version':'5'}]", F_NO_PREV, Y },
	{ "create room_id domain mismatch", 1, 11, NULL, "['m.room.create','','@alice:other',{'creator':'@alice:other'}]", F_NO_PREV, N },
	{ "create any sender domain v12", 12, 12, NULL, "['m.room.create','','@alice:other',{}]", F_NO_PREV, Y },
	{ "create with room_id v12", 12, 12, NULL, "['m.room.create','','@alice:a',{}]", F_NO_PREV | F_ROOM_ID, N },
	{ "create additional_creators ok", 12, 12, NULL, "['m.room.create','','@alice:a',{'additional_creators':['@c:c']}]", F_NO_PREV, Y },
	{ "create additional_creators not array", 12, 12, NULL, "['m.room.create','','@alice:a',{'additional_creators':'@c:c'}]", F_NO_PREV, N },
	{ "create additional_creators bad id", 12, 12, NULL, "['m.room.create','','@alice:a',{'additional_creators':['c']}]", F_NO_PREV, N },
	{ "create additional_creators ignored before v12", 11, 11, NULL, "['m.room.create','','@alice:a',{'additional_creators':'x'}]", F_NO_PREV, Y },
	/* ---- general ---- */
	{ "no create in state", ALL, NULL, "['m.room.message',null,'@bob:b',{}]", F_NO_CREATE, N },
	{ "m.federate false, other server", ALL, "[['m.room.create','','@alice:a',{'creator':'@alice:a','m.federate':false}]]", "['m.room.message',null,'@bob:b',{}]", 0, N },
	{ "m.federate false, same server", ALL, "[['m.room.create','','@alice:a',{'creator':'@alice:a','m.federate':false}]]", "['m.room.message',null,'@mod:a',{}]", 0, Y },
	{ "m.federate true, other server", ALL, "[['m.room.create','','@alice:a',{'creator':'@alice:a','m.federate':true}]]", "['m.room.message',null,'@bob:b',{}]", 0, Y },
	/* ---- join ---- */
	{ "creator's first join", ALL, NULL, "['m.room.member','@alice:a','@alice:a',{'membership':'join'}]", F_ONLY_CREATE | F_PREV_CREATE, Y },
	{ "non-creator join after create", ALL, NULL, "['m.room.member','@bob:b','@bob:b',{'membership':'join'}]", F_ONLY_CREATE | F_PREV_CREATE, N },
	{ "creator join, prev not create", ALL, NULL, "['m.room.member','@alice:a','@alice:a',{'membership':'join'}]", F_ONLY_CREATE, N },
	{ "join public", ALL, "[['m.room.join_rules','','@alice:a',{'join_rule':'public'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, Y },
	{ "join invite rule uninvited", ALL, NULL, "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, N },
	{ "join without join rules uninvited", ALL, "[['m.room.join_rules','',null,null]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, N },
	{ "join invite rule invited", ALL, "[['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, Y },
	{ "join invite rule already joined", ALL, NULL, "['m.room.member','@bob:b','@bob:b',{'membership':'join','displayname':'B'}]", 0, Y },
	{ "join for someone else", ALL, "[['m.room.join_rules','','@alice:a',{'join_rule':'public'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'join'}]", 0, N },
	{ "join while banned, public", ALL, "[['m.room.join_rules','','@alice:a',{'join_rule':'public'}],['m.room.member','@eve:e','@mod:a',{'membership':'ban'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, N },
	{ "join private rule", ALL, "[['m.room.join_rules','','@alice:a',{'join_rule':'private'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, N },
	{ "join knock rule invited v7+", 7, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}],['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, Y },
	{ "join knock rule invited before v7", 1, 6, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}],['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, N },
	{ "join knock rule uninvited", ALL, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, N },
	/* ---- restricted joins ---- */
	{ "restricted join authorised", 8, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'restricted','allow':[]}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", 0, Y },
	{ "restricted join before v8", 1, 7, "[['m.room.join_rules','','@alice:a',{'join_rule':'restricted','allow':[]}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", 0, N },
	{ "restricted join unsigned by authoriser", 8, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'restricted'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", F_JAUTH_UNSIGNED, N },
	{ "restricted join without authoriser", 8, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'restricted'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, N },
	{ "restricted join, authoriser not joined", 8, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'restricted'}],['m.room.member','@mod:a','@mod:a',{'membership':'leave'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", 0, N },
	{ "restricted join, authoriser cannot invite", 8, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'restricted'}],['m.room.power_levels','','@alice:a',{'invite':60,'users':{'@mod:a':50}}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", 0, N },
	{ "restricted join, already invited", 8, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'restricted'}],['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join'}]", 0, Y },
	{ "restricted join while banned", 8, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'restricted'}],['m.room.member','@eve:e','@mod:a',{'membership':'ban'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", 0, N },
	{ "knock_restricted join v10+", 10, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock_restricted'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", 0, Y },
	{ "knock_restricted join before v10", 1, 9, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock_restricted'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", 0, N },
	{ "jauth on a public join must be signed", 8, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'public'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", F_JAUTH_UNSIGNED, N },
	{ "jauth ignored before v8", 1, 7, "[['m.room.join_rules','','@alice:a',{'join_rule':'public'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'join','join_authorised_via_users_server':'@mod:a'}]", F_JAUTH_UNSIGNED, Y },
	/* ---- knock ---- */
	{ "knock v7+", 7, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]", 0, Y },
	{ "knock before v7", 1, 6, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]", 0, N },
	{ "knock on invite rule", ALL, NULL, "['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]", 0, N },
	{ "knock on knock_restricted v10+", 10, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock_restricted'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]", 0, Y },
	{ "knock on knock_restricted v7-9", 7, 9, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock_restricted'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]", 0, N },
	{ "knock for someone else", 7, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'knock'}]", 0, N },
	{ "knock while banned", 7, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}],['m.room.member','@eve:e','@mod:a',{'membership':'ban'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]", 0, N },
	{ "knock while invited", 7, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}],['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]", 0, N },
	{ "knock while joined", 7, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}]]", "['m.room.member','@bob:b','@bob:b',{'membership':'knock'}]", 0, N },
	{ "knock after leaving", 7, 12, "[['m.room.join_rules','','@alice:a',{'join_rule':'knock'}],['m.room.member','@eve:e','@eve:e',{'membership':'leave'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]", 0, Y },
	/* ---- invite ---- */
	{ "invite by member", ALL, NULL, "['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]", 0, Y },
	{ "invite below invite level", ALL, "[['m.room.power_levels','','@alice:a',{'invite':50,'users':{'@mod:a':50}}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]", 0, N },
	{ "invite at invite level", ALL, "[['m.room.power_levels','','@alice:a',{'invite':50,'users':{'@mod:a':50}}]]", "['m.room.member','@eve:e','@mod:a',{'membership':'invite'}]", 0, Y },
	{ "invite by non-member", ALL, NULL, "['m.room.member','@x:x','@eve:e',{'membership':'invite'}]", 0, N },
	{ "invite by invited user", ALL, "[['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.member','@x:x','@eve:e',{'membership':'invite'}]", 0, N },
	{ "invite of a joined user", ALL, NULL, "['m.room.member','@mod:a','@bob:b',{'membership':'invite'}]", 0, N },
	{ "invite of a banned user", ALL, "[['m.room.member','@eve:e','@mod:a',{'membership':'ban'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]", 0, N },
	{ "re-invite of an invited user", ALL, "[['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.member','@eve:e','@mod:a',{'membership':'invite'}]", 0, Y },
	{ "invite of a user who left", ALL, "[['m.room.member','@eve:e','@eve:e',{'membership':'leave'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]", 0, Y },
	/* ---- leave and kick ---- */
	{ "leave when joined", ALL, NULL, "['m.room.member','@bob:b','@bob:b',{'membership':'leave'}]", 0, Y },
	{ "reject an invite", ALL, "[['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'leave'}]", 0, Y },
	{ "leave without membership", ALL, NULL, "['m.room.member','@eve:e','@eve:e',{'membership':'leave'}]", 0, N },
	{ "leave when already left", ALL, "[['m.room.member','@eve:e','@eve:e',{'membership':'leave'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'leave'}]", 0, N },
	{ "leave when banned", ALL, "[['m.room.member','@eve:e','@mod:a',{'membership':'ban'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'leave'}]", 0, N },
	{ "rescind a knock v7+", 7, 12, "[['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'leave'}]", 0, Y },
	{ "rescind a knock before v7", 1, 6, "[['m.room.member','@eve:e','@eve:e',{'membership':'knock'}]]", "['m.room.member','@eve:e','@eve:e',{'membership':'leave'}]", 0, N },
	{ "kick by moderator", ALL, NULL, "['m.room.member','@bob:b','@mod:a',{'membership':'leave'}]", 0, Y },
	{ "kick of higher user", ALL, NULL, "['m.room.member','@alice:a','@mod:a',{'membership':'leave'}]", 0, N },
	{ "kick of equal user", ALL, "[['m.room.power_levels','','@alice:a',{'users':{'@alice:a':100,'@mod:a':50,'@bob:b':50}}]]", "['m.room.member','@bob:b','@mod:a',{'membership':'leave'}]", 0, N },
	{ "kick below kick level", ALL, NULL, "['m.room.member','@mod:a','@bob:b',{'membership':'leave'}]", 0, N },
	{ "kick with raised kick level", ALL, "[['m.room.power_levels','','@alice:a',{'kick':60,'users':{'@alice:a':100,'@mod:a':50}}]]", "['m.room.member','@bob:b','@mod:a',{'membership':'leave'}]", 0, N },
	{ "kick by non-member", ALL, NULL, "['m.room.member','@bob:b','@eve:e',{'membership':'leave'}]", 0, N },
	{ "rescind another's invite", ALL, "[['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.member','@eve:e','@mod:a',{'membership':'leave'}]", 0, Y },
	{ "unban by moderator", ALL, "[['m.room.member','@eve:e','@mod:a',{'membership':'ban'}]]", "['m.room.member','@eve:e','@mod:a',{'membership':'leave'}]", 0, Y },
	{ "unban below ban level", ALL, "[['m.room.member','@eve:e','@mod:a',{'membership':'ban'}],['m.room.power_levels','','@alice:a',{'ban':60,'users':{'@alice:a':100,'@mod:a':50}}]]", "['m.room.member','@eve:e','@mod:a',{'membership':'leave'}]", 0, N },
	/* ---- ban ---- */
	{ "ban by moderator", ALL, NULL, "['m.room.member','@bob:b','@mod:a',{'membership':'ban'}]", 0, Y },
	{ "ban of an outsider", ALL, NULL, "['m.room.member','@eve:e','@mod:a',{'membership':'ban'}]", 0, Y },
	{ "ban by plain member", ALL, NULL, "['m.room.member','@eve:e','@bob:b',{'membership':'ban'}]", 0, N },
	{ "ban of higher user", ALL, NULL, "['m.room.member','@alice:a','@mod:a',{'membership':'ban'}]", 0, N },
	{ "ban by non-member", ALL, "[['m.room.member','@mod:a','@mod:a',{'membership':'leave'}]]", "['m.room.member','@bob:b','@mod:a',{'membership':'ban'}]", 0, N },
	{ "ban by creator", ALL, NULL, "['m.room.member','@mod:a','@alice:a',{'membership':'ban'}]", 0, Y },
	{ "self ban of the creator", ALL, NULL, "['m.room.member','@alice:a','@alice:a',{'membership':'ban'}]", 0, N },
	/* ---- malformed membership ---- */
	{ "unknown membership", ALL, NULL, "['m.room.member','@bob:b','@bob:b',{'membership':'dance'}]", 0, N },
	{ "member without membership", ALL, NULL, "['m.room.member','@bob:b','@bob:b',{}]", 0, N },
	{ "member without state_key", ALL, NULL, "['m.room.member',null,'@bob:b',{'membership':'join'}]", 0, N },
	{ "member with non-string membership", ALL, NULL, "['m.room.member','@bob:b','@bob:b',{'membership':1}]", 0, N },
	/* ---- third-party invites ---- */
	{ "third_party_invite event", ALL, NULL, "['m.room.third_party_invite','tok','@bob:b',{'display_name':'x','key_validity_url':'u','public_key':'k'}]", 0, Y },
	{ "third_party_invite below invite level", ALL, "[['m.room.power_levels','','@alice:a',{'invite':50,'users':{'@alice:a':100,'@mod:a':50}}]]", "['m.room.third_party_invite','tok','@bob:b',{'public_key':'k'}]", 0, N },
	{ "third_party_invite by non-member", ALL, NULL, "['m.room.third_party_invite','tok','@eve:e',{'public_key':'k'}]", 0, N },
	{ "3pid invite without signed", ALL, "[['m.room.third_party_invite','tok','@bob:b',{'public_key':'k'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite','third_party_invite':{'display_name':'e'}}]", 0, N },
	{ "3pid invite signed lacks token", ALL, "[['m.room.third_party_invite','tok','@bob:b',{'public_key':'k'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite','third_party_invite':{'signed':{'mxid':'@eve:e'}}}]", 0, N },
	{ "3pid invite mxid mismatch", ALL, "[['m.room.third_party_invite','tok','@bob:b',{'public_key':'k'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite','third_party_invite':{'signed':{'mxid':'@x:x','token':'tok'}}}]", 0, N },
	{ "3pid invite unknown token", ALL, "[['m.room.third_party_invite','tok','@bob:b',{'public_key':'k'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite','third_party_invite':{'signed':{'mxid':'@eve:e','token':'other'}}}]", 0, N },
	{ "3pid invite sender mismatch", ALL, "[['m.room.third_party_invite','tok','@mod:a',{'public_key':'k'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite','third_party_invite':{'signed':{'mxid':'@eve:e','token':'tok'}}}]", 0, N },
	{ "3pid invite bad signature", ALL, "[['m.room.third_party_invite','tok','@bob:b',{'public_key':'Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite','third_party_invite':{'signed':{'mxid':'@eve:e','token':'tok','signatures':{'id':{'ed25519:0':'AAAA'}}}}}]", 0, N },
	{ "3pid invite of banned target", ALL, "[['m.room.third_party_invite','tok','@bob:b',{'public_key':'k'}],['m.room.member','@eve:e','@mod:a',{'membership':'ban'}]]", "['m.room.member','@eve:e','@bob:b',{'membership':'invite','third_party_invite':{'signed':{'mxid':'@eve:e','token':'tok'}}}]", 0, N },
	/* ---- ordinary events ---- */
	{ "message by member", ALL, NULL, "['m.room.message',null,'@bob:b',{'body':'hi'}]", 0, Y },
	{ "message by non-member", ALL, NULL, "['m.room.message',null,'@eve:e',{'body':'hi'}]", 0, N },
	{ "message by invited user", ALL, "[['m.room.member','@eve:e','@bob:b',{'membership':'invite'}]]", "['m.room.message',null,'@eve:e',{}]", 0, N },
	{ "message by banned user", ALL, "[['m.room.member','@bob:b','@mod:a',{'membership':'ban'}]]", "['m.room.message',null,'@bob:b',{}]", 0, N },
	{ "message below events_default", ALL, "[['m.room.power_levels','','@alice:a',{'events_default':10,'users':{'@alice:a':100}}]]", "['m.room.message',null,'@bob:b',{}]", 0, N },
	{ "message type level override", ALL, "[['m.room.power_levels','','@alice:a',{'events':{'m.room.message':10},'users':{'@alice:a':100}}]]", "['m.room.message',null,'@bob:b',{}]", 0, N },
	{ "state below state_default", ALL, NULL, "['m.room.topic','','@bob:b',{'topic':'t'}]", 0, N },
	{ "state at state_default", ALL, NULL, "['m.room.topic','','@mod:a',{'topic':'t'}]", 0, Y },
	{ "state type level lowered", ALL, "[['m.room.power_levels','','@alice:a',{'events':{'m.room.topic':0},'users':{'@alice:a':100}}]]", "['m.room.topic','','@bob:b',{'topic':'t'}]", 0, Y },
	{ "state above level", ALL, NULL, "['m.room.tombstone','','@mod:a',{}]", 0, N },
	{ "state without power levels event, creator", ALL, "[['m.room.power_levels','',null,null]]", "['m.room.topic','','@alice:a',{'topic':'t'}]", 0, Y },
	{ "state without power levels event, member", ALL, "[['m.room.power_levels','',null,null]]", "['m.room.topic','','@bob:b',{'topic':'t'}]", 0, N },
	{ "message without power levels event", ALL, "[['m.room.power_levels','',null,null]]", "['m.room.message',null,'@bob:b',{}]", 0, Y },
	{ "state_key of another user", ALL, "[['m.room.power_levels','','@alice:a',{'state_default':0,'users':{'@alice:a':100}}]]", "['org.example','@mod:a','@bob:b',{}]", 0, N },
	{ "state_key of own user", ALL, "[['m.room.power_levels','','@alice:a',{'state_default':0,'users':{'@alice:a':100}}]]", "['org.example','@bob:b','@bob:b',{}]", 0, Y },
	{ "stringy users_default before v10", 1, 9, "[['m.room.power_levels','','@alice:a',{'users_default':' +50 ','users':{'@alice:a':100}}]]", "['m.room.topic','','@bob:b',{}]", 0, Y },
	{ "stringy users_default ignored v10+", 10, 12, "[['m.room.power_levels','','@alice:a',{'users_default':' +50 ','users':{'@alice:a':100}}]]", "['m.room.topic','','@bob:b',{}]", 0, N },
	/* ---- m.room.aliases ---- */
	{ "aliases for own domain v1-5", 1, 5, NULL, "['m.room.aliases','e','@eve:e',{'aliases':['#x:e']}]", 0, Y },
	{ "aliases for own domain v6+", 6, 12, NULL, "['m.room.aliases','e','@eve:e',{'aliases':['#x:e']}]", 0, N },
	{ "aliases for other domain", 1, 5, NULL, "['m.room.aliases','a','@bob:b',{}]", 0, N },
	{ "aliases without state_key", 1, 5, NULL, "['m.room.aliases',null,'@bob:b',{}]", 0, N },
	{ "aliases by member v6+ below state level", 6, 12, NULL, "['m.room.aliases','b','@bob:b',{}]", 0, N },
	/* ---- redactions ---- */
	{ "redact own server's event v1-2", 1, 2, NULL, "['m.room.redaction',null,'@bob:b',{'redacts':'$x:b'}]", 0, Y },
	{ "redact other server's event v1-2", 1, 2, NULL, "['m.room.redaction',null,'@bob:b',{'redacts':'$x:a'}]", 0, N },
	{ "redact other server's event at redact level v1-2", 1, 2, NULL, "['m.room.redaction',null,'@mod:a',{'redacts':'$x:b'}]", 0, Y },
	{ "redaction passes auth v3+", 3, 12, NULL, "['m.room.redaction',null,'@bob:b',{'redacts':'$x'}]", 0, Y },
	{ "redaction below its event level v3+", 3, 12, "[['m.room.power_levels','','@alice:a',{'events':{'m.room.redaction':50},'users':{'@alice:a':100}}]]", "['m.room.redaction',null,'@bob:b',{'redacts':'$x'}]", 0, N },
	{ "redaction by non-member", ALL, NULL, "['m.room.redaction',null,'@eve:e',{'redacts':'$x:e'}]", 0, N },
	/* ---- m.room.power_levels ---- */
	{ "first power levels", ALL, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'users':{'@mod:a':50}}]", 0, Y },
	{ "power levels by plain member", ALL, NULL, "['m.room.power_levels','','@bob:b',{'users':{'@mod:a':50}}]", 0, N },
	{ "raise member to own level", ALL, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':50,'@bob:b':50},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':75}}]", 0, Y },
	{ "raise member above own level", ALL, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':50,'@bob:b':60},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':75}}]", 0, N },
	{ "demote higher user", 1, 11, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':10,'@mod:a':50},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':75}}]", 0, N },
	{ "demote self", ALL, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':0},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':75}}]", 0, Y },
	{ "remove equal user", ALL, "[['m.room.power_levels','','@alice:a',{'users':{'@alice:a':100,'@mod:a':50,'@bob:b':50},'events':{'m.room.power_levels':50}}]]", "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50}}]", 0, N },
	{ "creator promotes moderator", ALL, NULL, "['m.room.power_levels','','@alice:a',{'users':{'@alice:a':100,'@mod:a':100},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':75}}]", 0, Y },
	{ "lower ban level", ALL, NULL, "['m.room.power_levels','','@mod:a',{'ban':40,'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':75}}]", 0, Y },
	{ "raise kick level above own", ALL, NULL, "['m.room.power_levels','','@mod:a',{'kick':60,'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':75}}]", 0, N },
	{ "raise users_default above own", ALL, NULL, "['m.room.power_levels','','@mod:a',{'users_default':60,'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':75}}]", 0, N },
	{ "change a level above own", ALL, "[['m.room.power_levels','','@alice:a',{'redact':80,'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50}}]]", "['m.room.power_levels','','@mod:a',{'redact':50,'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50}}]", 0, N },
	{ "change event level above own", ALL, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50,'m.room.tombstone':50},'notifications':{'room':75}}]", 0, N },
	{ "remove event level above own", ALL, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50},'notifications':{'room':75}}]", 0, N },
	{ "add event level above own", ALL, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50,'m.room.tombstone':100,'x':60},'notifications':{'room':75}}]", 0, N },
	{ "add event level at own", ALL, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50,'m.room.tombstone':100,'x':50},'notifications':{'room':75}}]", 0, Y },
	{ "change notifications above own v6+", 6, 12, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':50}}]", 0, N },
	{ "change notifications above own v1-5", 1, 5, NULL, "['m.room.power_levels','','@mod:a',{'users':{'@alice:a':100,'@mod:a':50},'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':50}}]", 0, Y },
	{ "users key not a user ID", ALL, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'users':{'bob':50}}]", 0, N },
	{ "users not an object", ALL, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'users':[]}]", 0, N },
	{ "users value not a number", ALL, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'users':{'@bob:b':'abc'}}]", 0, N },
	{ "users value stringy before v10", 1, 9, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'users':{'@bob:b':'050'}}]", 0, Y },
	{ "users value stringy v10+", 10, 12, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'users':{'@bob:b':'50'}}]", 0, N },
	{ "ban stringy before v10", 1, 9, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'ban':'50'}]", 0, Y },
	{ "ban stringy v10+", 10, 12, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'ban':'50'}]", 0, N },
	{ "ban a bool", ALL, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'ban':true}]", 0, N },
	{ "events not an object v10+", 10, 12, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'events':5}]", 0, N },
	{ "events value stringy v10+", 10, 12, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'events':{'x':'5'}}]", 0, N },
	{ "notifications value stringy v10+", 10, 12, "[['m.room.power_levels','',null,null]]", "['m.room.power_levels','','@alice:a',{'notifications':{'room':'5'}}]", 0, N },
	{ "power levels with a non-empty state_key", ALL, NULL, "['m.room.power_levels','x','@mod:a',{'users':{'@mod:a':1000}}]", 0, N },
	/* ---- v12 room creators ---- */
	{ "v12 users lists the creator", 12, 12, NULL, "['m.room.power_levels','','@alice:a',{'users':{'@alice:a':100,'@mod:a':50}}]", F_KEEP_CREATOR, N },
	{ "v11 users lists the creator", 11, 11, NULL, "['m.room.power_levels','','@alice:a',{'users':{'@alice:a':100,'@mod:a':50}}]", 0, Y },
	{ "v12 users lists an additional creator", 12, 12, "[['m.room.create','','@alice:a',{'additional_creators':['@c:c']}]]", "['m.room.power_levels','','@alice:a',{'users':{'@c:c':1}}]", 0, N },
	{ "v12 additional creator bans", 12, 12, "[['m.room.create','','@alice:a',{'additional_creators':['@c:c']}],['m.room.member','@c:c','@c:c',{'membership':'join'}]]", "['m.room.member','@mod:a','@c:c',{'membership':'ban'}]", 0, Y },
	{ "v11 'additional creator' has no power", 11, 11, "[['m.room.create','','@alice:a',{'additional_creators':['@c:c']}],['m.room.member','@c:c','@c:c',{'membership':'join'}]]", "['m.room.member','@mod:a','@c:c',{'membership':'ban'}]", 0, N },
	{ "v12 creator cannot be kicked by PL 1000", 12, 12, "[['m.room.power_levels','','@alice:a',{'users':{'@mod:a':1000}}]]", "['m.room.member','@alice:a','@mod:a',{'membership':'leave'}]", 0, N },
	{ "v11 creator can be kicked by PL 1000", 11, 11, "[['m.room.power_levels','','@alice:a',{'users':{'@mod:a':1000}}]]", "['m.room.member','@alice:a','@mod:a',{'membership':'leave'}]", 0, Y },
	{ "v12 creator kicks PL 1000", 12, 12, "[['m.room.power_levels','','@alice:a',{'users':{'@mod:a':1000}}]]", "['m.room.member','@mod:a','@alice:a',{'membership':'leave'}]", 0, Y },
	{ "v12 additional creator joins first", 12, 12, "[['m.room.create','','@alice:a',{'additional_creators':['@c:c']}]]", "['m.room.member','@c:c','@c:c',{'membership':'join'}]", F_ONLY_CREATE | F_PREV_CREATE, N },
};

static json_t *Jq(const char *s)
{
	char *t = strdup(s), err[160];
	json_t *v;

	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = canonjson_parse(t, strlen(t), 0, err, sizeof(err));
	if (!v)
		fail_msg("bad table JSON (%s): %s", err, t);
	free(t);
	return v;
}

struct room {
	const struct room_version *rv;
	json_t *state; /* array of events */
	char room_id[EVENT_ID_BUF];
	char create_id[EVENT_ID_BUF];
	int counter;
};

/* v12 forbids listing creators in users; rows written for all versions
 * list @alice:a, so she is dropped there unless the row is about that. */
static void strip_creator(int v, int flags, const char *type, json_t *content)
{
	if (v >= 12 && !(flags & F_KEEP_CREATOR) && strcmp(type, "m.room.power_levels") == 0)
		json_object_del(json_object_get(content, "users"), "@alice:a");
}

static json_t *make_event(struct room *r, const char *type, const json_t *sk, const char *sender,
			  const json_t *content, int is_create)
{
	char id[64];
	json_t *ev = json_pack("{s:s, s:s, s:O, s:i, s:i, s:{s:s}, s:{s:{s:s}}, s:[], s:[]}",
			       "type", type, "sender", sender, "content", content,
			       "origin_server_ts", 1000 + r->counter, "depth", 3,
			       "hashes", "sha256", "x", "signatures", matrix_id_domain(sender), "ed25519:1", "s",
			       "auth_events", "prev_events");
	if (json_is_string(sk))
		json_object_set(ev, "state_key", (json_t *)sk);
	if (!is_create || !r->rv->room_id_is_create_hash)
		json_object_set_new(ev, "room_id", json_string(is_create && !r->rv->room_id_is_create_hash ? "!r:a" : r->room_id));
	if (r->rv->event_id == EVENT_ID_V1) {
		snprintf(id, sizeof(id), "$%d:%s", r->counter, matrix_id_domain(sender));
		json_object_set_new(ev, "event_id", json_string(id));
	}
	r->counter++;
	/* Before v11 redacts is a top-level key. */
	if (strcmp(type, "m.room.redaction") == 0 && !r->rv->redacts_in_content) {
		json_t *c = json_object_get(ev, "content");
		json_object_set(ev, "redacts", json_object_get(c, "redacts"));
		json_object_del(c, "redacts");
	}
	return ev;
}

static void add_prev(struct room *r, json_t *ev, const char *id)
{
	json_t *prev = json_object_get(ev, "prev_events");
	if (r->rv->event_id == EVENT_ID_V1)
		json_array_append_new(prev, json_pack("[s,{}]", id));
	else
		json_array_append_new(prev, json_string(id));
}

/* Builds the room's state for one row. */
static void build_room(struct room *r, int v, const struct row *row)
{
	char vs[8];
	json_t *tuples, *over = row->state ? Jq(row->state) : json_array();
	size_t i, j;
	json_t *t, *o;

	snprintf(vs, sizeof(vs), "%d", v);
	memset(r, 0, sizeof(*r));
	r->rv = room_version_get(vs);
	assert_non_null(r->rv);
	tuples = Jq("[['m.room.create','','@alice:a',{}],"
		    "['m.room.member','@alice:a','@alice:a',{'membership':'join'}],"
		    "['m.room.power_levels','','@alice:a',{'users':{'@alice:a':100,'@mod:a':50},"
		    "'events':{'m.room.power_levels':50,'m.room.tombstone':100},'notifications':{'room':75}}],"
		    "['m.room.join_rules','','@alice:a',{'join_rule':'invite'}],"
		    "['m.room.member','@mod:a','@mod:a',{'membership':'join'}],"
		    "['m.room.member','@bob:b','@bob:b',{'membership':'join'}]]");
	if (row->flags & F_ONLY_CREATE)
		while (json_array_size(tuples) > 1)
			json_array_remove(tuples, 1);
	json_array_foreach(over, i, o) {
		int found = 0;
		json_array_foreach(tuples, j, t) {
			if (json_equal(json_array_get(t, 0), json_array_get(o, 0)) &&
			    json_equal(json_array_get(t, 1), json_array_get(o, 1))) {
				found = 1;
				if (json_is_null(json_array_get(o, 3))) {
					json_array_remove(tuples, j);
				} else {
					json_array_set(tuples, j, o);
				}
				break;
			}
		}
		if (!found)
			json_array_append(tuples, o);
	}
	json_decref(over);
	/* Versions before 11 name the creator in content. */
	t = json_array_get(tuples, 0);
	if (v <= 10 && !json_object_get(json_array_get(t, 3), "creator"))
		json_object_set(json_array_get(t, 3), "creator", json_array_get(t, 2));
	r->state = json_array();
	json_array_foreach(tuples, i, t) {
		const char *type = json_string_value(json_array_get(t, 0));
		strip_creator(v, row->flags, type, json_array_get(t, 3));
		json_t *ev = make_event(r, type, json_array_get(t, 1), json_string_value(json_array_get(t, 2)),
					json_array_get(t, 3), i == 0);
		if (i == 0) {
			assert_int_equal(event_compute_id(r->rv, ev, r->create_id), 0);
			if (r->rv->room_id_is_create_hash)
				assert_int_equal(event_create_room_id(r->rv, ev, r->room_id), 0);
			else
				strcpy(r->room_id, "!r:a");
		}
		if (i == 0 && (row->flags & F_NO_CREATE)) {
			json_decref(ev);
			continue;
		}
		json_array_append_new(r->state, ev);
	}
	json_decref(tuples);
}

static const json_t *room_lookup(void *arg, const char *type, const char *sk)
{
	struct room *r = arg;
	size_t i;
	json_t *ev;

	json_array_foreach(r->state, i, ev)
		if (strcmp(event_type(ev), type) == 0 && event_state_key(ev) && strcmp(event_state_key(ev), sk) == 0)
			return ev;
	return NULL;
}

static int run_row(const struct row *row, int v, char *reason, size_t rlen)
{
	struct room r;
	json_t *spec = Jq(row->ev), *ev;
	const char *type = json_string_value(json_array_get(spec, 0));
	const char *sender = json_string_value(json_array_get(spec, 2));
	int is_create = strcmp(type, "m.room.create") == 0;
	struct auth_state st = { room_lookup, NULL, &r };
	int rc;

	build_room(&r, v, row);
	strip_creator(v, row->flags, type, json_array_get(spec, 3));
	ev = make_event(&r, type, json_array_get(spec, 1), sender, json_array_get(spec, 3), is_create);
	if (is_create && (row->flags & F_ROOM_ID))
		json_object_set_new(ev, "room_id", json_string("!r:a"));
	if (row->flags & F_PREV_CREATE)
		add_prev(&r, ev, r.create_id);
	else if (!(row->flags & F_NO_PREV))
		add_prev(&r, ev, "$prev:a");
	const char *jauth = json_string_value(json_object_get(json_array_get(spec, 3), "join_authorised_via_users_server"));
	if (jauth && !(row->flags & F_JAUTH_UNSIGNED))
		json_object_set_new(json_object_get(ev, "signatures"), matrix_id_domain(jauth), json_pack("{ss}", "ed25519:1", "s"));
	rc = auth_check(r.rv, ev, &st, reason, rlen);
	json_decref(ev);
	json_decref(spec);
	json_decref(r.state);
	return rc;
}

static void test_table(void **state)
{
	int runs = 0, failures = 0;
	char reason[200];
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (int v = rows[i].vmin; v <= rows[i].vmax; v++) {
			int rc = run_row(&rows[i], v, reason, sizeof(reason));
			int want = rows[i].allow ? AUTH_ALLOW : AUTH_REJECT;
			runs++;
			if (getenv("AUTH_TEST_VERBOSE"))
				print_message("v%d %-45s %s %s\n", v, rows[i].name, rc == AUTH_ALLOW ? "allow" : "reject", reason);
			if (rc != want) {
				failures++;
				print_error("FAIL v%d \"%s\": expected %s, got %s (%s)\n", v, rows[i].name,
					    want == AUTH_ALLOW ? "allow" : "reject",
					    rc == AUTH_ALLOW ? "allow" : "reject", reason);
			} else if (rc == AUTH_REJECT && !reason[0]) {
				failures++;
				print_error("FAIL v%d \"%s\": rejected without a reason\n", v, rows[i].name);
			}
		}
	}
	print_message("# %zu table rows, %d runs across room versions\n", sizeof(rows) / sizeof(rows[0]), runs);
	assert_int_equal(failures, 0);
}


static json_t *J(const char *s) { return Jq(s); }

static void test_auth_events_selection(void **state)
{
	struct auth_key k[AUTH_MAX_KEYS];
	json_t *ev;
	size_t n;
	(void)state;
	ev = J("{'type':'m.room.message','sender':'@a:a','content':{}}");
	n = auth_events_selection(room_version_get("11"), ev, k);
	assert_int_equal(n, 3);
	assert_string_equal(k[0].type, "m.room.create");
	assert_string_equal(k[1].type, "m.room.power_levels");
	assert_string_equal(k[2].state_key, "@a:a");
	n = auth_events_selection(room_version_get("12"), ev, k);
	assert_int_equal(n, 2); /* no create in v12 */
	json_decref(ev);
	ev = J("{'type':'m.room.member','state_key':'@b:b','sender':'@b:b','content':{'membership':'join',"
	       "'join_authorised_via_users_server':'@m:a'}}");
	assert_int_equal(auth_events_selection(room_version_get("7"), ev, k), 5);
	n = auth_events_selection(room_version_get("8"), ev, k);
	assert_int_equal(n, 6);
	assert_string_equal(k[4].type, "m.room.join_rules");
	assert_string_equal(k[5].state_key, "@m:a");
	json_decref(ev);
	ev = J("{'type':'m.room.member','state_key':'@b:b','sender':'@a:a','content':{'membership':'invite',"
	       "'third_party_invite':{'signed':{'token':'tok'}}}}");
	n = auth_events_selection(room_version_get("10"), ev, k);
	assert_int_equal(n, 6);
	assert_string_equal(k[5].type, "m.room.third_party_invite");
	assert_string_equal(k[5].state_key, "tok");
	json_decref(ev);
	ev = J("{'type':'m.room.member','state_key':'@b:b','sender':'@a:a','content':{'membership':'ban'}}");
	assert_int_equal(auth_events_selection(room_version_get("10"), ev, k), 4); /* no join rules */
	json_decref(ev);
	ev = J("{'type':'m.room.create','state_key':'','sender':'@a:a','content':{}}");
	assert_int_equal(auth_events_selection(room_version_get("10"), ev, k), 0);
	json_decref(ev);
}

static void test_check_auth_events(void **state)
{
	const struct room_version *v10 = room_version_get("10"), *v12 = room_version_get("12");
	json_t *ev = J("{'type':'m.room.message','room_id':'!r:a','sender':'@a:a','content':{}}");
	json_t *cr = J("{'type':'m.room.create','state_key':'','room_id':'!r:a','sender':'@a:a','content':{}}");
	json_t *pl = J("{'type':'m.room.power_levels','state_key':'','room_id':'!r:a','sender':'@a:a','content':{}}");
	json_t *pl2 = J("{'type':'m.room.power_levels','state_key':'','room_id':'!r:a','sender':'@a:a','content':{'ban':1}}");
	json_t *me = J("{'type':'m.room.member','state_key':'@a:a','room_id':'!r:a','sender':'@a:a','content':{'membership':'join'}}");
	json_t *other = J("{'type':'m.room.member','state_key':'@z:z','room_id':'!r:a','sender':'@z:z','content':{'membership':'join'}}");
	json_t *elsewhere = J("{'type':'m.room.member','state_key':'@a:a','room_id':'!q:a','sender':'@a:a','content':{'membership':'join'}}");
	json_t *msg = J("{'type':'m.room.message','room_id':'!r:a','sender':'@a:a','content':{}}");
	char why[128];
	(void)state;
	const json_t *good[] = { cr, pl, me };
	assert_int_equal(auth_check_auth_events(v10, ev, good, 3, why, sizeof(why)), AUTH_ALLOW);
	const json_t *nocreate[] = { pl, me };
	assert_int_equal(auth_check_auth_events(v10, ev, nocreate, 2, why, sizeof(why)), AUTH_REJECT);
	assert_int_equal(auth_check_auth_events(v12, ev, nocreate, 2, why, sizeof(why)), AUTH_ALLOW);
	assert_int_equal(auth_check_auth_events(v12, ev, good, 3, why, sizeof(why)), AUTH_REJECT);
	const json_t *dup[] = { cr, pl, pl2, me };
	assert_int_equal(auth_check_auth_events(v10, ev, dup, 4, why, sizeof(why)), AUTH_REJECT);
	assert_non_null(strstr(why, "duplicate"));
	const json_t *extra[] = { cr, pl, me, other };
	assert_int_equal(auth_check_auth_events(v10, ev, extra, 4, why, sizeof(why)), AUTH_REJECT);
	const json_t *foreign[] = { cr, pl, elsewhere };
	assert_int_equal(auth_check_auth_events(v10, ev, foreign, 3, why, sizeof(why)), AUTH_REJECT);
	const json_t *nonstate[] = { cr, msg };
	assert_int_equal(auth_check_auth_events(v10, ev, nonstate, 2, why, sizeof(why)), AUTH_REJECT);
	/* The list helper answers lookups over the same events. */
	struct auth_list l = { good, 3 };
	assert_ptr_equal(auth_list_lookup(&l, "m.room.member", "@a:a"), me);
	assert_null(auth_list_lookup(&l, "m.room.member", "@b:b"));
	struct auth_state st = { auth_list_lookup, NULL, &l };
	assert_int_equal(auth_check(v10, ev, &st, why, sizeof(why)), AUTH_ALLOW);
	json_decref(ev); json_decref(cr); json_decref(pl); json_decref(pl2); json_decref(me);
	json_decref(other); json_decref(elsewhere); json_decref(msg);
}

/* A third-party invite whose signed block verifies under the invite's key. */
static void test_third_party_invite_signed(void **state)
{
	struct scop_ed25519 key, wrong;
	char pub[64];
	json_t *signed_ = J("{'mxid':'@eve:e','token':'tok','sender':'@bob:b'}");
	struct row row = { "3pid", 1, 12, NULL, NULL, 0, 1 };
	char why[200];
	(void)state;
	assert_int_equal(scop_ed25519_generate(&key, "0"), 0);
	assert_int_equal(scop_ed25519_generate(&wrong, "0"), 0);
	assert_int_equal(json_sign(signed_, "id.example", &key), 0);
	for (int pass = 0; pass < 3; pass++) {
		base64_encode(pass == 2 ? wrong.pub : key.pub, 32, pub, pass == 1 ? BASE64_URLSAFE : 0);
		char *st = NULL, *evs = NULL, *sj = json_dumps(signed_, JSON_COMPACT);
		/* public_keys list on pass 1, single public_key otherwise */
		if (asprintf(&st, pass == 1 ? "[['m.room.third_party_invite','tok','@bob:b',{'public_keys':[{'public_key':'%s'}]}]]"
					    : "[['m.room.third_party_invite','tok','@bob:b',{'public_key':'%s'}]]", pub) < 0 ||
		    asprintf(&evs, "['m.room.member','@eve:e','@bob:b',{'membership':'invite','third_party_invite':{'signed':%s}}]", sj) < 0)
			fail();
		row.state = st;
		row.ev = evs;
		for (int v = 1; v <= 12; v++)
			assert_int_equal(run_row(&row, v, why, sizeof(why)), pass == 2 ? AUTH_REJECT : AUTH_ALLOW);
		free(st);
		free(evs);
		free(sj);
	}
	json_decref(signed_);
	scop_ed25519_clear(&key);
	scop_ed25519_clear(&wrong);
}

static void test_power_level_helpers(void **state)
{
	struct room r;
	struct row row = { "pl", 1, 12, NULL, NULL, 0, 1 };
	struct auth_state st = { room_lookup, NULL, &r };
	(void)state;
	for (int v = 1; v <= 12; v++) {
		build_room(&r, v, &row);
		assert_int_equal(auth_user_power_level(r.rv, &st, "@mod:a"), 50);
		assert_int_equal(auth_user_power_level(r.rv, &st, "@bob:b"), 0);
		assert_int_equal(auth_user_power_level(r.rv, &st, "@alice:a"), v >= 12 ? AUTH_PL_INFINITE : 100);
		json_t *red_mod = J("{'type':'m.room.redaction','sender':'@mod:a','content':{}}");
		json_t *red_bob = J("{'type':'m.room.redaction','sender':'@bob:b','content':{}}");
		json_t *orig_bob = J("{'type':'m.room.message','sender':'@bob2:b','content':{}}");
		json_t *orig_eve = J("{'type':'m.room.message','sender':'@eve:e','content':{}}");
		assert_true(auth_redaction_applies(r.rv, &st, red_mod, orig_eve));
		assert_true(auth_redaction_applies(r.rv, &st, red_bob, orig_bob));
		assert_false(auth_redaction_applies(r.rv, &st, red_bob, orig_eve));
		json_decref(red_mod); json_decref(red_bob); json_decref(orig_bob); json_decref(orig_eve);
		json_decref(r.state);
	}
}

static void test_malformed_inputs(void **state)
{
	struct auth_list l = { NULL, 0 };
	struct auth_state st = { auth_list_lookup, NULL, &l };
	const struct room_version *rv = room_version_get("11");
	char why[100];
	(void)state;
	json_t *s = json_string("x");
	assert_int_equal(auth_check(rv, s, &st, why, sizeof(why)), AUTH_REJECT);
	json_decref(s);
	json_t *ev = J("{'type':5,'sender':'@a:a','content':{}}");
	assert_int_equal(auth_check(rv, ev, &st, why, sizeof(why)), AUTH_REJECT);
	json_decref(ev);
	ev = J("{'type':'m.room.message','sender':'@a:a','content':{},'state_key':7}");
	assert_int_equal(auth_check(rv, ev, &st, NULL, 0), AUTH_REJECT);
	assert_int_equal(auth_check(NULL, ev, &st, why, sizeof(why)), AUTH_REJECT);
	assert_int_equal(auth_check(rv, ev, NULL, why, sizeof(why)), AUTH_REJECT);
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_auth_events_selection),
		cmocka_unit_test(test_check_auth_events),
		cmocka_unit_test(test_third_party_invite_signed),
		cmocka_unit_test(test_power_level_helpers),
		cmocka_unit_test(test_malformed_inputs),
	};
	return cmocka_run_group_tests_name("auth_rules", tests, NULL, NULL);
}
