/* The homeserver's storage: one interface, two backends (SQLite in WAL mode,
 * PostgreSQL through libpq).  scopd is the only process that opens the
 * database.
 *
 * Contract
 * - Thread-safe: every function may be called from any thread at the same
 *   time.  A struct store holds a small pool of connections; each call
 *   borrows one for its duration.
 * - Every function returns an enum store_rc.  STORE_NOT_FOUND and
 *   STORE_CONFLICT are ordinary outcomes (an unknown token, a taken user ID),
 *   STORE_ERROR is a database failure (logged, without parameters, so no
 *   secret reaches the log).  Nothing aborts or exits.
 * - Durability: when a writing call returns STORE_OK its change is committed
 *   and survives a crash (SQLite synchronous=FULL; PostgreSQL commit).  A
 *   call that changes several rows does so in one transaction: on any error
 *   nothing of it is left.
 * - Secrets: the store never sees a plain token or password.  Callers pass
 *   the argon2id hash of a password, and the lower-case hex SHA-256
 *   (scop_sha256_hex) of access, refresh and login tokens.
 * - Strings passed in are borrowed for the call.  Output structs are
 *   caller-owned storage that the store fills with malloc'd strings; release
 *   them with the matching store_*_clear() (safe on a zeroed struct, and
 *   after a call that did not return STORE_OK, which leaves the struct
 *   zeroed).  Arrays come from malloc and go to the matching *_free().
 * - Times are milliseconds since the Unix epoch (int64_t), supplied by the
 *   caller so tests can control them.  0 means "none/never" where noted.
 * - Booleans are int, 0 or 1.
 */
#ifndef SCOP_STORE_H
#define SCOP_STORE_H

#include <stddef.h>
#include <stdint.h>

enum store_rc {
	STORE_OK = 0,
	STORE_NOT_FOUND = 1, /* no such row (or not valid, where noted) */
	STORE_CONFLICT = 2,  /* unique key taken, or a state that forbids it */
	STORE_ERROR = -1,    /* database or memory failure */
};

struct store;

/* backend: "sqlite" (conninfo is a file path; a new file is created with
 * mode 0600) or "postgres" (conninfo is a libpq connection string, e.g.
 * "host=/run/postgresql dbname=scop").  Synapse's names "sqlite3" and
 * "psycopg2" are accepted too.
 * Connects, then applies the migrations this binary carries that the
 * database lacks, each in its own transaction; opening an up-to-date
 * database changes nothing.  Refuses a database whose schema is newer than
 * this binary.  On failure returns STORE_ERROR with a message in err (no
 * secrets: a conninfo password is never echoed) and *out NULL. */
enum store_rc store_open(const char *backend, const char *conninfo,
			 struct store **out, char *err, size_t errlen);
/* Closes every connection.  NULL is fine.  No call may be in progress. */
void store_close(struct store *st);
/* "sqlite" or "postgres". */
const char *store_backend(const struct store *st);
/* Highest applied migration number. */
enum store_rc store_schema_version(struct store *st, int *version);
/* Static string for a return code, for logs. */
const char *store_rc_str(enum store_rc rc);

/* ---- users ---------------------------------------------------------- */

struct store_user {
	char *user_id;       /* "@alice:example.org" */
	char *password_hash; /* argon2id PHC string; NULL: no password login */
	int is_admin;
	int deactivated;
	int64_t created_ts;
	char *displayname;   /* NULL when unset */
	char *avatar_url;    /* NULL when unset */
};
void store_user_clear(struct store_user *u);

/* A new login session: the device it is on and the tokens it gets. */
struct store_login {
	const char *device_id;           /* required */
	const char *device_display_name; /* used only when the device is new; may be NULL */
	const char *ip;                  /* last-seen IP; may be NULL */
	int64_t now_ms;                  /* becomes the device's last_seen_ts */
	const char *access_token_hash;   /* required: sha256 hex of the access token */
	int64_t access_valid_until_ms;   /* 0: never expires */
	const char *refresh_token_hash;  /* NULL: no refresh token */
	int64_t refresh_valid_until_ms;  /* 0: never expires */
	int replace_device_tokens;       /* 1: revoke the device's earlier tokens first */
};

