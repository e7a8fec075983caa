/* Applies the compiled-in migrations (schema/migrations.h) to a database.
 * Internal to homeserver/store/. */
#ifndef SCOP_STORE_MIGRATE_H
#define SCOP_STORE_MIGRATE_H

#include <stddef.h>

#include "homeserver/store/db.h"

/* Brings the database up to the newest migration for its backend: each
 * missing one runs in its own transaction together with its row in
 * schema_version, so a failure leaves the database at the previous
 * version.  Safe when several processes start at once (SQLite's write lock;
 * a PostgreSQL advisory lock).  STORE_ERROR with a message in err when a
 * migration fails or the database is newer than this binary. */
enum store_rc migrate_apply(struct db_conn *c, char *err, size_t errlen);
/* Highest applied version (0 for an empty database). */
enum store_rc migrate_version(struct db_conn *c, int *version);

#endif
