# homeserver/: scopd's HTTP server, routing, config, auth and the account
# endpoints (the storage is homeserver/store/, events homeserver/events/).
# Everything except main() is in libscophs.a so tests and other parts
# (federation) can link it.
noinst_LIBRARIES += homeserver/libscophs.a
homeserver_libscophs_a_SOURCES = \
	homeserver/config.c homeserver/config_gen.c homeserver/config.h \
	homeserver/userid.c homeserver/userid.h \
	homeserver/router.c homeserver/router.h \
	homeserver/ratelimit.c homeserver/ratelimit.h \
	homeserver/password.c homeserver/password.h \
	homeserver/nonce.c homeserver/nonce.h \
	homeserver/http.c homeserver/http.h \
	homeserver/hs.h homeserver/api.h \
	homeserver/dispatch.c homeserver/query.c homeserver/query.h \
	homeserver/jsonbody.c homeserver/jsonbody.h \
	homeserver/auth.c homeserver/auth.h \
	homeserver/uia.c homeserver/uia.h \
	homeserver/api_versions.c \
	homeserver/api_login.c \
	homeserver/api_register.c \
	homeserver/api_devices.c \
	homeserver/api_account.c \
	homeserver/api_admin.c \
	homeserver/store/store_rooms.c homeserver/store/store_rooms.h \
	homeserver/rooms.c homeserver/rooms.h homeserver/rooms_int.h homeserver/rooms_remote.c \
	homeserver/presence_timeout.c homeserver/presence_timeout.h \
	homeserver/vis_cache.c homeserver/vis_cache.h \
	homeserver/filter.c homeserver/filter.h \
	homeserver/sync.c homeserver/sync.h \
	homeserver/api_rooms.c homeserver/api_rooms.h \
	homeserver/api_sync.c homeserver/api_profile.c homeserver/api_extras.c \
	homeserver/hs_rooms.c \
	homeserver/api_relations.c homeserver/api_search.c homeserver/api_relsearch.h \
	homeserver/aggregations.c homeserver/aggregations.h \
	homeserver/store/store_relsearch.c homeserver/store/store_relsearch.h
homeserver_libscophs_a_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(ARGON2_CFLAGS) $(STORE_CFLAGS)
HS_LIBS = homeserver/libscophs.a homeserver/events/libscopevents.a $(STORE_LIBS) $(MHD_LIBS) $(ARGON2_LIBS) $(COMMON_LIBS)

bin_PROGRAMS += scopd scopctl
scopd_SOURCES = homeserver/main.c
scopd_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(STORE_CFLAGS) $(CURL_CFLAGS)
scopd_LDADD = $(FEDAPI_LIBS)

scopctl_SOURCES = homeserver/scopctl.c
scopctl_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
scopctl_LDADD = homeserver/libscophs.a homeserver/events/libscopevents.a $(MHD_LIBS) $(ARGON2_LIBS) $(CURL_LIBS) $(COMMON_LIBS)

SCRIPT_TESTS += tests/e2e/test_accounts.py tests/e2e/test_accounts_nio.py \
	tests/e2e/test_accounts_jssdk.py
EXTRA_DIST += tests/e2e/test_accounts.py tests/e2e/test_accounts_nio.py \
	tests/e2e/test_accounts_jssdk.py tests/jssdk/package.json tests/jssdk/package-lock.json \
	tests/jssdk/accounts.mjs

# Unit tests, one per module.
HS_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(MHD_CFLAGS) $(ARGON2_CFLAGS) $(STORE_CFLAGS)
HS_TEST_LIBS = $(HS_LIBS) $(CMOCKA_TEST_LIBS)
UNIT_TESTS += tests/unit/homeserver/test_router tests/unit/homeserver/test_config \
	tests/unit/homeserver/test_jsonbody tests/unit/homeserver/test_ratelimit \
	tests/unit/homeserver/test_userid tests/unit/homeserver/test_password \
	tests/unit/homeserver/test_http tests/unit/homeserver/test_nonce \
	tests/unit/homeserver/test_uia tests/unit/homeserver/test_auth \
	tests/unit/homeserver/test_query tests/unit/homeserver/test_vis_cache
