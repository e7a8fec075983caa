/* The shape of inbound EDUs (server-server API, "Ephemeral Data Units"),
 * checked before anything is applied: each EDU becomes a list of flat
 * items, one per (room, user, ...) it speaks of.
 *
 *   m.typing    {room_id, user_id, typing}                -> one item
 *   m.receipt   {room: {"m.read": {user: {event_ids, data}}}} -> one per event
 *               (data.thread_id, when a string, makes it a threaded receipt)
 *   m.presence  {push: [{user_id, presence, status_msg?}]} -> one per entry
 *   m.device_list_update, m.signing_key_update, m.direct_to_device: kind
 *               only (no end-to-end encryption store exists to apply them)
 *
 * An item is kept only when its user belongs to origin (a server speaks
 * only for its own users) and its IDs are well formed; others are counted
 * in skipped.  Receipt types other than m.read are skipped (m.read.private
 * never leaves its server).  At most FED_EDU_MAX_ITEMS items per EDU.
 *
 * Contract: pure, no I/O.  Item strings are borrowed from the EDU, which
 * must outlive the struct fed_edu; items is malloc()ed and freed by
 * fed_edu_clear().  fed_edu_parse() returns 0, or -1 with a reason in err
 * when the EDU itself is malformed (then out needs no clearing).
 */
#ifndef SCOP_FED_EDU_PARSE_H
#define SCOP_FED_EDU_PARSE_H

#include <stddef.h>

#include <jansson.h>

#define FED_EDU_MAX_ITEMS 1000

enum fed_edu_kind {
	FED_EDU_TYPING,
	FED_EDU_RECEIPT,
	FED_EDU_PRESENCE,
	FED_EDU_DEVICE_LIST,
	FED_EDU_SIGNING_KEY,
	FED_EDU_TO_DEVICE,
	FED_EDU_UNKNOWN,
};

struct fed_edu_item {
	const char *room_id;    /* typing, receipt */
	const char *user_id;
	const char *event_id;   /* receipt */
	const char *thread_id;  /* receipt: data.thread_id, NULL when unthreaded */
	const char *presence;   /* presence: online, unavailable or offline */
	const char *status_msg; /* presence; NULL when absent */
	int typing;             /* typing: 1 started, 0 stopped */
};

struct fed_edu {
	enum fed_edu_kind kind;
	const char *edu_type;
	struct fed_edu_item *items;
	size_t n;
	size_t skipped;
};

int fed_edu_parse(const json_t *edu, const char *origin, struct fed_edu *out, char *err,
		  size_t errlen);
void fed_edu_clear(struct fed_edu *e);

#endif
