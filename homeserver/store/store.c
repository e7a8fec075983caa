/* The store: a pool of connections and the account queries.  See store.h.
 *
 * Each public function borrows a connection, runs its statements (inside a
 * transaction when it writes more than one row) and gives the connection
 * back.  The SQL is shared by both backends (db.h explains the dialect).
 */
#include "homeserver/store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "homeserver/store/db.h"
#include "homeserver/store/db_pool.h"
#include "homeserver/store/migrate.h"

/* Connections per store, opened on demand.  SQLite runs one writer at a
 * time anyway; readers in WAL mode proceed in parallel. */
#define POOL_SQLITE 4
#define POOL_POSTGRES 8

struct store {
	enum db_kind kind;
	struct db_pool *pool;
};

/* ---- pool ----------------------------------------------------------- */

static struct db_conn *conn_get(struct store *st)
{
	return db_pool_get(st->pool);
}

static void conn_put(struct store *st, struct db_conn *c)
{
	db_pool_put(st->pool, c);
}

/* ---- open/close ----------------------------------------------------- */

enum store_rc store_open(const char *backend, const char *conninfo,
			 struct store **out, char *err, size_t errlen)
{
	struct store *st;
	struct db_conn *c;
	enum db_kind kind;

	*out = NULL;
	if (!backend || !conninfo) {
		snprintf(err, errlen, "store: backend and database are required");
		return STORE_ERROR;
	}
	if (strcmp(backend, "sqlite") == 0 || strcmp(backend, "sqlite3") == 0) {
		kind = DB_SQLITE;
	} else if (strcmp(backend, "postgres") == 0 || strcmp(backend, "psycopg2") == 0) {
		kind = DB_POSTGRES;
	} else {
		snprintf(err, errlen, "store: unknown database backend \"%.40s\" "
			 "(use sqlite or postgres)", backend);
		return STORE_ERROR;
	}
	if (kind == DB_SQLITE && (strcmp(conninfo, ":memory:") == 0 || conninfo[0] == '\0')) {
		/* Each pooled connection would see its own empty database. */
		snprintf(err, errlen, "store: sqlite needs a database file");
		return STORE_ERROR;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "store: out of memory");
		return STORE_ERROR;
	}
	st->kind = kind;
	if (db_pool_open(kind, conninfo, kind == DB_SQLITE ? POOL_SQLITE : POOL_POSTGRES, "store",
			 &st->pool, err, errlen) != STORE_OK) {
		free(st);
		return STORE_ERROR;
	}
	c = conn_get(st);
	if (!c || migrate_apply(c, err, errlen) != STORE_OK) {
		if (!c)
			snprintf(err, errlen, "store: cannot connect");
		conn_put(st, c);
		store_close(st);
		return STORE_ERROR;
	}
	conn_put(st, c);
	*out = st;
	return STORE_OK;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	db_pool_close(st->pool);
	free(st);
}

const char *store_backend(const struct store *st)
{
	return st->kind == DB_SQLITE ? "sqlite" : "postgres";
}

const char *store_rc_str(enum store_rc rc)
{
	switch (rc) {
	case STORE_OK: return "ok";
	case STORE_NOT_FOUND: return "not found";
	case STORE_CONFLICT: return "conflict";
	case STORE_ERROR: return "database error";
	}
	return "?";
}

enum store_rc store_schema_version(struct store *st, int *version)
{
	struct db_conn *c = conn_get(st);
	enum store_rc rc;
	if (!c)
		return STORE_ERROR;
	rc = migrate_version(c, version);
	conn_put(st, c);
	return rc;
}

/* ---- helpers -------------------------------------------------------- */

/* Ends a transaction: commits when everything went well, else rolls back
 * and returns the first failure. */
static enum store_rc tx_end(struct db_conn *c, enum store_rc rc)
{
	if (rc == STORE_OK)
		return db_commit(c);
	db_rollback(c);
	return rc;
}

/* A statement that must change exactly the row it names. */
static enum store_rc changed_one(enum store_rc rc, const struct db_res *r)
{
	if (rc == STORE_OK && r->changes == 0)
		return STORE_NOT_FOUND;
	return rc;
}

/* Runs one statement on a borrowed connection; the common case of a
 * function that is a single statement.  Returns NOT_FOUND when
 * must_change and no row changed. */
static enum store_rc exec1(struct store *st, const char *sql, const struct db_param *p,
			   int np, int must_change)
{
	struct db_conn *c = conn_get(st);
	struct db_res r;
	enum store_rc rc;
	if (!c)
		return STORE_ERROR;
	rc = db_query(c, sql, p, np, &r);
	if (must_change)
		rc = changed_one(rc, &r);
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}
#define EXEC1(st, must_change, sql, ...)                                        \
	exec1((st), (sql), (const struct db_param[]){ __VA_ARGS__ },           \
	      (int)(sizeof((const struct db_param[]){ __VA_ARGS__ }) /         \
		    sizeof(struct db_param)),                                  \
	      (must_change))