tests_unit_homeserver_test_router_SOURCES = tests/unit/homeserver/test_router.c
tests_unit_homeserver_test_router_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_router_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_config_SOURCES = tests/unit/homeserver/test_config.c
tests_unit_homeserver_test_config_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_config_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_jsonbody_SOURCES = tests/unit/homeserver/test_jsonbody.c
tests_unit_homeserver_test_jsonbody_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_jsonbody_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_ratelimit_SOURCES = tests/unit/homeserver/test_ratelimit.c
tests_unit_homeserver_test_ratelimit_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_ratelimit_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_userid_SOURCES = tests/unit/homeserver/test_userid.c
tests_unit_homeserver_test_userid_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_userid_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_password_SOURCES = tests/unit/homeserver/test_password.c
tests_unit_homeserver_test_password_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_password_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_http_SOURCES = tests/unit/homeserver/test_http.c
tests_unit_homeserver_test_http_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_http_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_nonce_SOURCES = tests/unit/homeserver/test_nonce.c
tests_unit_homeserver_test_nonce_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_nonce_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_uia_SOURCES = tests/unit/homeserver/test_uia.c
tests_unit_homeserver_test_uia_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_uia_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_auth_SOURCES = tests/unit/homeserver/test_auth.c
tests_unit_homeserver_test_auth_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_auth_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_query_SOURCES = tests/unit/homeserver/test_query.c
tests_unit_homeserver_test_query_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_query_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_vis_cache_SOURCES = tests/unit/homeserver/test_vis_cache.c
tests_unit_homeserver_test_vis_cache_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_vis_cache_LDADD = $(HS_TEST_LIBS)

# Fuzz harnesses for the parsers of untrusted input.
FUZZ_TARGETS += tests/fuzz/fuzz_hs_router tests/fuzz/fuzz_hs_config tests/fuzz/fuzz_hs_jsonbody \
	tests/fuzz/fuzz_hs_query
tests_fuzz_fuzz_hs_router_SOURCES = tests/fuzz/fuzz_hs_router.c
tests_fuzz_fuzz_hs_router_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hs_router_LDADD = $(FUZZ_MAIN_LIB) homeserver/libscophs.a $(COMMON_LIBS)
tests_fuzz_fuzz_hs_config_SOURCES = tests/fuzz/fuzz_hs_config.c
tests_fuzz_fuzz_hs_config_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hs_config_LDADD = $(FUZZ_MAIN_LIB) homeserver/libscophs.a $(COMMON_LIBS)
tests_fuzz_fuzz_hs_jsonbody_SOURCES = tests/fuzz/fuzz_hs_jsonbody.c
tests_fuzz_fuzz_hs_jsonbody_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hs_jsonbody_LDADD = $(FUZZ_MAIN_LIB) homeserver/libscophs.a $(COMMON_LIBS)
tests_fuzz_fuzz_hs_query_SOURCES = tests/fuzz/fuzz_hs_query.c
tests_fuzz_fuzz_hs_query_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hs_query_LDADD = $(FUZZ_MAIN_LIB) homeserver/libscophs.a $(COMMON_LIBS)
EXTRA_DIST += tests/fuzz/corpus/hs_router tests/fuzz/corpus/hs_config tests/fuzz/corpus/hs_jsonbody \
	tests/fuzz/corpus/hs_query

