/* Federation inside scopd: the one context (struct fed_service) that holds
 * the resolver, keyring and sender, the federation options read from
 * scopd's YAML config, and the server-server endpoints it mounts on the
 * homeserver's router.
 *
 * Endpoints (see also api_keys.h for /_matrix/key/v2/...):
 *   GET /_matrix/federation/v1/version             (no auth)
 *   GET /_matrix/federation/v1/query/profile        X-Matrix
 *   GET /_matrix/federation/v1/user/devices/{userId} X-Matrix
 *   PUT /_matrix/federation/v1/send/{txnId}         X-Matrix (api_txn.h)
 *   GET /_matrix/federation/v1/make_join|make_leave/{roomId}/{userId} (api_txn.h)
 *   PUT /_matrix/federation/v2/send_join|send_leave|invite/{roomId}/{eventId} (fed_join.h)
 *   anything else under /_matrix/federation/        X-Matrix, then 404 M_UNRECOGNIZED
 * Every authenticated route checks the Authorization header with
 * keyring_check_request() (which may fetch the origin's keys: handlers run
 * on the HTTP worker pool, where blocking is allowed) and answers 401
 * M_UNAUTHORIZED when it fails.
 *
 * Config keys (top level of scopd's YAML, Synapse's names where they exist):
 *   trusted_key_servers: [{server_name: S, verify_keys: {KEY_ID: B64}}]
 *   federation_certificate_verification_whitelist: [server names]
 *       (their TLS certificates are not checked; for tests)
 *   federation_ca_file: PEM trust anchors instead of the system's
 *   federation_address_overrides: ["HOST:PORT:ADDR:APORT", ...] (tests)
 *   federation_dns_forwarder: "ADDR@PORT" for SRV lookups
 *   federation_backoff_base_ms, federation_backoff_max_ms: the sender's
 *       retry delays (defaults 1 s and 1 h; tests make them short)
 *
 * Outbound: every event rooms creates goes to the store's outbox in the
 * event's own transaction (room_store_set_outbox()) for the servers with
 * joined members, and rooms' outbound hook wakes the sender for them; the
 * sender reads the outbox in order, a bounded batch per destination, and
 * clears what was delivered (or refused for good).  After a restart
 * fed_service_new() points the sender at every destination with rows.  The service also sets the homeserver's remote join and leave
 * hooks (hs->remote_join, hs->remote_leave) and rooms' invite hook.
 *
 * Lifetime: fed_service_new() after hs_rooms_start() and before the HTTP
 * server starts (it adds routes); fed_service_start() starts the sender;
 * fed_service_free() after the HTTP server stopped.  httpc_global_init()
 * must have run once before any thread exists.
 */
#ifndef SCOP_FED_API_FEDERATION_H
#define SCOP_FED_API_FEDERATION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/crypto.h"
#include "homeserver/api.h"

struct fed_resolver;
struct keyring;
struct fed_sender;
struct keyring_notary;
struct fed_service;

/* A route whose handler needs the service: the dispatcher hands the
 * struct api_route back as r->match.handler, so the service rides along
 * behind it (route must stay the first member). */
typedef void (*fed_handler_fn)(struct api_req *r, struct fed_service *fs, const char *origin);
struct fed_api_route {
	struct api_route route;
	struct fed_service *fs;
	fed_handler_fn fn;        /* called after X-Matrix passed (origin set), or directly */
	int authenticated;        /* 1: X-Matrix required */
};

/* Federation options parsed from the config tree. */
struct fed_options {
	char **no_verify;          /* NULL-terminated */
	char **overrides;          /* NULL-terminated */
	char *ca_file;
	char *dns_forwarder;
	struct keyring_notary *notaries;
	size_t n_notaries;
	char **notary_names;       /* own the notaries' server_name / key_id strings */
	long backoff_base_ms;      /* federation_backoff_base_ms (0: the sender's default) */
	long backoff_max_ms;       /* federation_backoff_max_ms */
};

struct fed_service {
	struct hs *hs;                 /* borrowed */
	const char *server_name;       /* hs->cfg's */
	struct scop_ed25519 key;       /* our signing key (cleared on free) */
	struct fed_options opt;
	struct fed_resolver *resolver;
	struct keyring *keyring;
	struct fed_sender *sender;
	struct fed_api_route *routes;      /* mounted on hs->router; freed with the service */
	size_t nroutes;
};

/* Parses the federation keys of a scopd config tree into opt (zeroed
 * first).  0, or -1 with a reason in err; opt is freed on error. */
int fed_options_parse(const json_t *root, struct fed_options *opt, char *err, size_t errlen);
void fed_options_free(struct fed_options *opt);

/* Reads config_path again for the federation keys, loads the signing key
 * from hs->cfg->signing_key_path, builds resolver, keyring and sender and
 * adds the routes to hs->router.  NULL with a reason in err; the router may
 * then hold some of the freed routes, so the caller must not serve
 * (scopd exits). */
struct fed_service *fed_service_new(struct hs *hs, const char *config_path, char *err, size_t errlen);
/* Starts the sender thread.  0 or -1. */
int fed_service_start(struct fed_service *fs);
/* NULL is fine. */
void fed_service_free(struct fed_service *fs);

/* The pdu_check key callback (pdu_check.h's pdu_key_fn) served by the
 * keyring; arg is the struct fed_service.  May fetch keys: worker threads
 * only. */
int fed_service_pdu_key(void *arg, const char *server, const char *key_id, int64_t ts_ms,
			unsigned char pub[32]);

/* Whether the query has name=value among its (possibly repeated)
 * parameters: 1, 0 when name is there with other values, -1 when absent. */
int fed_query_has(struct http_request *rq, const char *name, const char *value);

/* Appends s percent-encoded for one path segment. */
struct buf;
void fed_path_escape(struct buf *b, const char *s);

/* Path plus query string exactly as received ("/p?a=1&b=2"), for X-Matrix;
 * malloc()ed, or NULL when out of memory. */
char *fed_request_uri(struct http_request *rq);

#endif