/* ---- users ---------------------------------------------------------- */

#define USER_COLS "user_id, password_hash, is_admin, deactivated, created_ts, displayname, avatar_url"

void store_user_clear(struct store_user *u)
{
	if (!u)
		return;
	free(u->user_id);
	free(u->password_hash);
	free(u->displayname);
	free(u->avatar_url);
	memset(u, 0, sizeof(*u));
}

static enum store_rc user_from_row(const struct db_res *r, int row, struct store_user *u)
{
	int oom = 0;
	u->user_id = db_dup(r, row, 0, &oom);
	u->password_hash = db_dup(r, row, 1, &oom);
	u->is_admin = db_get_int(r, row, 2) != 0;
	u->deactivated = db_get_int(r, row, 3) != 0;
	u->created_ts = db_get_int(r, row, 4);
	u->displayname = db_dup(r, row, 5, &oom);
	u->avatar_url = db_dup(r, row, 6, &oom);
	if (oom) {
		store_user_clear(u);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* The writes of a login, inside the caller's transaction. */
static enum store_rc login_rows(struct db_conn *c, const char *user_id,
				const struct store_login *l)
{
	enum store_rc rc;
	if (!l->device_id || !l->access_token_hash)
		return STORE_ERROR;
	rc = DBQ(c, NULL,
		 "INSERT INTO devices (user_id, device_id, display_name, last_seen_ts, last_seen_ip)"
		 " VALUES (?, ?, ?, ?, ?)"
		 " ON CONFLICT (user_id, device_id) DO UPDATE SET"
		 " last_seen_ts = excluded.last_seen_ts,"
		 " last_seen_ip = COALESCE(excluded.last_seen_ip, devices.last_seen_ip)",
		 DB_TEXT(user_id), DB_TEXT(l->device_id), DB_TEXT(l->device_display_name),
		 DB_INT(l->now_ms), DB_TEXT(l->ip));
	if (rc == STORE_OK && l->replace_device_tokens) {
		rc = DBQ(c, NULL, "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?",
			 DB_TEXT(user_id), DB_TEXT(l->device_id));
		if (rc == STORE_OK)
			rc = DBQ(c, NULL, "DELETE FROM refresh_tokens WHERE user_id = ? AND device_id = ?",
				 DB_TEXT(user_id), DB_TEXT(l->device_id));
	}
	if (rc == STORE_OK)
		rc = DBQ(c, NULL,
			 "INSERT INTO access_tokens (token_hash, user_id, device_id, valid_until_ms, refresh_hash)"
			 " VALUES (?, ?, ?, ?, ?)",
			 DB_TEXT(l->access_token_hash), DB_TEXT(user_id), DB_TEXT(l->device_id),
			 DB_INT(l->access_valid_until_ms), DB_TEXT(l->refresh_token_hash));
	if (rc == STORE_OK && l->refresh_token_hash)
		rc = DBQ(c, NULL,
			 "INSERT INTO refresh_tokens (token_hash, user_id, device_id, valid_until_ms)"
			 " VALUES (?, ?, ?, ?)",
			 DB_TEXT(l->refresh_token_hash), DB_TEXT(user_id), DB_TEXT(l->device_id),
			 DB_INT(l->refresh_valid_until_ms));
	return rc;
}

enum store_rc store_user_create(struct store *st, const char *user_id,
				const char *password_hash, int is_admin,
				int64_t created_ts, const struct store_login *login)
{
	struct db_conn *c;
	enum store_rc rc;
	if (!user_id)
		return STORE_ERROR;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK) {
		rc = DBQ(c, NULL,
			 "INSERT INTO users (user_id, password_hash, is_admin, created_ts) VALUES (?, ?, ?, ?)",
			 DB_TEXT(user_id), DB_TEXT(password_hash), DB_INT(is_admin != 0),
			 DB_INT(created_ts));
		if (rc == STORE_OK && login)
			rc = login_rows(c, user_id, login);
		rc = tx_end(c, rc);
	}
	conn_put(st, c);
	return rc;
}

enum store_rc store_user_get(struct store *st, const char *user_id, struct store_user *out)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	memset(out, 0, sizeof(*out));
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT " USER_COLS " FROM users WHERE user_id = ?", DB_TEXT(user_id));
	if (rc == STORE_OK)
		rc = r.nrows ? user_from_row(&r, 0, out) : STORE_NOT_FOUND;
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_user_get_ci(struct store *st, const char *user_id, struct store_user *out)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	int pick = -1;
	memset(out, 0, sizeof(*out));
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT " USER_COLS " FROM users WHERE lower(user_id) = lower(CAST(? AS TEXT))",
		 DB_TEXT(user_id));
	if (rc == STORE_OK) {
		for (int i = 0; i < r.nrows; i++)
			if (strcmp(db_get(&r, i, 0), user_id) == 0)
				pick = i;
		if (pick < 0 && r.nrows == 1)
			pick = 0;
		if (pick >= 0)
			rc = user_from_row(&r, pick, out);
		else
			rc = r.nrows ? STORE_CONFLICT : STORE_NOT_FOUND;
	}
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_user_count(struct store *st, int include_deactivated, int64_t *count)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	*count = 0;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_query(c, include_deactivated ? "SELECT count(*) FROM users"
					     : "SELECT count(*) FROM users WHERE deactivated = 0",
		      NULL, 0, &r);
	if (rc == STORE_OK)
		*count = db_get_int(&r, 0, 0);
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

