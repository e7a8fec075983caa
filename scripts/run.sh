#!/usr/bin/env bash
# The run command: installs what is needed, builds, writes a config with a
# fresh signing key on first use (data/homeserver.yaml), and runs scopd on
# SQLite at http://localhost:8008 in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
mkdir -p data
if [ ! -f data/homeserver.yaml ]; then
	build/scopd -c data/homeserver.yaml --generate-config --server-name localhost \
		--data-dir "$PWD/data"
fi
echo "scopd: serving http://localhost:8008 (config data/homeserver.yaml)"
exec build/scopd -c data/homeserver.yaml
