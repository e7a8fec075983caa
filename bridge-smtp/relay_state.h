/* The relay's record of one queued message: per recipient, whether it is
 * still pending, delivered, or failed for good (and whether the sender
 * was told), plus the attempt count and the next attempt's time.
 *
 * It lives in a sidecar file <spool>/relay/<queue id>, written whole to
 * <id>.tmp, fsync()ed, renamed over the old one and the directory
 * fsync()ed: a crash leaves the old record or the new one, never a mix,
 * so a delivery is never forgotten (at worst redone, as SMTP's own
 * at-least-once allows) and a bounce never lost.
 *
 * File format (text, LF lines):
 *   SCOP-RELAY 1
 *   attempts: <n>
 *   next: <unix seconds>
 *   rcpt: <index> <pending|sent|failed|bounced> <code> <enh or -> <host or -> <text>
 * with one rcpt line per recipient of the queue file, in order.
 *
 * Memory: struct relay_state owns its rcpt array (relay_state_free).
 * Errors: 0, or -1 with errno (EINVAL: a malformed file or wrong count).
 */
#ifndef SCOP_RELAY_STATE_H
#define SCOP_RELAY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum relay_rcpt_state {
	RELAY_PENDING = 0,
	RELAY_SENT,
	RELAY_FAILED,   /* failed for good, the sender not told yet */
	RELAY_BOUNCED,  /* failed, and the DSN is in the spool (or none is due) */
};

struct relay_rcpt {
	enum relay_rcpt_state state;
	int code;           /* last SMTP reply code, 0 if none */
	char enh[16];       /* status code, "" if none */
	char host[256];     /* remote MTA, "" if none */
	char text[256];     /* last diagnostic */
};

struct relay_state {
	unsigned attempts;
	int64_t next;       /* unix seconds; 0: as soon as possible */
	struct relay_rcpt *rcpts;
	size_t n;
};

/* A fresh record: n pending recipients. */
int relay_state_init(struct relay_state *st, size_t n);
void relay_state_free(struct relay_state *st);

/* Loads dirfd/<id> expecting n recipients: 1 when loaded, 0 when there is
 * no file (st is then fresh), -1 on error. */
int relay_state_load(int dirfd, const char *id, size_t n, struct relay_state *st);
int relay_state_save(int dirfd, const char *id, const struct relay_state *st);
int relay_state_remove(int dirfd, const char *id);

/* Serialization, exposed for tests. */
int relay_state_parse(const char *buf, size_t len, size_t n, struct relay_state *st);

/* Whether every recipient is sent or bounced. */
bool relay_state_done(const struct relay_state *st);

#endif
