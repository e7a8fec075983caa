/* What endpoint handlers see: the request with its path parameters, parsed
 * JSON body and authenticated requester, and helpers to answer in the
 * spec's format ({"errcode": "...", "error": "..."}).
 *
 * Contract: a handler answers exactly once, with api_reply() or
 * api_error() (a later call replaces an earlier one).  Everything in
 * struct api_req is owned by the dispatcher and lives until the handler
 * returns; a handler that answers later (http_suspend(r->http), e.g. a
 * long-polling /sync) copies what it needs first, sets r->http->status and
 * ->reply itself and calls http_resume().  Helpers that validate input
 * answer 400 themselves and return -1, so a handler just returns.
 *
 * Other parts add their endpoints with api_add_routes(hs->router, table,
 * n) after hs_init() and before the HTTP server starts (see main.c).
 */
#ifndef SCOP_HS_API_H
#define SCOP_HS_API_H

#include <jansson.h>

#include "homeserver/hs.h"
#include "homeserver/http.h"
#include "homeserver/router.h"

struct api_req;
typedef void (*api_fn)(struct api_req *r);

enum api_flags {
	API_AUTH = 1,        /* an access token is required */
	API_JSON = 2,        /* the body must be a JSON object */
	API_CLIENT_R0 = 4,   /* also served under /_matrix/client/r0 */
	API_CLIENT_V3 = 8,   /* served under /_matrix/client/v3 */
	API_CLIENT_V1 = 16,  /* served under /_matrix/client/v1 */
	API_JSON_OPTIONAL = 32, /* a JSON object body may be given or left empty */
	API_RAW_BODY = 64,   /* a raw body up to max_upload_size (media), in r->http */
	API_JSON_NUL = 128,  /* the JSON body may carry \u0000 in strings (federation) */
};

/* One endpoint.  path is the part after "/_matrix/client/<version>" when a
 * API_CLIENT_* flag is set, else the whole path. */
struct api_route {
	const char *method;
	const char *path;
	api_fn fn;
	unsigned flags;
};

struct requester {
	char *user_id;
	char *device_id;         /* NULL for a device-less token */
	int is_admin;
	char token_hash[65];
};

struct api_req {
	struct hs *hs;
	struct http_request *http;
	struct route_match match;
	json_t *body;            /* an object when API_JSON; else NULL */
	struct requester who;    /* set when API_AUTH */
};

/* Adds a table of routes; -1 when out of memory. */
int api_add_routes(struct router *rt, const struct api_route *routes, size_t n);

/* Steals body. */
void api_reply(struct api_req *r, int status, json_t *body);
void api_error(struct api_req *r, int status, const char *errcode, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* 429 M_LIMIT_EXCEEDED with retry_after_ms. */
void api_ratelimited(struct api_req *r, int64_t retry_after_ms);
/* Path parameter by position. */
const char *api_param(const struct api_req *r, size_t i);

/* Body field readers.  Optional: absent or null leaves *out NULL and
 * returns 0; present with the wrong type answers 400 M_BAD_JSON and
 * returns -1.  Required: absent answers 400 M_MISSING_PARAM. */
int api_opt_string(struct api_req *r, json_t *obj, const char *key, const char **out);
int api_req_string(struct api_req *r, json_t *obj, const char *key, const char **out);
int api_opt_bool(struct api_req *r, json_t *obj, const char *key, int dflt, int *out);
int api_opt_object(struct api_req *r, json_t *obj, const char *key, json_t **out);

/* The ?limit= query parameter of a paginated endpoint: absent → dflt;
 * else a decimal integer >= 0 (query.h: Synapse's parse_integer rule),
 * capped at max.  0 is a valid limit (no items; the endpoint decides which
 * token comes with the empty page).  Empty, non-numeric, badly
 * percent-encoded or negative answers 400 M_INVALID_PARAM and returns -1. */
int api_query_limit(struct api_req *r, long dflt, long max, long *out);

/* Endpoint groups (one file each). */
extern const struct api_route api_versions_routes[];
extern const size_t api_versions_nroutes;
extern const struct api_route api_register_routes[];
extern const size_t api_register_nroutes;
extern const struct api_route api_login_routes[];
extern const size_t api_login_nroutes;
extern const struct api_route api_devices_routes[];
extern const size_t api_devices_nroutes;
extern const struct api_route api_account_routes[];
extern const size_t api_account_nroutes;
extern const struct api_route api_admin_routes[];
extern const size_t api_admin_nroutes;

#endif
