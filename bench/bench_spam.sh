#!/bin/sh
# Spam filter benchmark: scop-spam and bogofilter (Debian's) trained and
# tested on the same deterministic split of the SpamAssassin public corpus
# (tests/spam/split.py).  Prints accuracy, false-positive rate,
# false-negative rate and classifications per second for both.
#
# usage: bench/bench_spam.sh [BUILDDIR]   (default: the current directory)
#
# Both count "unsure" as not spam (the mail is delivered, marked), so a
# false positive is ham called spam and a false negative is spam not
# called spam.  bogofilter runs with its Debian defaults (Robinson-Fisher,
# robx 0.52, robs 0.0178, min_dev 0.375, spam_cutoff 0.99, ham_cutoff 0.45),
# its own wordlist in a temp dir (-d), registration from one mbox per class
# (-M -s / -M -n) and classification in bulk mode (-T -B FILE...).
# scop-spam's rate is measured inside `scop-spam eval` (messages already in
# memory, token counts cached); bogofilter's is wall time of the bulk run
# over the test files, so it includes reading them.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-.}
exe="$build/scop-spam"
py=/usr/bin/python3
[ -x "$exe" ] || { echo "bench_spam: no $exe (build scop-spam first)" >&2; exit 1; }
command -v bogofilter >/dev/null || { echo "bench_spam: bogofilter not installed (apt-get install bogofilter)" >&2; exit 1; }
work=$(mktemp -d /tmp/bench-spam-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

"$py" "$src/tests/spam/split.py" "$work" --dirs --mbox | sed 's/^/split /'

echo "== scop-spam"
"$exe" eval --train "$work/train.list" --test "$work/test.list" --json > "$work/scop.json"
"$py" - "$work/scop.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("scop-spam   accuracy %.2f%%  FP %.2f%% (%d/%d)  FN %.2f%% (%d/%d)  unsure %d  train %.2f s  %.0f classifications/s"
      % (r["accuracy"], r["fp_rate"], r["fp"], r["test_ham"], r["fn_rate"], r["fn"], r["test_spam"],
         r["unsure"], r["train_seconds"], r["classify_per_second"]))
PY

echo "== bogofilter $(bogofilter -V 2>&1 | head -1 | awk '{print $3}')"
mkdir "$work/bogo"
t0=$(date +%s.%N)
bogofilter -d "$work/bogo" -M -s < "$work/train-spam.mbox"
bogofilter -d "$work/bogo" -M -n < "$work/train-ham.mbox"
t1=$(date +%s.%N)
# bogofilter's exit status is the verdict of the last message, not an error.
(cd "$work/test/spam" && ls | xargs bogofilter -d "$work/bogo" -T -B) > "$work/bogo-spam.out" || true
t2=$(date +%s.%N)
(cd "$work/test/ham" && ls | xargs bogofilter -d "$work/bogo" -T -B) > "$work/bogo-ham.out" || true
t3=$(date +%s.%N)
"$py" - "$work" "$t0" "$t1" "$t2" "$t3" <<'PY'
import sys
work, t0, t1, t2, t3 = sys.argv[1], *map(float, sys.argv[2:])
def verdicts(name):
    return [line.split()[1] for line in open("%s/%s" % (work, name)) if line.strip()]
s, h = verdicts("bogo-spam.out"), verdicts("bogo-ham.out")
fn = sum(1 for v in s if v != "S")
fp = sum(1 for v in h if v == "S")
unsure = sum(1 for v in s + h if v == "U")
total = len(s) + len(h)
rate = total / ((t2 - t1) + (t3 - t2))
print("bogofilter  accuracy %.2f%%  FP %.2f%% (%d/%d)  FN %.2f%% (%d/%d)  unsure %d  train %.2f s  %.0f classifications/s"
      % (100.0 * (total - fp - fn) / total, 100.0 * fp / len(h), fp, len(h), 100.0 * fn / len(s), fn, len(s),
         unsure, t1 - t0, rate))
PY
