/* Room storage.  See store_rooms.h. */
#include "homeserver/store/store_rooms.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "homeserver/store/commit_queue.h"
#include "homeserver/store/db.h"
#include "homeserver/store/db_pool.h"

#define RS_POOL 6
/* The same advisory lock store_event_append() takes, so both writers of
 * the events table hand out positions in commit order. */
#define PG_EVENTS_LOCK 0x5c0b0002

struct room_store {
	enum db_kind kind;
	struct db_pool *pool;
	struct commit_queue *cq; /* appends: one batch at a time, group commit */
	char outbox_origin[256]; /* room_store_set_outbox(); "" when off */
};

static struct db_conn *conn_get(struct room_store *rs)
{
	return db_pool_get(rs->pool);
}

static void conn_put(struct room_store *rs, struct db_conn *c)
{
	db_pool_put(rs->pool, c);
}

/* The commit queue borrows a connection from the pool for each batch. */
static struct db_conn *cq_conn_get(void *ctx)
{
	return conn_get(ctx);
}

static void cq_conn_put(void *ctx, struct db_conn *c)
{
	conn_put(ctx, c);
}

enum store_rc room_store_open(const char *backend, const char *conninfo,
			      struct room_store **out, char *err, size_t errlen)
{
	struct room_store *rs;

	*out = NULL;
	if (!backend || !conninfo) {
		snprintf(err, errlen, "room store: backend and database are required");
		return STORE_ERROR;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		snprintf(err, errlen, "room store: out of memory");
		return STORE_ERROR;
	}
	rs->kind = db_kind_of(backend);
	if (db_pool_open(rs->kind, conninfo, RS_POOL, "room store", &rs->pool, err, errlen) != STORE_OK) {
		free(rs);
		return STORE_ERROR;
	}
	if (!(rs->cq = commit_queue_new(cq_conn_get, cq_conn_put, rs, 0))) {
		snprintf(err, errlen, "room store: out of memory");
		room_store_close(rs);
		return STORE_ERROR;
	}
	*out = rs;
	return STORE_OK;
}

void room_store_close(struct room_store *rs)
{
	if (!rs)
		return;
	if (rs->cq) {
		struct commit_queue_stats cs;
		commit_queue_stats(rs->cq, &cs);
		if (cs.batches)
			log_info("room store: %llu appends in %llu transactions (largest %zu)",
				 (unsigned long long)cs.items, (unsigned long long)cs.batches,
				 cs.largest);
	}
	commit_queue_free(rs->cq);
	db_pool_close(rs->pool);
	free(rs);
}

/* ---- append ----------------------------------------------------------- */

/* Deltas between full snapshots: bounds a read to one full snapshot and
 * this many small rows. */
#define STATE_CHAIN_MAX 64

static enum store_rc load_group(struct db_conn *c, int64_t group, json_t **out);

/* The state after a state event as group pos: a delta (the event's own
 * entry) on state_before, or a full snapshot when the chain is long. */
static enum store_rc put_state_group(struct db_conn *c, const struct room_append *a, int64_t pos)
{
	struct db_res r = { 0 };
	enum store_rc rc = STORE_OK;
	int64_t chain = 0;
	json_t *map = NULL;
	char *text = NULL;

	if (a->state_before != 0) {
		rc = DBQ(c, &r, "SELECT chain FROM state_groups WHERE group_id = ?", DB_INT(a->state_before));
		if (rc == STORE_OK)
			chain = r.nrows ? db_get_int(&r, 0, 0) : STATE_CHAIN_MAX;
		db_res_free(&r);
		if (rc != STORE_OK)
			return rc;
	}
	if (chain < STATE_CHAIN_MAX) {
		map = json_pack("{s:{s:s}}", a->type, a->state_key, a->event_id);
		text = map ? json_dumps(map, JSON_COMPACT) : NULL;
		rc = text ? DBQ(c, NULL, "INSERT INTO state_groups (group_id, room_id, state_json, prev_group,"
				" chain) VALUES (?, ?, ?, ?, ?)", DB_INT(pos), DB_TEXT(a->room_id), DB_TEXT(text),
				DB_INT(a->state_before), DB_INT(chain + 1)) : STORE_ERROR;
	} else {
		json_t *m;
		if (a->state_after_json) {
			map = json_loads(a->state_after_json, 0, NULL);
		} else if ((rc = load_group(c, a->state_before, &map)) == STORE_OK) {
			if (!(m = json_object_get(map, a->type))) {
				m = json_object();
				json_object_set_new(map, a->type, m);
			}
			if (!m || json_object_set_new(m, a->state_key, json_string(a->event_id)) < 0)
				rc = STORE_ERROR;
		}
		text = rc == STORE_OK && map ? json_dumps(map, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		if (rc == STORE_OK)
			rc = text ? DBQ(c, NULL, "INSERT INTO state_groups (group_id, room_id, state_json)"
					" VALUES (?, ?, ?)", DB_INT(pos), DB_TEXT(a->room_id), DB_TEXT(text))
				  : STORE_ERROR;
	}
	json_decref(map);
	free(text);
	return rc;
}

/* One current-state entry, and the membership row when membership is set. */
static enum store_rc set_current(struct db_conn *c, const char *room_id, const char *type,
				 const char *sk, const char *event_id, const char *membership,
				 int64_t pos)
{
	enum store_rc rc;
	rc = DBQ(c, NULL, "DELETE FROM room_state WHERE room_id = ? AND type = ? AND state_key = ?",
		 DB_TEXT(room_id), DB_TEXT(type), DB_TEXT(sk));
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "INSERT INTO room_state (room_id, type, state_key, event_id)"
			 " VALUES (?, ?, ?, ?)", DB_TEXT(room_id), DB_TEXT(type), DB_TEXT(sk),
			 DB_TEXT(event_id));
	if (rc != STORE_OK || !membership)
		return rc;
	rc = DBQ(c, NULL, "DELETE FROM room_memberships WHERE room_id = ? AND user_id = ?",
		 DB_TEXT(room_id), DB_TEXT(sk));
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "INSERT INTO room_memberships (room_id, user_id, membership,"
			 " event_id, stream_pos) VALUES (?, ?, ?, ?, ?)", DB_TEXT(room_id), DB_TEXT(sk),
			 DB_TEXT(membership), DB_TEXT(event_id), DB_INT(pos));
	return rc;
}

