# Sourced by the checks that need a running server (.ci/metrics-check.sh,
# .ci/explorer-check.sh). `start_roster [NAME=VALUE...]` builds the binary and runs
# `roster serve` on a free port, in a scratch folder (where its SQLite database and
# generated signing key land), with those variables; it returns once /health answers.
# Sets work, port, base and server, and an EXIT trap that stops the server and removes
# the folder.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_roster() {
  cargo build --quiet -p roster-server
  work=$(mktemp -d)
  port=$(free_port)
  base="http://127.0.0.1:$port"
  local binary=$PWD/target/debug/roster
  (cd "$work" && exec env ROSTER__SERVER__PORT="$port" "$@" "$binary" serve > "$work/log" 2>&1) &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
  for _ in $(seq 300); do
    curl -fsS "$base/health" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || { cat "$work/log" >&2; echo "roster exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "roster did not answer /health within 30 s" >&2
  exit 1
}
