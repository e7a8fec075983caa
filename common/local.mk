# common/: code more than one part uses.
noinst_LIBRARIES += common/libscopcommon.a
common_libscopcommon_a_SOURCES = \
	common/log.c common/log.h \
	common/buf.c common/buf.h \
	common/err.c common/err.h \
	common/base64.c common/base64.h \
	common/crypto.c common/crypto.h \
	common/yamljson.c common/yamljson.h \
	common/canonjson.c common/canonjson.h \
	common/httpc.c common/httpc.h
common_libscopcommon_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)

# DNS (dns.h: libunbound and table-backed resolvers), for the mail bridge
# (SPF, DKIM, DMARC) and federation (SRV discovery).  A library of its own so
# only what resolves names links libunbound: link $(DNS_LIBS).
noinst_LIBRARIES += common/libscopdns.a
common_libscopdns_a_SOURCES = \
	common/dns.c common/dns.h \
	common/dns_unbound.c common/dns_static.c \
	common/dns_cache.c common/dns_cache.h
common_libscopdns_a_CFLAGS = $(AM_CFLAGS) $(UNBOUND_CFLAGS)
DNS_LIBS = common/libscopdns.a $(COMMON_LIBS) $(UNBOUND_LIBS) -lpthread

UNIT_TESTS += tests/unit/common/test_dns
tests_unit_common_test_dns_SOURCES = tests/unit/common/test_dns.c
tests_unit_common_test_dns_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_common_test_dns_LDADD = $(DNS_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/common/test_dns_cache
tests_unit_common_test_dns_cache_SOURCES = tests/unit/common/test_dns_cache.c
tests_unit_common_test_dns_cache_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_common_test_dns_cache_LDADD = $(DNS_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/common/test_common
tests_unit_common_test_common_SOURCES = tests/unit/common/test_common.c
tests_unit_common_test_common_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_common_test_common_LDADD = $(COMMON_LIBS) $(CMOCKA_TEST_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_yaml
tests_fuzz_fuzz_yaml_SOURCES = tests/fuzz/fuzz_yaml.c
tests_fuzz_fuzz_yaml_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_yaml_LDADD = $(FUZZ_MAIN_LIB) $(COMMON_LIBS)

BENCH_PROGS += bench/bench_dns
bench_bench_dns_SOURCES = bench/bench_dns.c bench/bench_knot.c bench/bench_knot.h
bench_bench_dns_CFLAGS = $(AM_CFLAGS) -DSCOP_SRCDIR='"$(abs_top_srcdir)"'
bench_bench_dns_LDADD = $(DNS_LIBS)
