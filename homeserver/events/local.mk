# Build fragment, included by the root Makefile.am. Append to bin_PROGRAMS,
# noinst_LIBRARIES, UNIT_TESTS, SCRIPT_TESTS, FUZZ_TARGETS, BENCH_PROGS.
