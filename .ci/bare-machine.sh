#!/usr/bin/env bash
# The README's two commands on a machine with nothing but rustup's toolchain and a C
# compiler (`just bare-machine`): inside the bare Rust image (`rust:1-slim-bookworm`:
# gcc, libc6-dev and ca-certificates; no libpq, no OpenSSL headers, no pkg-config, no
# make), on a copy of this tree. The commands are read from the README's Quick start,
# so the README cannot drift from what is proven here.
#
# 1. The test command runs as a newcomer would run it (CI unset: podman passes none of
#    the host's environment): the container shares
#    the host's network, so the database tests reach the local PostgreSQL through the
#    libpq that was built from source; tests that need PostgreSQL's server binaries
#    (initdb) skip loudly, as they do on any machine without them.
# 2. The run command builds and starts the service on SQLite; from outside, /health
#    answers, the bootstrap administrator logs in and reads /users/me, and SIGTERM
#    stops the service with exit code 0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
IMAGE=${BARE_IMAGE:-docker.io/library/rust:1-slim-bookworm}
BUILD_WAIT=${BARE_BUILD_WAIT:-1800}

fail() { echo "bare-machine: FAILED: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The fenced block under "## Quick start": exactly two commands, run then test.
mapfile -t commands < <(awk '/^## /{q=($0=="## Quick start")} q&&/^```sh$/{f=1;next} f&&/^```$/{exit} f&&NF' README.md)
[ "${#commands[@]}" -eq 2 ] \
  || fail "expected two commands in the README's Quick start block, found ${#commands[@]}"
run_command=${commands[0]}
test_command=${commands[1]}
admin_email=$(grep -oP 'BOOTSTRAP_ADMIN__EMAIL=\K\S+' <<<"$run_command") \
  || fail "the run command sets no bootstrap administrator e-mail"
admin_password=$(grep -oP "BOOTSTRAP_ADMIN__PASSWORD='\K[^']+" <<<"$run_command") \
  || fail "the run command sets no bootstrap administrator password"

# shellcheck source=.ci/standins.sh
source .ci/standins.sh

work=$(mktemp -d)
name=roster-bare-$$
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/src" "$work/cargo-registry"
# Tracked and untracked files, not what .gitignore names (target/, data/).
git ls-files -z --cached --others --exclude-standard \
  | tar --null --files-from=- -cf - | tar -xf - -C "$work/src"

container=(--network host -v "$work/src:/src" -w /src
           -v "$work/cargo-registry:/usr/local/cargo/registry" -e CARGO_TERM_COLOR=never)

echo "== the image: what a bare machine has"
podman run --rm "${container[@]}" "$IMAGE" bash -c '
  set -e; rustc --version; cargo --version; gcc --version | head -n 1
  for tool in pkg-config make pg_config psql; do
    if command -v "$tool" >/dev/null; then echo "unexpected on a bare machine: $tool"; exit 1; fi
  done
  if dpkg -s libpq-dev libssl-dev >/dev/null 2>&1; then echo "unexpected: -dev packages"; exit 1; fi
  echo "no pkg-config, make, libpq or OpenSSL headers"'

echo "== the README's test command: $test_command"
start=$SECONDS
podman run --rm "${container[@]}" "$IMAGE" bash -c "$test_command" \
  || fail "the test command failed in the bare image"
echo "the test command passed in $((SECONDS - start))s"

port=$(free_port)
echo "== the README's run command (port $port): $run_command"
start=$SECONDS
podman run -d --name "$name" "${container[@]}" -e ROSTER__SERVER__PORT="$port" \
  "$IMAGE" bash -c "$run_command" >/dev/null
until curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
  if [ "$(podman inspect --format '{{.State.Running}}' "$name")" != true ]; then
    podman logs --tail 60 "$name" >&2
    fail "the run command exited before serving"
  fi
  [ $((SECONDS - start)) -lt "$BUILD_WAIT" ] || fail "not serving after ${BUILD_WAIT}s"
  sleep 5
done
echo "built and serving in $((SECONDS - start))s"
login=$(python3 -c 'import json,sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' \
  "$admin_email" "$admin_password")
token=$(curl -fsS "http://127.0.0.1:$port/api/v1/auth/token" -H 'content-type: application/json' \
  -d "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') \
  || fail "the bootstrap administrator cannot log in"
me=$(curl -fsS "http://127.0.0.1:$port/api/v1/users/me" -H "authorization: Bearer $token" \
  | python3 -c 'import json,sys; u=json.load(sys.stdin); print(u["email"], u["role"])')
[ "$me" = "$admin_email admin" ] || fail "/users/me says '$me'"
echo "logged in as the bootstrap administrator: $me"
[ -f "$work/src/data/roster.db" ] || fail "no SQLite database under ./data"
podman stop --time 30 "$name" >/dev/null
status=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[ "$status" = 0 ] || { podman logs --tail 20 "$name" >&2; fail "exit code $status after SIGTERM"; }
echo "SIGTERM: stopped with exit code 0"
echo "bare-machine: the README's two commands work with only the Rust toolchain and a C compiler"
