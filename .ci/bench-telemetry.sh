#!/usr/bin/env bash
# What telemetry costs a request (`just bench-telemetry`; needs `wrk`): the release
# binary serves `GET /api/v1/users/{id}` to wrk three times, on a fresh SQLite file:
#   off          no OTLP endpoint (the default): ids for logs, nothing recorded
#   exporting    every span recorded and batch-exported over HTTP/protobuf to a sink
#   unreachable  exporting to a closed port: requests must not notice
# Each run prints wrk's summary; compare the Requests/sec lines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
DURATION=${BENCH_DURATION:-20s}
CONNECTIONS=${BENCH_CONNECTIONS:-16}

cargo build --quiet --release -p roster-server
binary=$PWD/target/release/roster
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# An OTLP/HTTP sink: answers every export with an empty (valid) protobuf response.
sink_port=$(free_port)
python3 - "$sink_port" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
pids+=($!)
closed_port=$(free_port)

run() {
  local label=$1; shift
  local port; port=$(free_port)
  rm -rf "$work/db" && mkdir -p "$work/db"
  (cd "$work/db" && exec env "$@" ROSTER__SERVER__PORT="$port" ROSTER__LOG__LEVEL=warn \
    ROSTER__AUTH__BOOTSTRAP_ADMIN__EMAIL=admin@example.com \
    ROSTER__AUTH__BOOTSTRAP_ADMIN__PASSWORD="bench admin password" \
    "$binary" serve > "$work/$label.log" 2>&1) &
  local server=$!
  pids+=("$server")
  local base="http://127.0.0.1:$port"
  for _ in $(seq 300); do
    curl -fsS "$base/health" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$work/$label.log" >&2; exit 1; }
    sleep 0.1
  done
  local token id
  token=$(curl -fsS -H 'content-type: application/json' \
    -d '{"email":"admin@example.com","password":"bench admin password"}' "$base/api/v1/auth/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  id=$(curl -fsS -H "authorization: Bearer $token" "$base/api/v1/users/me" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  wrk -t1 -c"$CONNECTIONS" -d3s -H "authorization: Bearer $token" "$base/api/v1/users/$id" >/dev/null
  echo "== $label"
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "authorization: Bearer $token" "$base/api/v1/users/$id" \
    | grep -E 'Requests/sec|Latency |50%|99%|Non-2xx'
  kill -TERM "$server"
  wait "$server" || true
}

run off OTEL_SDK_DISABLED=false
run exporting OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
run unreachable OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$closed_port" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
