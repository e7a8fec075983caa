# Mail authentication at the MX (SPF, DKIM, DMARC -> Authentication-Results),
# the SMTP server's mx_check hook.  Links after it: $(SMTP_LIB) (spool),
# $(DKIM_LIB), $(SPF_LIBS).
noinst_LIBRARIES += bridge-smtp/libscopmxauth.a
bridge_smtp_libscopmxauth_a_SOURCES = bridge-smtp/mx_auth.c bridge-smtp/mx_auth.h
MXAUTH_LIBS = bridge-smtp/libscopmxauth.a $(SMTP_LIB) $(DKIM_LIB) $(SPF_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_mx_auth
tests_unit_bridge_smtp_test_mx_auth_SOURCES = tests/unit/bridge-smtp/test_mx_auth.c
tests_unit_bridge_smtp_test_mx_auth_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_mx_auth_LDADD = $(MXAUTH_LIBS) $(CMOCKA_TEST_LIBS)

SCRIPT_TESTS += tests/e2e/test_mx_auth_e2e.py
EXTRA_DIST += tests/e2e/test_mx_auth_e2e.py

FUZZ_TARGETS += tests/fuzz/fuzz_mx_auth
tests_fuzz_fuzz_mx_auth_SOURCES = tests/fuzz/fuzz_mx_auth.c
tests_fuzz_fuzz_mx_auth_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_mx_auth_LDADD = $(FUZZ_MAIN_LIB) $(MXAUTH_LIBS)
