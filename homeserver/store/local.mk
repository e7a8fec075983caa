# homeserver/store/: the storage layer (store.h), SQLite and PostgreSQL.
# Link users: $(STORE_LIBS) $(COMMON_LIBS); compile with $(STORE_CFLAGS).
noinst_LIBRARIES += homeserver/store/libscopstore.a
homeserver_store_libscopstore_a_SOURCES = \
	homeserver/store/store.c homeserver/store/store.h \
	homeserver/store/migrate.c homeserver/store/migrate.h \
	homeserver/store/db.c homeserver/store/db.h \
	homeserver/store/db_pool.c homeserver/store/db_pool.h \
	schema/migrations.h
nodist_homeserver_store_libscopstore_a_SOURCES = schema/migrations.c
homeserver_store_libscopstore_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(PQ_CFLAGS)
STORE_CFLAGS = $(SQLITE_CFLAGS) $(PQ_CFLAGS)
STORE_LIBS = homeserver/store/libscopstore.a $(SQLITE_LIBS) $(PQ_LIBS)

UNIT_TESTS += tests/unit/store/test_store
tests_unit_store_test_store_SOURCES = tests/unit/store/test_store.c \
	tests/unit/pgtest.c tests/unit/pgtest.h
tests_unit_store_test_store_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(STORE_CFLAGS)
tests_unit_store_test_store_LDADD = $(STORE_LIBS) $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

BENCH_PROGS += bench/bench_store
bench_bench_store_SOURCES = bench/bench_store.c
bench_bench_store_CFLAGS = $(AM_CFLAGS) $(STORE_CFLAGS)
bench_bench_store_LDADD = $(STORE_LIBS) $(COMMON_LIBS)

# Group commit (commit_queue.h), used by the room store's appends.
homeserver_store_libscopstore_a_SOURCES += \
	homeserver/store/commit_queue.c homeserver/store/commit_queue.h
UNIT_TESTS += tests/unit/store/test_commit_queue
tests_unit_store_test_commit_queue_SOURCES = tests/unit/store/test_commit_queue.c \
	tests/unit/pgtest.c tests/unit/pgtest.h
tests_unit_store_test_commit_queue_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(STORE_CFLAGS)
tests_unit_store_test_commit_queue_LDADD = $(STORE_LIBS) $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

BENCH_PROGS += bench/bench_rooms_append
bench_bench_rooms_append_SOURCES = bench/bench_rooms_append.c bench/bench_util.c bench/bench_util.h
bench_bench_rooms_append_CFLAGS = $(AM_CFLAGS) $(STORE_CFLAGS)
bench_bench_rooms_append_LDADD = $(HS_LIBS)
