# SPF (RFC 7208) over the common DNS module (common/dns.h, $(DNS_LIBS)).

noinst_LIBRARIES += bridge-smtp/libscopspf.a
bridge_smtp_libscopspf_a_SOURCES = \
	bridge-smtp/spf.c bridge-smtp/spf.h \
	bridge-smtp/spf_record.c bridge-smtp/spf_macro.c bridge-smtp/spf_header.c
SPF_LIBS = bridge-smtp/libscopspf.a $(DNS_LIBS)

# Command-line probe the end-to-end tests drive (lookups and SPF checks).
check_PROGRAMS += tests/dns/dnstool
tests_dns_dnstool_SOURCES = tests/dns/dnstool.c
tests_dns_dnstool_CFLAGS = $(AM_CFLAGS) $(UNBOUND_CFLAGS) -DDNSTOOL_SPF
tests_dns_dnstool_LDADD = $(SPF_LIBS)

EXTRA_DIST += tests/dns

SCRIPT_TESTS += tests/e2e/test_dns.py

UNIT_TESTS += tests/unit/bridge-smtp/test_spf
tests_unit_bridge_smtp_test_spf_SOURCES = tests/unit/bridge-smtp/test_spf.c
tests_unit_bridge_smtp_test_spf_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_spf_LDADD = $(SPF_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_spf_record
tests_fuzz_fuzz_spf_record_SOURCES = tests/fuzz/fuzz_spf_record.c
tests_fuzz_fuzz_spf_record_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_spf_record_LDADD = $(FUZZ_MAIN_LIB) $(SPF_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_spf_dns_rdata
tests_fuzz_fuzz_spf_dns_rdata_SOURCES = tests/fuzz/fuzz_spf_dns_rdata.c
tests_fuzz_fuzz_spf_dns_rdata_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_spf_dns_rdata_LDADD = $(FUZZ_MAIN_LIB) $(DNS_LIBS)
SCRIPT_TESTS += tests/e2e/test_spf.py

BENCH_PROGS += bench/bench_spf
bench_bench_spf_SOURCES = bench/bench_spf.c bench/bench_knot.c bench/bench_knot.h
bench_bench_spf_CFLAGS = $(AM_CFLAGS) -DSCOP_SRCDIR='"$(abs_top_srcdir)"'
bench_bench_spf_LDADD = $(SPF_LIBS)
SCRIPT_TESTS += tests/e2e/test_spf_rfc_suite.py
