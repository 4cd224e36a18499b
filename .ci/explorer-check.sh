#!/usr/bin/env bash
# The API explorer in a real browser (`just explorer-check`): runs the server on a
# throw-away SQLite file, and headless Chromium (Debian's chromium and
# chromium-driver) loads /api-docs/, waits for Swagger UI to list createUser, checks
# the console for Content-Security-Policy refusals, and saves a screenshot to
# target/explorer.png (a CI artifact; docs/api-explorer.png is one such).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install chromium chromium-driver" >&2; exit 1; }
done
python3 -c 'import selenium' 2>/dev/null || { echo "selenium is missing: pip install selenium" >&2; exit 1; }

cargo build --quiet -p roster-server
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
binary=$PWD/target/debug/roster
(cd "$work" && ROSTER__SERVER__PORT=$port exec "$binary" serve > "$work/log" 2>&1) &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 300); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/log" >&2; echo "roster exited" >&2; exit 1; }
  sleep 0.1
done
python3 .ci/explorer-check.py "http://127.0.0.1:$port" "$PWD/target/explorer.png"
