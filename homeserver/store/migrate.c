/* Schema migrations.  See migrate.h. */
#include "homeserver/store/migrate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "schema/migrations.h"

/* Any fixed number: the key of the advisory lock that serialises
 * migrations across processes sharing one PostgreSQL database. */
#define PG_MIGRATE_LOCK 0x5c0b0001

static const char create_version_table[] =
	"CREATE TABLE IF NOT EXISTS schema_version ("
	" version INTEGER NOT NULL PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" applied_ts BIGINT NOT NULL)";

static const struct schema_migration *find(const char *backend, int version)
{
	for (size_t i = 0; i < schema_migrations_count; i++)
		if (schema_migrations[i].version == version &&
		    strcmp(schema_migrations[i].backend, backend) == 0)
			return &schema_migrations[i];
	return NULL;
}

/* The backend's next migration after version, or NULL. */
static const struct schema_migration *next_after(const char *backend, int version)
{
	const struct schema_migration *best = NULL;
	for (size_t i = 0; i < schema_migrations_count; i++) {
		const struct schema_migration *m = &schema_migrations[i];
		if (m->version > version && strcmp(m->backend, backend) == 0 &&
		    (!best || m->version < best->version))
			best = m;
	}
	return best;
}

enum store_rc migrate_version(struct db_conn *c, int *version)
{
	struct db_res r;
	enum store_rc rc = db_query(c, "SELECT max(version) FROM schema_version", NULL, 0, &r);
	*version = 0;
	if (rc == STORE_OK)
		*version = (int)db_get_int(&r, 0, 0);
	db_res_free(&r);
	return rc;
}

static enum store_rc apply_one(struct db_conn *c, const struct schema_migration *m)
{
	struct db_res r;
	enum store_rc rc = db_begin(c);
	int present;

	if (rc != STORE_OK)
		return rc;
	/* Checked inside the transaction: another process may have applied it
	 * since we looked. */
	rc = DBQ(c, &r, "SELECT 1 FROM schema_version WHERE version = ?", DB_INT(m->version));
	present = r.nrows > 0;
	db_res_free(&r);
	if (rc == STORE_OK && !present) {
		rc = db_exec_script(c, m->sql);
		if (rc == STORE_OK)
			rc = DBQ(c, NULL, "INSERT INTO schema_version (version, name, applied_ts) VALUES (?, ?, ?)",
				 DB_INT(m->version), DB_TEXT(m->name),
				 DB_INT((int64_t)time(NULL) * 1000));
	}
	if (rc != STORE_OK) {
		db_rollback(c);
		return STORE_ERROR;
	}
	rc = db_commit(c);
	if (rc == STORE_OK && !present)
		log_info("store: applied schema migration %03d_%s", m->version, m->name);
	return rc;
}

enum store_rc migrate_apply(struct db_conn *c, char *err, size_t errlen)
{
	const char *backend = db_kind(c) == DB_SQLITE ? "sqlite" : "postgres";
	const struct schema_migration *m;
	enum store_rc rc = STORE_OK;
	struct db_res r;

	if (db_kind(c) == DB_POSTGRES &&
	    DBQ(c, NULL, "SELECT pg_advisory_lock(?)", DB_INT(PG_MIGRATE_LOCK)) != STORE_OK) {
		snprintf(err, errlen, "cannot take the migration lock");
		return STORE_ERROR;
	}
	if (db_exec_script(c, create_version_table) != STORE_OK ||
	    db_query(c, "SELECT version FROM schema_version ORDER BY version", NULL, 0, &r) != STORE_OK) {
		snprintf(err, errlen, "cannot read schema_version");
		rc = STORE_ERROR;
	} else {
		/* A migration this binary does not know means a newer scopd
		 * wrote the database: running on it could corrupt it. */
		for (int i = 0; i < r.nrows && rc == STORE_OK; i++) {
			int v = (int)db_get_int(&r, i, 0);
			if (!find(backend, v)) {
				snprintf(err, errlen, "database has schema migration %d, which "
					 "this program does not know: it is newer; upgrade scopd", v);
				rc = STORE_ERROR;
			}
		}
		db_res_free(&r);
	}
	/* Numbers ascend but may leave gaps (parts reserve ranges), and every
	 * missing one is applied, also one numbered below others already
	 * applied.  apply_one() skips those present. */
	for (m = next_after(backend, 0); rc == STORE_OK && m; m = next_after(backend, m->version)) {
		if (apply_one(c, m) != STORE_OK) {
			snprintf(err, errlen, "migration %s/%03d_%s failed", backend, m->version, m->name);
			rc = STORE_ERROR;
		}
	}
	if (db_kind(c) == DB_POSTGRES)
		DBQ(c, NULL, "SELECT pg_advisory_unlock(?)", DB_INT(PG_MIGRATE_LOCK));
	return rc;
}
