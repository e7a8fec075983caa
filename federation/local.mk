# federation/: the server-server API, linked into scopd.
noinst_LIBRARIES += federation/libscopfed.a
federation_libscopfed_a_SOURCES = \
	federation/xmatrix.c federation/xmatrix.h \
	federation/server_keys.c federation/server_keys.h \
	federation/server_name.c federation/server_name.h \
	federation/discovery.c federation/discovery.h \
	federation/pdu_check.c federation/pdu_check.h \
	federation/fed_txn.c federation/fed_txn.h
FED_LIBS = federation/libscopfed.a $(EVENTS_LIBS)

# The network side (libcurl, and libunbound through common/dns.h): only
# what talks to other servers links it, so the pure parts above stay free
# of those libraries.
noinst_LIBRARIES += federation/libscopfednet.a
federation_libscopfednet_a_SOURCES = \
	federation/resolver.c federation/resolver.h \
	federation/keyring.c federation/keyring.h \
	federation/sender.c federation/sender.h \
	federation/fed_client.c federation/fed_client.h
federation_libscopfednet_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
FEDNET_LIBS = federation/libscopfednet.a $(FED_LIBS) $(CURL_LIBS) $(DNS_LIBS)

UNIT_TESTS += tests/unit/federation/test_xmatrix
tests_unit_federation_test_xmatrix_SOURCES = tests/unit/federation/test_xmatrix.c
tests_unit_federation_test_xmatrix_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_federation_test_xmatrix_LDADD = $(FED_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/federation/test_server_keys
tests_unit_federation_test_server_keys_SOURCES = tests/unit/federation/test_server_keys.c
tests_unit_federation_test_server_keys_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_federation_test_server_keys_LDADD = $(FED_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_xmatrix
tests_fuzz_fuzz_xmatrix_SOURCES = tests/fuzz/fuzz_xmatrix.c
tests_fuzz_fuzz_xmatrix_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_xmatrix_LDADD = $(FUZZ_MAIN_LIB) $(FED_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_server_keys
tests_fuzz_fuzz_server_keys_SOURCES = tests/fuzz/fuzz_server_keys.c
tests_fuzz_fuzz_server_keys_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_server_keys_LDADD = $(FUZZ_MAIN_LIB) $(FED_LIBS)

UNIT_TESTS += tests/unit/federation/test_discovery
tests_unit_federation_test_discovery_SOURCES = tests/unit/federation/test_discovery.c
tests_unit_federation_test_discovery_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_federation_test_discovery_LDADD = $(FED_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_discovery
tests_fuzz_fuzz_discovery_SOURCES = tests/fuzz/fuzz_discovery.c
tests_fuzz_fuzz_discovery_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_discovery_LDADD = $(FUZZ_MAIN_LIB) $(FED_LIBS)

# Test driver for tests/e2e/test_federation_net.py (not a unit test).
check_PROGRAMS += tests/federation/fedtool
tests_federation_fedtool_SOURCES = tests/federation/fedtool.c
tests_federation_fedtool_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(UNBOUND_CFLAGS)
tests_federation_fedtool_LDADD = $(FEDNET_LIBS)
SCRIPT_TESTS += tests/e2e/test_federation_net.py
EXTRA_DIST += tests/federation/fedpeer.py tests/federation/zones/example.test.zone

UNIT_TESTS += tests/unit/federation/test_resolver
tests_unit_federation_test_resolver_SOURCES = tests/unit/federation/test_resolver.c
tests_unit_federation_test_resolver_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS)
tests_unit_federation_test_resolver_LDADD = $(FEDNET_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/federation/test_keyring
tests_unit_federation_test_keyring_SOURCES = tests/unit/federation/test_keyring.c
tests_unit_federation_test_keyring_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS)
tests_unit_federation_test_keyring_LDADD = $(FEDNET_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/federation/test_sender
tests_unit_federation_test_sender_SOURCES = tests/unit/federation/test_sender.c
tests_unit_federation_test_sender_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS)
tests_unit_federation_test_sender_LDADD = $(FEDNET_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_fed_headers
tests_fuzz_fuzz_fed_headers_SOURCES = tests/fuzz/fuzz_fed_headers.c
tests_fuzz_fuzz_fed_headers_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
tests_fuzz_fuzz_fed_headers_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_fed_headers_LDADD = $(FUZZ_MAIN_LIB) $(FEDNET_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_fed_srv
tests_fuzz_fuzz_fed_srv_SOURCES = tests/fuzz/fuzz_fed_srv.c
tests_fuzz_fuzz_fed_srv_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
tests_fuzz_fuzz_fed_srv_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_fed_srv_LDADD = $(FUZZ_MAIN_LIB) $(FEDNET_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_fed_keyquery
tests_fuzz_fuzz_fed_keyquery_SOURCES = tests/fuzz/fuzz_fed_keyquery.c
tests_fuzz_fuzz_fed_keyquery_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
tests_fuzz_fuzz_fed_keyquery_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_fed_keyquery_LDADD = $(FUZZ_MAIN_LIB) $(FEDNET_LIBS)

BENCH_PROGS += bench/bench_sender
bench_bench_sender_SOURCES = bench/bench_sender.c
bench_bench_sender_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(OPENSSL_CFLAGS)
bench_bench_sender_LDADD = $(FEDNET_LIBS)

# common/httpc is federation's: its test lives here.
UNIT_TESTS += tests/unit/federation/test_httpc
tests_unit_federation_test_httpc_SOURCES = tests/unit/federation/test_httpc.c
tests_unit_federation_test_httpc_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS)
tests_unit_federation_test_httpc_LDADD = $(COMMON_LIBS) $(CURL_LIBS) $(CMOCKA_TEST_LIBS)

# scopd's federation endpoints and service (needs the homeserver's HTTP
# layer and store, so it is a library of its own).
noinst_LIBRARIES += federation/libscopfedapi.a
federation_libscopfedapi_a_SOURCES = \
	federation/api_federation.c federation/api_federation.h \
	federation/api_keys.c federation/api_keys.h \
	federation/api_txn.c federation/api_txn.h \
	federation/fed_join.c federation/fed_join.h
federation_libscopfedapi_a_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) $(STORE_CFLAGS)
# What scopd links: the service, the homeserver, then the network side.
FEDAPI_LIBS = federation/libscopfedapi.a $(HS_LIBS) $(FEDNET_LIBS) $(COMMON_LIBS)

# Two scopd instances federating over TLS (and the Python peer).
SCRIPT_TESTS += tests/e2e/test_federation_scopd.py
EXTRA_DIST += tests/e2e/test_federation_scopd.py
# Rooms across two scopd: joins, messages, state, catch-up, forgeries.
SCRIPT_TESTS += tests/e2e/test_federation_rooms.py
EXTRA_DIST += tests/e2e/test_federation_rooms.py tests/federation/fedhs.py bench/bench_federation.py
# The room DAG with the Python peer: soft-failed events, forks with gaps.
SCRIPT_TESTS += tests/e2e/test_federation_dag.py
EXTRA_DIST += tests/e2e/test_federation_dag.py

UNIT_TESTS += tests/unit/federation/test_pdu_check
tests_unit_federation_test_pdu_check_SOURCES = tests/unit/federation/test_pdu_check.c
tests_unit_federation_test_pdu_check_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_federation_test_pdu_check_LDADD = $(FED_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_fed_pdu
tests_fuzz_fuzz_fed_pdu_SOURCES = tests/fuzz/fuzz_fed_pdu.c
tests_fuzz_fuzz_fed_pdu_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_fed_pdu_LDADD = $(FUZZ_MAIN_LIB) $(FED_LIBS)
EXTRA_DIST += tests/fuzz/corpus/fed_pdu tests/federation/make_pdu_vectors.py

UNIT_TESTS += tests/unit/federation/test_api_federation
tests_unit_federation_test_api_federation_SOURCES = tests/unit/federation/test_api_federation.c
tests_unit_federation_test_api_federation_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) $(STORE_CFLAGS)
tests_unit_federation_test_api_federation_LDADD = $(FEDAPI_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/federation/test_fed_txn
tests_unit_federation_test_fed_txn_SOURCES = tests/unit/federation/test_fed_txn.c
tests_unit_federation_test_fed_txn_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_federation_test_fed_txn_LDADD = $(FED_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_fed_txn
tests_fuzz_fuzz_fed_txn_SOURCES = tests/fuzz/fuzz_fed_txn.c
tests_fuzz_fuzz_fed_txn_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_fed_txn_LDADD = $(FUZZ_MAIN_LIB) $(FED_LIBS)
EXTRA_DIST += tests/fuzz/corpus/fed_txn

BENCH_PROGS += bench/bench_pdu_check
bench_bench_pdu_check_SOURCES = bench/bench_pdu_check.c
bench_bench_pdu_check_LDADD = $(FED_LIBS)