/* A remote event's explicit current-state changes (see room_append). */
static enum store_rc apply_current(struct db_conn *c, const struct room_append *a, int64_t pos)
{
	enum store_rc rc = STORE_OK;
	for (size_t i = 0; rc == STORE_OK && i < a->ncur; i++)
		rc = set_current(c, a->room_id, a->cur[i].type, a->cur[i].state_key,
				 a->cur[i].event_id, a->cur[i].membership, pos);
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "DELETE FROM room_current_group WHERE room_id = ?",
			 DB_TEXT(a->room_id));
	if (rc == STORE_OK && a->current_group != 0)
		rc = DBQ(c, NULL, "INSERT INTO room_current_group (room_id, stream_pos, group_id)"
			 " VALUES (?, ?, ?)", DB_TEXT(a->room_id), DB_INT(pos), DB_INT(a->current_group));
	return rc;
}

static enum store_rc outbox_rows(struct room_store *rs, struct db_conn *c, const struct room_append *a);

static enum store_rc append_rows(struct room_store *rs, struct db_conn *c,
				 const struct room_append *a, int64_t *pos, int64_t *after)
{
	struct db_res r = { 0 };
	enum store_rc rc;

	if (rs->kind == DB_POSTGRES &&
	    (rc = DBQ(c, NULL, "SELECT pg_advisory_xact_lock(?)", DB_INT(PG_EVENTS_LOCK))) != STORE_OK)
		return rc;
	if (a->room_version &&
	    (rc = DBQ(c, NULL, "INSERT INTO rooms (room_id, version, creator, created_ts)"
		      " VALUES (?, ?, ?, ?)", DB_TEXT(a->room_id), DB_TEXT(a->room_version),
		      DB_TEXT(a->sender), DB_INT(a->origin_server_ts))) != STORE_OK)
		return rc;
	rc = DBQ(c, &r,
		 "INSERT INTO events (event_id, room_id, type, state_key, sender,"
		 " origin_server_ts, event_json) VALUES (?, ?, ?, ?, ?, ?, ?)"
		 " RETURNING stream_pos",
		 DB_TEXT(a->event_id), DB_TEXT(a->room_id), DB_TEXT(a->type),
		 DB_TEXT(a->state_key), DB_TEXT(a->sender),
		 DB_INT(a->origin_server_ts), DB_TEXT(a->json));
	if (rc == STORE_OK)
		*pos = db_get_int(&r, 0, 0);
	db_res_free(&r);
	if (rc == STORE_OK)
		rc = outbox_rows(rs, c, a); /* memberships are still those before the event */
	if (rc != STORE_OK)
		return rc;
	*after = a->state_before;
	if (a->state_key && (a->state_after_json || a->state_change)) {
		*after = *pos;
		rc = put_state_group(c, a, *pos);
		if (rc == STORE_OK && !a->explicit_current)
			rc = set_current(c, a->room_id, a->type, a->state_key, a->event_id, NULL, 0);
		if (rc != STORE_OK)
			return rc;
	}
	rc = DBQ(c, NULL, "INSERT INTO event_meta (event_id, room_id, depth, state_before,"
		 " state_after, sender_device, txn_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
		 DB_TEXT(a->event_id), DB_TEXT(a->room_id), DB_INT(a->depth),
		 DB_INT(a->state_before), DB_INT(*after),
		 DB_TEXT(a->txn_id ? a->device_id : NULL), DB_TEXT(a->txn_id));
	if (rc != STORE_OK)
		return rc;
	if (a->membership && a->state_key && !a->explicit_current) {
		rc = DBQ(c, NULL, "DELETE FROM room_memberships WHERE room_id = ? AND user_id = ?",
			 DB_TEXT(a->room_id), DB_TEXT(a->state_key));
		if (rc == STORE_OK)
			rc = DBQ(c, NULL, "INSERT INTO room_memberships (room_id, user_id, membership,"
				 " event_id, stream_pos) VALUES (?, ?, ?, ?, ?)",
				 DB_TEXT(a->room_id), DB_TEXT(a->state_key), DB_TEXT(a->membership),
				 DB_TEXT(a->event_id), DB_INT(*pos));
		if (rc != STORE_OK)
			return rc;
	}
	if (a->explicit_current && (rc = apply_current(c, a, *pos)) != STORE_OK)
		return rc;
	if (a->clear_extremities &&
	    (rc = DBQ(c, NULL, "DELETE FROM room_extremities WHERE room_id = ?", DB_TEXT(a->room_id))) != STORE_OK)
		return rc;
	for (size_t i = 0; i < a->nprev; i++)
		if ((rc = DBQ(c, NULL, "DELETE FROM room_extremities WHERE room_id = ? AND event_id = ?",
			      DB_TEXT(a->room_id), DB_TEXT(a->prev_events[i]))) != STORE_OK)
			return rc;
	if ((rc = DBQ(c, NULL, "INSERT INTO room_extremities (room_id, event_id) VALUES (?, ?)",
		      DB_TEXT(a->room_id), DB_TEXT(a->event_id))) != STORE_OK)
		return rc;
	if (a->redacts &&
	    (rc = DBQ(c, NULL, "UPDATE event_meta SET redacted_by = ? WHERE event_id = ?"
		      " AND room_id = ? AND redacted_by IS NULL", DB_TEXT(a->event_id),
		      DB_TEXT(a->redacts), DB_TEXT(a->room_id))) != STORE_OK)
		return rc;
	if (a->txn_id && a->device_id &&
	    (rc = DBQ(c, NULL, "INSERT INTO room_txns (user_id, device_id, txn_id, event_id)"
		      " VALUES (?, ?, ?, ?)", DB_TEXT(a->sender), DB_TEXT(a->device_id),
		      DB_TEXT(a->txn_id), DB_TEXT(a->event_id))) != STORE_OK)
		return rc;
	return STORE_OK;
}

static enum store_rc append_job_run(struct db_conn *c, void *arg)
{
	struct room_append_ticket *t = arg;
	t->pos = 0;
	t->after = 0;
	return append_rows(t->rs, c, t->a, &t->pos, &t->after);
}

enum store_rc room_store_append_submit(struct room_store *rs, const struct room_append *a,
				       struct room_append_ticket *t, struct commit_chain *chain,
				       uint64_t epoch)
{
	memset(t, 0, sizeof(*t));
	if (!a->event_id || !a->room_id || !a->type || !a->sender || !a->json)
		return STORE_ERROR;
	t->rs = rs;
	t->a = a;
	commit_queue_submit(rs->cq, &t->ct, append_job_run, t, chain, epoch);
	return STORE_OK;
}

