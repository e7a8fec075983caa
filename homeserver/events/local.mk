# homeserver/events/: the Matrix event core as pure modules (no I/O):
# room versions, event format/hashes/IDs/redaction, signing, auth rules,
# state resolution.
noinst_LIBRARIES += homeserver/events/libscopevents.a
homeserver_events_libscopevents_a_SOURCES = \
	homeserver/events/room_version.c homeserver/events/room_version.h \
	homeserver/events/event.c homeserver/events/event.h \
	homeserver/events/event_sign.c homeserver/events/event_sign.h \
	homeserver/events/auth_rules.c homeserver/events/auth_rules.h \
	homeserver/events/state_res.c homeserver/events/state_res.h
EVENTS_LIBS = homeserver/events/libscopevents.a $(COMMON_LIBS)

UNIT_TESTS += tests/unit/events/test_canonjson
tests_unit_events_test_canonjson_SOURCES = tests/unit/events/test_canonjson.c
tests_unit_events_test_canonjson_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_events_test_canonjson_LDADD = $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/events/test_event
tests_unit_events_test_event_SOURCES = tests/unit/events/test_event.c
tests_unit_events_test_event_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_events_test_event_LDADD = $(EVENTS_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/events/test_auth_rules
tests_unit_events_test_auth_rules_SOURCES = tests/unit/events/test_auth_rules.c
tests_unit_events_test_auth_rules_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_events_test_auth_rules_LDADD = $(EVENTS_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_canonjson
tests_fuzz_fuzz_canonjson_SOURCES = tests/fuzz/fuzz_canonjson.c
tests_fuzz_fuzz_canonjson_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_canonjson_LDADD = $(FUZZ_MAIN_LIB) $(COMMON_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_event
tests_fuzz_fuzz_event_SOURCES = tests/fuzz/fuzz_event.c
tests_fuzz_fuzz_event_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_event_LDADD = $(FUZZ_MAIN_LIB) $(EVENTS_LIBS)

BENCH_PROGS += bench/bench_events
bench_bench_events_SOURCES = bench/bench_events.c
bench_bench_events_LDADD = $(EVENTS_LIBS)

UNIT_TESTS += tests/unit/events/test_state_res
tests_unit_events_test_state_res_SOURCES = tests/unit/events/test_state_res.c
tests_unit_events_test_state_res_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_events_test_state_res_LDADD = $(EVENTS_LIBS) $(CMOCKA_TEST_LIBS)
