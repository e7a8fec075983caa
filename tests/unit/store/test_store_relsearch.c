/* Unit tests of store_relsearch: the FTS5 query rewrite, and relations,
 * threads and search over events appended with room_store_append(), on
 * SQLite and (with SCOP_TEST_PG_DSN) PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>

#include "common/log.h"
#include "tests/unit/pgtest.h"
#include "homeserver/store/store.h"
#include "homeserver/store/store_relsearch.h"
#include "homeserver/store/store_rooms.h"

struct fx {
	int skip;
	char dir[64];
	char conninfo[1024];
	char dbname[64];
	struct store *st;
	struct room_store *rs;
	struct relsearch *q;
	int64_t depth;
};

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	relsearch_close(f->q);
	room_store_close(f->rs);
	store_close(f->st);
	if (f->dir[0]) {
		static const char *suffix[] = { "", "-wal", "-shm", "-journal" };
		for (size_t i = 0; i < 4; i++) {
			char p[128];
			snprintf(p, sizeof(p), "%s/test.db%s", f->dir, suffix[i]);
			unlink(p);
		}
		rmdir(f->dir);
	}
	pgtest_drop(f->dbname);
	free(f);
	*state = NULL;
	return 0;
}

static int setup(void **state, const char *backend)
{
	char err[256] = "";
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	*state = f;
	if (strcmp(backend, "sqlite") == 0) {
		snprintf(f->dir, sizeof(f->dir), "/tmp/scop-relsearch-XXXXXX");
		if (!mkdtemp(f->dir))
			goto fail;
		snprintf(f->conninfo, sizeof(f->conninfo), "%s/test.db", f->dir);
	} else {
		int rc = pgtest_create("scop_relsearch", f->dbname, sizeof(f->dbname), f->conninfo, sizeof(f->conninfo));
		if (rc > 0) {
			f->skip = 1;
			return 0;
		}
		if (rc < 0)
			goto fail;
	}
	if (store_open(backend, f->conninfo, &f->st, err, sizeof(err)) != STORE_OK ||
	    room_store_open(backend, f->conninfo, &f->rs, err, sizeof(err)) != STORE_OK ||
	    relsearch_open(backend, f->conninfo, &f->q, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "# open: %s\n", err);
		goto fail;
	}
	return 0;
fail:
	teardown(state);
	return -1;
}

static int setup_sqlite(void **state) { return setup(state, "sqlite"); }
static int setup_pg(void **state) { return setup(state, "postgres"); }

#define ROOM "!r:test"
#define ALICE "@alice:test"
#define BOB "@bob:test"

/* Appends an event whose JSON carries content; returns its position. */
static int64_t add(struct fx *f, const char *id, const char *type, const char *sk,
		   const char *sender, const char *membership, const char *content)
{
	struct room_append a = { 0 };
	int64_t pos = 0, g = 0;
	char json[1024];
	snprintf(json, sizeof(json), "{\"type\":\"%s\",\"content\":%s}", type, content);
	a.event_id = id;
	a.room_id = ROOM;
	a.type = type;
	a.state_key = sk;
	a.sender = sender;
	a.origin_server_ts = 1000;
	a.depth = ++f->depth;
	a.json = json;
	a.state_before = 0;
	a.state_after_json = sk ? "{}" : NULL;
	a.membership = membership;
	a.room_version = strcmp(type, "m.room.create") == 0 ? "12" : NULL;
	assert_int_equal(room_store_append(f->rs, &a, &pos, &g), STORE_OK);
	return pos;
}

static void test_fts_query(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "quick brown fox", "\"quick\" \"brown\" \"fox\"" },
		{ "  \"AND\" OR * (x) -y ", "\"AND\" \"OR\" \"x\" \"y\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "a_b:12", "\"a_b\" \"12\"" },
		{ "", "" },
		{ "*** ()", "" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = relsearch_fts_query(cases[i].in);
		assert_non_null(q);
		assert_string_equal(q, cases[i].out);
		free(q);
	}
}