/* Deletes a user's devices (and so their tokens), all or all but one. */
static enum store_rc delete_devices(struct db_conn *c, const char *user_id, const char *keep)
{
	enum store_rc rc;
	if (keep)
		return DBQ(c, NULL, "DELETE FROM devices WHERE user_id = ? AND device_id <> ?",
			   DB_TEXT(user_id), DB_TEXT(keep));
	rc = DBQ(c, NULL, "DELETE FROM devices WHERE user_id = ?", DB_TEXT(user_id));
	if (rc == STORE_OK) /* device-less tokens remain */
		rc = DBQ(c, NULL, "DELETE FROM access_tokens WHERE user_id = ?", DB_TEXT(user_id));
	return rc;
}

enum store_rc store_user_set_password(struct store *st, const char *user_id,
				      const char *password_hash, int logout_others,
				      const char *keep_device_id)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK) {
		rc = DBQ(c, &r, "UPDATE users SET password_hash = ? WHERE user_id = ?",
			 DB_TEXT(password_hash), DB_TEXT(user_id));
		rc = changed_one(rc, &r);
		db_res_free(&r);
		if (rc == STORE_OK && logout_others)
			rc = delete_devices(c, user_id, keep_device_id);
		rc = tx_end(c, rc);
	}
	conn_put(st, c);
	return rc;
}

enum store_rc store_user_set_admin(struct store *st, const char *user_id, int is_admin)
{
	return EXEC1(st, 1, "UPDATE users SET is_admin = ? WHERE user_id = ?",
		     DB_INT(is_admin != 0), DB_TEXT(user_id));
}

enum store_rc store_user_set_displayname(struct store *st, const char *user_id,
					 const char *displayname)
{
	return EXEC1(st, 1, "UPDATE users SET displayname = ? WHERE user_id = ?",
		     DB_TEXT(displayname), DB_TEXT(user_id));
}

enum store_rc store_user_set_avatar_url(struct store *st, const char *user_id,
					const char *avatar_url)
{
	return EXEC1(st, 1, "UPDATE users SET avatar_url = ? WHERE user_id = ?",
		     DB_TEXT(avatar_url), DB_TEXT(user_id));
}

enum store_rc store_user_deactivate(struct store *st, const char *user_id)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK) {
		rc = DBQ(c, &r, "UPDATE users SET deactivated = 1, password_hash = NULL WHERE user_id = ?",
			 DB_TEXT(user_id));
		rc = changed_one(rc, &r);
		db_res_free(&r);
		if (rc == STORE_OK)
			rc = delete_devices(c, user_id, NULL);
		rc = tx_end(c, rc);
	}
	conn_put(st, c);
	return rc;
}

/* ---- devices -------------------------------------------------------- */

#define DEVICE_COLS "user_id, device_id, display_name, last_seen_ts, last_seen_ip"

void store_device_clear(struct store_device *d)
{
	if (!d)
		return;
	free(d->user_id);
	free(d->device_id);
	free(d->display_name);
	free(d->last_seen_ip);
	memset(d, 0, sizeof(*d));
}

void store_device_list_free(struct store_device *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		store_device_clear(&list[i]);
	free(list);
}

static enum store_rc device_from_row(const struct db_res *r, int row, struct store_device *d)
{
	int oom = 0;
	d->user_id = db_dup(r, row, 0, &oom);
	d->device_id = db_dup(r, row, 1, &oom);
	d->display_name = db_dup(r, row, 2, &oom);
	d->last_seen_ts = db_get_int(r, row, 3);
	d->last_seen_ip = db_dup(r, row, 4, &oom);
	if (oom) {
		store_device_clear(d);
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_rc store_login(struct store *st, const char *user_id, const struct store_login *login)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	if (!login)
		return STORE_ERROR;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK) {
		rc = DBQ(c, &r, "SELECT deactivated FROM users WHERE user_id = ?", DB_TEXT(user_id));
		if (rc == STORE_OK && (r.nrows == 0 || db_get_int(&r, 0, 0)))
			rc = STORE_NOT_FOUND;
		db_res_free(&r);
		if (rc == STORE_OK)
			rc = login_rows(c, user_id, login);
		rc = tx_end(c, rc);
	}
	conn_put(st, c);
	return rc;
}

