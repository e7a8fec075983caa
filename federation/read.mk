# federation/read.mk: read-only server-server endpoints and inbound EDUs,
# part of the federation service scopd links (libscopfedapi.a).
federation_libscopfedapi_a_SOURCES += \
	federation/api_read.c federation/api_read.h \
	federation/read_query.c federation/read_query.h \
	federation/room_servers.c federation/room_servers.h \
	federation/edu.c federation/edu.h
# The pure parsers (no store, no HTTP) go with the other pure parts.
federation_libscopfed_a_SOURCES += \
	federation/edu_parse.c federation/edu_parse.h \
	federation/read_params.c federation/read_params.h

UNIT_TESTS += tests/unit/federation/test_edu
tests_unit_federation_test_edu_SOURCES = tests/unit/federation/test_edu.c \
	tests/unit/room_fixture.c tests/unit/room_fixture.h
tests_unit_federation_test_edu_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) $(STORE_CFLAGS)
tests_unit_federation_test_edu_LDADD = $(FEDAPI_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_fed_edu
tests_fuzz_fuzz_fed_edu_SOURCES = tests/fuzz/fuzz_fed_edu.c
tests_fuzz_fuzz_fed_edu_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_fed_edu_LDADD = $(FUZZ_MAIN_LIB) $(FED_LIBS)
EXTRA_DIST += tests/fuzz/corpus/fed_edu

SCRIPT_TESTS += tests/e2e/test_federation_read.py tests/e2e/test_federation_edu.py
EXTRA_DIST += tests/e2e/test_federation_read.py tests/e2e/test_federation_edu.py

# bench/bench_fed_read.py starts scopd and the Python peer itself: run it by
# hand with the build dir (figures in BENCHMARKS.md).
EXTRA_DIST += bench/bench_fed_read.py

FUZZ_TARGETS += tests/fuzz/fuzz_fed_read
tests_fuzz_fuzz_fed_read_SOURCES = tests/fuzz/fuzz_fed_read.c \
	tests/fuzz/hs_fixture.c tests/fuzz/hs_fixture.h
tests_fuzz_fuzz_fed_read_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(STORE_CFLAGS)
tests_fuzz_fuzz_fed_read_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_fed_read_LDADD = $(FUZZ_MAIN_LIB) $(FEDAPI_LIBS)
EXTRA_DIST += tests/fuzz/corpus/fed_read

# EDUs against a real Synapse, run by hand like tests/synapse/interop.py.
EXTRA_DIST += tests/synapse/interop_edu.py

UNIT_TESTS += tests/unit/federation/test_room_servers
tests_unit_federation_test_room_servers_SOURCES = tests/unit/federation/test_room_servers.c \
	tests/unit/room_fixture.c tests/unit/room_fixture.h
tests_unit_federation_test_room_servers_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) $(STORE_CFLAGS)
tests_unit_federation_test_room_servers_LDADD = $(FEDAPI_LIBS) $(CMOCKA_TEST_LIBS)
