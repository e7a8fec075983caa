#!/bin/sh
# Runs every fuzz harness as one TAP test each.  In an ordinary build the
# harness replays its seed corpus; in a --enable-fuzzing build it fuzzes for
# FUZZ_SECONDS (default 20) starting from a copy of the corpus.
set -u
n=0
for t in $FUZZ_TARGETS; do n=$((n + 1)); done
echo "1..$n"
i=0
for t in $FUZZ_TARGETS; do
	i=$((i + 1))
	name=$(basename "$t")
	corpus="$SCOP_SRCDIR/tests/fuzz/corpus/${name#fuzz_}"
	bin="$SCOP_BUILDDIR/$t"
	log=$(mktemp)
	if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
		echo "not ok $i - $name: no seed corpus at $corpus"
		continue
	fi
	if [ "$SCOP_FUZZING" = yes ]; then
		work=$(mktemp -d)
		cp -r "$corpus/." "$work/"
		"$bin" -max_total_time="${FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 "$work" >"$log" 2>&1
		rc=$?
		rm -rf "$work"
	else
		"$bin" "$corpus" >"$log" 2>&1
		rc=$?
	fi
	if [ $rc -eq 0 ]; then
		echo "ok $i - $name"
	else
		echo "not ok $i - $name (exit $rc)"
		sed 's/^/# /' "$log" | tail -40
		# Keep the crash input where a developer can find it.
		ls crash-* leak-* timeout-* 2>/dev/null | sed 's/^/# artifact: /'
	fi
	rm -f "$log"
done