/* Creates the user and, when login is not NULL, its first device and tokens,
 * all in one transaction.  user_id is stored as given (the caller has
 * already lower-cased and validated it).  password_hash may be NULL.
 * STORE_CONFLICT: the user ID is taken (also by a deactivated user) or a
 * token hash collides; nothing is written then. */
enum store_rc store_user_create(struct store *st, const char *user_id,
				const char *password_hash, int is_admin,
				int64_t created_ts, const struct store_login *login);
/* Exact match.  STORE_NOT_FOUND when unknown.  Deactivated users are
 * returned too (check u->deactivated). */
enum store_rc store_user_get(struct store *st, const char *user_id,
			     struct store_user *out);
/* Case-insensitive (ASCII) match, for login with a differently cased ID: an
 * exact match wins; otherwise the one user whose ID matches ignoring case.
 * STORE_NOT_FOUND: none; STORE_CONFLICT: several, none exact. */
enum store_rc store_user_get_ci(struct store *st, const char *user_id,
				struct store_user *out);
/* Counts users; deactivated ones only when include_deactivated. */
enum store_rc store_user_count(struct store *st, int include_deactivated,
			       int64_t *count);
/* Sets the password hash (NULL removes password login).  When
 * logout_others, deletes every device of the user except keep_device_id
 * (NULL: all devices) with their tokens, in the same transaction.
 * STORE_NOT_FOUND: no such user. */
enum store_rc store_user_set_password(struct store *st, const char *user_id,
				      const char *password_hash, int logout_others,
				      const char *keep_device_id);
enum store_rc store_user_set_admin(struct store *st, const char *user_id, int is_admin);
/* NULL clears the field. */
enum store_rc store_user_set_displayname(struct store *st, const char *user_id,
					 const char *displayname);
enum store_rc store_user_set_avatar_url(struct store *st, const char *user_id,
					const char *avatar_url);
/* Marks the user deactivated, removes its password hash, and deletes all
 * its devices and tokens, in one transaction.  The user ID stays taken.
 * STORE_NOT_FOUND: no such user.  Deactivating twice is STORE_OK. */
enum store_rc store_user_deactivate(struct store *st, const char *user_id);

/* ---- devices -------------------------------------------------------- */

struct store_device {
	char *user_id;
	char *device_id;
	char *display_name; /* NULL when unset */
	int64_t last_seen_ts;
	char *last_seen_ip; /* NULL when unknown */
};
void store_device_clear(struct store_device *d);
/* Frees an array from store_device_list (each element and the array). */
void store_device_list_free(struct store_device *list, size_t n);

/* Logs a user in: creates the device if it does not exist (an existing
 * device keeps its display name), updates its last-seen fields, optionally
 * revokes its earlier tokens, and stores the new tokens; one transaction.
 * STORE_NOT_FOUND: no such user, or the user is deactivated.
 * STORE_CONFLICT: a token hash is already in use. */
enum store_rc store_login(struct store *st, const char *user_id,
			  const struct store_login *login);
enum store_rc store_device_get(struct store *st, const char *user_id,
			       const char *device_id, struct store_device *out);
/* All devices of a user, ordered by device_id; *n may be 0 (then *out is
 * NULL).  An unknown user has no devices (STORE_OK, 0). */
enum store_rc store_device_list(struct store *st, const char *user_id,
				struct store_device **out, size_t *n);
/* NULL clears the name.  STORE_NOT_FOUND: no such device. */
enum store_rc store_device_set_display_name(struct store *st, const char *user_id,
					    const char *device_id,
					    const char *display_name);