# Load tool for the account endpoints (bench/bench_accounts.sh drives it).
BENCH_PROGS += bench/bench_http
bench_bench_http_SOURCES = bench/bench_http.c
bench_bench_http_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
bench_bench_http_LDADD = $(CURL_LIBS) $(COMMON_LIBS)
EXTRA_DIST += bench/bench_accounts.sh
# rooms_send() from 1-64 threads, one room and own rooms (the event pipeline).
BENCH_PROGS += bench/bench_rooms_send
bench_bench_rooms_send_SOURCES = bench/bench_rooms_send.c bench/bench_util.c bench/bench_util.h
bench_bench_rooms_send_CFLAGS = $(AM_CFLAGS) $(STORE_CFLAGS)
bench_bench_rooms_send_LDADD = $(HS_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_hs_api
tests_fuzz_fuzz_hs_api_SOURCES = tests/fuzz/fuzz_hs_api.c \
	tests/fuzz/hs_fixture.c tests/fuzz/hs_fixture.h
tests_fuzz_fuzz_hs_api_CFLAGS = $(AM_CFLAGS) $(STORE_CFLAGS)
tests_fuzz_fuzz_hs_api_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hs_api_LDADD = $(FUZZ_MAIN_LIB) $(HS_LIBS)
EXTRA_DIST += tests/fuzz/corpus/hs_api

# Rooms, events and /sync (issue 3).
SCRIPT_TESTS += tests/e2e/test_rooms.py tests/e2e/test_sync.py tests/e2e/test_rooms_jssdk.py
SCRIPT_TESTS += tests/e2e/test_rooms_more.py
EXTRA_DIST += tests/e2e/test_rooms.py tests/e2e/test_rooms_common.py tests/e2e/test_sync.py \
	tests/e2e/test_rooms_jssdk.py tests/jssdk/rooms.mjs tests/e2e/jssdk_runner.py
UNIT_TESTS += tests/unit/store/test_store_rooms tests/unit/homeserver/test_filter \
	tests/unit/homeserver/test_rooms
tests_unit_store_test_store_rooms_SOURCES = tests/unit/store/test_store_rooms.c \
	tests/unit/pgtest.c tests/unit/pgtest.h
tests_unit_store_test_store_rooms_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_store_test_store_rooms_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_filter_SOURCES = tests/unit/homeserver/test_filter.c
tests_unit_homeserver_test_filter_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_filter_LDADD = $(HS_TEST_LIBS)
tests_unit_homeserver_test_rooms_SOURCES = tests/unit/homeserver/test_rooms.c
tests_unit_homeserver_test_rooms_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_rooms_LDADD = $(HS_TEST_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_hs_filter
tests_fuzz_fuzz_hs_filter_SOURCES = tests/fuzz/fuzz_hs_filter.c
tests_fuzz_fuzz_hs_filter_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hs_filter_LDADD = $(FUZZ_MAIN_LIB) homeserver/libscophs.a $(COMMON_LIBS)
EXTRA_DIST += tests/fuzz/corpus/hs_filter
# bench/bench_rooms.py starts scopd itself: run it by hand with the build dir.
EXTRA_DIST += bench/bench_rooms.py
FUZZ_TARGETS += tests/fuzz/fuzz_hs_rooms
tests_fuzz_fuzz_hs_rooms_SOURCES = tests/fuzz/fuzz_hs_rooms.c \
	tests/fuzz/hs_fixture.c tests/fuzz/hs_fixture.h
tests_fuzz_fuzz_hs_rooms_CFLAGS = $(AM_CFLAGS) $(STORE_CFLAGS)
tests_fuzz_fuzz_hs_rooms_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hs_rooms_LDADD = $(FUZZ_MAIN_LIB) $(HS_LIBS)
EXTRA_DIST += tests/fuzz/corpus/hs_rooms

# Relations, threads and search (issue 3).
SCRIPT_TESTS += tests/e2e/test_relations_search.py
EXTRA_DIST += tests/e2e/test_relations_search.py
SCRIPT_TESTS += tests/e2e/test_aggregations.py
EXTRA_DIST += tests/e2e/test_aggregations.py
UNIT_TESTS += tests/unit/homeserver/test_aggregations
tests_unit_homeserver_test_aggregations_SOURCES = tests/unit/homeserver/test_aggregations.c \
	tests/unit/room_fixture.c tests/unit/room_fixture.h
tests_unit_homeserver_test_aggregations_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_aggregations_LDADD = $(HS_TEST_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_hs_search
tests_fuzz_fuzz_hs_search_SOURCES = tests/fuzz/fuzz_hs_search.c
tests_fuzz_fuzz_hs_search_CFLAGS = $(AM_CFLAGS) $(STORE_CFLAGS)
tests_fuzz_fuzz_hs_search_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hs_search_LDADD = $(FUZZ_MAIN_LIB) $(HS_LIBS)
EXTRA_DIST += tests/fuzz/corpus/hs_search
UNIT_TESTS += tests/unit/store/test_store_relsearch
tests_unit_store_test_store_relsearch_SOURCES = tests/unit/store/test_store_relsearch.c \
	tests/unit/pgtest.c tests/unit/pgtest.h
tests_unit_store_test_store_relsearch_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_store_test_store_relsearch_LDADD = $(HS_TEST_LIBS)
# bench/bench_relsearch.py starts scopd itself: run it by hand with the build dir.
EXTRA_DIST += bench/bench_relsearch.py

# The long-poll hub (sync.c) with many parked requests.
SCRIPT_TESTS += tests/e2e/test_sync_hub.py
EXTRA_DIST += tests/e2e/test_sync_hub.py

# Presence timeouts (presence_timeout.c and the sweep in rooms.c).
UNIT_TESTS += tests/unit/homeserver/test_presence_timeout
tests_unit_homeserver_test_presence_timeout_SOURCES = tests/unit/homeserver/test_presence_timeout.c \
	tests/unit/room_fixture.c tests/unit/room_fixture.h
tests_unit_homeserver_test_presence_timeout_CFLAGS = $(HS_TEST_CFLAGS)
tests_unit_homeserver_test_presence_timeout_LDADD = $(HS_TEST_LIBS)
SCRIPT_TESTS += tests/e2e/test_presence_timeout.py
EXTRA_DIST += tests/e2e/test_presence_timeout.py
BENCH_PROGS += bench/bench_presence
bench_bench_presence_SOURCES = bench/bench_presence.c
bench_bench_presence_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(STORE_CFLAGS)
bench_bench_presence_LDADD = $(HS_LIBS)
