# homeserver/push.mk: push rules and notification counts, part of
# libscophs.a.
homeserver_libscophs_a_SOURCES += \
	homeserver/api_push.c homeserver/api_push.h \
	homeserver/push_rules.c homeserver/push_rules.h \
	homeserver/push_counts.c homeserver/push_counts.h

UNIT_TESTS += tests/unit/homeserver/test_push_rules tests/unit/homeserver/test_push_counts
tests_unit_homeserver_test_push_counts_SOURCES = tests/unit/homeserver/test_push_counts.c \
	tests/unit/room_fixture.c tests/unit/room_fixture.h
tests_unit_homeserver_test_push_counts_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_push_counts_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_push_rules_SOURCES = tests/unit/homeserver/test_push_rules.c
tests_unit_homeserver_test_push_rules_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_push_rules_LDADD = $(HS_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_hs_push_rules
tests_fuzz_fuzz_hs_push_rules_SOURCES = tests/fuzz/fuzz_hs_push_rules.c
tests_fuzz_fuzz_hs_push_rules_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hs_push_rules_LDADD = $(FUZZ_MAIN_LIB) homeserver/libscophs.a $(COMMON_LIBS)
EXTRA_DIST += tests/fuzz/corpus/hs_push_rules

BENCH_PROGS += bench/bench_push_rules
bench_bench_push_rules_SOURCES = bench/bench_push_rules.c
bench_bench_push_rules_LDADD = homeserver/libscophs.a $(COMMON_LIBS)

SCRIPT_TESTS += tests/e2e/test_push.py tests/e2e/test_push_jssdk.py
EXTRA_DIST += tests/e2e/test_push.py tests/e2e/test_push_jssdk.py tests/jssdk/push.mjs

BENCH_PROGS += bench/bench_push_counts
bench_bench_push_counts_SOURCES = bench/bench_push_counts.c
bench_bench_push_counts_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(STORE_CFLAGS)
bench_bench_push_counts_LDADD = $(HS_LIBS)
