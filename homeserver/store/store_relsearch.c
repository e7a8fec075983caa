/* Relations, threads and search queries.  See store_relsearch.h.
 *
 * Each query has one text per backend: SQLite reads the event JSON with
 * json_extract and searches the FTS5 table of migration 012, PostgreSQL
 * uses jsonb operators and the expression indexes of its migrations 012
 * and 060 (events read through scop_event_jsonb(), which takes \u0000).
 * The expressions must stay identical to the indexed ones to use them. */
#include "homeserver/store/store_relsearch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "homeserver/store/db.h"
#include "homeserver/store/db_pool.h"

#define RQ_POOL 4

struct relsearch {
	enum db_kind kind;
	struct db_pool *pool;
};

static struct db_conn *conn_get(struct relsearch *rs)
{
	return db_pool_get(rs->pool);
}

static void conn_put(struct relsearch *rs, struct db_conn *c)
{
	db_pool_put(rs->pool, c);
}

enum store_rc relsearch_open(const char *backend, const char *conninfo,
			     struct relsearch **out, char *err, size_t errlen)
{
	struct relsearch *rs;

	*out = NULL;
	if (!backend || !conninfo) {
		snprintf(err, errlen, "relsearch: backend and database are required");
		return STORE_ERROR;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		snprintf(err, errlen, "relsearch: out of memory");
		return STORE_ERROR;
	}
	rs->kind = db_kind_of(backend);
	/* One connection now, so a bad conninfo fails at start-up. */
	if (db_pool_open(rs->kind, conninfo, RQ_POOL, "relations/search store", &rs->pool, err,
			 errlen) != STORE_OK) {
		free(rs);
		return STORE_ERROR;
	}
	*out = rs;
	return STORE_OK;
}

void relsearch_close(struct relsearch *rs)
{
	if (!rs)
		return;
	db_pool_close(rs->pool);
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
#define PG_REL_TARGET "(scop_event_jsonb(e.event_json) -> 'content' -> 'm.relates_to' ->> 'event_id')"
#define PG_REL_TYPE "(scop_event_jsonb(e.event_json) -> 'content' -> 'm.relates_to' ->> 'rel_type')"

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
	int pg = rs->kind == DB_POSTGRES;
	struct db_conn *c;

	*out = NULL;
	*n = 0;
	if (limit <= 0 || (dir != 'f' && dir != 'b'))
		return STORE_ERROR;
	if (from < 0)
		from = dir == 'b' ? INT64_MAX : 0;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, rel_sql[pg][dir == 'f'], DB_TEXT(parent_id), DB_TEXT(room_id),
		 DB_TEXT(rel_type), DB_TEXT(rel_type), DB_TEXT(ev_type), DB_TEXT(ev_type),
		 DB_INT(from), DB_INT(limit));
	if (rc == STORE_OK)
		rc = hits_from(&r, out, n, 0, 0);
	db_res_free(&r);
	conn_put(rs, c);
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
	int pg = rs->kind == DB_POSTGRES;
	struct db_conn *c;

	*out = NULL;
	*n = 0;
	if (limit <= 0)
		return STORE_ERROR;
	if (before < 0)
		before = INT64_MAX;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, thread_sql[pg], DB_TEXT(user), DB_TEXT(user), DB_TEXT(room_id),
		 DB_INT(before), DB_INT(only_participated ? 1 : 0), DB_INT(limit));
	if (rc == STORE_OK)
		rc = hits_from(&r, out, n, 0, 1);
	db_res_free(&r);
	conn_put(rs, c);
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

/* The filter's JSON arrays: each NULL (no constraint) or an array. */
#define SQ_IN(COL) " AND (CAST(? AS TEXT) IS NULL OR " COL " IN (SELECT value FROM json_each(?)))"
#define SQ_NOT_IN(COL) \
	" AND (CAST(? AS TEXT) IS NULL OR " COL " NOT IN (SELECT value FROM json_each(?)))"
#define PG_IN(COL) \
	" AND (CAST(? AS TEXT) IS NULL OR " COL " IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))"
#define PG_NOT_IN(COL)                                        \
	" AND (CAST(? AS TEXT) IS NULL OR " COL " NOT IN"       \
	" (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))"

#define SQ_SEARCH_FROM                                                                     \
	" FROM event_search JOIN event_meta m ON m.event_id = event_search.event_id"          \
	" JOIN events e ON e.stream_pos = event_search.rowid"                                  \
	" WHERE event_search MATCH ? AND m.redacted_by IS NULL AND event_search.room_id IN"   \
	" (SELECT room_id FROM room_memberships WHERE user_id = ? AND membership = 'join')"  \
	SQ_IN("event_search.room_id") SQ_NOT_IN("event_search.room_id") SQ_IN("e.sender")     \
	SQ_NOT_IN("e.sender") SQ_IN("e.type")
#define SQ_SEARCH_SEL \
	"SELECT event_search.event_id, event_search.room_id, event_search.rowid, -bm25(event_search)"