enum store_rc room_store_append_wait(struct room_append_ticket *t, int64_t *stream_pos,
				     int64_t *state_after)
{
	enum store_rc rc = commit_queue_wait(t->rs->cq, &t->ct);
	*stream_pos = rc == STORE_OK ? t->pos : 0;
	*state_after = rc == STORE_OK ? t->after : 0;
	return rc;
}

int room_store_append_poll(struct room_append_ticket *t, enum store_rc *rc, int64_t *stream_pos)
{
	if (!commit_queue_poll(t->rs->cq, &t->ct, rc))
		return 0;
	/* Done: the leader wrote pos before it marked the ticket, under the
	 * queue's lock that poll took. */
	*stream_pos = *rc == STORE_OK ? t->pos : 0;
	return 1;
}

size_t room_store_appends_pending(struct room_store *rs)
{
	struct commit_queue_stats cs;
	commit_queue_stats(rs->cq, &cs);
	return cs.waiting + cs.running;
}

enum store_rc room_store_append(struct room_store *rs, const struct room_append *a,
				int64_t *stream_pos, int64_t *state_after)
{
	struct room_append_ticket t;

	*stream_pos = 0;
	*state_after = 0;
	/* Concurrent appends share one transaction and one fsync; STORE_OK
	 * still means this event is committed. */
	if (room_store_append_submit(rs, a, &t, NULL, 0) != STORE_OK)
		return STORE_ERROR;
	return room_store_append_wait(&t, stream_pos, state_after);
}

/* ---- events ----------------------------------------------------------- */

#define EV_COLS "e.stream_pos, e.event_id, e.room_id, e.event_json, m.depth, m.state_before," \
		" m.state_after, m.redacted_by, m.sender_device, m.txn_id"
#define EV_FROM " FROM events e JOIN event_meta m ON m.event_id = e.event_id"

void room_event_clear(struct room_event *e)
{
	if (!e)
		return;
	free(e->event_id);
	free(e->room_id);
	free(e->json);
	free(e->redacted_by);
	free(e->device_id);
	free(e->txn_id);
	memset(e, 0, sizeof(*e));
}

void room_event_list_free(struct room_event *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		room_event_clear(&list[i]);
	free(list);
}

static enum store_rc ev_from_row(const struct db_res *r, int row, struct room_event *e)
{
	int oom = 0;
	e->stream_pos = db_get_int(r, row, 0);
	e->event_id = db_dup(r, row, 1, &oom);
	e->room_id = db_dup(r, row, 2, &oom);
	e->json = db_dup(r, row, 3, &oom);
	e->depth = db_get_int(r, row, 4);
	e->state_before = db_get_int(r, row, 5);
	e->state_after = db_get_int(r, row, 6);
	e->redacted_by = db_dup(r, row, 7, &oom);
	e->device_id = db_dup(r, row, 8, &oom);
	e->txn_id = db_dup(r, row, 9, &oom);
	if (oom || !e->event_id || !e->json) {
		room_event_clear(e);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static enum store_rc outlier_get(struct db_conn *c, const char *event_id, struct room_event *out);

enum store_rc room_store_event_get(struct room_store *rs, const char *event_id,
				   struct room_event *out)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	memset(out, 0, sizeof(*out));
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT " EV_COLS EV_FROM " WHERE e.event_id = ?", DB_TEXT(event_id));
	if (rc == STORE_OK)
		rc = r.nrows ? ev_from_row(&r, 0, out) : STORE_NOT_FOUND;
	db_res_free(&r);
	if (rc == STORE_NOT_FOUND)
		rc = outlier_get(c, event_id, out);
	conn_put(rs, c);
	return rc;
}

static enum store_rc outlier_get(struct db_conn *c, const char *event_id, struct room_event *out)
{
	struct db_res r = { 0 };
	enum store_rc rc;
	int oom = 0;

	rc = DBQ(c, &r, "SELECT event_id, room_id, kind, event_json, state_before, state_after"
		 " FROM event_outliers WHERE event_id = ?", DB_TEXT(event_id));
	if (rc == STORE_OK && r.nrows == 0)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK) {
		out->event_id = db_dup(&r, 0, 0, &oom);
		out->room_id = db_dup(&r, 0, 1, &oom);
		out->kind = (int)db_get_int(&r, 0, 2);
		out->json = db_dup(&r, 0, 3, &oom);
		out->state_before = db_is_null(&r, 0, 4) ? 0 : db_get_int(&r, 0, 4);
		out->state_after = db_is_null(&r, 0, 5) ? 0 : db_get_int(&r, 0, 5);
		if (oom || !out->event_id || !out->json) {
			room_event_clear(out);
			rc = STORE_ERROR;
		} else {
			json_t *ev = json_loads(out->json, JSON_ALLOW_NUL, NULL);
			out->depth = json_integer_value(json_object_get(ev, "depth"));
			json_decref(ev);
		}
	}
	db_res_free(&r);
	return rc;
}

enum store_rc room_store_outlier_put(struct room_store *rs, const char *event_id,
				     const char *room_id, int kind, const char *json)
{
	return room_store_outliers_put(rs, room_id, kind, &event_id, &json, 1);
}

static enum store_rc outliers_insert(struct db_conn *c, const char *room_id, int kind, const char *id,
				     const char *json, int64_t now, int64_t before, int64_t after);

/* Work items of the commit queue (so they are ordered with appends and
 * share their transactions). */
struct outliers_job {
	const char *room_id;
	int kind;
	const char *const *ids, *const *jsons;
	size_t n;
	int64_t now;
};

static enum store_rc outliers_job_run(struct db_conn *c, void *arg)
{
	const struct outliers_job *j = arg;
	enum store_rc rc = STORE_OK;
	/* Ordered with appends, so an event is never both in the timeline
	 * and here. */
	for (size_t i = 0; rc == STORE_OK && i < j->n; i++)
		rc = outliers_insert(c, j->room_id, j->kind, j->ids[i], j->jsons[i], j->now, 0, 0);
	return rc;
}

/* One row; before/after 0: no state groups (NULL). */
static enum store_rc outliers_insert(struct db_conn *c, const char *room_id, int kind, const char *id,
				     const char *json, int64_t now, int64_t before, int64_t after)
{
	return DBQ(c, NULL, "INSERT INTO event_outliers (event_id, room_id, kind, event_json, received_ts,"
		   " state_before, state_after)"
		   " SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM events WHERE event_id = ?)"
		   " ON CONFLICT (event_id) DO NOTHING",
		   DB_TEXT(id), DB_TEXT(room_id), DB_INT(kind), DB_TEXT(json), DB_INT(now),
		   DB_INT_OR_NULL(before, 0), DB_INT_OR_NULL(after, 0), DB_TEXT(id));
}

