#!/usr/bin/env bash
# Fuzzes the running service with schemathesis against the description it serves,
# authenticated as an administrator, with every check, a fixed seed and enough examples
# to cover every operation: `just fuzz sqlite` / `just fuzz postgres`.
# Needs `pip install schemathesis`; PostgreSQL for the second. FUZZ_EXTRA passes more
# options, e.g. FUZZ_EXTRA="--include-operation-id createUser --report har".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BACKEND=${1:-sqlite}
SEED=${FUZZ_SEED:-20261124}
EXAMPLES=${FUZZ_EXAMPLES:-100}
# Registration on (the default here) exercises it; `false` leaves it at the service's
# default, closed, which `just fuzz-deep` does for every other seed.
REGISTRATION=${FUZZ_REGISTRATION:-true}
ADMIN_URL=${ROSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
command -v st >/dev/null || { echo "schemathesis is missing: pip install schemathesis" >&2; exit 1; }

cargo build --quiet -p roster-server
binary=$PWD/target/debug/roster
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ROSTER_FUZZ_URL="http://127.0.0.1:$port"
export ROSTER_FUZZ_ADMIN_EMAIL=fuzz-admin@example.com
export ROSTER_FUZZ_ADMIN_PASSWORD="fuzzing admin password"
export ROSTER_FUZZ_BINARY=$binary

case $BACKEND in
  sqlite) database_url="sqlite://$work/roster.db" ;;
  postgres)
    psql -qX "$ADMIN_URL" -c "DROP DATABASE IF EXISTS roster_fuzz" -c "CREATE DATABASE roster_fuzz"
    database_url="${ADMIN_URL%/*}/roster_fuzz"
    ;;
  *) echo "usage: $0 sqlite|postgres" >&2; exit 2 ;;
esac

# One signing key and database for the server and the hooks' `roster users
# create-admin`; registration on, so that it is exercised. The fuzzer sends thousands
# of wrong logins from 127.0.0.1, which the per-client throttle would answer with 429
# for 15 minutes, its own logins included: the per-client limits (failures and
# password hashes) are raised for this run (the per-account ones stay; all are covered
# by the API tests).
export DATABASE_URL=$database_url
ROSTER__AUTH__PRIVATE_KEY=$("$binary" keygen | sed -n 's/^private key[^:]*: //p')
export ROSTER__AUTH__PRIVATE_KEY
(cd "$work" && exec env ROSTER__SERVER__PORT="$port" \
  ROSTER__LOG__LEVEL=warn \
  ROSTER__AUTH__ALLOW_REGISTRATION="$REGISTRATION" \
  ROSTER__AUTH__THROTTLE__MAX_FAILURES_PER_CLIENT=1000000 \
  ROSTER__AUTH__THROTTLE__MAX_HASHES_PER_CLIENT=1000000 \
  ROSTER__AUTH__BOOTSTRAP_ADMIN__EMAIL="$ROSTER_FUZZ_ADMIN_EMAIL" \
  ROSTER__AUTH__BOOTSTRAP_ADMIN__PASSWORD="$ROSTER_FUZZ_ADMIN_PASSWORD" \
  "$binary" serve > "$work/roster.log" 2>&1) &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ "$BACKEND" = postgres ]; then psql -qX "$ADMIN_URL" -c "DROP DATABASE IF EXISTS roster_fuzz" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 300); do
  curl -fsS "$ROSTER_FUZZ_URL/ready" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/roster.log" >&2; exit 1; }
  sleep 0.1
done

status=0
SCHEMATHESIS_HOOKS=roster_hooks PYTHONPATH=.ci/schemathesis \
  st --config-file .ci/schemathesis/schemathesis.toml \
  run "$ROSTER_FUZZ_URL/api-docs/openapi.json" \
    --seed "$SEED" \
    --max-examples "$EXAMPLES" \
    --generation-database none \
    --workers 1 \
    --no-color \
    --report junit --report-dir "$work/report" ${FUZZ_EXTRA:-} \
  || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server errors logged during the run:" >&2
  grep -E '"level":"(ERROR|WARN)"' "$work/roster.log" | tail -20 >&2 || true
fi
exit "$status"
