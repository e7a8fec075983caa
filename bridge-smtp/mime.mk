# bridge-smtp/mime.mk: the MIME parser and encoder, the mail corpus generator,
# their tests, fuzz harnesses and benchmark.
noinst_LIBRARIES += bridge-smtp/libscopmime.a
bridge_smtp_libscopmime_a_SOURCES = \
	bridge-smtp/mime.c bridge-smtp/mime.h bridge-smtp/mime_int.h \
	bridge-smtp/mime_codec.c bridge-smtp/mime_encode.c \
	bridge-smtp/mailgen.c bridge-smtp/mailgen.h
MIME_LIBS = bridge-smtp/libscopmime.a $(COMMON_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_mime
tests_unit_bridge_smtp_test_mime_SOURCES = tests/unit/bridge-smtp/test_mime.c
tests_unit_bridge_smtp_test_mime_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_mime_LDADD = $(MIME_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_mime_corpus
tests_unit_bridge_smtp_test_mime_corpus_SOURCES = tests/unit/bridge-smtp/test_mime_corpus.c
tests_unit_bridge_smtp_test_mime_corpus_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_mime_corpus_LDADD = $(MIME_LIBS) $(CMOCKA_TEST_LIBS)

bin_PROGRAMS += scop-mailgen
scop_mailgen_SOURCES = bridge-smtp/mailgen_main.c
scop_mailgen_LDADD = $(MIME_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz_mime tests/fuzz/fuzz_mime_encword tests/fuzz/fuzz_mime_param
tests_fuzz_fuzz_mime_SOURCES = tests/fuzz/fuzz_mime.c
tests_fuzz_fuzz_mime_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_mime_LDADD = $(FUZZ_MAIN_LIB) $(MIME_LIBS)
tests_fuzz_fuzz_mime_encword_SOURCES = tests/fuzz/fuzz_mime_encword.c
tests_fuzz_fuzz_mime_encword_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_mime_encword_LDADD = $(FUZZ_MAIN_LIB) $(MIME_LIBS)
tests_fuzz_fuzz_mime_param_SOURCES = tests/fuzz/fuzz_mime_param.c
tests_fuzz_fuzz_mime_param_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_mime_param_LDADD = $(FUZZ_MAIN_LIB) $(MIME_LIBS)

BENCH_PROGS += bench/bench_mime
bench_bench_mime_SOURCES = bench/bench_mime.c
bench_bench_mime_LDADD = $(MIME_LIBS)
