/* A small pool of database connections, shared by the stores (store.c,
 * store_rooms.c, store_relsearch.c): connections are opened on demand up
 * to a maximum, reused, and replaced when the server dropped them.
 *
 * Contract: thread-safe.  db_pool_get() blocks while max connections are
 * in use and returns NULL only when a new connection cannot be opened
 * (logged with the pool's name).  db_pool_put() rolls back whatever
 * transaction the caller left open and closes broken connections.  The
 * conninfo is copied and wiped on close (it may hold a password).
 */
#ifndef SCOP_STORE_DB_POOL_H
#define SCOP_STORE_DB_POOL_H

#include <stddef.h>

#include "homeserver/store/db.h"

struct db_pool;

/* Opens one connection to check conninfo (kept in the pool).  name is a
 * literal used in log lines.  STORE_OK, or STORE_ERROR with err set. */
enum store_rc db_pool_open(enum db_kind kind, const char *conninfo, int max, const char *name,
			   struct db_pool **out, char *err, size_t errlen);
/* Every connection must be back.  NULL is fine. */
void db_pool_close(struct db_pool *p);
struct db_conn *db_pool_get(struct db_pool *p);
/* NULL is fine. */
void db_pool_put(struct db_pool *p, struct db_conn *c);
enum db_kind db_pool_kind(const struct db_pool *p);

/* "postgres" and Synapse's "psycopg2" name PostgreSQL; anything else is
 * SQLite. */
enum db_kind db_kind_of(const char *backend);

#endif
