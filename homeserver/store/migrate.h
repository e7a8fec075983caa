/* Applies the compiled-in migrations (schema/migrations.h) to a database.
 * Internal to homeserver/store/. */
#ifndef SCOP_STORE_MIGRATE_H
#define SCOP_STORE_MIGRATE_H

#include <stddef.h>

#include "homeserver/store/db.h"

/* Brings the database up to date: every migration of its backend that
 * schema_version lacks runs, in ascending order, in its own transaction
 * together with its row in schema_version, so a failure leaves the
 * database as the previous migration left it.  Numbers may have gaps.  Safe when several processes start at once (SQLite's write lock;
 * a PostgreSQL advisory lock).  STORE_ERROR with a message in err when a
 * migration fails or the database has one this binary does not know
 * (written by a newer scopd). */
enum store_rc migrate_apply(struct db_conn *c, char *err, size_t errlen);
/* Highest applied version (0 for an empty database). */
enum store_rc migrate_version(struct db_conn *c, int *version);

#endif
