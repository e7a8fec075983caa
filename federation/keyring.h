/* Remote servers' signing keys: fetched directly (GET /_matrix/key/v2/server)
 * or through notaries (POST /_matrix/key/v2/query), verified with
 * server_keys_verify(), cached in memory per (server, key_id); plus our
 * own side of both endpoints as pure handlers.
 *
 * Thread-safe: one lock guards the cache; network fetches run outside it.
 * The options are copied, except resolver and key, which must outlive the
 * keyring.
 */
#ifndef SCOP_FED_KEYRING_H
#define SCOP_FED_KEYRING_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/crypto.h"
#include "federation/resolver.h"
#include "federation/server_keys.h"

struct keyring_notary {
	const char *server_name;
	const char *key_id;
	unsigned char pub[32];
};

/* Persistence (e.g. the store's key/value table).  save gets each verified
 * key document (a JSON text the keyring can load back); load is asked for a
 * server's document on a cache miss before the network is used, returning
 * a malloc()ed text or NULL.  Either may be NULL. */
struct keyring_persist {
	void (*save)(void *ctx, const char *server_name, const char *doc_json);
	char *(*load)(void *ctx, const char *server_name);
	void *ctx;
};

struct keyring_options {
	const char *server_name;            /* ours */
	const struct scop_ed25519 *key;     /* ours, signs our documents and notary answers */
	const struct server_old_key *old_keys; size_t n_old;
	int64_t key_validity_ms;            /* valid_until_ts = now + this; 7 days when 0 */
	struct fed_resolver *resolver;
	const struct keyring_notary *notaries; size_t n_notaries;
	struct keyring_persist persist;
	long timeout_ms;                    /* per fetch; 10000 when 0 */
	/* keyring_get() on a miss: the origin gets origin_timeout_ms (3000
	 * when 0), discovery included, then notaries what is left of
	 * fetch_budget_ms (6000 when 0) for the whole lookup, so a dead
	 * origin holds an HTTP worker for seconds, not minutes. */
	long origin_timeout_ms;
	long fetch_budget_ms;
};

struct keyring;

struct keyring *keyring_new(const struct keyring_options *opt);
void keyring_free(struct keyring *kr);

/* The public key server uses as key_id, valid at ts_ms (0: now): from the
 * cache, else persistence, else fetched directly, else from each notary in
 * turn (within the budget above).  A current key is valid while
 * valid_until_ts >= ts_ms; an old key while expired_ts >= ts_ms.  0 with
 * pub filled, or -1 with a reason.  Concurrent calls for one server share
 * one fetch; after a failed one, calls fail at once for a minute (the
 * failure hold) rather than fetch again. */
int keyring_get(struct keyring *kr, const char *server, const char *key_id, int64_t ts_ms,
		unsigned char pub[32], char *err, size_t errlen);

/* Puts a document into the cache after verifying it as server's
 * (notary_* as for server_keys_verify, or NULL).  0 or -1 with a reason. */
int keyring_add_document(struct keyring *kr, const json_t *doc, const char *server,
			 const struct keyring_notary *notary, char *err, size_t errlen);

/* The direct fetch alone, bypassing the cache (for tests and refreshes). */
int keyring_fetch_direct(struct keyring *kr, const char *server, char *err, size_t errlen);
/* The fetch through one notary for server (and key_id, may be NULL). */
int keyring_fetch_notary(struct keyring *kr, const struct keyring_notary *notary, const char *server,
			 const char *key_id, int64_t min_valid_ts, char *err, size_t errlen);

/* Checks an inbound federation request's Authorization header (X-Matrix)
 * against the request as received by us: parses it, looks up the origin's
 * key with keyring_get() (fetching it if needed) and verifies the
 * signature over method, uri, origin, destination and content (the parsed
 * JSON body, or NULL without one).  0 with the origin server name copied
 * to origin[cap], or -1 with a reason (the caller answers 401
 * M_UNAUTHORIZED). */
int keyring_check_request(struct keyring *kr, const char *authorization, const char *method, const char *uri,
			  const json_t *content, char *origin, size_t cap, char *err, size_t errlen);

/* ---- server side: handlers for the HTTP layer ----
 *
 * Mounting (no authentication on these endpoints):
 *   GET  /_matrix/key/v2/server              -> 200 keyring_handle_server(kr)
 *   POST /_matrix/key/v2/query               -> keyring_query_parse(body, ...) or 400 M_BAD_JSON,
 *                                               then 200 keyring_handle_query(kr, items, n)
 *   GET  /_matrix/key/v2/query/{serverName}  -> one item { serverName, "", minimum_valid_until_ts
 *                                               query parameter or 0 }, 200 keyring_handle_query()
 * keyring_handle_query() may fetch keys over the network, so it must run
 * where blocking is allowed (a worker thread, not the event loop). */

/* GET /_matrix/key/v2/server: our signed key document (new reference). */
json_t *keyring_handle_server(struct keyring *kr);

/* One server's entry of a notary query. */
struct keyring_query_item {
	char server[256];
	char key_id[128];          /* empty: all keys */
	int64_t min_valid_until_ts;
};

/* Parses a POST /_matrix/key/v2/query body into items[0..*n) (at most
 * max).  0, or -1 with a reason (the caller answers 400 M_BAD_JSON). */
int keyring_query_parse(const json_t *body, struct keyring_query_item *items, size_t max, size_t *n,
			char *err, size_t errlen);

/* POST /_matrix/key/v2/query: {"server_keys": [...]} with each known
 * document re-signed by us (fetched when missing or not valid long enough;
 * servers we cannot get keys for are left out, as the spec allows).
 * GET /_matrix/key/v2/query/{serverName}: the same with one item whose
 * min_valid_until_ts comes from the query parameter (0 when absent).
 * New reference, or NULL when out of memory. */
json_t *keyring_handle_query(struct keyring *kr, const struct keyring_query_item *items, size_t n);

#endif
