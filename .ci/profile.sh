#!/usr/bin/env bash
# A CPU profile of the hot path (`just profile [path]`): builds the release binary with
# symbols (profile `profiling`), serves PATH (default: an authenticated
# GET /api/v1/users/{id}) to wrk on a fresh SQLite file while `perf` samples the
# server, and writes target/profile/flamegraph.svg (inferno) and the top of
# `perf report` to target/profile/report.txt. Installs perf, wrk and inferno where
# missing (as root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
path=${1:-}
if ! command -v perf >/dev/null || ! command -v wrk >/dev/null; then
  apt-get install -y -qq linux-perf wrk >/dev/null
fi
command -v inferno-flamegraph >/dev/null || cargo install --quiet --locked inferno
cargo build --quiet --profile profiling -p roster-server
binary=$PWD/target/profiling/roster
out=$PWD/target/profile
work=$(mktemp -d)
mkdir -p "$out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$work" && exec env ROSTER__SERVER__PORT="$port" ROSTER__LOG__LEVEL=warn \
  ROSTER__AUTH__BOOTSTRAP_ADMIN__EMAIL=admin@example.com \
  ROSTER__AUTH__BOOTSTRAP_ADMIN__PASSWORD="profile admin password" \
  "$binary" serve > "$work/server.log" 2>&1) &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 300); do curl -fsS "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done
token=$(curl -fsS -H 'content-type: application/json' \
  -d '{"email":"admin@example.com","password":"profile admin password"}' "$base/api/v1/auth/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
id=$(curl -fsS -H "authorization: Bearer $token" "$base/api/v1/users/me" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
url="$base${path:-/api/v1/users/$id}"
wrk -t2 -c32 -d3s -H "authorization: Bearer $token" "$url" >/dev/null
wrk -t2 -c32 -d12s -H "authorization: Bearer $token" "$url" > "$out/wrk.txt" &
load=$!
sleep 2
perf record -q -F 499 --call-graph dwarf,16384 -p "$server" -o "$out/perf.data" -- sleep 8
wait "$load"
perf script -i "$out/perf.data" 2>/dev/null | inferno-collapse-perf > "$out/stacks.folded"
inferno-flamegraph < "$out/stacks.folded" > "$out/flamegraph.svg"
perf report -i "$out/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
  | grep -E '^ +[0-9.]+%' | head -40 > "$out/report.txt"
grep -E 'Requests/sec|Latency' "$out/wrk.txt"
echo "flame graph: $out/flamegraph.svg; top symbols: $out/report.txt"
