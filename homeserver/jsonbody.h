/* Request bodies as the client-server API wants them: a JSON object, within
 * a size limit, in UTF-8, without duplicate keys.
 *
 * Contract: json_body_parse() never fails silently: it returns a new
 * object in *out (caller json_decref()s it) with JSON_BODY_OK, or one of
 * the errors below with *out NULL.  It does not allocate on failure.
 */
#ifndef SCOP_HS_JSONBODY_H
#define SCOP_HS_JSONBODY_H

#include <stddef.h>

#include <jansson.h>

enum json_body_rc {
	JSON_BODY_OK = 0,
	JSON_BODY_NOT_JSON,   /* 400 M_NOT_JSON: empty or unparseable */
	JSON_BODY_NOT_OBJECT, /* 400 M_BAD_JSON: valid JSON but not an object */
	JSON_BODY_TOO_LARGE,  /* 413 M_TOO_LARGE */
};

enum json_body_flags {
	JSON_BODY_EMPTY_OK = 1,   /* an empty body gives an empty object instead of NOT_JSON */
	/* \u0000 may appear inside strings (valid JSON, and other homeservers'
	 * events carry it: Synapse lets clients send it).  Whoever reads such
	 * a body must not trust C-string views of values where a truncation
	 * would matter; event_validate() refuses NUL where the auth rules look. */
	JSON_BODY_ALLOW_NUL = 2,
};

/* flags: JSON_BODY_* (0 or 1 as before: 1 is JSON_BODY_EMPTY_OK). */
enum json_body_rc json_body_parse(const char *body, size_t len, size_t max, int flags,
				  json_t **out);
/* The spec's errcode and HTTP status for a failure. */
const char *json_body_errcode(enum json_body_rc rc);
int json_body_status(enum json_body_rc rc);

#endif
