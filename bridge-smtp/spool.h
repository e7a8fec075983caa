/* Durable mail spool: the SMTP server answers 250 only after spool_store()
 * has returned 0, and by then the message is on disk for good.
 *
 * Layout under the spool directory:
 *   tmp/    files being written; anything here at start-up is a leftover
 *           of a crash and is removed by spool_open()
 *   queue/  complete messages, one file each, named by queue id
 * spool_store() writes tmp/<id>, fsync()s it, renames it into queue/ and
 * fsync()s queue/, so a crash at any point leaves either no queue file or
 * a whole one (rename is atomic within one file system).  The stored
 * message is env->trace (the Received: header) followed by the data.
 *
 * Queue file format (version 1): a header block of "key: value" lines,
 * each ending in LF, then one empty line, then exactly `size` octets of
 * message (CRLF lines, as received):
 *   SCOP-SPOOL 1
 *   id: <queue id>
 *   received: <unix seconds>
 *   listener: mx | submission
 *   client: <address of the SMTP client>
 *   helo: <EHLO/HELO argument>
 *   tls: <protocol and cipher, or "none">
 *   auth: <authenticated identity>        (only when authenticated)
 *   body: 7BIT | 8BITMIME | unspecified
 *   smtputf8: yes | no
 *   from: <reverse-path without brackets; empty for <>>
 *   rcpt: <forward-path>                  (one line per recipient, >= 1)
 *   size: <octets of message, zero-padded to 20 digits>
 * Values never contain control characters; spool_store() refuses such
 * input rather than escaping it.
 *
 * Memory: struct spool_message and the arrays from spool_list() are owned
 * by the caller and released with spool_message_free()/spool_list_free().
 * Errors: functions return 0, or -1 with errno set (EINVAL for malformed
 * input or queue files).
 */
#ifndef SCOP_SPOOL_H
#define SCOP_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_ID_MAX 40

struct spool {
	char *dir;
	int tmp_fd;   /* directory fds */
	int queue_fd;
	int lock_fd;  /* held while a daemon owns the spool, else -1 */
	/* Test hook: when set, spool_store() stops after writing and syncing
	 * the tmp file, as if the process died before rename. */
	bool crash_before_rename;
};

struct spool_envelope {
	const char *listener; /* "mx" or "submission" */
	const char *client;
	const char *helo;
	const char *tls;      /* NULL or "" means none */
	const char *auth;     /* NULL unless authenticated */
	const char *body;     /* "7BIT", "8BITMIME" or "unspecified" */
	bool smtputf8;
	const char *from;
	const char *const *rcpts;
	size_t n_rcpts;
	int64_t received;     /* unix seconds */
	/* Trace header(s) the server adds (RFC 5321 4.4), CRLF-terminated;
	 * written in front of the message and counted in its size.  May be
	 * NULL. */
	const char *trace;
};

struct spool_message {
	char id[SPOOL_ID_MAX];
	int64_t received;
	char *listener, *client, *helo, *tls, *auth, *body, *from;
	bool smtputf8;
	char **rcpts;
	size_t n_rcpts;
	char *data;           /* the message, NUL-terminated for convenience */
	size_t size;
};

/* Creates dir, dir/tmp and dir/queue as needed (mode 0700).  With
 * recover (the daemon at start-up) it also takes the spool's lock file
 * (failing with EWOULDBLOCK when another daemon holds it) and removes
 * leftovers in tmp/; *removed (may be NULL) gets how many.  Without it
 * (a reader such as --list-queue) tmp/ is left alone. */
int spool_open(struct spool *sp, const char *dir, bool recover, size_t *removed);
void spool_close(struct spool *sp);

/* Stores a message durably; id_out gets its queue id. */
int spool_store(struct spool *sp, const struct spool_envelope *env, const void *data, size_t len,
		char id_out[SPOOL_ID_MAX]);

/* The same in steps, so a message can go to disk while it arrives instead
 * of being held in memory: spool_begin() creates tmp/<id> with the
 * envelope (and env->trace); spool_write() appends message octets (write
 * errors are remembered and reported again by spool_commit());
 * spool_commit() fills in the size, fsyncs, renames into queue/ and
 * fsyncs the directory, then frees the writer whether it succeeded or
 * not; spool_abort() removes the tmp file and frees the writer.  A writer
 * is used by one thread at a time; begin/write and commit may run on
 * different threads. */
struct spool_writer;
int spool_begin(struct spool *sp, const struct spool_envelope *env, struct spool_writer **out);
int spool_write(struct spool_writer *w, const void *data, size_t len);
int spool_commit(struct spool_writer *w, char id_out[SPOOL_ID_MAX]);
void spool_abort(struct spool_writer *w);

/* For a filter that must read the whole message before it can add header
 * fields on top of it (mail authentication), between the last
 * spool_write() and spool_commit(): spool_view() gives the message
 * written so far (after the trace) as one read-only mapping, valid until
 * the next spool_view(), spool_edit(), spool_commit() or spool_abort().
 * spool_edit() then rewrites the tmp file as trace, insert (insert_len
 * octets), and the message without the cuts (offsets into what
 * spool_view() gave, sorted and not overlapping), under the same queue
 * id; insert is part of the message from then on (a later view starts
 * with it).  Both return 0, or -1 with errno (EINVAL for bad cuts);
 * after a failed edit the writer can only be aborted. */
struct spool_cut {
	size_t off, len;
};
int spool_view(struct spool_writer *w, const char **msg, size_t *len);
/* The queue id the message will have (for log lines before the commit). */
const char *spool_writer_id(const struct spool_writer *w);
int spool_edit(struct spool_writer *w, const char *insert, size_t insert_len, const struct spool_cut *cuts,
	       size_t ncuts);

/* Queue ids, oldest first (ids sort by time). */
int spool_list(struct spool *sp, char ***ids, size_t *n);
void spool_list_free(char **ids, size_t n);

int spool_load(struct spool *sp, const char *id, struct spool_message *out);
/* Parses a queue file's bytes (exposed for the fuzz harness). */
int spool_parse(const char *buf, size_t len, struct spool_message *out);
void spool_message_free(struct spool_message *m);

/* Removes a queue file once its message has been handled. */
int spool_remove(struct spool *sp, const char *id);

#endif