enum store_rc store_device_get(struct store *st, const char *user_id,
			       const char *device_id, struct store_device *out)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	memset(out, 0, sizeof(*out));
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT " DEVICE_COLS " FROM devices WHERE user_id = ? AND device_id = ?",
		 DB_TEXT(user_id), DB_TEXT(device_id));
	if (rc == STORE_OK)
		rc = r.nrows ? device_from_row(&r, 0, out) : STORE_NOT_FOUND;
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_device_list(struct store *st, const char *user_id,
				struct store_device **out, size_t *n)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	*out = NULL;
	*n = 0;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT " DEVICE_COLS " FROM devices WHERE user_id = ? ORDER BY device_id",
		 DB_TEXT(user_id));
	if (rc == STORE_OK && r.nrows > 0) {
		struct store_device *list = calloc((size_t)r.nrows, sizeof(*list));
		if (!list)
			rc = STORE_ERROR;
		for (int i = 0; list && i < r.nrows && rc == STORE_OK; i++)
			rc = device_from_row(&r, i, &list[i]);
		if (rc == STORE_OK) {
			*out = list;
			*n = (size_t)r.nrows;
		} else {
			store_device_list_free(list, (size_t)r.nrows);
		}
	}
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_device_set_display_name(struct store *st, const char *user_id,
					    const char *device_id, const char *display_name)
{
	return EXEC1(st, 1, "UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
		     DB_TEXT(display_name), DB_TEXT(user_id), DB_TEXT(device_id));
}

enum store_rc store_device_touch(struct store *st, const char *user_id,
				 const char *device_id, int64_t now_ms, const char *ip)
{
	return EXEC1(st, 1,
		     "UPDATE devices SET last_seen_ts = ?, last_seen_ip = COALESCE(?, last_seen_ip)"
		     " WHERE user_id = ? AND device_id = ?",
		     DB_INT(now_ms), DB_TEXT(ip), DB_TEXT(user_id), DB_TEXT(device_id));
}

enum store_rc store_device_delete(struct store *st, const char *user_id, const char *device_id)
{
	/* One statement: the foreign keys delete the device's tokens with it. */
	return EXEC1(st, 1, "DELETE FROM devices WHERE user_id = ? AND device_id = ?",
		     DB_TEXT(user_id), DB_TEXT(device_id));
}

enum store_rc store_device_delete_all(struct store *st, const char *user_id,
				      const char *keep_device_id)
{
	struct db_conn *c;
	enum store_rc rc;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK)
		rc = tx_end(c, delete_devices(c, user_id, keep_device_id));
	conn_put(st, c);
	return rc;
}

/* ---- access tokens -------------------------------------------------- */

void store_access_clear(struct store_access *a)
{
	if (!a)
		return;
	free(a->user_id);
	free(a->device_id);
	free(a->refresh_token_hash);
	memset(a, 0, sizeof(*a));
}

/* The first use of an access token from a rotation settles that rotation:
 * the refresh token it replaced can no longer be retried.  Best effort: if
 * this fails, the next use tries again. */
static void first_use(struct db_conn *c, const char *token_hash, const char *refresh_hash)
{
	struct db_res r;
	enum store_rc rc = db_begin(c);
	if (rc == STORE_OK) {
		rc = DBQ(c, &r, "UPDATE access_tokens SET used = 1 WHERE token_hash = ? AND used = 0",
			 DB_TEXT(token_hash));
		if (rc == STORE_OK && r.changes == 1)
			rc = DBQ(c, NULL, "DELETE FROM refresh_tokens WHERE next_hash = ?",
				 DB_TEXT(refresh_hash));
		db_res_free(&r);
		tx_end(c, rc);
	}
}