static void test_queries(void **state)
{
	struct fx *f = *state;
	struct relsearch_hit *h;
	size_t n;
	int64_t count, p_react, p_t1, p_t2;

	if (f->skip)
		skip();
	add(f, "$create", "m.room.create", "", ALICE, NULL, "{}");
	add(f, "$ja", "m.room.member", ALICE, ALICE, "join", "{\"membership\":\"join\"}");
	add(f, "$root", "m.room.message", NULL, ALICE, NULL, "{\"body\":\"hello wide world\"}");
	p_react = add(f, "$react", "m.reaction", NULL, BOB, NULL,
		      "{\"m.relates_to\":{\"rel_type\":\"m.annotation\",\"event_id\":\"$root\",\"key\":\"x\"}}");
	p_t1 = add(f, "$t1", "m.room.message", NULL, BOB, NULL,
		   "{\"body\":\"thread world\",\"m.relates_to\":{\"rel_type\":\"m.thread\",\"event_id\":\"$root\"}}");
	p_t2 = add(f, "$t2", "m.room.message", NULL, BOB, NULL,
		   "{\"body\":\"more\",\"m.relates_to\":{\"rel_type\":\"m.thread\",\"event_id\":\"$root\"}}");

	assert_int_equal(relsearch_relations(f->q, ROOM, "$root", NULL, NULL, 'b', -1, 10, &h, &n),
			 STORE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(h[0].event_id, "$t2");
	assert_int_equal(h[2].pos, p_react);
	relsearch_hits_free(h, n);
	assert_int_equal(relsearch_relations(f->q, ROOM, "$root", "m.thread", NULL, 'f', p_t1, 10,
					     &h, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].event_id, "$t2");
	relsearch_hits_free(h, n);
	assert_int_equal(relsearch_relations(f->q, ROOM, "$root", NULL, "m.reaction", 'b', -1, 10,
					     &h, &n), STORE_OK);
	assert_int_equal(n, 1);
	relsearch_hits_free(h, n);
	assert_int_equal(relsearch_relations(f->q, "!other:test", "$root", NULL, NULL, 'b', -1, 10,
					     &h, &n), STORE_OK);
	assert_int_equal(n, 0);

	assert_int_equal(relsearch_threads(f->q, ROOM, ALICE, 0, -1, 10, &h, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].event_id, "$root");
	assert_int_equal(h[0].pos, p_t2);
	assert_int_equal(h[0].count, 2);
	assert_true(h[0].participated); /* alice sent the root */
	relsearch_hits_free(h, n);
	assert_int_equal(relsearch_threads(f->q, ROOM, "@carol:test", 1, -1, 10, &h, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(relsearch_threads(f->q, ROOM, ALICE, 0, p_t2, 10, &h, &n), STORE_OK);
	assert_int_equal(n, 0);

	assert_int_equal(relsearch_search(f->q, ALICE, "World", NULL, 1, 0, 10, &h, &n, &count),
			 STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].event_id, "$t1");
	relsearch_hits_free(h, n);
	assert_int_equal(relsearch_search(f->q, ALICE, "world", NULL, 0, 1, 10, &h, &n, &count),
			 STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(n, 1);
	relsearch_hits_free(h, n);
	assert_int_equal(relsearch_search(f->q, BOB, "world", NULL, 0, 0, 10, &h, &n, &count),
			 STORE_OK); /* bob is not joined */
	assert_int_equal(count, 0);
	assert_int_equal(n, 0);
	{
		struct relsearch_filter rf = { 0 };
		rf.rooms = "[\"!other:test\"]";
		assert_int_equal(relsearch_search(f->q, ALICE, "world", &rf, 0, 0, 10, &h, &n,
						  &count), STORE_OK);
		assert_int_equal(count, 0);
		rf.rooms = NULL;
		rf.not_rooms = "[\"" ROOM "\"]";
		assert_int_equal(relsearch_search(f->q, ALICE, "world", &rf, 0, 0, 10, &h, &n,
						  &count), STORE_OK);
		assert_int_equal(count, 0);
		rf.not_rooms = NULL;
		rf.types = "[\"m.room.topic\"]";
		assert_int_equal(relsearch_search(f->q, ALICE, "world", &rf, 0, 0, 10, &h, &n,
						  &count), STORE_OK);
		assert_int_equal(count, 0);
		rf.types = "[\"m.room.message\"]";
		assert_int_equal(relsearch_search(f->q, ALICE, "world", &rf, 0, 0, 10, &h, &n,
						  &count), STORE_OK);
		assert_int_equal(count, 2);
		relsearch_hits_free(h, n);
		rf.senders = "[\"" BOB "\"]";
		assert_int_equal(relsearch_search(f->q, ALICE, "world", &rf, 0, 0, 10, &h, &n,
						  &count), STORE_OK);
		assert_int_equal(count, 1);
		assert_string_equal(h[0].event_id, "$t1");
		relsearch_hits_free(h, n);
		rf.senders = NULL;
		rf.not_senders = "[\"" BOB "\"]";
		assert_int_equal(relsearch_search(f->q, ALICE, "world", &rf, 0, 0, 10, &h, &n,
						  &count), STORE_OK);
		assert_int_equal(count, 1);
		assert_string_equal(h[0].event_id, "$root");
		relsearch_hits_free(h, n);
	}
	assert_int_equal(relsearch_search(f->q, ALICE, "** (", NULL, 0, 0, 10, &h, &n, &count),
			 STORE_OK);
	assert_int_equal(n, 0);
}

static const struct relsearch_child *find_child(const struct relsearch_child *ch, size_t n,
					       const char *parent, const char *rel, size_t nth)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ch[i].parent, parent) == 0 && strcmp(ch[i].rel_type, rel) == 0 &&
		    nth-- == 0)
			return &ch[i];
	return NULL;
}

