#!/usr/bin/env bash
# bench_accounts.sh [BUILDDIR]: starts scopd (SQLite in a temp dir, the
# default argon2id cost, generous login rate limits), registers a user with
# scopctl, and runs bench_http against it: login and whoami requests/s with
# 1 and 32 clients, then scopd's peak RSS.  BENCH_PG_DSN=<conninfo> runs it
# on a fresh PostgreSQL database in that cluster instead.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-${SCOP_BUILDDIR:-$src/build}}" && pwd)
tmp=$(mktemp -d /tmp/scop-bench-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db="{name: sqlite3, args: {database: $tmp/hs.db}}"
if [ -n "${BENCH_PG_DSN:-}" ]; then
	name=scop_bench_$$
	psql -q "$BENCH_PG_DSN" -c "CREATE DATABASE $name" >/dev/null
	db="{name: psycopg2, args: {dsn: \"$BENCH_PG_DSN\", database: $name}}"
fi
cat >"$tmp/homeserver.yaml" <<CONF
server_name: bench.local
listeners: [{port: $port, type: http, bind_addresses: ['127.0.0.1']}]
database: $db
signing_key_path: $tmp/signing.key
registration_shared_secret: bench-secret
log_level: warn
thread_pool_size: ${BENCH_THREADS:-4}
rc_login:
  address: {per_second: 1000000, burst_count: 1000000}
  account: {per_second: 1000000, burst_count: 1000000}
CONF
"$build/scopd" -c "$tmp/homeserver.yaml" 2>"$tmp/scopd.log" &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ -n "${name:-}" ] && psql -q "$BENCH_PG_DSN" -c "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
	sleep 0.1
done
"$build/scopctl" register -c "$tmp/homeserver.yaml" -u bench -p "bench password" >/dev/null
echo "bench_accounts: scopd on $( [ -n "${BENCH_PG_DSN:-}" ] && echo PostgreSQL || echo SQLite ), thread pool ${BENCH_THREADS:-4}, argon2id t=2 m=19 MiB"
"$build/bench/bench_http" "http://127.0.0.1:$port" bench "bench password" --pid "$pid" "${@:2}"
