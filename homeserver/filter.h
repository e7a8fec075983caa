/* Client input the room endpoints parse: event filters (the spec's
 * RoomEventFilter for /messages, and the room.timeline part of a sync
 * Filter) and stream tokens ("s<position>").
 *
 * Contract: parsers take untrusted bytes, return 0 or -1 (malformed) and
 * never crash; a parsed filter owns its strings until room_filter_clear().
 */
#ifndef SCOP_HS_FILTER_H
#define SCOP_HS_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define FILTER_MAX_TYPES 100
#define FILTER_MAX_LIMIT 1000

struct room_filter {
	long limit;          /* 0: not given */
	int has_types;       /* types given (an empty list matches nothing) */
	char **types;
	size_t ntypes;
	char **not_types;
	size_t nnot;
	/* Lazy-loaded members (a RoomEventFilter's own fields, or a sync
	 * Filter's room.state): member events only for the senders shown. */
	int lazy_load_members;
	int include_redundant_members;
	/* Per-thread unread counts in /sync (unread_thread_notifications). */
	int unread_thread_notifications;
};

void room_filter_init(struct room_filter *f);
void room_filter_clear(struct room_filter *f);
/* sync == 0: data is a RoomEventFilter; sync == 1: a Filter whose
 * room.timeline is read, and room.state's lazy-loading flags.  f is cleared first; on -1 it is left empty. */
int room_filter_parse(struct room_filter *f, const char *data, size_t len, int sync);
int room_filter_from_json(struct room_filter *f, const json_t *obj);
/* 1 when a client event passes the filter (types may end in '*'). */
int room_filter_match(const struct room_filter *f, const json_t *ev);

/* Stream tokens: "s<events position>[_<extras position>]" (the "s" is
 * optional).  -1 for anything else or a number past 18 digits. */
int sync_token_parse2(const char *s, int64_t *pos, int64_t *xpos);
/* The events position only. */
int sync_token_parse(const char *s, int64_t *pos);

#endif