struct soft_failed_job {
	const char *room_id, *id, *json;
	int64_t now, before, after;
};

static enum store_rc soft_failed_job_run(struct db_conn *c, void *arg)
{
	const struct soft_failed_job *j = arg;
	return outliers_insert(c, j->room_id, ROOM_EVENT_SOFT_FAILED, j->id, j->json, j->now, j->before,
			       j->after);
}

enum store_rc room_store_soft_failed_put(struct room_store *rs, const char *event_id, const char *room_id,
					 const char *json, int64_t state_before, int64_t state_after)
{
	struct soft_failed_job j = { room_id, event_id, json, (int64_t)time(NULL) * 1000, state_before,
				     state_after };

	if (!room_id || !event_id || !json || !state_before || !state_after)
		return STORE_ERROR;
	return commit_queue_run(rs->cq, soft_failed_job_run, &j);
}

enum store_rc room_store_outliers_put(struct room_store *rs, const char *room_id, int kind,
				      const char *const *ids, const char *const *jsons, size_t n)
{
	struct outliers_job j = { room_id, kind, ids, jsons, n, (int64_t)time(NULL) * 1000 };

	if (!room_id || kind < ROOM_EVENT_OUTLIER || kind > ROOM_EVENT_SOFT_FAILED)
		return STORE_ERROR;
	for (size_t i = 0; i < n; i++)
		if (!ids[i] || !jsons[i])
			return STORE_ERROR;
	return commit_queue_run(rs->cq, outliers_job_run, &j);
}

int room_store_event_known(struct room_store *rs, const char *event_id)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	int known = -1;

	if (!(c = conn_get(rs)))
		return -1;
	if (DBQ(c, &r, "SELECT 1 FROM events WHERE event_id = ? UNION ALL"
		" SELECT 1 FROM event_outliers WHERE event_id = ?",
		DB_TEXT(event_id), DB_TEXT(event_id)) == STORE_OK)
		known = r.nrows > 0;
	db_res_free(&r);
	conn_put(rs, c);
	return known;
}

struct group_job {
	const char *room_id, *state_json;
	int64_t group;
};

static enum store_rc group_job_run(struct db_conn *c, void *arg)
{
	struct group_job *j = arg;
	struct db_res r = { 0 };
	enum store_rc rc;

	j->group = 0;
	rc = DBQ(c, &r, "SELECT COALESCE(MIN(group_id), 0) FROM state_groups");
	if (rc == STORE_OK) {
		int64_t g = db_get_int(&r, 0, 0);
		j->group = (g < 0 ? g : 0) - 1;
		rc = DBQ(c, NULL, "INSERT INTO state_groups (group_id, room_id, state_json)"
			 " VALUES (?, ?, ?)", DB_INT(j->group), DB_TEXT(j->room_id),
			 DB_TEXT(j->state_json));
	}
	db_res_free(&r);
	return rc;
}

enum store_rc room_store_group_put(struct room_store *rs, const char *room_id,
				   const char *state_json, int64_t *group)
{
	struct group_job j = { room_id, state_json, 0 };
	enum store_rc rc = commit_queue_run(rs->cq, group_job_run, &j);

	*group = rc == STORE_OK ? j.group : 0;
	return rc;
}

/* ---- the federation outbox ---------------------------------------------- */

void room_store_set_outbox(struct room_store *rs, const char *server_name)
{
	snprintf(rs->outbox_origin, sizeof(rs->outbox_origin), "%s", server_name ? server_name : "");
}

/* Inside an append: a local event goes to the outbox of every other
 * server with a joined member (room_memberships, not yet changed by the
 * event), and to a member event's target's server, in the event's own
 * transaction, so a crash cannot keep the event and lose the PDU. */
static enum store_rc outbox_rows(struct room_store *rs, struct db_conn *c, const struct room_append *a)
{
	const char *origin = rs->outbox_origin, *target = NULL, *colon;
	enum store_rc rc;

	if (!origin[0] || a->explicit_current)
		return STORE_OK;
	if (a->membership && a->state_key && (colon = strchr(a->state_key, ':')) && strcmp(colon + 1, origin) != 0)
		target = colon + 1;
	if (target &&
	    (rc = DBQ(c, NULL, "INSERT INTO fed_outbox (seq, destination, pdu_json)"
		      " SELECT COALESCE(MAX(seq), 0) + 1, ?, ? FROM fed_outbox",
		      DB_TEXT(target), DB_TEXT(a->json))) != STORE_OK)
		return rc;
	/* The domain is what follows the first ':' of the user ID; the
	 * recursive query walks the distinct domains through the index of
	 * migration 065, one seek each, rather than every member. */
#define DOMAIN_SQL(fn) "substr(user_id, " fn "(user_id, ':') + 1)"
#define OUTBOX_SQL(fn)                                                                                     \
	"WITH RECURSIVE doms(d) AS (SELECT MIN(" DOMAIN_SQL(fn) ") FROM room_memberships"                   \
	" WHERE room_id = ? AND membership = 'join'"                                                        \
	" UNION ALL SELECT (SELECT MIN(" DOMAIN_SQL(fn) ") FROM room_memberships"                           \
	" WHERE room_id = ? AND membership = 'join' AND " DOMAIN_SQL(fn) " > doms.d)"                       \
	" FROM doms WHERE doms.d IS NOT NULL)"                                                              \
	" INSERT INTO fed_outbox (seq, destination, pdu_json)"                                              \
	" SELECT (SELECT COALESCE(MAX(seq), 0) FROM fed_outbox) + ROW_NUMBER() OVER (ORDER BY d), d, ?"     \
	" FROM doms WHERE d IS NOT NULL AND d <> ? AND d <> ?"
	rc = DBQ(c, NULL, rs->kind == DB_POSTGRES ? OUTBOX_SQL("strpos") : OUTBOX_SQL("instr"),
		 DB_TEXT(a->room_id), DB_TEXT(a->room_id), DB_TEXT(a->json), DB_TEXT(origin),
		 DB_TEXT(target ? target : origin));
#undef OUTBOX_SQL
#undef DOMAIN_SQL
	return rc;
}

struct outbox_job {
	const char *dest, *pdu_json;
};

static enum store_rc outbox_job_run(struct db_conn *c, void *arg)
{
	const struct outbox_job *j = arg;
	return DBQ(c, NULL, "INSERT INTO fed_outbox (seq, destination, pdu_json)"
		   " SELECT COALESCE(MAX(seq), 0) + 1, ?, ? FROM fed_outbox",
		   DB_TEXT(j->dest), DB_TEXT(j->pdu_json));
}

