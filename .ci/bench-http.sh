#!/usr/bin/env bash
# The request hot path under load (`just bench-http`): builds the release binary and
# runs .ci/bench-http.py on SQLite and PostgreSQL (starting PostgreSQL, and installing
# wrk, where missing). Prints one Markdown table; keep the latest in docs/performance.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else
    echo "wrk is missing: apt-get install wrk" >&2; exit 1; fi
fi
bash .ci/postgres-up.sh >/dev/null
cargo build --quiet --release -p roster-server
exec python3 .ci/bench-http.py "$PWD/target/release/roster" "$@"
