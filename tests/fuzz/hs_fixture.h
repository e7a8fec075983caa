/* hs_fixture: the set-up the fuzz harnesses of scopd's endpoints share (a
 * struct hs on a real SQLite store in a private temp dir, with optional
 * signing key and room service), one request through the dispatcher, and
 * the split of an input's "METHOD TARGET\nbody".
 *
 * One fixture per harness process, set up in LLVMFuzzerInitialize and
 * closed from atexit(); the harness owns the struct. */
#ifndef SCOP_FUZZ_HS_FIXTURE_H
#define SCOP_FUZZ_HS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "homeserver/config.h"
#include "homeserver/hs.h"
#include "homeserver/http.h"

enum {
	HS_FIXTURE_KEY = 1,     /* generate signing.key (the yaml names it) */
	HS_FIXTURE_ROOMS = 2,   /* hs_rooms_start() on the same database */
};

struct hs_fixture {
	char dir[64];
	char db[96];
	struct hs_config cfg;
	struct store *st;
	struct hs hs;
	int ready;              /* set up: close has work to do */
	int rooms;              /* the room service is running */
};

/* Sets f up from the config text yaml (relative paths in it are in f's
 * temp dir /tmp/scop-fuzz-<tag>-XXXXXX) with the HS_FIXTURE_* flags.
 * 0, or -1 with why in err[errcap]; then hs_fixture_close() cleans up what
 * was made. */
int hs_fixture_open(struct hs_fixture *f, const char *tag, const char *yaml, unsigned flags,
		    char *err, size_t errcap);

/* Stops and frees the room service (if started), for harnesses that must
 * release something between it and the rest; close does it otherwise. */
void hs_fixture_stop_rooms(struct hs_fixture *f);

/* Frees everything and removes the temp dir; safe to call twice. */
void hs_fixture_close(struct hs_fixture *f);

/* Runs one request (from 127.0.0.1, with token when not NULL) through the
 * dispatcher into rq; the caller frees rq->reply and rq->raw_reply.  body
 * is borrowed. */
void hs_fixture_dispatch(struct hs_fixture *f, struct http_request *rq, const char *method,
			 const char *path, char *body, size_t len, const char *token);

/* An input's first line "METHOD TARGET" and what follows its newline. */
struct fuzz_request_line {
	char line[512];
	char method[16];
	char *target;           /* in line, after the first space */
	const char *body;       /* in the input, after the newline; NULL without one */
	size_t body_len;
};

/* 0, or -1 when the first line is too long, holds a NUL byte or has no
 * method of under 16 bytes before a space. */
int fuzz_request_line(struct fuzz_request_line *l, const uint8_t *data, size_t size);

#endif