#define PG_TSV                                                                             \
	"to_tsvector('simple', coalesce(scop_event_jsonb(e.event_json) -> 'content' ->> 'body',"       \
	" scop_event_jsonb(e.event_json) -> 'content' ->> 'name',"                                     \
	" scop_event_jsonb(e.event_json) -> 'content' ->> 'topic', ''))"
#define PG_SEARCH_FROM                                                                     \
	" FROM events e JOIN event_meta m ON m.event_id = e.event_id"                         \
	" WHERE e.type IN ('m.room.message', 'm.room.name', 'm.room.topic') AND " PG_TSV      \
	" @@ plainto_tsquery('simple', ?) AND m.redacted_by IS NULL AND e.room_id IN"         \
	" (SELECT room_id FROM room_memberships WHERE user_id = ? AND membership = 'join')"  \
	PG_IN("e.room_id") PG_NOT_IN("e.room_id") PG_IN("e.sender") PG_NOT_IN("e.sender")     \
	PG_IN("e.type")
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

/* The parameters after the term (and, for PostgreSQL's rank, the term
 * again): user, then each filter array twice. */
#define FILTER_PARAMS(f)                                                         \
	DB_TEXT((f)->rooms), DB_TEXT((f)->rooms), DB_TEXT((f)->not_rooms),       \
		DB_TEXT((f)->not_rooms), DB_TEXT((f)->senders), DB_TEXT((f)->senders), \
		DB_TEXT((f)->not_senders), DB_TEXT((f)->not_senders),            \
		DB_TEXT((f)->types), DB_TEXT((f)->types)

enum store_rc relsearch_search(struct relsearch *rs, const char *user, const char *term,
			       const struct relsearch_filter *filter, int recent, int64_t offset,
			       int limit, struct relsearch_hit **out, size_t *n, int64_t *count)
{
	static const struct relsearch_filter none = { 0 };
	struct db_res r = { 0 };
	enum store_rc rc;
	int pg = rs->kind == DB_POSTGRES;
	struct db_conn *c;
	char *q = NULL;
	const struct relsearch_filter *f = filter ? filter : &none;

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
	if (!(c = conn_get(rs))) {
		free(q);
		return STORE_ERROR;
	}
	rc = DBQ(c, &r, count_sql[pg], DB_TEXT(term), DB_TEXT(user), FILTER_PARAMS(f));
	if (rc == STORE_OK && r.nrows == 1)
		*count = db_get_int(&r, 0, 0);
	db_res_free(&r);
	if (rc == STORE_OK && *count > offset) {
		if (pg)
			rc = DBQ(c, &r, search_sql[1][recent != 0], DB_TEXT(term), DB_TEXT(term),
				 DB_TEXT(user), FILTER_PARAMS(f), DB_INT(limit), DB_INT(offset));
		else
			rc = DBQ(c, &r, search_sql[0][recent != 0], DB_TEXT(term), DB_TEXT(user),
				 FILTER_PARAMS(f), DB_INT(limit), DB_INT(offset));
		if (rc == STORE_OK)
			rc = hits_from(&r, out, n, 1, 0);
		db_res_free(&r);
	}
	conn_put(rs, c);
	free(q);
	return rc;
}

/* ---- bundled aggregations ---------------------------------------------
 * One statement for every parent of a response: the children of each
 * (parent, rel_type), numbered newest first with their count and whether
 * the user took part, keeping every reference but only the newest thread
 * reply and the newest valid replacement (the spec's rules: same sender,
 * same type, neither a state event, the original not itself a
 * replacement, and m.new_content unless encrypted).  Replacements are
 * ordered by origin_server_ts then event ID (bytewise, whatever the
 * database's collation), as the spec says; thread replies by stream
 * position.  The children are first read once into k (MATERIALIZED, so
 * PostgreSQL parses each event's JSON once instead of at every use of
 * the relation fields: half the time with many children); the window
 * works on that narrow projection and the kept rows' JSON is joined last.
 * Reactions, often most of the children, are skipped before their JSON is
 * read: the spec gives m.reaction only the m.annotation relation, which
 * does not bundle. */
