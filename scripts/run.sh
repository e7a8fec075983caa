#!/usr/bin/env bash
# The run command: installs what is needed, builds, writes a config with a
# fresh signing key and registration shared secret on first use
# (data/homeserver.yaml; server name from SCOP_SERVER_NAME, default
# localhost), and runs scopd on SQLite at http://localhost:8008 (127.0.0.1
# and ::1) and scop-mailbridge with its MX listener on 127.0.0.1:2525 and
# submission (STARTTLS + AUTH as a Matrix user) on 127.0.0.1:2587, both in
# the foreground; Ctrl-C stops both.  Ports: SCOP_MX_PORT,
# SCOP_SUBMISSION_PORT.
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
name=$(sed -n 's/^server_name: *//p' data/homeserver.yaml | tr -d '"' | head -n1)
if [ ! -f data/mailbridge.yaml ]; then
	mkdir -p data/mail-spool
	# A self-signed certificate for STARTTLS on this machine only; AUTH
	# is offered only after STARTTLS.
	openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$name" \
		-keyout data/mail-key.pem -out data/mail-cert.pem 2>/dev/null
	chmod 600 data/mail-key.pem
	build/scop-mailbridge -c data/mailbridge.yaml --generate-config >/dev/null
	sed -i -e "s|^hostname: .*|hostname: $name|" \
		-e "s|^  - example.org$|  - $name|" \
		-e "s|^    address: 0.0.0.0$|    address: 127.0.0.1|" \
		-e "s|^    port: 25$|    port: ${SCOP_MX_PORT:-2525}|" \
		-e "s|^    port: 587$|    port: ${SCOP_SUBMISSION_PORT:-2587}|" \
		-e "s|^  cert: .*|  cert: $PWD/data/mail-cert.pem|" \
		-e "s|^  key: .*|  key: $PWD/data/mail-key.pem|" \
		-e "s|^spool_dir: .*|spool_dir: $PWD/data/mail-spool|" \
		-e "/^  sender_addresses:/,\$d" data/mailbridge.yaml
fi
echo "scopd: serving http://localhost:8008 (config data/homeserver.yaml)"
echo "scopd: register from any Matrix client, or: build/scopctl register -c data/homeserver.yaml [-u NAME] [--admin]"
echo "scop-mailbridge: MX on 127.0.0.1:${SCOP_MX_PORT:-2525}, submission on 127.0.0.1:${SCOP_SUBMISSION_PORT:-2587} (config data/mailbridge.yaml)"
build/scopd -c data/homeserver.yaml &
scopd_pid=$!
build/scop-mailbridge -c data/mailbridge.yaml &
bridge_pid=$!
trap 'kill "$scopd_pid" "$bridge_pid" 2>/dev/null || true' EXIT INT TERM
# Either one ending ends the run (the trap stops the other).
wait -n
