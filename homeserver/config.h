/* scopd's configuration: a YAML file in Synapse's vocabulary where the two
 * overlap (server_name, listeners, database, registration_shared_secret,
 * enable_registration, signing_key_path, ...), loaded into struct
 * hs_config.
 *
 * Contract: hs_config_load()/hs_config_parse() fill a caller-provided
 * struct that owns every string in it; hs_config_free() releases them.  On
 * error they return -1 with a one-line message in err and leave the struct
 * freed (safe to hs_config_free() again).  Unknown keys are ignored, as
 * Synapse configs carry many that scopd does not use.
 */
#ifndef SCOP_HS_CONFIG_H
#define SCOP_HS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "homeserver/presence_timeout.h"

#include "common/log.h"

#define HS_MAX_BINDS 8

enum hs_db_kind {
	HS_DB_SQLITE,
	HS_DB_POSTGRES,
};

/* One address:port pair to listen on (each listener's bind_addresses are
 * flattened into these). */
struct hs_bind {
	char *addr;
	int port;
	bool x_forwarded; /* behind a reverse proxy: trust its X-Forwarded-For */
	bool tls;         /* HTTPS with tls_certificate_path / tls_private_key_path */
};

/* A token bucket's parameters (Synapse's rc_* blocks). */
struct hs_rate {
	double per_second;
	double burst_count;
};

struct hs_config {
	char *server_name;
	char *public_baseurl;       /* with a trailing '/' */
	struct hs_bind binds[HS_MAX_BINDS];
	size_t nbinds;

	enum hs_db_kind db_kind;
	char *db_path;              /* SQLite file */
	char *db_conninfo;          /* libpq connection string */

	char *registration_shared_secret; /* NULL: admin registration disabled */
	bool enable_registration;
	bool registration_requires_token;
	char **registration_tokens; /* NULL-terminated list; may be NULL */

	char *signing_key_path;
	char *tls_certificate_path; /* PEM; needed when a listener has tls: true */
	char *tls_private_key_path;
	enum scop_log_level log_level;
	size_t max_upload_size;     /* media, bytes */
	size_t max_request_body;    /* JSON request bodies, bytes */
	unsigned thread_pool_size;

	struct hs_rate rc_login_address;   /* all login attempts per client IP */
	struct hs_rate rc_login_account;   /* all login attempts per user */
	struct hs_rate rc_login_failed;    /* failed attempts per user and per IP */
	struct hs_rate rc_registration;    /* registrations per client IP */

	/* argon2id cost; lower it in tests, never in production. */
	unsigned argon2_time_cost;
	unsigned argon2_memory_kib;
	unsigned argon2_parallelism;

	long access_token_lifetime_ms; /* for refreshable tokens */

	/* presence: {enabled} as Synapse's (default true); the timeouts
	 * (presence_timeouts_ms) are Synapse's constants unless a test
	 * shortens them. */
	bool presence_enabled;
	struct presence_timeouts presence_timeouts;
};

void hs_config_init(struct hs_config *c);
void hs_config_free(struct hs_config *c);
/* Reads a parsed YAML/JSON tree.  base_dir resolves relative paths (may be NULL). */
int hs_config_parse(struct hs_config *c, json_t *root, const char *base_dir,
		    char *err, size_t errlen);
int hs_config_load(struct hs_config *c, const char *path, char *err, size_t errlen);

/* Writes a new config at path with a fresh Ed25519 key (next to it, or in
 * data_dir when given) and a random registration_shared_secret.  Refuses to
 * overwrite an existing file.  Returns 0 or -1 with err set. */
int hs_config_generate(const char *path, const char *server_name,
		       const char *data_dir, char *err, size_t errlen);

#endif