enum store_rc store_access_token_lookup(struct store *st, const char *token_hash,
					struct store_access *out)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	int oom = 0;
	memset(out, 0, sizeof(*out));
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = DBQ(c, &r,
		 "SELECT a.user_id, a.device_id, a.valid_until_ms, a.refresh_hash,"
		 " u.is_admin, u.deactivated, a.used"
		 " FROM access_tokens a JOIN users u ON u.user_id = a.user_id"
		 " WHERE a.token_hash = ?",
		 DB_TEXT(token_hash));
	if (rc == STORE_OK && r.nrows == 0)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK) {
		out->user_id = db_dup(&r, 0, 0, &oom);
		out->device_id = db_dup(&r, 0, 1, &oom);
		out->valid_until_ms = db_get_int(&r, 0, 2);
		out->refresh_token_hash = db_dup(&r, 0, 3, &oom);
		out->is_admin = db_get_int(&r, 0, 4) != 0;
		out->deactivated = db_get_int(&r, 0, 5) != 0;
		if (oom) {
			store_access_clear(out);
			rc = STORE_ERROR;
		} else if (out->refresh_token_hash && db_get_int(&r, 0, 6) == 0) {
			first_use(c, token_hash, out->refresh_token_hash);
		}
	}
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_access_token_add(struct store *st, const char *token_hash,
				     const char *user_id, const char *device_id,
				     int64_t valid_until_ms)
{
	return EXEC1(st, 0,
		     "INSERT INTO access_tokens (token_hash, user_id, device_id, valid_until_ms)"
		     " VALUES (?, ?, ?, ?)",
		     DB_TEXT(token_hash), DB_TEXT(user_id), DB_TEXT(device_id),
		     DB_INT(valid_until_ms));
}

enum store_rc store_access_token_delete(struct store *st, const char *token_hash)
{
	return EXEC1(st, 1, "DELETE FROM access_tokens WHERE token_hash = ?", DB_TEXT(token_hash));
}

enum store_rc store_tokens_delete_for_device(struct store *st, const char *user_id,
					     const char *device_id)
{
	struct db_conn *c;
	enum store_rc rc;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK) {
		rc = DBQ(c, NULL, "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?",
			 DB_TEXT(user_id), DB_TEXT(device_id));
		if (rc == STORE_OK)
			rc = DBQ(c, NULL, "DELETE FROM refresh_tokens WHERE user_id = ? AND device_id = ?",
				 DB_TEXT(user_id), DB_TEXT(device_id));
		rc = tx_end(c, rc);
	}
	conn_put(st, c);
	return rc;
}

enum store_rc store_tokens_delete_for_user(struct store *st, const char *user_id)
{
	struct db_conn *c;
	enum store_rc rc;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK) {
		rc = DBQ(c, NULL, "DELETE FROM access_tokens WHERE user_id = ?", DB_TEXT(user_id));
		if (rc == STORE_OK)
			rc = DBQ(c, NULL, "DELETE FROM refresh_tokens WHERE user_id = ?", DB_TEXT(user_id));
		rc = tx_end(c, rc);
	}
	conn_put(st, c);
	return rc;
}

/* ---- refresh tokens ------------------------------------------------- */

/* The body of store_refresh_rotate, inside its transaction. */
static enum store_rc rotate_rows(struct db_conn *c, const char *old, int64_t now_ms,
				 const char *new_access, int64_t access_until,
				 const char *new_refresh, int64_t refresh_until,
				 char **user_out, char **device_out)
{
	struct db_res r, d;
	enum store_rc rc;
	const char *user, *device, *next;
	int64_t until;

	/* Marking the row first locks it (PostgreSQL row lock; SQLite holds the
	 * database write lock already), so two rotations of one token run one
	 * after the other. */
	rc = DBQ(c, &r,
		 "UPDATE refresh_tokens SET used = 1 WHERE token_hash = ?"
		 " RETURNING user_id, device_id, valid_until_ms, next_hash",
		 DB_TEXT(old));
	if (rc == STORE_OK && r.nrows == 0)
		rc = STORE_NOT_FOUND;
	if (rc != STORE_OK)
		goto out;
	user = db_get(&r, 0, 0);
	device = db_get(&r, 0, 1);
	until = db_get_int(&r, 0, 2);
	next = db_get(&r, 0, 3);
	if (until != 0 && until <= now_ms) {
		rc = STORE_NOT_FOUND;
		goto out;
	}
	if (next) {
		/* Rotated before: allowed again only while the successor is
		 * unused, and the successor is then replaced.  The used = 0
		 * condition is re-checked under the row lock, so a concurrent
		 * use of the successor wins. */
		rc = DBQ(c, &d, "DELETE FROM refresh_tokens WHERE token_hash = ? AND used = 0",
			 DB_TEXT(next));
		if (rc == STORE_OK && d.changes == 0)
			rc = STORE_NOT_FOUND;
		db_res_free(&d);
		if (rc == STORE_OK)
			rc = DBQ(c, NULL, "DELETE FROM access_tokens WHERE refresh_hash = ?", DB_TEXT(next));
		if (rc != STORE_OK)
			goto out;
	}
	/* Using this token settles its predecessor for good. */
	rc = DBQ(c, NULL, "DELETE FROM refresh_tokens WHERE next_hash = ?", DB_TEXT(old));
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "DELETE FROM access_tokens WHERE refresh_hash = ?", DB_TEXT(old));
	if (rc == STORE_OK)
		rc = DBQ(c, NULL,
			 "INSERT INTO refresh_tokens (token_hash, user_id, device_id, valid_until_ms)"
			 " VALUES (?, ?, ?, ?)",
			 DB_TEXT(new_refresh), DB_TEXT(user), DB_TEXT(device), DB_INT(refresh_until));
	if (rc == STORE_OK)
		rc = DBQ(c, NULL,
			 "INSERT INTO access_tokens (token_hash, user_id, device_id, valid_until_ms, refresh_hash)"
			 " VALUES (?, ?, ?, ?, ?)",
			 DB_TEXT(new_access), DB_TEXT(user), DB_TEXT(device), DB_INT(access_until),
			 DB_TEXT(new_refresh));
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "UPDATE refresh_tokens SET next_hash = ? WHERE token_hash = ?",
			 DB_TEXT(new_refresh), DB_TEXT(old));
	if (rc == STORE_OK && user_out && !(*user_out = strdup(user)))
		rc = STORE_ERROR;
	if (rc == STORE_OK && device_out && !(*device_out = strdup(device)))
		rc = STORE_ERROR;
