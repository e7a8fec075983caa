#!/usr/bin/env bash
# build.sh BUILDDIR [configure options...]: configures (once) and builds out
# of tree.  Used by run.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=$1
shift
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null
mkdir -p "$dir"
cd "$dir"
want="$*"
if [ ! -f Makefile ] || [ "$(cat .configure-args 2>/dev/null)" != "$want" ]; then
	"$root/configure" -q "$@"
	echo "$want" > .configure-args
fi
make -s -j"$(nproc)"
