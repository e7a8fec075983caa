/* libFuzzer harness for the search term -> FTS5 query rewrite
 * (relsearch_fts_query): any client text must give a query made only of
 * double-quoted words, which FTS5 then accepts (checked on an in-memory
 * FTS5 table), so no search term can be an FTS5 syntax error. */
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/store/store_relsearch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_shape(const char *q)
{
	int inside = 0;
	for (const char *p = q; *p; p++) {
		if (*p == '"')
			inside = !inside;
		else if (!inside && *p != ' ')
			abort();
	}
	if (inside)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *q;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	q = relsearch_fts_query(s);
	if (q) {
		check_shape(q);
		if (strlen(q) > 3 * strlen(s))
			abort();
		if (*q && sqlite3_open(":memory:", &db) == SQLITE_OK &&
		    sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(b);"
				 "INSERT INTO t VALUES ('some words here')", NULL, NULL, NULL) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE t MATCH ?", -1, &st, NULL) == SQLITE_OK) {
			int rc;
			sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
			while ((rc = sqlite3_step(st)) == SQLITE_ROW)
				;
			/* Invalid UTF-8 may still be refused by the tokenizer; syntax
			 * errors may not happen. */
			if (rc != SQLITE_DONE && strstr(sqlite3_errmsg(db), "syntax"))
				abort();
		}
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	free(q);
	free(s);
	return 0;
}
