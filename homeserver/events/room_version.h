/* Room versions: what differs between versions 1-12 of the Matrix room
 * specification, as a table of flags.  Everything in homeserver/events/
 * takes a const struct room_version * and branches on these flags, never
 * on the version string.
 *
 * The table is static and read-only; room_version_get() returns a pointer
 * into it (never free it), or NULL for a version this server does not know.
 */
#ifndef SCOP_ROOM_VERSION_H
#define SCOP_ROOM_VERSION_H

#include <stdbool.h>

/* The spec's current recommendation for new rooms. */
#define ROOM_VERSION_DEFAULT "12"

enum event_id_format {
	EVENT_ID_V1,     /* "$opaque:domain", carried in the event itself (v1, v2) */
	EVENT_ID_V3,     /* "$" + unpadded base64 of the reference hash (v3) */
	EVENT_ID_V4,     /* "$" + URL-safe unpadded base64 (v4 and later) */
};

enum redaction_algo {
	REDACT_V1,  /* v1-v5: keeps m.room.aliases content */
	REDACT_V6,  /* v6-v7: aliases no longer special */
	REDACT_V8,  /* v8: join_rules keeps allow */
	REDACT_V9,  /* v9-v10: member keeps join_authorised_via_users_server */
	REDACT_V11, /* v11+: fewer top-level keys, create keeps all content, ... */
};

struct room_version {
	const char *id;
	enum event_id_format event_id;
	enum redaction_algo redaction;
	int state_res;                /* 1, or 2 */
	bool state_res_v12;           /* v12 tweaks: empty start state, conflicted subgraph */
	bool strict_canonical_json;   /* v6+: integers in 53-bit range, no floats */
	bool special_case_aliases;    /* v1-v5: auth rule for m.room.aliases */
	bool redaction_auth_rule;     /* v1-v2: auth rule 11 on m.room.redaction */
	bool notifications_pl;        /* v6+: notifications checked in power level changes */
	bool knock;                   /* v7+ */
	bool restricted;              /* v8+: restricted join rule */
	bool knock_restricted;        /* v10+ */
	bool integer_power_levels;    /* v10+: no string power levels */
	bool creator_in_content;      /* v1-v10: create content must have creator */
	bool redacts_in_content;      /* v11+: m.room.redaction keeps redacts in content */
	bool room_id_is_create_hash;  /* v12: room ID = create event's reference hash */
	bool privileged_creators;     /* v12: creators have infinite power */
	bool depth_53bit;             /* v6+: depth limited to 2^53-1 (else 2^63-1) */
};

const struct room_version *room_version_get(const char *id);
/* The known versions in order, for /capabilities; *n gets the count. */
const struct room_version *room_version_all(int *n);

#endif
