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