enum store_rc room_store_outbox_add(struct room_store *rs, const char *dest, const char *pdu_json)
{
	struct outbox_job j = { dest, pdu_json };
	/* Queued with the appends, so the MAX(seq) + 1 never races. */
	return commit_queue_run(rs->cq, outbox_job_run, &j);
}

enum store_rc room_store_outbox_delivered(struct room_store *rs, const char *dest, size_t n)
{
	struct db_conn *c;
	enum store_rc rc;

	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, NULL, "DELETE FROM fed_outbox WHERE seq IN (SELECT seq FROM fed_outbox"
		 " WHERE destination = ? ORDER BY seq LIMIT ?)", DB_TEXT(dest), DB_INT((int64_t)n));
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_outbox_list(struct room_store *rs, char ***dests, char ***pdus, size_t *n)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	*dests = *pdus = NULL;
	*n = 0;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT destination, pdu_json FROM fed_outbox ORDER BY seq");
	if (rc == STORE_OK && r.nrows > 0) {
		int oom = 0;
		*dests = calloc((size_t)r.nrows, sizeof(char *));
		*pdus = calloc((size_t)r.nrows, sizeof(char *));
		if (!*dests || !*pdus)
			oom = 1;
		for (int i = 0; !oom && i < r.nrows; i++) {
			(*dests)[i] = db_dup(&r, i, 0, &oom);
			(*pdus)[i] = db_dup(&r, i, 1, &oom);
		}
		*n = (size_t)r.nrows;
		if (oom) {
			for (size_t i = 0; *dests && *pdus && i < *n; i++) {
				free((*dests)[i]);
				free((*pdus)[i]);
			}
			free(*dests);
			free(*pdus);
			*dests = *pdus = NULL;
			*n = 0;
			rc = STORE_ERROR;
		}
	}
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

/* Column 0 of every row of r as a malloc'd array of malloc'd strings. */
static enum store_rc column_strings(struct db_res *r, char ***out, size_t *n)
{
	int oom = 0;
	*out = NULL;
	*n = 0;
	if (r->nrows <= 0)
		return STORE_OK;
	if (!(*out = calloc((size_t)r->nrows, sizeof(char *))))
		return STORE_ERROR;
	for (int i = 0; !oom && i < r->nrows; i++)
		(*out)[i] = db_dup(r, i, 0, &oom);
	if (oom) {
		for (int i = 0; i < r->nrows; i++)
			free((*out)[i]);
		free(*out);
		*out = NULL;
		return STORE_ERROR;
	}
	*n = (size_t)r->nrows;
	return STORE_OK;
}

enum store_rc room_store_outbox_load(struct room_store *rs, const char *dest, size_t limit,
				     char ***pdus, size_t *n)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	*pdus = NULL;
	*n = 0;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT pdu_json FROM fed_outbox WHERE destination = ? ORDER BY seq LIMIT ?",
		 DB_TEXT(dest), DB_INT((int64_t)limit));
	if (rc == STORE_OK)
		rc = column_strings(&r, pdus, n);
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_outbox_dests(struct room_store *rs, char ***dests, size_t *n)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	*dests = NULL;
	*n = 0;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT DISTINCT destination FROM fed_outbox ORDER BY destination");
	if (rc == STORE_OK)
		rc = column_strings(&r, dests, n);
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_events(struct room_store *rs, const char *room_id, char dir,
				int64_t from, int64_t to, int limit,
				struct room_event **out, size_t *n)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	*out = NULL;
	*n = 0;
	if (limit <= 0 || (dir != 'f' && dir != 'b'))
		return STORE_ERROR;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	if (to < 0)
		to = dir == 'f' ? INT64_MAX : -1;
	if (dir == 'f')
		rc = DBQ(c, &r, "SELECT " EV_COLS EV_FROM " WHERE e.room_id = ? AND e.stream_pos > ?"
			 " AND e.stream_pos <= ? ORDER BY e.stream_pos LIMIT ?",
			 DB_TEXT(room_id), DB_INT(from), DB_INT(to), DB_INT(limit));
	else
		rc = DBQ(c, &r, "SELECT " EV_COLS EV_FROM " WHERE e.room_id = ? AND e.stream_pos <= ?"
			 " AND e.stream_pos > ? ORDER BY e.stream_pos DESC LIMIT ?",
			 DB_TEXT(room_id), DB_INT(from), DB_INT(to), DB_INT(limit));
	if (rc == STORE_OK && r.nrows > 0) {
		struct room_event *list = calloc((size_t)r.nrows, sizeof(*list));
		if (!list)
			rc = STORE_ERROR;
		for (int i = 0; list && i < r.nrows && rc == STORE_OK; i++)
			rc = ev_from_row(&r, i, &list[i]);
		if (rc == STORE_OK) {
			*out = list;
			*n = (size_t)r.nrows;
		} else {
			room_event_list_free(list, (size_t)r.nrows);
		}
	}
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

/* ---- rooms and state -------------------------------------------------- */

enum store_rc room_store_room(struct room_store *rs, const char *room_id,
			      char **version, char **creator)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;
	int oom = 0;

	*version = NULL;
	if (creator)
		*creator = NULL;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT version, creator FROM rooms WHERE room_id = ?", DB_TEXT(room_id));
	if (rc == STORE_OK && r.nrows == 0)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK) {
		*version = db_dup(&r, 0, 0, &oom);
		if (creator)
			*creator = db_dup(&r, 0, 1, &oom);
		if (oom) {
			free(*version);
			*version = NULL;
			if (creator) {
				free(*creator);
				*creator = NULL;
			}
			rc = STORE_ERROR;
		}
	}
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

void room_head_clear(struct room_head *h)
{
	if (!h)
		return;
	json_decref(h->state);
	for (size_t i = 0; i < h->nextrem; i++)
		free(h->extremities[i]);
	free(h->extremities);
	memset(h, 0, sizeof(*h));
}

static enum store_rc set_state(json_t *map, const char *type, const char *sk, const char *eid)
{
	json_t *m = json_object_get(map, type);
	if (!m) {
		m = json_object();
		if (!m || json_object_set_new(map, type, m) < 0)
			return STORE_ERROR;
	}
	return json_object_set_new(m, sk, json_string(eid)) < 0 ? STORE_ERROR : STORE_OK;
}

