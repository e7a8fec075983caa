/* Unread notification counts for /sync, computed on read from the push
 * rules (push_rules.h), the user's read receipts and the room's timeline.
 *
 * For a joined room the counts cover the events after the later of the
 * user's m.read / m.read.private receipts and their own latest event (a
 * user has read what they answered), up to the sync's stream position;
 * an event counts when the user's rules say notify, and as a highlight when
 * they also say highlight.  Threads (the spec's threaded receipts): an
 * event with an m.thread relation belongs to that thread, one relating to
 * a thread's event in another way (a reaction, an edit) to that thread too
 * (at most 3 relations followed, looked up only for events that notify or
 * are the user's own), anything else to the main timeline; a receipt with
 * a thread_id only reads its thread, one with "main" only the main
 * timeline, an unthreaded one everything.  The user's own event reads what
 * precedes it in its thread, and in the main timeline everything.
 *
 * Bound: one computation looks at no more than PUSH_COUNT_SCAN events (the
 * newest ones), so a room with more unread events shows at least that many.
 * Results are cached per (room, user) with the receipts, rules generation
 * and stream position they were computed for: a later /sync with nothing
 * new in the room reuses them, and one with new events only evaluates the
 * new events.  A /sync only asks for rooms it is sending anyway (new
 * timeline events, receipts, ...), so an idle sync costs nothing here.
 * At most PUSH_COUNT_CACHE entries are kept (then the cache starts over).
 *
 * Compiled rules are cached per user; push_counts_rules_changed() (called
 * by the /pushrules endpoints of this process) drops a user's and makes
 * their counts be recomputed.
 *
 * Contract: thread-safe; a NULL struct push_counts answers zero counts.
 * json_t * results are new references.
 */
#ifndef SCOP_HS_PUSH_COUNTS_H
#define SCOP_HS_PUSH_COUNTS_H

#include <stdint.h>

#include <jansson.h>

#define PUSH_COUNT_SCAN 1000
#define PUSH_COUNT_CACHE 65536
#define PUSH_NOTIFY_SCAN 500   /* events looked at per room for GET /notifications */

struct rooms;
struct push_counts;

/* rooms is borrowed and must outlive the counter. */
struct push_counts *push_counts_new(struct rooms *rooms);
void push_counts_free(struct push_counts *pc);
void push_counts_rules_changed(struct push_counts *pc, const char *user_id);
/* Serialise read-change-write edits of rules (the /pushrules endpoints), so
 * two edits at once cannot lose one.  NULL pc: no-op. */
void push_counts_edit_begin(struct push_counts *pc);
void push_counts_edit_end(struct push_counts *pc);

/* The counts of user_id in room_id up to stream position upto, as the keys
 * a joined room of /sync carries: {"unread_notifications": {...}} and, when
 * threads, "unread_thread_notifications": {root: {...}} (threads with
 * something unread; unread_notifications then counts the main timeline
 * only).  NULL on failure. */
json_t *push_counts_sync(struct push_counts *pc, const char *room_id, const char *user_id,
			 int64_t upto, int threads);

/* Initial /sync: appends the default ruleset as m.push_rules to the global
 * account data events when the user never stored theirs, as clients
 * expect to find it there. */
void push_counts_initial_rules(json_t *events, const char *user_id);

/* GET /notifications: the events below stream position before (0: from
 * the newest) in user_id's joined rooms that their rules notify for
 * (highlights only when only_highlight), newest first, at most limit, as
 * the spec's Notification objects.  Looks at the newest PUSH_NOTIFY_SCAN
 * events of each room below before.  Evaluated with the rules in force
 * now (nothing is recorded at send time), as the unread counts are.
 * *next gets the position to continue
 * below (0: no more).  NULL on failure. */
json_t *push_counts_notifications(struct push_counts *pc, const char *user_id, int64_t before,
				  int limit, int only_highlight, int64_t *next);

#endif
