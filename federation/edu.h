/* Inbound EDUs of a /send transaction (server-server API, "EDUs"):
 * m.typing, m.receipt, m.presence, m.device_list_update,
 * m.signing_key_update, m.direct_to_device.  The shape is checked by
 * fed_edu_parse() (edu_parse.h: only origin's own users, well-formed IDs);
 * then each item is applied to the local rooms when its user is joined to
 * the room it names (typing, receipts) or to any room here (presence), so
 * a server cannot make its users type in rooms they are not in, nor fill
 * memory with presence of users nobody here can see.  The spec has no
 * per-EDU answer, so a bad EDU is logged and skipped, never an error for
 * the transaction.  The end-to-end EDUs are accepted and dropped: there is
 * no device-key or to-device store yet.
 *
 * Contract: edu is borrowed; returns 0 when at least one item was applied
 * (or the EDU is one that is accepted and dropped), -1 when skipped.
 */
#ifndef SCOP_FED_EDU_H
#define SCOP_FED_EDU_H

#include <stdint.h>

#include <jansson.h>

#include "federation/edu_parse.h"

struct fed_service;
struct rooms;

int fed_edu_handle(struct fed_service *fs, const char *origin, const json_t *edu);

/* The apply step alone, over rooms (NULL: nothing applies).  Typing
 * entries of remote users last FED_EDU_TYPING_MS unless renewed. */
#define FED_EDU_TYPING_MS 60000
int fed_edu_apply(struct rooms *rooms, const struct fed_edu *e);

/* Outbound: the rooms EDU hook (rooms.h's rooms_edu_hook_fn; arg is the
 * struct fed_service).  A local user's typing change or m.read receipt
 * becomes an m.typing / m.receipt EDU queued with the sender for every
 * other server that has a member joined to the room; a presence change an
 * m.presence EDU for every other server sharing a joined room with the
 * user.  Remote users' are not echoed.  Never blocks on the network. */
void fed_edu_outbound(void *arg, const char *room_id, const char *user, const char *type,
		      const char *event_id, const char *thread_id, int typing);
/* The m.typing or m.receipt EDU itself (a new object), NULL when out of
 * memory or type is neither; ts_ms stamps receipts, thread_id (may be
 * NULL) makes a receipt threaded. */
json_t *fed_edu_build(const char *room_id, const char *user, const char *type, const char *event_id,
		      const char *thread_id, int typing, int64_t ts_ms);
/* An m.presence EDU for user from presence content as rooms_presence_get()
 * gives it ({presence, last_active_ago, currently_active, status_msg?});
 * NULL when out of memory or content has no presence. */
json_t *fed_edu_build_presence(const char *user, const json_t *content);

#endif