enum store_rc room_store_head(struct room_store *rs, const char *room_id, struct room_head *out)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	memset(out, 0, sizeof(*out));
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	out->state = json_object();
	rc = out->state ? STORE_OK : STORE_ERROR;
	if (rc == STORE_OK)
		rc = DBQ(c, &r, "SELECT type, state_key, event_id FROM room_state WHERE room_id = ?",
			 DB_TEXT(room_id));
	for (int i = 0; rc == STORE_OK && i < r.nrows; i++)
		rc = set_state(out->state, db_get(&r, i, 0), db_get(&r, i, 1), db_get(&r, i, 2));
	if (rc != STORE_OK)
		goto done;
	db_res_free(&r);
	rc = DBQ(c, &r, "SELECT x.event_id, m.depth FROM room_extremities x"
		 " JOIN event_meta m ON m.event_id = x.event_id WHERE x.room_id = ?"
		 " ORDER BY m.depth DESC", DB_TEXT(room_id));
	if (rc == STORE_OK && r.nrows > 0) {
		int oom = 0;
		if (!(out->extremities = calloc((size_t)r.nrows, sizeof(char *))))
			rc = STORE_ERROR;
		for (int i = 0; out->extremities && i < r.nrows; i++) {
			out->extremities[out->nextrem++] = db_dup(&r, i, 0, &oom);
			if (db_get_int(&r, i, 1) > out->depth)
				out->depth = db_get_int(&r, i, 1);
		}
		if (oom)
			rc = STORE_ERROR;
	}
	if (rc != STORE_OK)
		goto done;
	db_res_free(&r);
	rc = DBQ(c, &r, "SELECT m.state_after FROM events e JOIN event_meta m"
		 " ON m.event_id = e.event_id WHERE e.room_id = ? ORDER BY e.stream_pos DESC LIMIT 1",
		 DB_TEXT(room_id));
	if (rc == STORE_OK && r.nrows > 0)
		out->state_group = db_get_int(&r, 0, 0);
	db_res_free(&r);
	/* A remote event may have left a resolved state as the current one. */
	if (rc == STORE_OK)
		rc = DBQ(c, &r, "SELECT g.group_id FROM room_current_group g WHERE g.room_id = ?"
			 " AND g.stream_pos = (SELECT MAX(stream_pos) FROM events WHERE room_id = ?)",
			 DB_TEXT(room_id), DB_TEXT(room_id));
	if (rc == STORE_OK && r.nrows > 0)
		out->state_group = db_get_int(&r, 0, 0);
done:
	db_res_free(&r);
	conn_put(rs, c);
	if (rc != STORE_OK)
		room_head_clear(out);
	return rc;
}

/* Applies a delta {"type": {"state_key": "event_id"}} onto map. */
static int apply_delta(json_t *map, const json_t *delta)
{
	const char *type, *sk;
	json_t *m, *eid;
	json_object_foreach((json_t *)delta, type, m) {
		json_t *to = json_object_get(map, type);
		if (!to) {
			to = json_object();
			if (!to || json_object_set_new(map, type, to) < 0)
				return -1;
		}
		json_object_foreach(m, sk, eid)
			if (json_object_set(to, sk, eid) < 0)
				return -1;
	}
	return 0;
}

/* A group's whole state: its row and those it is a delta on, back to a
 * full snapshot (or the empty group 0), in one query. */
static enum store_rc load_group(struct db_conn *c, int64_t group, json_t **out)
{
	struct db_res r = { 0 };
	enum store_rc rc;
	json_t *map = NULL;

	*out = NULL;
	if (group == 0) {
		*out = json_object();
		return *out ? STORE_OK : STORE_ERROR;
	}
	rc = DBQ(c, &r, "WITH RECURSIVE ch(g, p, j, n) AS ("
		 " SELECT group_id, prev_group, state_json, 0 FROM state_groups WHERE group_id = ?"
		 " UNION ALL SELECT s.group_id, s.prev_group, s.state_json, ch.n + 1 FROM state_groups s"
		 " JOIN ch ON s.group_id = ch.p WHERE ch.n < ?)"
		 " SELECT j, CASE WHEN p IS NULL OR p = 0 THEN 1 ELSE 0 END FROM ch ORDER BY n DESC",
		 DB_INT(group), DB_INT(STATE_CHAIN_MAX + 8));
	if (rc == STORE_OK && r.nrows == 0)
		rc = STORE_NOT_FOUND;
	/* The first row (the oldest) must be a base: a full snapshot or a
	 * delta on the empty state. */
	if (rc == STORE_OK && !db_get_int(&r, 0, 1))
		rc = STORE_ERROR;
	if (rc == STORE_OK && !(map = json_object()))
		rc = STORE_ERROR;
	for (int i = 0; rc == STORE_OK && i < r.nrows; i++) {
		const char *s = db_get(&r, i, 0);
		json_t *part = s ? json_loads(s, 0, NULL) : NULL;
		if (!json_is_object(part) || apply_delta(map, part) < 0)
			rc = STORE_ERROR;
		json_decref(part);
	}
	db_res_free(&r);
	if (rc != STORE_OK) {
		json_decref(map);
		map = NULL;
	}
	*out = map;
	return rc;
}

enum store_rc room_store_state_group(struct room_store *rs, int64_t group, json_t **out)
{
	struct db_conn *c;
	enum store_rc rc;

	*out = NULL;
	if (group == 0)
		return load_group(NULL, 0, out);
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = load_group(c, group, out);
	conn_put(rs, c);
	return rc;
}

/* ---- memberships ------------------------------------------------------ */

void room_membership_list_free(struct room_membership *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].room_id);
		free(list[i].user_id);
		free(list[i].membership);
		free(list[i].event_id);
	}
	free(list);
}

static enum store_rc memberships(struct room_store *rs, const char *sql, const char *key,
				 struct room_membership **out, size_t *n)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	*out = NULL;
	*n = 0;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, sql, DB_TEXT(key));
	if (rc == STORE_OK && r.nrows > 0) {
		struct room_membership *list = calloc((size_t)r.nrows, sizeof(*list));
		int oom = !list;
		for (int i = 0; list && i < r.nrows; i++) {
			list[i].room_id = db_dup(&r, i, 0, &oom);
			list[i].user_id = db_dup(&r, i, 1, &oom);
			list[i].membership = db_dup(&r, i, 2, &oom);
			list[i].event_id = db_dup(&r, i, 3, &oom);
			list[i].stream_pos = db_get_int(&r, i, 4);
			list[i].forgotten = (int)db_get_int(&r, i, 5);
		}
		if (oom) {
			room_membership_list_free(list, list ? (size_t)r.nrows : 0);
			rc = STORE_ERROR;
		} else {
			*out = list;
			*n = (size_t)r.nrows;
		}
	}
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_user_rooms(struct room_store *rs, const char *user_id,
				    struct room_membership **out, size_t *n)
{
	return memberships(rs, "SELECT room_id, user_id, membership, event_id, stream_pos, forgotten"
			   " FROM room_memberships WHERE user_id = ? ORDER BY stream_pos",
			   user_id, out, n);
}

