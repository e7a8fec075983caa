/* The SQL migrations in schema/<backend>/NNN_name.sql, compiled into the
 * binary (schema/embed.sh generates the table at build time).
 *
 * Contract: the table is static and read-only.  Each backend has the same
 * version numbers, ascending, gaps allowed (a part may reserve a range).
 * A migration, once committed, is never edited (a change is a new file),
 * because databases record only the numbers they have applied.
 */
#ifndef SCOP_SCHEMA_MIGRATIONS_H
#define SCOP_SCHEMA_MIGRATIONS_H

#include <stddef.h>

struct schema_migration {
	const char *backend; /* "sqlite" or "postgres" */
	int version;         /* NNN */
	const char *name;    /* the file name's rest, e.g. "accounts" */
	const char *sql;     /* the whole file */
};

extern const struct schema_migration schema_migrations[];
extern const size_t schema_migrations_count;

#endif