out:
	db_res_free(&r);
	return rc;
}

enum store_rc store_refresh_rotate(struct store *st, const char *old_refresh_hash,
				   int64_t now_ms,
				   const char *new_access_hash, int64_t new_access_valid_until_ms,
				   const char *new_refresh_hash, int64_t new_refresh_valid_until_ms,
				   char **user_id_out, char **device_id_out)
{
	struct db_conn *c;
	enum store_rc rc;
	char *user = NULL, *device = NULL;

	if (user_id_out)
		*user_id_out = NULL;
	if (device_id_out)
		*device_id_out = NULL;
	if (!old_refresh_hash || !new_access_hash || !new_refresh_hash)
		return STORE_ERROR;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK)
		rc = tx_end(c, rotate_rows(c, old_refresh_hash, now_ms,
					   new_access_hash, new_access_valid_until_ms,
					   new_refresh_hash, new_refresh_valid_until_ms,
					   &user, &device));
	conn_put(st, c);
	if (rc == STORE_OK && user_id_out) {
		*user_id_out = user;
		user = NULL;
	}
	if (rc == STORE_OK && device_id_out) {
		*device_id_out = device;
		device = NULL;
	}
	free(user);
	free(device);
	return rc;
}

/* ---- registration tokens -------------------------------------------- */

#define REGTOKEN_COLS "token, uses_allowed, pending, completed, expiry_time"
/* Usable now (the parameter): unexpired and not used up.  Pending uses
 * count, so that concurrent registrations cannot overshoot. */
#define REGTOKEN_VALID \
	"(expiry_time IS NULL OR expiry_time > ?)" \
	" AND (uses_allowed IS NULL OR pending + completed < uses_allowed)"

void store_regtoken_clear(struct store_regtoken *t)
{
	if (!t)
		return;
	free(t->token);
	memset(t, 0, sizeof(*t));
}

void store_regtoken_list_free(struct store_regtoken *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		store_regtoken_clear(&list[i]);
	free(list);
}

static enum store_rc regtoken_from_row(const struct db_res *r, int row, struct store_regtoken *t)
{
	int oom = 0;
	t->token = db_dup(r, row, 0, &oom);
	t->uses_allowed = db_is_null(r, row, 1) ? -1 : db_get_int(r, row, 1);
	t->pending = db_get_int(r, row, 2);
	t->completed = db_get_int(r, row, 3);
	t->expiry_time = db_get_int(r, row, 4);
	return oom ? STORE_ERROR : STORE_OK;
}

enum store_rc store_regtoken_create(struct store *st, const char *token,
				    int64_t uses_allowed, int64_t expiry_time)
{
	return EXEC1(st, 0,
		     "INSERT INTO registration_tokens (token, uses_allowed, expiry_time) VALUES (?, ?, ?)",
		     DB_TEXT(token), DB_INT_OR_NULL(uses_allowed, -1),
		     DB_INT_OR_NULL(expiry_time, 0));
}

