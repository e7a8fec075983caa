#!/usr/bin/env bash
# The run command: installs what is needed, builds, writes a config with a
# fresh signing key and registration shared secret on first use
# (data/homeserver.yaml; server name from SCOP_SERVER_NAME, default
# localhost), and runs scopd on SQLite at http://localhost:8008 (127.0.0.1
# and ::1) in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
mkdir -p data
if [ ! -f data/homeserver.yaml ]; then
	build/scopd -c data/homeserver.yaml --generate-config \
		--server-name "${SCOP_SERVER_NAME:-localhost}" --data-dir "$PWD/data"
fi
echo "scopd: serving http://localhost:8008 (config data/homeserver.yaml)"
echo "scopd: add a user with: build/scopctl register -c data/homeserver.yaml [-u NAME] [--admin]"
exec build/scopd -c data/homeserver.yaml
