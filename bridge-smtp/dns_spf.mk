# DNS (dns.h: libunbound and table-backed resolvers) and SPF (RFC 7208).
# Other parts link bridge-smtp/libscopdns.a with $(UNBOUND_LIBS) -lpthread.
noinst_LIBRARIES += bridge-smtp/libscopdns.a
bridge_smtp_libscopdns_a_SOURCES = \
	bridge-smtp/dns.c bridge-smtp/dns.h \
	bridge-smtp/dns_unbound.c bridge-smtp/dns_static.c
bridge_smtp_libscopdns_a_CFLAGS = $(AM_CFLAGS) $(UNBOUND_CFLAGS)
DNS_LIBS = bridge-smtp/libscopdns.a $(COMMON_LIBS) $(UNBOUND_LIBS) -lpthread

# Command-line probe the end-to-end tests drive (lookups and SPF checks).
check_PROGRAMS += tests/dns/dnstool
tests_dns_dnstool_SOURCES = tests/dns/dnstool.c
tests_dns_dnstool_CFLAGS = $(AM_CFLAGS) $(UNBOUND_CFLAGS)
tests_dns_dnstool_LDADD = $(DNS_LIBS)

EXTRA_DIST += tests/dns

SCRIPT_TESTS += tests/e2e/test_dns.py