/* Records activity (ip may be NULL: keeps the previous one). */
enum store_rc store_device_touch(struct store *st, const char *user_id,
				 const char *device_id, int64_t now_ms,
				 const char *ip);
/* Deletes the device with its access and refresh tokens (this is logout).
 * STORE_NOT_FOUND: no such device. */
enum store_rc store_device_delete(struct store *st, const char *user_id,
				  const char *device_id);
/* Deletes every device of the user except keep_device_id (NULL: all), with
 * their tokens, plus any device-less access tokens when keep_device_id is
 * NULL (logout/all).  STORE_OK also when there was nothing to delete. */
enum store_rc store_device_delete_all(struct store *st, const char *user_id,
				      const char *keep_device_id);

/* ---- access tokens -------------------------------------------------- */

/* What an access token authenticates, joined with its user so one query
 * serves each request. */
struct store_access {
	char *user_id;
	char *device_id;          /* NULL for a device-less token */
	int64_t valid_until_ms;   /* 0: never; the caller compares with now */
	char *refresh_token_hash; /* the refresh token issued with it, or NULL */
	int is_admin;
	int deactivated;
};
void store_access_clear(struct store_access *a);

/* STORE_NOT_FOUND: no such token.  An expired token is still returned (the
 * caller answers M_UNKNOWN_TOKEN with soft_logout for it).  The first
 * lookup of an access token issued by store_refresh_rotate also revokes the
 * refresh token that rotation replaced (one small write, once per token). */
enum store_rc store_access_token_lookup(struct store *st, const char *token_hash,
					struct store_access *out);
/* Adds an access token for an existing device (device_id NULL: device-less,
 * e.g. an admin-issued token).  STORE_NOT_FOUND: no such user/device;
 * STORE_CONFLICT: hash in use. */
enum store_rc store_access_token_add(struct store *st, const char *token_hash,
				     const char *user_id, const char *device_id,
				     int64_t valid_until_ms);
/* Deletes one access token; the device stays.  STORE_NOT_FOUND: none. */
enum store_rc store_access_token_delete(struct store *st, const char *token_hash);
/* Deletes the access and refresh tokens of one device, keeping the device. */
enum store_rc store_tokens_delete_for_device(struct store *st, const char *user_id,
					     const char *device_id);
/* Deletes every access and refresh token of the user, keeping devices. */
enum store_rc store_tokens_delete_for_user(struct store *st, const char *user_id);

/* ---- refresh tokens ------------------------------------------------- */

/* Rotates a refresh token (POST /refresh), in one transaction:
 * the old token must exist, be unexpired at now_ms, and not be superseded:
 * as the spec says, it stays usable until the new access token or the new
 * refresh token is used, so a client that lost the response can retry
 * (then the unused successor and its access token are replaced).  The access tokens issued with the
 * old refresh token are deleted; new_access_hash (valid until
 * new_access_valid_until_ms, 0 never) and new_refresh_hash (valid until
 * new_refresh_valid_until_ms, 0 never) are stored on the same device.
 * user_id_out/device_id_out (may be NULL) receive malloc'd copies.
 * STORE_NOT_FOUND: unknown, expired or superseded token.
 * STORE_CONFLICT: a new hash collides. */
enum store_rc store_refresh_rotate(struct store *st, const char *old_refresh_hash,
				   int64_t now_ms,
				   const char *new_access_hash,
				   int64_t new_access_valid_until_ms,
				   const char *new_refresh_hash,
				   int64_t new_refresh_valid_until_ms,
				   char **user_id_out, char **device_id_out);

/* ---- registration tokens (Synapse admin API / m.login.registration_token) */

struct store_regtoken {
	char *token;
	int64_t uses_allowed; /* -1: unlimited */
	int64_t pending;
	int64_t completed;
	int64_t expiry_time;  /* 0: never expires */
};
void store_regtoken_clear(struct store_regtoken *t);
void store_regtoken_list_free(struct store_regtoken *list, size_t n);

