/* Relations, threads and search queries.  See store_relsearch.h.
 *
 * Each query has one text per backend: SQLite reads the event JSON with
 * json_extract and searches the FTS5 table of migration 012, PostgreSQL
 * uses jsonb operators and the expression indexes of its migration 012.
 * The expressions must stay identical to the indexed ones to use them. */
#include "homeserver/store/store_relsearch.h"

#include <stdlib.h>
#include <string.h>

#include "homeserver/store/db.h"

struct relsearch {
	struct db_conn *c;
};

enum store_rc relsearch_open(const char *backend, const char *conninfo,
			     struct relsearch **out, char *err, size_t errlen)
{
	struct relsearch *rs;
	enum store_rc rc;
	enum db_kind kind = strcmp(backend, "postgres") == 0 ? DB_POSTGRES : DB_SQLITE;

	*out = NULL;
	if (!(rs = calloc(1, sizeof(*rs))))
		return STORE_ERROR;
	rc = db_connect(kind, conninfo, &rs->c, err, errlen);
	if (rc != STORE_OK) {
		free(rs);
		return rc;
	}
	*out = rs;
	return STORE_OK;
}

void relsearch_close(struct relsearch *rs)
{
	if (!rs)
		return;
	db_disconnect(rs->c);
	free(rs);
}

void relsearch_hits_free(struct relsearch_hit *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].event_id);
		free(h[i].room_id);
	}
	free(h);
}

/* Rows of (event_id, room_id, pos[, rank|count[, participated]]). */
static enum store_rc hits_from(const struct db_res *r, struct relsearch_hit **out, size_t *n,
			       int with_rank, int with_thread)
{
	int oom = 0;
	struct relsearch_hit *h;

	*out = NULL;
	*n = 0;
	if (r->nrows == 0)
		return STORE_OK;
	if (!(h = calloc((size_t)r->nrows, sizeof(*h))))
		return STORE_ERROR;
	for (int i = 0; i < r->nrows; i++) {
		h[i].event_id = db_dup(r, i, 0, &oom);
		h[i].room_id = db_dup(r, i, 1, &oom);
		h[i].pos = db_get_int(r, i, 2);
		if (with_rank) {
			const char *s = db_get(r, i, 3);
			h[i].rank = s ? strtod(s, NULL) : 0;
		}
		if (with_thread) {
			h[i].count = db_get_int(r, i, 3);
			h[i].participated = db_get_int(r, i, 4) != 0;
		}
		if (!h[i].event_id || !h[i].room_id)
			oom = 1;
	}
	if (oom) {
		relsearch_hits_free(h, (size_t)r->nrows);
		return STORE_ERROR;
	}
	*out = h;
	*n = (size_t)r->nrows;
	return STORE_OK;
}

#define SQ_REL_TARGET "json_extract(e.event_json, '$.content.\"m.relates_to\".event_id')"
#define SQ_REL_TYPE "json_extract(e.event_json, '$.content.\"m.relates_to\".rel_type')"
#define PG_REL_TARGET "((e.event_json::jsonb) -> 'content' -> 'm.relates_to' ->> 'event_id')"
#define PG_REL_TYPE "((e.event_json::jsonb) -> 'content' -> 'm.relates_to' ->> 'rel_type')"

/* Events that count: neither rejected nor redacted. */
#define LIVE_JOIN " LEFT JOIN event_meta m ON m.event_id = e.event_id"
#define LIVE_COND " (m.rejected IS NULL OR m.rejected = 0) AND m.redacted_by IS NULL"

#define REL_SQL(TARGET, TYPE, CMP, ORDER)                                                  \
	"SELECT e.event_id, e.room_id, e.stream_pos FROM events e" LIVE_JOIN " WHERE " TARGET \
	" = ? AND e.room_id = ? AND" LIVE_COND " AND (CAST(? AS TEXT) IS NULL OR " TYPE      \
	" = ?) AND (CAST(? AS TEXT) IS NULL OR e.type = ?) AND e.stream_pos " CMP            \
	" ? ORDER BY e.stream_pos " ORDER " LIMIT ?"

static const char *const rel_sql[2][2] = {
	{ REL_SQL(SQ_REL_TARGET, SQ_REL_TYPE, "<", "DESC"),
	  REL_SQL(SQ_REL_TARGET, SQ_REL_TYPE, ">", "ASC") },
	{ REL_SQL(PG_REL_TARGET, PG_REL_TYPE, "<", "DESC"),
	  REL_SQL(PG_REL_TARGET, PG_REL_TYPE, ">", "ASC") },
};

