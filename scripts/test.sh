#!/usr/bin/env bash
# The test command: installs what is needed, builds three ways and runs
# every test, then prints "N passed, N failed" as its last line.
#   1. release build (-O2, FORTIFY, -Werror): must compile;
#   2. ASan+UBSan build: all unit, end-to-end and corpus-replay tests, with a
#      private PostgreSQL cluster for the storage tests on both backends;
#   3. clang libFuzzer build: each harness fuzzes for FUZZ_SECONDS.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
passed=0
failed=0
summary=()

finish() {
	[ -n "${PGDIR:-}" ] && tests/pg-cluster.sh stop "$PGDIR" >/dev/null 2>&1
	if [ ${#summary[@]} -gt 0 ]; then
		printf '%s\n' "${summary[@]}"
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
stage_fail() { failed=$((failed + 1)); summary+=("FAILED: $1"); }

# Adds one build's results (test-suite.log) to the totals.
count() {
	local log=$1/test-suite.log p f
	if [ ! -f "$log" ]; then
		stage_fail "$2: no test-suite.log"
		return
	fi
	p=$(awk '/^# PASS:/ {print $3; exit}' "$log")
	f=$(awk '/^# (FAIL|XPASS|ERROR):/ {s += $3} END {print s + 0}' "$log")
	passed=$((passed + ${p:-0}))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		summary+=("FAILED in $2:")
		mapfile -t lines < <(grep -hE '^(FAIL|ERROR|XPASS):' "$log" | head -50)
		summary+=("${lines[@]}")
	fi
}

if ! scripts/install-deps.sh; then
	stage_fail "installing dependencies"
	finish
	exit 1
fi
autoreconf -fi >/dev/null 2>&1 || { stage_fail "autoreconf"; finish; exit 1; }

echo "== release build"
if scripts/build.sh build-release >build-release.log 2>&1; then
	passed=$((passed + 1))
else
	tail -30 build-release.log
	stage_fail "release build (see build-release.log)"
fi

echo "== sanitizer build and tests"
PGDIR=$(mktemp -d /tmp/scop-pg.XXXXXX)
if eval "$(tests/pg-cluster.sh start "$PGDIR")"; then
	export SCOP_TEST_PG_DSN SCOP_REQUIRE_PG=1
else
	stage_fail "starting the PostgreSQL test cluster"
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if scripts/build.sh build-san --enable-sanitizers >build-san.log 2>&1; then
	(cd build-san && timeout --kill-after=30 2400 make -k -j"$(nproc)" check >>../build-san.log 2>&1)
	count build-san "sanitizer build"
else
	tail -30 build-san.log
	stage_fail "sanitizer build (see build-san.log)"
fi
tests/pg-cluster.sh stop "$PGDIR" >/dev/null 2>&1
PGDIR=""

echo "== libFuzzer build and fuzzing"
if scripts/build.sh build-fuzz --enable-fuzzing CC=clang >build-fuzz.log 2>&1; then
	(cd build-fuzz && timeout --kill-after=30 1200 make -k check FUZZ_SECONDS="${FUZZ_SECONDS:-10}" >>../build-fuzz.log 2>&1)
	count build-fuzz "fuzzing build"
else
	tail -30 build-fuzz.log
	stage_fail "fuzzing build (see build-fuzz.log)"
fi
finish
