# tests/: shared test infrastructure (fuzz corpus driver, smoke runner, PostgreSQL cluster).
noinst_LIBRARIES += tests/fuzz/libfuzzmain.a
tests_fuzz_libfuzzmain_a_SOURCES = tests/fuzz/standalone_main.c
EXTRA_DIST += tests/fuzz/smoke.sh tests/pg-cluster.sh tests/e2e/scoptest.py tests/e2e/loginstub.py tests/e2e/smtpsink.py

SCRIPT_TESTS += tests/e2e/test_mailgen_cli.sh