enum store_rc relsearch_relations(struct relsearch *rs, const char *room_id,
				  const char *parent_id, const char *rel_type,
				  const char *ev_type, char dir, int64_t from, int limit,
				  struct relsearch_hit **out, size_t *n)
{
	struct db_res r = { 0 };
	enum store_rc rc;
	int pg = db_kind(rs->c) == DB_POSTGRES;

	*out = NULL;
	*n = 0;
	if (limit <= 0 || (dir != 'f' && dir != 'b'))
		return STORE_ERROR;
	if (from < 0)
		from = dir == 'b' ? INT64_MAX : 0;
	rc = DBQ(rs->c, &r, rel_sql[pg][dir == 'f'], DB_TEXT(parent_id), DB_TEXT(room_id),
		 DB_TEXT(rel_type), DB_TEXT(rel_type), DB_TEXT(ev_type), DB_TEXT(ev_type),
		 DB_INT(from), DB_INT(limit));
	if (rc == STORE_OK)
		rc = hits_from(&r, out, n, 0, 0);
	db_res_free(&r);
	return rc;
}

/* Per thread reply: its root (which must be an event of the same room),
 * position, and whether the user sent it or the root. */
#define THREAD_SQL(TARGET, TYPE)                                                           \
	"SELECT t.root, t.room_id, MAX(t.stream_pos), COUNT(*), MAX(t.mine) FROM"             \
	" (SELECT " TARGET " AS root, e.room_id, e.stream_pos,"                              \
	" CASE WHEN e.sender = ? OR r.sender = ? THEN 1 ELSE 0 END AS mine"                  \
	" FROM events e" LIVE_JOIN " JOIN events r ON r.event_id = " TARGET                   \
	" AND r.room_id = e.room_id WHERE e.room_id = ? AND " TYPE " = 'm.thread' AND"        \
	LIVE_COND ") t GROUP BY t.root, t.room_id HAVING MAX(t.stream_pos) < ?"               \
	" AND (? = 0 OR MAX(t.mine) = 1) ORDER BY 3 DESC LIMIT ?"

static const char *const thread_sql[2] = {
	THREAD_SQL(SQ_REL_TARGET, SQ_REL_TYPE),
	THREAD_SQL(PG_REL_TARGET, PG_REL_TYPE),
};

enum store_rc relsearch_threads(struct relsearch *rs, const char *room_id, const char *user,
				int only_participated, int64_t before, int limit,
				struct relsearch_hit **out, size_t *n)
{
	struct db_res r = { 0 };
	enum store_rc rc;
	int pg = db_kind(rs->c) == DB_POSTGRES;

	*out = NULL;
	*n = 0;
	if (limit <= 0)
		return STORE_ERROR;
	if (before < 0)
		before = INT64_MAX;
	rc = DBQ(rs->c, &r, thread_sql[pg], DB_TEXT(user), DB_TEXT(user), DB_TEXT(room_id),
		 DB_INT(before), DB_INT(only_participated ? 1 : 0), DB_INT(limit));
	if (rc == STORE_OK)
		rc = hits_from(&r, out, n, 0, 1);
	db_res_free(&r);
	return rc;
}

static int word_byte(unsigned char ch)
{
	return ch >= 0x80 || ch == '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z');
}

char *relsearch_fts_query(const char *term)
{
	size_t len = strlen(term), o = 0;
	/* Worst case "a b" -> "\"a\" \"b\"": at most 3 bytes out per byte in. */
	char *q = malloc(len * 3 + 1);
	if (!q)
		return NULL;
	for (size_t i = 0; i < len;) {
		if (!word_byte((unsigned char)term[i])) {
			i++;
			continue;
		}
		if (o)
			q[o++] = ' ';
		q[o++] = '"';
		while (i < len && word_byte((unsigned char)term[i]))
			q[o++] = term[i++];
		q[o++] = '"';
	}
	q[o] = '\0';
	return q;
}

#define SQ_SEARCH_FROM                                                                     \
	" FROM event_search JOIN event_meta m ON m.event_id = event_search.event_id"          \
	" WHERE event_search MATCH ? AND m.redacted_by IS NULL AND event_search.room_id IN"   \
	" (SELECT room_id FROM room_memberships WHERE user_id = ? AND membership = 'join')"  \
	" AND (CAST(? AS TEXT) IS NULL OR event_search.room_id IN (SELECT value FROM json_each(?)))"     \
	" AND (CAST(? AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM events e WHERE"                 \
	" e.stream_pos = event_search.rowid AND e.type IN (SELECT value FROM json_each(?))))"
