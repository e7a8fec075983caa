# tests/synapse/: interop with a real Synapse, run by hand (README.md there):
# CI has no Synapse, so interop.py is shipped but not in SCRIPT_TESTS.
EXTRA_DIST += tests/synapse/interop.py tests/synapse/README.md

# What interop.py found, kept fixed without Synapse (scopd + the Python peer).
SCRIPT_TESTS += tests/e2e/test_federation_compat.py
EXTRA_DIST += tests/e2e/test_federation_compat.py
