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

/* empty_ok: an empty body gives an empty object instead of NOT_JSON. */
enum json_body_rc json_body_parse(const char *body, size_t len, size_t max, int empty_ok,
				  json_t **out);
/* The spec's errcode and HTTP status for a failure. */
const char *json_body_errcode(enum json_body_rc rc);
int json_body_status(enum json_body_rc rc);

#endif