#define SQ_SEARCH_SEL \
	"SELECT event_search.event_id, event_search.room_id, event_search.rowid, -bm25(event_search)"

#define PG_TSV                                                                             \
	"to_tsvector('simple', coalesce((e.event_json::jsonb) -> 'content' ->> 'body',"       \
	" (e.event_json::jsonb) -> 'content' ->> 'name',"                                     \
	" (e.event_json::jsonb) -> 'content' ->> 'topic', ''))"
#define PG_SEARCH_FROM                                                                     \
	" FROM events e JOIN event_meta m ON m.event_id = e.event_id"                         \
	" WHERE e.type IN ('m.room.message', 'm.room.name', 'm.room.topic') AND " PG_TSV      \
	" @@ plainto_tsquery('simple', ?) AND m.redacted_by IS NULL AND e.room_id IN"         \
	" (SELECT room_id FROM room_memberships WHERE user_id = ? AND membership = 'join')"  \
	" AND (CAST(? AS TEXT) IS NULL OR e.room_id IN"                                       \
	" (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))"                                \
	" AND (CAST(? AS TEXT) IS NULL OR e.type IN"                                           \
	" (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))"
#define PG_SEARCH_SEL                                                                      \
	"SELECT e.event_id, e.room_id, e.stream_pos, ts_rank(" PG_TSV                         \
	", plainto_tsquery('simple', ?))"

static const char *const search_sql[2][2] = {
	{ SQ_SEARCH_SEL SQ_SEARCH_FROM " ORDER BY 4 DESC, 3 DESC LIMIT ? OFFSET ?",
	  SQ_SEARCH_SEL SQ_SEARCH_FROM " ORDER BY 3 DESC LIMIT ? OFFSET ?" },
	{ PG_SEARCH_SEL PG_SEARCH_FROM " ORDER BY 4 DESC, 3 DESC LIMIT ? OFFSET ?",
	  PG_SEARCH_SEL PG_SEARCH_FROM " ORDER BY 3 DESC LIMIT ? OFFSET ?" },
};
static const char *const count_sql[2] = {
	"SELECT COUNT(*)" SQ_SEARCH_FROM,
	"SELECT COUNT(*)" PG_SEARCH_FROM,
};

enum store_rc relsearch_search(struct relsearch *rs, const char *user, const char *term,
			       const char *rooms_json, const char *types_json, int recent, int64_t offset, int limit,
			       struct relsearch_hit **out, size_t *n, int64_t *count)
{
	struct db_res r = { 0 };
	enum store_rc rc;
	int pg = db_kind(rs->c) == DB_POSTGRES;
	char *q = NULL;

	*out = NULL;
	*n = 0;
	*count = 0;
	if (limit <= 0 || offset < 0)
		return STORE_ERROR;
	if (!pg) {
		if (!(q = relsearch_fts_query(term)))
			return STORE_ERROR;
		if (!*q) { /* no word: nothing can match (and "" is an FTS5 error) */
			free(q);
			return STORE_OK;
		}
		term = q;
	}
	rc = DBQ(rs->c, &r, count_sql[pg], DB_TEXT(term), DB_TEXT(user), DB_TEXT(rooms_json),
		 DB_TEXT(rooms_json), DB_TEXT(types_json), DB_TEXT(types_json));
	if (rc == STORE_OK && r.nrows == 1)
		*count = db_get_int(&r, 0, 0);
	db_res_free(&r);
	if (rc == STORE_OK && *count > offset) {
		if (pg)
			rc = DBQ(rs->c, &r, search_sql[1][recent != 0], DB_TEXT(term), DB_TEXT(term),
				 DB_TEXT(user), DB_TEXT(rooms_json), DB_TEXT(rooms_json),
				 DB_TEXT(types_json), DB_TEXT(types_json), DB_INT(limit),
				 DB_INT(offset));
		else
			rc = DBQ(rs->c, &r, search_sql[0][recent != 0], DB_TEXT(term), DB_TEXT(user),
				 DB_TEXT(rooms_json), DB_TEXT(rooms_json), DB_TEXT(types_json),
				 DB_TEXT(types_json), DB_INT(limit), DB_INT(offset));
		if (rc == STORE_OK)
			rc = hits_from(&r, out, n, 1, 0);
		db_res_free(&r);
	}
	free(q);
	return rc;
}