#define REL(type, target) "\"m.relates_to\":{\"rel_type\":\"" type "\",\"event_id\":\"" target "\"}"

static void test_bundle(void **state)
{
	struct fx *f = *state;
	struct relsearch_child *ch;
	const struct relsearch_child *c;
	size_t n;

	if (f->skip)
		skip();
	add(f, "$create", "m.room.create", "", ALICE, NULL, "{}");
	add(f, "$ja", "m.room.member", ALICE, ALICE, "join", "{\"membership\":\"join\"}");
	add(f, "$root", "m.room.message", NULL, ALICE, NULL, "{\"body\":\"hi\"}");
	add(f, "$lone", "m.room.message", NULL, ALICE, NULL, "{\"body\":\"alone\"}");
	add(f, "$t1", "m.room.message", NULL, BOB, NULL, "{" REL("m.thread", "$root") "}");
	add(f, "$t2", "m.room.message", NULL, BOB, NULL, "{" REL("m.thread", "$root") "}");
	add(f, "$e1", "m.room.message", NULL, ALICE, NULL,
	    "{\"m.new_content\":{\"body\":\"a\"}," REL("m.replace", "$root") "}");
	add(f, "$e2", "m.room.message", NULL, ALICE, NULL,
	    "{\"m.new_content\":{\"body\":\"b\"}," REL("m.replace", "$root") "}");
	/* Not valid replacements: another sender, no m.new_content, another type. */
	add(f, "$e9", "m.room.message", NULL, BOB, NULL,
	    "{\"m.new_content\":{\"body\":\"x\"}," REL("m.replace", "$root") "}");
	add(f, "$e8", "m.room.message", NULL, ALICE, NULL, "{" REL("m.replace", "$root") "}");
	add(f, "$e7", "m.other", NULL, ALICE, NULL,
	    "{\"m.new_content\":{\"body\":\"x\"}," REL("m.replace", "$root") "}");
	add(f, "$r1", "m.room.message", NULL, BOB, NULL, "{" REL("m.reference", "$root") "}");
	add(f, "$r2", "m.room.message", NULL, ALICE, NULL, "{" REL("m.reference", "$root") "}");
	add(f, "$a1", "m.reaction", NULL, BOB, NULL, "{" REL("m.annotation", "$root") "}");

	assert_int_equal(relsearch_bundle(f->q, "[\"$root\",\"$lone\",\"$nope\"]", "@carol:test",
					  &ch, &n), STORE_OK);
	assert_int_equal(n, 4);
	assert_non_null(c = find_child(ch, n, "$root", "m.thread", 0));
	assert_string_equal(c->ev.event_id, "$t2");
	assert_int_equal(c->count, 2);
	assert_false(c->participated);
	assert_non_null(strstr(c->ev.json, "m.thread"));
	assert_non_null(c = find_child(ch, n, "$root", "m.replace", 0));
	/* Same origin_server_ts: the greater event ID wins. */
	assert_string_equal(c->ev.event_id, "$e2");
	assert_non_null(c = find_child(ch, n, "$root", "m.reference", 0));
	assert_string_equal(c->ev.event_id, "$r1");
	assert_null(c->ev.json);
	assert_non_null(c = find_child(ch, n, "$root", "m.reference", 1));
	assert_string_equal(c->ev.event_id, "$r2");
	relsearch_children_free(ch, n);

	assert_int_equal(relsearch_bundle(f->q, "[\"$root\"]", BOB, &ch, &n), STORE_OK);
	assert_non_null(c = find_child(ch, n, "$root", "m.thread", 0));
	assert_true(c->participated);
	relsearch_children_free(ch, n);
	assert_int_equal(relsearch_bundle(f->q, "[\"$root\"]", ALICE, &ch, &n), STORE_OK);
	assert_non_null(c = find_child(ch, n, "$root", "m.thread", 0));
	assert_true(c->participated); /* alice sent the root */
	relsearch_children_free(ch, n);
	assert_int_equal(relsearch_bundle(f->q, "[]", ALICE, &ch, &n), STORE_OK);
	assert_int_equal(n, 0);
}

#define BOTH(t)                                                                           \
	cmocka_unit_test_setup_teardown(t, setup_sqlite, teardown),                       \
	cmocka_unit_test_setup_teardown(t, setup_pg, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fts_query),
		BOTH(test_queries),
		BOTH(test_bundle),
	};
	scop_log_init("test_store_relsearch", getenv("SCOP_TEST_LOG") ? SCOP_LOG_DEBUG : SCOP_LOG_OFF);
	return cmocka_run_group_tests_name("store_relsearch", tests, NULL, NULL);
}
