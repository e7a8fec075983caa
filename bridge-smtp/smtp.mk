# bridge-smtp/ SMTP part: command parser, session state machine, durable
# spool, epoll server, and the scop-mailbridge daemon.
noinst_LIBRARIES += bridge-smtp/libscopsmtp.a
bridge_smtp_libscopsmtp_a_SOURCES = \
	bridge-smtp/smtp_cmd.c bridge-smtp/smtp_cmd.h \
	bridge-smtp/smtp_session.c bridge-smtp/smtp_session.h \
	bridge-smtp/smtp_auth.h \
	bridge-smtp/spool.c bridge-smtp/spool.h \
	bridge-smtp/smtp_server.c bridge-smtp/smtp_server.h \
	bridge-smtp/smtp_config.c bridge-smtp/smtp_config.h \
	bridge-smtp/smtp_limits_ip.c bridge-smtp/smtp_limits_ip.h \
	bridge-smtp/smtp_sender.c bridge-smtp/smtp_sender.h \
	bridge-smtp/smtp_fromhdr.c bridge-smtp/smtp_fromhdr.h
SMTP_LIB = bridge-smtp/libscopsmtp.a

UNIT_TESTS += tests/unit/bridge-smtp/test_smtp_cmd
tests_unit_bridge_smtp_test_smtp_cmd_SOURCES = tests/unit/bridge-smtp/test_smtp_cmd.c
tests_unit_bridge_smtp_test_smtp_cmd_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_smtp_cmd_LDADD = $(SMTP_LIB) $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_smtp_session
tests_unit_bridge_smtp_test_smtp_session_SOURCES = tests/unit/bridge-smtp/test_smtp_session.c
tests_unit_bridge_smtp_test_smtp_session_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_smtp_session_LDADD = $(SMTP_LIB) $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_smtp_config
tests_unit_bridge_smtp_test_smtp_config_SOURCES = tests/unit/bridge-smtp/test_smtp_config.c
tests_unit_bridge_smtp_test_smtp_config_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_smtp_config_LDADD = $(SMTP_LIB) $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_spool
tests_unit_bridge_smtp_test_spool_SOURCES = tests/unit/bridge-smtp/test_spool.c
tests_unit_bridge_smtp_test_spool_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_spool_LDADD = $(SMTP_LIB) $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_smtp_limits_ip
tests_unit_bridge_smtp_test_smtp_limits_ip_SOURCES = tests/unit/bridge-smtp/test_smtp_limits_ip.c
tests_unit_bridge_smtp_test_smtp_limits_ip_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_smtp_limits_ip_LDADD = $(SMTP_LIB) $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_smtp_sender
tests_unit_bridge_smtp_test_smtp_sender_SOURCES = tests/unit/bridge-smtp/test_smtp_sender.c
tests_unit_bridge_smtp_test_smtp_sender_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_smtp_sender_LDADD = $(SMTP_LIB) $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_smtp_fromhdr
tests_unit_bridge_smtp_test_smtp_fromhdr_SOURCES = tests/unit/bridge-smtp/test_smtp_fromhdr.c
tests_unit_bridge_smtp_test_smtp_fromhdr_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_smtp_fromhdr_LDADD = $(SMTP_LIB) $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_smtp_fromhdr
tests_fuzz_fuzz_smtp_fromhdr_SOURCES = tests/fuzz/fuzz_smtp_fromhdr.c
tests_fuzz_fuzz_smtp_fromhdr_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_smtp_fromhdr_LDADD = $(FUZZ_MAIN_LIB) $(SMTP_LIB) $(COMMON_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_smtp_cmd
tests_fuzz_fuzz_smtp_cmd_SOURCES = tests/fuzz/fuzz_smtp_cmd.c
tests_fuzz_fuzz_smtp_cmd_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_smtp_cmd_LDADD = $(FUZZ_MAIN_LIB) $(SMTP_LIB) $(COMMON_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_smtp_session
tests_fuzz_fuzz_smtp_session_SOURCES = tests/fuzz/fuzz_smtp_session.c
tests_fuzz_fuzz_smtp_session_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_smtp_session_LDADD = $(FUZZ_MAIN_LIB) $(SMTP_LIB) $(COMMON_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_smtp_spool
tests_fuzz_fuzz_smtp_spool_SOURCES = tests/fuzz/fuzz_smtp_spool.c
tests_fuzz_fuzz_smtp_spool_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_smtp_spool_LDADD = $(FUZZ_MAIN_LIB) $(SMTP_LIB) $(COMMON_LIBS)

bin_PROGRAMS += scop-mailbridge
scop_mailbridge_SOURCES = bridge-smtp/mailbridge_main.c bridge-smtp/smtp_auth_hs.c
scop_mailbridge_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
scop_mailbridge_LDADD = $(SMTP_LIB) $(COMMON_LIBS) $(CURL_LIBS)

SCRIPT_TESTS += tests/e2e/test_smtp_swaks.py tests/e2e/test_smtp_limits.py tests/e2e/test_smtp_policy.py
EXTRA_DIST += tests/e2e/test_smtp_swaks.py tests/e2e/test_smtp_limits.py tests/e2e/test_smtp_policy.py

BENCH_PROGS += bench/bench_smtp
bench_bench_smtp_SOURCES = bench/bench_smtp.c
bench_bench_smtp_LDADD = $(SMTP_LIB) $(COMMON_LIBS)

BENCH_PROGS += bench/bench_smtp_limits
bench_bench_smtp_limits_SOURCES = bench/bench_smtp_limits.c
bench_bench_smtp_limits_LDADD = $(SMTP_LIB) $(COMMON_LIBS)
