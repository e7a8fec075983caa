# Build fragment, included by the root Makefile.am. Append to bin_PROGRAMS,
# noinst_LIBRARIES, UNIT_TESTS, SCRIPT_TESTS, FUZZ_TARGETS, BENCH_PROGS.
#
# DKIM (sign/verify), DMARC, public suffix list, Authentication-Results.
# The library looks keys and records up through common/dns.h, so
# whatever links it links $(DNS_LIBS) too.
noinst_LIBRARIES += bridge-smtp/libscopdkim.a
bridge_smtp_libscopdkim_a_SOURCES = \
	bridge-smtp/mailhdr.c bridge-smtp/mailhdr.h \
	bridge-smtp/dkim_tags.c bridge-smtp/dkim_tags.h \
	bridge-smtp/dkim_arena.c bridge-smtp/dkim_arena.h \
	bridge-smtp/dkim_canon.c bridge-smtp/dkim_canon.h \
	bridge-smtp/dkim_record.c bridge-smtp/dkim_hash.c bridge-smtp/dkim_int.h \
	bridge-smtp/dkim_rsa.c bridge-smtp/dkim_rsa.h \
	bridge-smtp/dkim_sign.c bridge-smtp/dkim_verify.c bridge-smtp/dkim_keycache.c bridge-smtp/dkim.h \
	bridge-smtp/pubsuffix.c bridge-smtp/pubsuffix.h \
	bridge-smtp/dmarc.c bridge-smtp/dmarc.h \
	bridge-smtp/authres.c bridge-smtp/authres.h
DKIM_LIB = bridge-smtp/libscopdkim.a

UNIT_TESTS += tests/unit/bridge-smtp/test_dkim
tests_unit_bridge_smtp_test_dkim_SOURCES = tests/unit/bridge-smtp/test_dkim.c
tests_unit_bridge_smtp_test_dkim_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UNBOUND_CFLAGS)
tests_unit_bridge_smtp_test_dkim_LDADD = $(DKIM_LIB) $(DNS_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_pubsuffix
tests_unit_bridge_smtp_test_pubsuffix_SOURCES = tests/unit/bridge-smtp/test_pubsuffix.c
tests_unit_bridge_smtp_test_pubsuffix_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_pubsuffix_LDADD = $(DKIM_LIB) $(DNS_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_dmarc
tests_unit_bridge_smtp_test_dmarc_SOURCES = tests/unit/bridge-smtp/test_dmarc.c
tests_unit_bridge_smtp_test_dmarc_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UNBOUND_CFLAGS)
tests_unit_bridge_smtp_test_dmarc_LDADD = $(DKIM_LIB) $(DNS_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_authres
tests_unit_bridge_smtp_test_authres_SOURCES = tests/unit/bridge-smtp/test_authres.c
tests_unit_bridge_smtp_test_authres_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_authres_LDADD = $(DKIM_LIB) $(DNS_LIBS) $(CMOCKA_TEST_LIBS)

bin_PROGRAMS += scop-dkim
scop_dkim_SOURCES = bridge-smtp/dkim_main.c
scop_dkim_CFLAGS = $(AM_CFLAGS) $(UNBOUND_CFLAGS)
scop_dkim_LDADD = $(DKIM_LIB) $(DNS_LIBS)

SCRIPT_TESTS += tests/e2e/test_dkim_interop.py tests/e2e/test_dmarc_e2e.py

FUZZ_TARGETS += tests/fuzz/fuzz_dkim_sig tests/fuzz/fuzz_dkim_key tests/fuzz/fuzz_dkim_rsa tests/fuzz/fuzz_dmarc_record tests/fuzz/fuzz_authres
tests_fuzz_fuzz_dkim_sig_SOURCES = tests/fuzz/fuzz_dkim_sig.c
tests_fuzz_fuzz_dkim_sig_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_dkim_sig_LDADD = $(FUZZ_MAIN_LIB) $(DKIM_LIB) $(DNS_LIBS)
tests_fuzz_fuzz_dkim_key_SOURCES = tests/fuzz/fuzz_dkim_key.c
tests_fuzz_fuzz_dkim_key_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_dkim_key_LDADD = $(FUZZ_MAIN_LIB) $(DKIM_LIB) $(DNS_LIBS)
tests_fuzz_fuzz_dkim_rsa_SOURCES = tests/fuzz/fuzz_dkim_rsa.c
tests_fuzz_fuzz_dkim_rsa_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_dkim_rsa_LDADD = $(FUZZ_MAIN_LIB) $(DKIM_LIB) $(DNS_LIBS)
tests_fuzz_fuzz_dmarc_record_SOURCES = tests/fuzz/fuzz_dmarc_record.c
tests_fuzz_fuzz_dmarc_record_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_dmarc_record_LDADD = $(FUZZ_MAIN_LIB) $(DKIM_LIB) $(DNS_LIBS)
tests_fuzz_fuzz_authres_SOURCES = tests/fuzz/fuzz_authres.c
tests_fuzz_fuzz_authres_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_authres_LDADD = $(FUZZ_MAIN_LIB) $(DKIM_LIB) $(DNS_LIBS)

BENCH_PROGS += bench/bench_dkim
bench_bench_dkim_SOURCES = bench/bench_dkim.c
bench_bench_dkim_LDADD = $(DKIM_LIB) $(DNS_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_dkim_rsa
tests_unit_bridge_smtp_test_dkim_rsa_SOURCES = tests/unit/bridge-smtp/test_dkim_rsa.c
tests_unit_bridge_smtp_test_dkim_rsa_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_dkim_rsa_LDADD = $(DKIM_LIB) $(DNS_LIBS) $(CMOCKA_TEST_LIBS)

# ARC (RFC 8617): chain verification and sealing, on the DKIM modules.
bridge_smtp_libscopdkim_a_SOURCES += \
	bridge-smtp/arc.h bridge-smtp/arc_int.h \
	bridge-smtp/arc_chain.c bridge-smtp/arc_verify.c bridge-smtp/arc_seal.c

UNIT_TESTS += tests/unit/bridge-smtp/test_arc
tests_unit_bridge_smtp_test_arc_SOURCES = tests/unit/bridge-smtp/test_arc.c
tests_unit_bridge_smtp_test_arc_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UNBOUND_CFLAGS)
tests_unit_bridge_smtp_test_arc_LDADD = $(DKIM_LIB) $(DNS_LIBS) $(CMOCKA_TEST_LIBS)
SCRIPT_TESTS += tests/e2e/test_arc_interop.py
# mailauth, the Node.js ARC peer of the interop test (npm ci by scripts/install-deps.sh)
EXTRA_DIST += tests/arc/package.json tests/arc/package-lock.json tests/arc/mailauth_arc.mjs

FUZZ_TARGETS += tests/fuzz/fuzz_arc
tests_fuzz_fuzz_arc_SOURCES = tests/fuzz/fuzz_arc.c
tests_fuzz_fuzz_arc_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_arc_LDADD = $(FUZZ_MAIN_LIB) $(DKIM_LIB) $(DNS_LIBS)

BENCH_PROGS += bench/bench_arc
bench_bench_arc_SOURCES = bench/bench_arc.c
bench_bench_arc_LDADD = $(DKIM_LIB) $(DNS_LIBS)
