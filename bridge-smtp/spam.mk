# Build fragment, included by the root Makefile.am. Append to bin_PROGRAMS,
# noinst_LIBRARIES, UNIT_TESTS, SCRIPT_TESTS, FUZZ_TARGETS, BENCH_PROGS.
#
# bridge-smtp spam filter: tokenizer, Robinson-Fisher classifier, token store
# (SQLite or PostgreSQL), the scop-spam CLI, their tests, fuzz harness and
# benchmark.
SPAM_LIB = bridge-smtp/libscopspam.a
SPAM_LIBS = $(SPAM_LIB) bridge-smtp/libscopmime.a $(COMMON_LIBS) $(SQLITE_LIBS) $(PQ_LIBS) -lm
SPAM_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(PQ_CFLAGS)

noinst_LIBRARIES += bridge-smtp/libscopspam.a
bridge_smtp_libscopspam_a_SOURCES = \
	bridge-smtp/spam.c bridge-smtp/spam.h \
	bridge-smtp/spam_token.c bridge-smtp/spam_token.h \
	bridge-smtp/spam_msg.h bridge-smtp/spam_msg_mime.c \
	bridge-smtp/spam_classify.c bridge-smtp/spam_classify.h \
	bridge-smtp/spam_store.c bridge-smtp/spam_store.h bridge-smtp/spam_store_int.h \
	bridge-smtp/spam_store_sqlite.c bridge-smtp/spam_store_pg.c
bridge_smtp_libscopspam_a_CFLAGS = $(SPAM_CFLAGS)

bin_PROGRAMS += scop-spam
scop_spam_SOURCES = bridge-smtp/spam_main.c
scop_spam_CFLAGS = $(SPAM_CFLAGS)
scop_spam_LDADD = $(SPAM_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_spam_tokenize tests/unit/bridge-smtp/test_spam_classify
tests_unit_bridge_smtp_test_spam_tokenize_SOURCES = tests/unit/bridge-smtp/test_spam_tokenize.c
tests_unit_bridge_smtp_test_spam_tokenize_CFLAGS = $(SPAM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_spam_tokenize_LDADD = $(SPAM_LIBS) $(CMOCKA_TEST_LIBS)
tests_unit_bridge_smtp_test_spam_classify_SOURCES = tests/unit/bridge-smtp/test_spam_classify.c
tests_unit_bridge_smtp_test_spam_classify_CFLAGS = $(SPAM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_spam_classify_LDADD = $(SPAM_LIBS) $(CMOCKA_TEST_LIBS)

UNIT_TESTS += tests/unit/bridge-smtp/test_spam_store
tests_unit_bridge_smtp_test_spam_store_SOURCES = tests/unit/bridge-smtp/test_spam_store.c \
	tests/unit/pgtest.c tests/unit/pgtest.h
tests_unit_bridge_smtp_test_spam_store_CFLAGS = $(SPAM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_bridge_smtp_test_spam_store_LDADD = $(SPAM_LIBS) $(CMOCKA_TEST_LIBS)

SCRIPT_TESTS += tests/e2e/test_spam_corpus.py
EXTRA_DIST += bench/bench_spam.sh tests/e2e/test_spam_corpus.py tests/spam/split.py tests/spam/package.json tests/spam/package-lock.json

FUZZ_TARGETS += tests/fuzz/fuzz_spam_tokenize
tests_fuzz_fuzz_spam_tokenize_SOURCES = tests/fuzz/fuzz_spam_tokenize.c
tests_fuzz_fuzz_spam_tokenize_CFLAGS = $(SPAM_CFLAGS)
tests_fuzz_fuzz_spam_tokenize_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_spam_tokenize_LDADD = $(FUZZ_MAIN_LIB) $(SPAM_LIBS)

BENCH_PROGS += bench/bench_spam_classify
bench_bench_spam_classify_SOURCES = bench/bench_spam_classify.c
bench_bench_spam_classify_CFLAGS = $(SPAM_CFLAGS) -DSCOP_SRCDIR='"$(abs_top_srcdir)"'
bench_bench_spam_classify_LDADD = $(SPAM_LIBS)

# Cross-validation tuning on the training split only (see its header).
BENCH_PROGS += bench/bench_spam_tune
bench_bench_spam_tune_SOURCES = bench/bench_spam_tune.c
bench_bench_spam_tune_CFLAGS = $(SPAM_CFLAGS) -DSCOP_SRCDIR='"$(abs_top_srcdir)"'
bench_bench_spam_tune_LDADD = $(SPAM_LIBS)
