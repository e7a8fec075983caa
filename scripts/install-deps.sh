#!/usr/bin/env bash
# Installs every Debian package the project builds, runs and tests with
# (scripts/debian-packages.txt), and the npm packages the tests use
# (tests/npm/package.json), on a fresh Debian machine.  Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
mapfile -t pkgs < <(grep -v '^[[:space:]]*\(#\|$\)' scripts/debian-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# Another apt run (unattended upgrades, a parallel job) may hold the lock for a while.
	for try in 1 2 3 4 5 6; do
		$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" && break
		[ "$try" -eq 6 ] && exit 1
		sleep 10
	done
fi
# Each test area that needs npm packages keeps a package.json (with its
# package-lock.json) in its own folder under tests/.
for pj in tests/*/package.json; do
	[ -f "$pj" ] || continue
	d=$(dirname "$pj")
	if ! command -v npm >/dev/null; then
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm
	fi
	if [ ! -d "$d/node_modules" ] || [ "$d/package-lock.json" -nt "$d/node_modules" ]; then
		(cd "$d" && npm ci --no-audit --no-fund --loglevel=error) && touch "$d/node_modules"
	fi
done