enum store_rc room_store_members(struct room_store *rs, const char *room_id,
				 struct room_membership **out, size_t *n)
{
	return memberships(rs, "SELECT room_id, user_id, membership, event_id, stream_pos, forgotten"
			   " FROM room_memberships WHERE room_id = ? ORDER BY stream_pos",
			   room_id, out, n);
}

enum store_rc room_store_forget(struct room_store *rs, const char *room_id, const char *user_id)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "SELECT membership FROM room_memberships WHERE room_id = ? AND user_id = ?",
		 DB_TEXT(room_id), DB_TEXT(user_id));
	if (rc == STORE_OK && r.nrows == 0)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK) {
		const char *m = db_get(&r, 0, 0);
		if (m && (strcmp(m, "join") == 0 || strcmp(m, "invite") == 0 ||
			  strcmp(m, "knock") == 0))
			rc = STORE_CONFLICT;
	}
	db_res_free(&r);
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "UPDATE room_memberships SET forgotten = 1 WHERE room_id = ?"
			 " AND user_id = ?", DB_TEXT(room_id), DB_TEXT(user_id));
	conn_put(rs, c);
	return rc;
}

/* ---- transaction ids and filters --------------------------------------- */

static enum store_rc one_string(struct room_store *rs, const char *sql,
				const struct db_param *p, int np, char **out)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;
	int oom = 0;

	*out = NULL;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = db_query(c, sql, p, np, &r);
	if (rc == STORE_OK && r.nrows == 0)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK && (!(*out = db_dup(&r, 0, 0, &oom)) || oom)) {
		free(*out);
		*out = NULL;
		rc = STORE_ERROR;
	}
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_txn_get(struct room_store *rs, const char *user_id,
				 const char *device_id, const char *txn_id, char **event_id)
{
	const struct db_param p[] = { DB_TEXT(user_id), DB_TEXT(device_id), DB_TEXT(txn_id) };
	return one_string(rs, "SELECT event_id FROM room_txns WHERE user_id = ? AND device_id = ?"
			  " AND txn_id = ?", p, 3, event_id);
}

enum store_rc room_store_filter_add(struct room_store *rs, const char *user_id,
				    const char *json, int64_t *filter_id)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	*filter_id = -1;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK)
		rc = DBQ(c, &r, "SELECT count(*) FROM user_filters WHERE user_id = ?", DB_TEXT(user_id));
	if (rc == STORE_OK) {
		*filter_id = db_get_int(&r, 0, 0);
		db_res_free(&r);
		rc = DBQ(c, NULL, "INSERT INTO user_filters (user_id, filter_id, filter_json)"
			 " VALUES (?, ?, ?)", DB_TEXT(user_id), DB_INT(*filter_id), DB_TEXT(json));
	}
	if (rc == STORE_OK)
		rc = db_commit(c);
	else
		db_rollback(c);
	conn_put(rs, c);
	if (rc != STORE_OK)
		*filter_id = -1;
	return rc;
}

enum store_rc room_store_filter_get(struct room_store *rs, const char *user_id,
				    int64_t filter_id, char **json)
{
	const struct db_param p[] = { DB_TEXT(user_id), DB_INT(filter_id) };
	return one_string(rs, "SELECT filter_json FROM user_filters WHERE user_id = ?"
			  " AND filter_id = ?", p, 2, json);
}

/* ---- account data, receipts, aliases, directory ---------------------- */

void room_extra_list_free(struct room_extra *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].room_id);
		free(list[i].user_id);
		free(list[i].type);
		free(list[i].value);
		free(list[i].thread_id);
	}
	free(list);
}

static enum store_rc exec_one(struct room_store *rs, const char *sql,
			      const struct db_param *p, int np)
{
	struct db_conn *c;
	enum store_rc rc;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = db_query(c, sql, p, np, NULL);
	conn_put(rs, c);
	return rc;
}

/* Rows of (room_id, user_id, type, value, ts, stream_pos). */
static enum store_rc extras(struct room_store *rs, const char *sql, const struct db_param *p,
			    int np, struct room_extra **out, size_t *n)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;

	*out = NULL;
	*n = 0;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = db_query(c, sql, p, np, &r);
	if (rc == STORE_OK && r.nrows > 0) {
		struct room_extra *list = calloc((size_t)r.nrows, sizeof(*list));
		int oom = !list;
		for (int i = 0; list && i < r.nrows; i++) {
			list[i].room_id = db_dup(&r, i, 0, &oom);
			list[i].user_id = db_dup(&r, i, 1, &oom);
			list[i].type = db_dup(&r, i, 2, &oom);
			list[i].value = db_dup(&r, i, 3, &oom);
			list[i].ts = db_get_int(&r, i, 4);
			list[i].stream_pos = db_get_int(&r, i, 5);
			if (r.ncols > 6)
				list[i].thread_id = db_dup(&r, i, 6, &oom);
		}
		if (oom) {
			room_extra_list_free(list, list ? (size_t)r.nrows : 0);
			rc = STORE_ERROR;
		} else {
			*out = list;
			*n = (size_t)r.nrows;
		}
	}
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_account_data_put(struct room_store *rs, const char *user_id,
					  const char *room_id, const char *type,
					  const char *content, int64_t pos)
{
	struct db_conn *c;
	enum store_rc rc;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "DELETE FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?",
			 DB_TEXT(user_id), DB_TEXT(room_id), DB_TEXT(type));
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "INSERT INTO account_data (user_id, room_id, type, content, stream_pos)"
			 " VALUES (?, ?, ?, ?, ?)", DB_TEXT(user_id), DB_TEXT(room_id), DB_TEXT(type),
			 DB_TEXT(content), DB_INT(pos));
	if (rc == STORE_OK)
		rc = db_commit(c);
	else
		db_rollback(c);
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_account_data_get(struct room_store *rs, const char *user_id,
					  const char *room_id, const char *type, char **content)
{
	const struct db_param p[] = { DB_TEXT(user_id), DB_TEXT(room_id), DB_TEXT(type) };
	return one_string(rs, "SELECT content FROM account_data WHERE user_id = ? AND room_id = ?"
			  " AND type = ?", p, 3, content);
}