enum store_rc store_regtoken_get(struct store *st, const char *token, struct store_regtoken *out)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	memset(out, 0, sizeof(*out));
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT " REGTOKEN_COLS " FROM registration_tokens WHERE token = ?",
		 DB_TEXT(token));
	if (rc == STORE_OK)
		rc = r.nrows ? regtoken_from_row(&r, 0, out) : STORE_NOT_FOUND;
	if (rc != STORE_OK)
		store_regtoken_clear(out);
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_regtoken_list(struct store *st, int valid_filter, int64_t now_ms,
				  struct store_regtoken **out, size_t *n)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	*out = NULL;
	*n = 0;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	if (valid_filter == 1)
		rc = DBQ(c, &r, "SELECT " REGTOKEN_COLS " FROM registration_tokens"
			 " WHERE " REGTOKEN_VALID " ORDER BY token", DB_INT(now_ms));
	else if (valid_filter == 0)
		rc = DBQ(c, &r, "SELECT " REGTOKEN_COLS " FROM registration_tokens"
			 " WHERE NOT (" REGTOKEN_VALID ") ORDER BY token", DB_INT(now_ms));
	else
		rc = db_query(c, "SELECT " REGTOKEN_COLS " FROM registration_tokens ORDER BY token",
			      NULL, 0, &r);
	if (rc == STORE_OK && r.nrows > 0) {
		struct store_regtoken *list = calloc((size_t)r.nrows, sizeof(*list));
		if (!list)
			rc = STORE_ERROR;
		for (int i = 0; list && i < r.nrows && rc == STORE_OK; i++)
			rc = regtoken_from_row(&r, i, &list[i]);
		if (rc == STORE_OK) {
			*out = list;
			*n = (size_t)r.nrows;
		} else {
			store_regtoken_list_free(list, (size_t)r.nrows);
		}
	}
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_regtoken_update(struct store *st, const char *token,
				    int64_t uses_allowed, int64_t expiry_time)
{
	return EXEC1(st, 1, "UPDATE registration_tokens SET uses_allowed = ?, expiry_time = ? WHERE token = ?",
		     DB_INT_OR_NULL(uses_allowed, -1), DB_INT_OR_NULL(expiry_time, 0),
		     DB_TEXT(token));
}

enum store_rc store_regtoken_delete(struct store *st, const char *token)
{
	return EXEC1(st, 1, "DELETE FROM registration_tokens WHERE token = ?", DB_TEXT(token));
}

enum store_rc store_regtoken_validity(struct store *st, const char *token,
				      int64_t now_ms, int *valid)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	*valid = 0;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT 1 FROM registration_tokens WHERE token = ? AND " REGTOKEN_VALID,
		 DB_TEXT(token), DB_INT(now_ms));
	if (rc == STORE_OK)
		*valid = r.nrows > 0;
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_regtoken_use_pending(struct store *st, const char *token, int64_t now_ms)
{
	/* Check and count in one statement, so no two callers take the last use. */
	return EXEC1(st, 1,
		     "UPDATE registration_tokens SET pending = pending + 1"
		     " WHERE token = ? AND " REGTOKEN_VALID,
		     DB_TEXT(token), DB_INT(now_ms));
}

enum store_rc store_regtoken_use_complete(struct store *st, const char *token)
{
	return EXEC1(st, 1,
		     "UPDATE registration_tokens SET pending = pending - 1, completed = completed + 1"
		     " WHERE token = ? AND pending > 0",
		     DB_TEXT(token));
}

enum store_rc store_regtoken_use_release(struct store *st, const char *token)
{
	return EXEC1(st, 1,
		     "UPDATE registration_tokens SET pending = pending - 1 WHERE token = ? AND pending > 0",
		     DB_TEXT(token));
}

/* ---- key/value ------------------------------------------------------ */

enum store_rc store_kv_get(struct store *st, const char *key, char **value)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	int oom = 0;
	*value = NULL;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT kv_value FROM server_kv WHERE kv_key = ?", DB_TEXT(key));
	if (rc == STORE_OK && r.nrows == 0)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK) {
		*value = db_dup(&r, 0, 0, &oom);
		if (oom)
			rc = STORE_ERROR;
	}
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_kv_set(struct store *st, const char *key, const char *value)
{
	if (!key || !value)
		return STORE_ERROR;
	return EXEC1(st, 0,
		     "INSERT INTO server_kv (kv_key, kv_value) VALUES (?, ?)"
		     " ON CONFLICT (kv_key) DO UPDATE SET kv_value = excluded.kv_value",
		     DB_TEXT(key), DB_TEXT(value));
}

enum store_rc store_kv_delete(struct store *st, const char *key)
{
	return EXEC1(st, 1, "DELETE FROM server_kv WHERE kv_key = ?", DB_TEXT(key));
}

/* ---- events and the stream ------------------------------------------ */

#define EVENT_COLS "stream_pos, event_id, room_id, type, state_key, sender, origin_server_ts, event_json"
/* PostgreSQL hands out identity values before commit, so without this
 * lock (store.h, STORE_PG_EVENTS_LOCK) positions could become visible out
 * of order. */

