# tests/synapse/: interop with a real Synapse, run by hand (README.md there):
# CI has no Synapse, so interop.py is shipped but not in SCRIPT_TESTS.
EXTRA_DIST += tests/synapse/interop.py tests/synapse/README.md

# What interop.py found, kept fixed without Synapse (scopd + the Python peer).
SCRIPT_TESTS += tests/e2e/test_federation_compat.py
EXTRA_DIST += tests/e2e/test_federation_compat.py

# scopd's PDU checks against rooms Synapse built (vectors/, recorded by
# capture_vectors.py; regenerate with it after changing the scenario).
UNIT_TESTS += tests/unit/federation/test_synapse_vectors
tests_unit_federation_test_synapse_vectors_SOURCES = tests/unit/federation/test_synapse_vectors.c
tests_unit_federation_test_synapse_vectors_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_federation_test_synapse_vectors_LDADD = $(FED_LIBS) $(CMOCKA_TEST_LIBS)
EXTRA_DIST += tests/synapse/synapsetest.py tests/synapse/capture_vectors.py tests/synapse/vectors