#define BUNDLE_SQL(TARGET, TYPE, PTYPE, IN_PARENTS, NEW_CONTENT_IS_OBJECT, NOT_EQ, BYTES)    \
	"WITH k AS MATERIALIZED (SELECT " TARGET " AS parent, " TYPE " AS rel, e.event_id,"   \
	" e.room_id, e.sender, e.type, e.state_key, e.origin_server_ts AS ts,"                \
	" e.stream_pos AS pos, CASE WHEN e.type = 'm.room.encrypted' OR "                      \
	NEW_CONTENT_IS_OBJECT " THEN 1 ELSE 0 END AS nc FROM events e WHERE " TARGET " "       \
	IN_PARENTS " AND e.type <> 'm.reaction')"                                              \
	" SELECT x.parent, x.rel, x.event_id, x.n, x.mine, e.stream_pos, e.room_id,"          \
	" CASE WHEN x.rel = 'm.reference' THEN NULL ELSE e.event_json END, m.depth,"         \
	" m.state_before, m.state_after, m.sender_device, m.txn_id FROM"                       \
	" (SELECT c.parent, c.rel, c.event_id, COUNT(*) OVER w AS n, MAX(c.mine) OVER w"      \
	" AS mine, ROW_NUMBER() OVER (PARTITION BY c.parent, c.rel ORDER BY c.ord DESC,"      \
	" c.event_id" BYTES " DESC) AS rn FROM (SELECT k.parent, k.rel, k.event_id,"           \
	" CASE WHEN k.sender = ? OR p.sender = ? THEN 1 ELSE 0 END AS mine,"                  \
	" CASE WHEN k.rel = 'm.replace' THEN k.ts ELSE k.pos END AS ord FROM k"                \
	" LEFT JOIN event_meta m ON m.event_id = k.event_id JOIN events p"                    \
	" ON p.event_id = k.parent AND p.room_id = k.room_id WHERE" LIVE_COND                  \
	" AND (k.rel IN ('m.thread', 'm.reference') OR (k.rel = 'm.replace'"                   \
	" AND k.sender = p.sender AND k.type = p.type AND k.state_key IS NULL"                 \
	" AND p.state_key IS NULL AND k.nc = 1 AND " PTYPE " " NOT_EQ " 'm.replace'))) c"     \
	" WINDOW w AS (PARTITION BY c.parent, c.rel)) x"                                       \
	" JOIN events e ON e.event_id = x.event_id" LIVE_JOIN                                  \
	" WHERE x.rel = 'm.reference' OR x.rn = 1 ORDER BY x.parent, x.rel, e.stream_pos"

static const char *const bundle_sql[2] = {
	BUNDLE_SQL(SQ_REL_TARGET, SQ_REL_TYPE,
		   "json_extract(p.event_json, '$.content.\"m.relates_to\".rel_type')",
		   "IN (SELECT value FROM json_each(?))",
		   "json_type(e.event_json, '$.content.\"m.new_content\"') = 'object'", "IS NOT", ""),
	BUNDLE_SQL(PG_REL_TARGET, PG_REL_TYPE,
		   "(scop_event_jsonb(p.event_json) -> 'content' -> 'm.relates_to' ->> 'rel_type')",
		   "= ANY (ARRAY(SELECT jsonb_array_elements_text(CAST(? AS jsonb))))",
		   "jsonb_typeof(scop_event_jsonb(e.event_json) -> 'content' -> 'm.new_content') = 'object'",
		   "IS DISTINCT FROM", " COLLATE \"C\""),
};

void relsearch_children_free(struct relsearch_child *ch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ch[i].parent);
		free(ch[i].rel_type);
		room_event_clear(&ch[i].ev);
	}
	free(ch);
}

static enum store_rc child_from_row(const struct db_res *r, int i, struct relsearch_child *ch)
{
	int oom = 0;
	ch->parent = db_dup(r, i, 0, &oom);
	ch->rel_type = db_dup(r, i, 1, &oom);
	ch->ev.event_id = db_dup(r, i, 2, &oom);
	ch->count = db_get_int(r, i, 3);
	ch->participated = db_get_int(r, i, 4) != 0;
	ch->ev.stream_pos = db_get_int(r, i, 5);
	ch->ev.room_id = db_dup(r, i, 6, &oom);
	ch->ev.json = db_dup(r, i, 7, &oom);
	ch->ev.depth = db_get_int(r, i, 8);
	ch->ev.state_before = db_get_int(r, i, 9);
	ch->ev.state_after = db_get_int(r, i, 10);
	ch->ev.device_id = db_dup(r, i, 11, &oom);
	ch->ev.txn_id = db_dup(r, i, 12, &oom);
	return oom || !ch->parent || !ch->rel_type || !ch->ev.event_id ? STORE_ERROR : STORE_OK;
}

enum store_rc relsearch_bundle(struct relsearch *rs, const char *parents_json, const char *user,
			       struct relsearch_child **out, size_t *n)
{
	struct db_res r = { 0 };
	struct relsearch_child *ch = NULL;
	struct db_conn *c;
	enum store_rc rc;

	*out = NULL;
	*n = 0;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, bundle_sql[rs->kind == DB_POSTGRES], DB_TEXT(parents_json), DB_TEXT(user),
		 DB_TEXT(user));
	if (rc == STORE_OK && r.nrows > 0) {
		if (!(ch = calloc((size_t)r.nrows, sizeof(*ch))))
			rc = STORE_ERROR;
		for (int i = 0; ch && i < r.nrows && rc == STORE_OK; i++)
			rc = child_from_row(&r, i, &ch[i]);
		if (rc == STORE_OK) {
			*out = ch;
			*n = (size_t)r.nrows;
		} else if (ch) {
			relsearch_children_free(ch, (size_t)r.nrows);
		}
	}
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}