enum store_rc room_store_account_data_since(struct room_store *rs, const char *user_id,
					    int64_t since, struct room_extra **out, size_t *n)
{
	const struct db_param p[] = { DB_TEXT(user_id), DB_INT(since) };
	return extras(rs, "SELECT room_id, user_id, type, content, 0, stream_pos FROM account_data"
		      " WHERE user_id = ? AND stream_pos > ? ORDER BY stream_pos", p, 2, out, n);
}

enum store_rc room_store_receipt_put(struct room_store *rs, const char *room_id,
				     const char *user_id, const char *type,
				     const char *event_id, int64_t ts, int64_t pos)
{
	return room_store_receipt_put_thread(rs, room_id, user_id, type, "", event_id, ts, pos);
}

enum store_rc room_store_receipt_put_thread(struct room_store *rs, const char *room_id,
					    const char *user_id, const char *type,
					    const char *thread_id, const char *event_id,
					    int64_t ts, int64_t pos)
{
	struct db_conn *c;
	enum store_rc rc;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = db_begin(c);
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "DELETE FROM receipts WHERE room_id = ? AND user_id = ?"
			 " AND receipt_type = ? AND thread_id = ?", DB_TEXT(room_id), DB_TEXT(user_id),
			 DB_TEXT(type), DB_TEXT(thread_id));
	if (rc == STORE_OK)
		rc = DBQ(c, NULL, "INSERT INTO receipts (room_id, user_id, receipt_type, thread_id,"
			 " event_id, ts, stream_pos) VALUES (?, ?, ?, ?, ?, ?, ?)", DB_TEXT(room_id),
			 DB_TEXT(user_id), DB_TEXT(type), DB_TEXT(thread_id), DB_TEXT(event_id),
			 DB_INT(ts), DB_INT(pos));
	if (rc == STORE_OK)
		rc = db_commit(c);
	else
		db_rollback(c);
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_receipts_since(struct room_store *rs, const char *room_id,
					int64_t since, struct room_extra **out, size_t *n)
{
	const struct db_param p[] = { DB_TEXT(room_id), DB_INT(since) };
	return extras(rs, "SELECT room_id, user_id, receipt_type, event_id, ts, stream_pos, thread_id"
		      " FROM receipts WHERE room_id = ? AND stream_pos > ? ORDER BY stream_pos",
		      p, 2, out, n);
}

enum store_rc room_store_user_receipts(struct room_store *rs, const char *room_id,
				       const char *user_id, struct room_extra **out, size_t *n)
{
	const struct db_param p[] = { DB_TEXT(room_id), DB_TEXT(user_id) };
	return extras(rs, "SELECT room_id, user_id, receipt_type, event_id, ts, stream_pos, thread_id"
		      " FROM receipts WHERE room_id = ? AND user_id = ? ORDER BY stream_pos",
		      p, 2, out, n);
}

enum store_rc room_store_max_xpos(struct room_store *rs, int64_t *pos)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;
	*pos = 0;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = db_query(c, "SELECT max(p) FROM (SELECT max(stream_pos) AS p FROM account_data"
		      " UNION ALL SELECT max(stream_pos) AS p FROM receipts) AS x", NULL, 0, &r);
	if (rc == STORE_OK && r.nrows)
		*pos = db_get_int(&r, 0, 0);
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_alias_put(struct room_store *rs, const char *alias,
				   const char *room_id, const char *creator)
{
	const struct db_param p[] = { DB_TEXT(alias), DB_TEXT(room_id), DB_TEXT(creator) };
	return exec_one(rs, "INSERT INTO room_aliases (alias, room_id, creator) VALUES (?, ?, ?)",
			p, 3);
}

enum store_rc room_store_alias_get(struct room_store *rs, const char *alias,
				   char **room_id, char **creator)
{
	const struct db_param p[] = { DB_TEXT(alias) };
	enum store_rc rc = one_string(rs, "SELECT room_id FROM room_aliases WHERE alias = ?", p, 1,
				      room_id);
	if (rc == STORE_OK && creator &&
	    (rc = one_string(rs, "SELECT creator FROM room_aliases WHERE alias = ?", p, 1,
			     creator)) != STORE_OK) {
		free(*room_id);
		*room_id = NULL;
	}
	return rc;
}

enum store_rc room_store_alias_delete(struct room_store *rs, const char *alias)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = DBQ(c, &r, "DELETE FROM room_aliases WHERE alias = ?", DB_TEXT(alias));
	if (rc == STORE_OK && r.changes == 0)
		rc = STORE_NOT_FOUND;
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

static enum store_rc string_column(struct room_store *rs, const char *sql,
				   const struct db_param *p, int np, json_t **out)
{
	struct db_conn *c;
	struct db_res r = { 0 };
	enum store_rc rc;
	*out = NULL;
	if (!(c = conn_get(rs)))
		return STORE_ERROR;
	rc = db_query(c, sql, p, np, &r);
	if (rc == STORE_OK) {
		*out = json_array();
		for (int i = 0; *out && i < r.nrows; i++)
			json_array_append_new(*out, json_string(db_get(&r, i, 0)));
		if (!*out)
			rc = STORE_ERROR;
	}
	db_res_free(&r);
	conn_put(rs, c);
	return rc;
}

enum store_rc room_store_aliases_of(struct room_store *rs, const char *room_id, json_t **out)
{
	const struct db_param p[] = { DB_TEXT(room_id) };
	return string_column(rs, "SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias",
			     p, 1, out);
}

enum store_rc room_store_directory_set(struct room_store *rs, const char *room_id, int pub)
{
	const struct db_param p[] = { DB_TEXT(room_id) };
	enum store_rc rc = exec_one(rs, "DELETE FROM room_directory WHERE room_id = ?", p, 1);
	if (rc == STORE_OK && pub)
		rc = exec_one(rs, "INSERT INTO room_directory (room_id) VALUES (?)", p, 1);
	return rc;
}

enum store_rc room_store_directory_get(struct room_store *rs, const char *room_id, int *pub)
{
	const struct db_param p[] = { DB_TEXT(room_id) };
	char *id = NULL;
	enum store_rc rc = one_string(rs, "SELECT room_id FROM room_directory WHERE room_id = ?",
				      p, 1, &id);
	*pub = rc == STORE_OK;
	free(id);
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

enum store_rc room_store_directory_list(struct room_store *rs, json_t **out)
{
	return string_column(rs, "SELECT room_id FROM room_directory ORDER BY room_id", NULL, 0, out);
}
