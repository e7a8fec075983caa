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
	# This is a local development server: it listens on 127.0.0.1 and ::1
	# only, so open registration lets any Matrix client on this machine
	# sign up.  Generated configs otherwise keep registration closed, as
	# production servers should (SCOP_OPEN_REGISTRATION=0 keeps it closed).
	if [ "${SCOP_OPEN_REGISTRATION:-1}" = 1 ]; then
		sed -i 's/^enable_registration: false$/enable_registration: true/' data/homeserver.yaml
	fi
fi
echo "scopd: serving http://localhost:8008 (config data/homeserver.yaml)"
echo "scopd: register from any Matrix client, or: build/scopctl register -c data/homeserver.yaml [-u NAME] [--admin]"
exec build/scopd -c data/homeserver.yaml