void store_event_clear(struct store_event *e)
{
	if (!e)
		return;
	free(e->event_id);
	free(e->room_id);
	free(e->type);
	free(e->state_key);
	free(e->sender);
	free(e->json);
	memset(e, 0, sizeof(*e));
}

void store_event_list_free(struct store_event *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		store_event_clear(&list[i]);
	free(list);
}

static enum store_rc event_from_row(const struct db_res *r, int row, struct store_event *e)
{
	int oom = 0;
	e->stream_pos = db_get_int(r, row, 0);
	e->event_id = db_dup(r, row, 1, &oom);
	e->room_id = db_dup(r, row, 2, &oom);
	e->type = db_dup(r, row, 3, &oom);
	e->state_key = db_dup(r, row, 4, &oom);
	e->sender = db_dup(r, row, 5, &oom);
	e->origin_server_ts = db_get_int(r, row, 6);
	e->json = db_dup(r, row, 7, &oom);
	if (oom) {
		store_event_clear(e);
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_rc store_event_append(struct store *st, const struct store_event *ev,
				 int64_t *stream_pos)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;

	*stream_pos = 0;
	if (!ev->event_id || !ev->room_id || !ev->type || !ev->sender || !ev->json)
		return STORE_ERROR;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_begin(c); /* SQLite: BEGIN IMMEDIATE already serialises writers */
	if (rc == STORE_OK && st->kind == DB_POSTGRES)
		rc = DBQ(c, NULL, "SELECT pg_advisory_xact_lock(?)", DB_INT(STORE_PG_EVENTS_LOCK));
	if (rc == STORE_OK) {
		rc = DBQ(c, &r,
			 "INSERT INTO events (event_id, room_id, type, state_key, sender,"
			 " origin_server_ts, event_json) VALUES (?, ?, ?, ?, ?, ?, ?)"
			 " RETURNING stream_pos",
			 DB_TEXT(ev->event_id), DB_TEXT(ev->room_id), DB_TEXT(ev->type),
			 DB_TEXT(ev->state_key), DB_TEXT(ev->sender),
			 DB_INT(ev->origin_server_ts), DB_TEXT(ev->json));
		if (rc == STORE_OK)
			*stream_pos = db_get_int(&r, 0, 0);
		db_res_free(&r);
	}
	rc = tx_end(c, rc);
	if (rc == STORE_CONFLICT) {
		if (DBQ(c, &r, "SELECT stream_pos FROM events WHERE event_id = ?",
			DB_TEXT(ev->event_id)) == STORE_OK)
			*stream_pos = db_get_int(&r, 0, 0);
		db_res_free(&r);
	}
	conn_put(st, c);
	return rc;
}

enum store_rc store_event_get(struct store *st, const char *event_id, struct store_event *out)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	memset(out, 0, sizeof(*out));
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT " EVENT_COLS " FROM events WHERE event_id = ?", DB_TEXT(event_id));
	if (rc == STORE_OK)
		rc = r.nrows ? event_from_row(&r, 0, out) : STORE_NOT_FOUND;
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_events_after(struct store *st, const char *room_id,
				 int64_t from, int limit,
				 struct store_event **out, size_t *n)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	*out = NULL;
	*n = 0;
	if (limit <= 0)
		return STORE_ERROR;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	if (room_id)
		rc = DBQ(c, &r, "SELECT " EVENT_COLS " FROM events WHERE room_id = ? AND stream_pos > ?"
			 " ORDER BY stream_pos LIMIT ?",
			 DB_TEXT(room_id), DB_INT(from), DB_INT(limit));
	else
		rc = DBQ(c, &r, "SELECT " EVENT_COLS " FROM events WHERE stream_pos > ?"
			 " ORDER BY stream_pos LIMIT ?",
			 DB_INT(from), DB_INT(limit));
	if (rc == STORE_OK && r.nrows > 0) {
		struct store_event *list = calloc((size_t)r.nrows, sizeof(*list));
		if (!list)
			rc = STORE_ERROR;
		for (int i = 0; list && i < r.nrows && rc == STORE_OK; i++)
			rc = event_from_row(&r, i, &list[i]);
		if (rc == STORE_OK) {
			*out = list;
			*n = (size_t)r.nrows;
		} else {
			store_event_list_free(list, (size_t)r.nrows);
		}
	}
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}

enum store_rc store_stream_max(struct store *st, int64_t *pos)
{
	struct db_conn *c;
	struct db_res r;
	enum store_rc rc;
	*pos = 0;
	if (!(c = conn_get(st)))
		return STORE_ERROR;
	rc = db_query(c, "SELECT max(stream_pos) FROM events", NULL, 0, &r);
	if (rc == STORE_OK)
		*pos = db_get_int(&r, 0, 0);
	db_res_free(&r);
	conn_put(st, c);
	return rc;
}
