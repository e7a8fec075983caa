#!/bin/sh
# scop-mailgen: the same seed gives the same files, another seed others,
# --start continues the same sequence, and bad arguments fail cleanly.
set -u
bin="$SCOP_BUILDDIR/scop-mailgen"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

"$bin" --seed 7 --count 40 --out "$tmp/a" >/dev/null 2>&1
ok $? "generates 40 messages"
[ "$(ls "$tmp/a" | wc -l)" -eq 40 ]
ok $? "writes one file per message"
"$bin" --seed 7 --count 40 --out "$tmp/b" >/dev/null 2>&1 && diff -r "$tmp/a" "$tmp/b" >/dev/null
ok $? "same seed, same bytes"
"$bin" --seed 8 --count 40 --out "$tmp/c" >/dev/null 2>&1 && ! diff -r "$tmp/a" "$tmp/c" >/dev/null
ok $? "another seed, other messages"
"$bin" --seed 7 --count 20 --start 20 --out "$tmp/d" >/dev/null 2>&1
same=0
for f in "$tmp/d"/*; do cmp -s "$f" "$tmp/a/$(basename "$f")" || same=1; done
[ "$(ls "$tmp/d" | wc -l)" -eq 20 ]
ok $(( $? | same )) "--start continues the same sequence"
"$bin" --seed 7 --count 30 --raw --out "$tmp/r" >/dev/null 2>&1 && [ "$(ls "$tmp/r" | wc -l)" -eq 30 ]
ok $? "raw (adversarial) mode"
"$bin" --seed x --count 1 --out "$tmp/e" >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "a bad seed is refused"
"$bin" >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "missing arguments are refused"
echo "1..$n"
