# Outbound relay: the SMTP client, the delivery queue over the spool
# (submission mail only), DKIM signing, DSNs; the scop-relay daemon, which
# alone holds the DKIM signing keys.
noinst_LIBRARIES += bridge-smtp/libscoprelay.a
bridge_smtp_libscoprelay_a_SOURCES = \
	bridge-smtp/smtp_client.c bridge-smtp/smtp_client.h \
	bridge-smtp/relay_config.c bridge-smtp/relay_config.h \
	bridge-smtp/relay_mx.c bridge-smtp/relay_mx.h \
	bridge-smtp/relay_dane.c bridge-smtp/relay_dane.h \
	bridge-smtp/relay_state.c bridge-smtp/relay_state.h \
	bridge-smtp/relay_dsn.c bridge-smtp/relay_dsn.h \
	bridge-smtp/relay.c bridge-smtp/relay.h
RELAY_LIBS = bridge-smtp/libscoprelay.a $(SMTP_LIB) $(DKIM_LIB) $(DNS_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_smtp_client
tests_unit_bridge_smtp_test_smtp_client_SOURCES = tests/unit/bridge-smtp/test_smtp_client.c
tests_unit_bridge_smtp_test_smtp_client_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_smtp_client_LDADD = $(RELAY_LIBS) $(CMOCKA_TEST_LIBS) -lpthread

FUZZ_TARGETS += tests/fuzz/fuzz_smtp_reply
tests_fuzz_fuzz_smtp_reply_SOURCES = tests/fuzz/fuzz_smtp_reply.c
tests_fuzz_fuzz_smtp_reply_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_smtp_reply_LDADD = $(FUZZ_MAIN_LIB) $(RELAY_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_relay_dane
tests_unit_bridge_smtp_test_relay_dane_SOURCES = tests/unit/bridge-smtp/test_relay_dane.c
tests_unit_bridge_smtp_test_relay_dane_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_relay_dane_LDADD = $(RELAY_LIBS) $(CMOCKA_TEST_LIBS) -lpthread

UNIT_TESTS += tests/unit/bridge-smtp/test_relay
tests_unit_bridge_smtp_test_relay_SOURCES = tests/unit/bridge-smtp/test_relay.c
tests_unit_bridge_smtp_test_relay_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_relay_LDADD = $(RELAY_LIBS) $(CMOCKA_TEST_LIBS) -lpthread

bin_PROGRAMS += scop-relay
scop_relay_SOURCES = bridge-smtp/relay_main.c
scop_relay_LDADD = $(RELAY_LIBS)

SCRIPT_TESTS += tests/e2e/test_relay.py
EXTRA_DIST += tests/e2e/test_relay.py
SCRIPT_TESTS += tests/e2e/test_relay_dane.py
EXTRA_DIST += tests/e2e/test_relay_dane.py

BENCH_PROGS += bench/bench_relay
bench_bench_relay_SOURCES = bench/bench_relay.c
bench_bench_relay_LDADD = $(RELAY_LIBS) -lpthread

FUZZ_TARGETS += tests/fuzz/fuzz_relay_state
tests_fuzz_fuzz_relay_state_SOURCES = tests/fuzz/fuzz_relay_state.c
tests_fuzz_fuzz_relay_state_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_relay_state_LDADD = $(FUZZ_MAIN_LIB) $(RELAY_LIBS)
