/* The homeserver context: everything a request handler may reach.  One
 * instance per scopd process, created at start-up and read-only after that
 * except through the internally locked members (store, rate limiters, UIA
 * sessions, nonces).
 */
#ifndef SCOP_HS_HS_H
#define SCOP_HS_HS_H

#include <stddef.h>

#include <jansson.h>

#include "common/crypto.h"
#include "homeserver/config.h"
#include "homeserver/password.h"

struct store;
struct router;
struct ratelimit;
struct uia;
struct nonces;
struct push_counts;
struct http_request;
struct rooms;
struct sync_hub;
struct relsearch;

struct hs_limits {
	struct ratelimit *login_ip;     /* rc_login.address */
	struct ratelimit *login_user;   /* rc_login.account */
	struct ratelimit *failed_ip;    /* rc_login.failed_attempts, per IP */
	struct ratelimit *failed_user;  /* rc_login.failed_attempts, per user */
	struct ratelimit *register_ip;  /* rc_registration */
	struct ratelimit *touch;        /* throttles last-seen writes per token */
};

/* Joining a room this server is not in, over federation: room is a room
 * ID or alias, via the servers to ask (may be empty), content the member
 * event's content.  Returns an HTTP status: 200 with the room ID in
 * room_id_out, else errcode and error are filled. */
typedef int (*hs_remote_join_fn)(void *arg, const char *room, const char *const *via, size_t nvia,
				 const char *user_id, const json_t *content, char *room_id_out,
				 size_t outlen, char *errcode, size_t errcodelen, char *error,
				 size_t errorlen);

/* Leaving (rejecting the invite to) a room this server is not in, over
 * federation.  Returns an HTTP status as hs_remote_join_fn. */
typedef int (*hs_remote_leave_fn)(void *arg, const char *room_id, const char *user_id, const char *reason,
				  char *errcode, size_t errcodelen, char *error, size_t errorlen);

/* A signed GET of another server's query API,
 * /_matrix/federation/v1/query/<type>?<params> (type "profile" or
 * "directory"; params are key, value pairs, nparams strings, encoded by
 * the callee).  0 with the remote status and its JSON body in *reply (a
 * new reference, or NULL), or -1 when the server cannot be reached. */
typedef int (*hs_fed_query_fn)(void *arg, const char *destination, const char *type, const char *const *params,
			       size_t nparams, long *status, json_t **reply);

struct hs {
	const struct hs_config *cfg;   /* borrowed */
	struct store *store;           /* borrowed */
	struct router *router;
	struct hs_limits rl;
	struct uia *uia;
	struct nonces *nonces;         /* shared-secret registration */
	struct password_params pw;
	char *dummy_hash;              /* verified against for unknown users, so
					* timing does not reveal who exists */
	struct push_counts *push;      /* unread notification counts */
	struct rooms *rooms;           /* NULL until hs_rooms_start() */
	struct sync_hub *sync;         /* long-polling /sync requests */
	struct relsearch *relsearch;   /* relations, search and bundled
					* aggregations (NULL: none); main.c */
	hs_remote_join_fn remote_join; /* set by the federation service, or NULL */
	void *remote_join_arg;         /* also remote_leave's and fed_query's */
	hs_remote_leave_fn remote_leave;
	hs_remote_join_fn remote_knock;  /* knocking on a room this server is not in */
	hs_fed_query_fn fed_query;     /* remote profiles and aliases, or NULL */
};

/* Rooms, events and /sync (hs_rooms.c): opens the room store on the
 * database store_open() migrated, loads the signing key and adds the room
 * and sync endpoints.  After hs_init(), before the HTTP server starts.
 * 0, or -1 with a message in err. */
int hs_rooms_start(struct hs *hs, const char *backend, const char *conninfo,
		   char *err, size_t errlen);
/* Answers every suspended /sync (call before stopping the HTTP server). */
void hs_rooms_stop(struct hs *hs);
/* Frees what hs_rooms_start() made (after the HTTP server stopped). */
void hs_rooms_free(struct hs *hs);

/* Builds the router with every endpoint group and the limiters.  Returns 0
 * or -1 (out of memory) with hs freed. */
int hs_init(struct hs *hs, const struct hs_config *cfg, struct store *st);
void hs_free(struct hs *hs);

/* The HTTP layer's callbacks (ctx is a struct hs): the handler, and the
 * body limit (max_upload_size for API_RAW_BODY routes, else
 * max_request_body). */
void hs_dispatch(void *ctx, struct http_request *rq);
size_t hs_body_limit(void *ctx, const char *method, const char *path);

#endif