/* STORE_CONFLICT: token exists. */
enum store_rc store_regtoken_create(struct store *st, const char *token,
				    int64_t uses_allowed, int64_t expiry_time);
enum store_rc store_regtoken_get(struct store *st, const char *token,
				 struct store_regtoken *out);
/* All tokens ordered by token.  valid_filter: -1 all; 1 only valid at
 * now_ms; 0 only invalid (expired or used up). */
enum store_rc store_regtoken_list(struct store *st, int valid_filter, int64_t now_ms,
				  struct store_regtoken **out, size_t *n);
/* Sets both fields (uses_allowed -1 unlimited, expiry_time 0 never). */
enum store_rc store_regtoken_update(struct store *st, const char *token,
				    int64_t uses_allowed, int64_t expiry_time);
enum store_rc store_regtoken_delete(struct store *st, const char *token);
/* 1 in *valid when the token exists, has not expired at now_ms, and
 * pending + completed < uses_allowed (or unlimited). */
enum store_rc store_regtoken_validity(struct store *st, const char *token,
				      int64_t now_ms, int *valid);
/* Atomically checks validity and counts one pending use (a UIA session
 * that presented the token).  STORE_NOT_FOUND: unknown, expired or used up. */
enum store_rc store_regtoken_use_pending(struct store *st, const char *token,
					 int64_t now_ms);
/* Moves one pending use to completed (registration finished). */
enum store_rc store_regtoken_use_complete(struct store *st, const char *token);
/* Drops one pending use (the UIA session expired without registering). */
enum store_rc store_regtoken_use_release(struct store *st, const char *token);

/* ---- server key/value (signing-key fingerprint, instance settings) --- */

/* *value is malloc'd.  STORE_NOT_FOUND: no such key. */
enum store_rc store_kv_get(struct store *st, const char *key, char **value);
/* Inserts or replaces. */
enum store_rc store_kv_set(struct store *st, const char *key, const char *value);
/* STORE_NOT_FOUND: no such key. */
enum store_rc store_kv_delete(struct store *st, const char *key);

/* ---- events and the stream (skeleton; rooms and state come later) ---- */

struct store_event {
	int64_t stream_pos;  /* set by the store on append */
	char *event_id;
	char *room_id;
	char *type;
	char *state_key;     /* NULL: not a state event */
	char *sender;
	int64_t origin_server_ts;
	char *json;          /* the whole event, as the caller serialised it */
};
void store_event_clear(struct store_event *e);
void store_event_list_free(struct store_event *list, size_t n);

/* Any other PostgreSQL writer of the events table must take
 * pg_advisory_xact_lock(STORE_PG_EVENTS_LOCK) in its transaction before
 * inserting, so that stream positions keep becoming visible in order.
 * (On SQLite, BEGIN IMMEDIATE already serialises writers.) */
#define STORE_PG_EVENTS_LOCK 0x5c0b0002

/* Stores an event (ev->stream_pos is ignored) and gives it the next global
 * stream position in *stream_pos.  Appends are serialised, so positions
 * become visible in increasing order: a reader that has seen position p
 * never later finds a new event at or below p.  Positions may have gaps.
 * STORE_CONFLICT: the event ID is already stored; *stream_pos is then the
 * existing event's position. */
enum store_rc store_event_append(struct store *st, const struct store_event *ev,
				 int64_t *stream_pos);
enum store_rc store_event_get(struct store *st, const char *event_id,
			      struct store_event *out);
/* Events with stream_pos > from, ascending, at most limit (> 0), of one
 * room (room_id NULL: every room).  *n may be 0. */
enum store_rc store_events_after(struct store *st, const char *room_id,
				 int64_t from, int limit,
				 struct store_event **out, size_t *n);
/* The highest stream position stored (0 when there are no events). */
enum store_rc store_stream_max(struct store *st, int64_t *pos);

#endif
