#!/usr/bin/env bash
# Smoke-tests the image (`just image-smoke`, after `just image`), once on a fresh SQLite
# volume and once on the local PostgreSQL: the container's HEALTHCHECK reports
# healthy, a user can be created and read back, the process is not root, and SIGTERM
# stops it with exit code 0 within the shutdown timeout. Also: `--version` names the
# commit, and the binary carries its crate list (cargo-auditable).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TAG=${IMAGE_TAG:-roster:dev}
SHUTDOWN_TIMEOUT=10
if [ -f ../shared/container/podman-env.sh ]; then
  # shellcheck disable=SC1091
  source ../shared/container/podman-env.sh
fi

ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD="smoke admin password"

fail() { echo "image-smoke: FAILED: $*" >&2; exit 1; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# smoke NAME [podman run options...]
smoke() {
  local name=$1; shift
  local port; port=$(free_port)
  podman rm -f "$name" >/dev/null 2>&1 || true
  # Without systemd podman logs "unable to get systemd connection" for its health
  # timers: harmless, the checks are run by hand below.
  podman run -d --name "$name" --network host \
    -e ROSTER__SERVER__PORT="$port" -e ROSTER__SERVER__SHUTDOWN_TIMEOUT="${SHUTDOWN_TIMEOUT}s" \
    -e ROSTER__AUTH__BOOTSTRAP_ADMIN__EMAIL="$ADMIN_EMAIL" \
    -e ROSTER__AUTH__BOOTSTRAP_ADMIN__PASSWORD="$ADMIN_PASSWORD" \
    "$@" "$TAG" >/dev/null
  trap 'podman logs '"$name"' 2>&1 | tail -n 30; podman rm -f '"$name"' >/dev/null 2>&1' ERR

  # Podman schedules health checks through systemd, absent here: run the image's own
  # HEALTHCHECK command until it passes, which also records the container's health.
  local healthy=""
  for _ in $(seq 1 60); do
    if podman healthcheck run "$name" >/dev/null 2>&1; then healthy=yes; break; fi
    sleep 0.5
  done
  [ -n "$healthy" ] || fail "$name never became healthy"
  local health; health=$(podman inspect "$name" --format '{{.State.Health.Status}}')
  [ "$health" = healthy ] || fail "$name health is '$health'"
  echo "$name: HEALTHCHECK healthy on port $port"

  local token email="smoke-$RANDOM@example.com" created id fetched
  token=$(curl -fsS -X POST "http://127.0.0.1:$port/api/v1/auth/token" -H 'content-type: application/json' \
    -d "{\"email\": \"$ADMIN_EMAIL\", \"password\": \"$ADMIN_PASSWORD\"}" | json_field access_token)
  created=$(curl -fsS -X POST "http://127.0.0.1:$port/api/v1/users" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d "{\"email\": \"$email\", \"name\": \"Smoke Test\", \"password\": \"smoke test password\"}")
  id=$(json_field id <<<"$created")
  fetched=$(curl -fsS -H "authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/users/$id")
  [ "$created" = "$fetched" ] || fail "$name: GET returned $fetched, not $created"
  echo "$name: logged in as the bootstrap admin, created and read back user $id"
  if [ -n "${SMOKE_POSTGRES_DATABASE:-}" ]; then
    # The database that served the request is PostgreSQL: the user is a row there.
    local rows
    rows=$(psql -h 127.0.0.1 -U postgres -d "$SMOKE_POSTGRES_DATABASE" -tAc \
      "SELECT count(*) FROM users WHERE id = '$id'")
    [ "$rows" = 1 ] || fail "$name: user $id is not a row in PostgreSQL ($rows rows): the image ignored DATABASE_URL"
    echo "$name: user $id is a row in PostgreSQL database $SMOKE_POSTGRES_DATABASE"
  fi

  local pid uid
  pid=$(podman inspect "$name" --format '{{.State.Pid}}')
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
  [ "$uid" != 0 ] || fail "$name runs as root"
  echo "$name: runs as uid $uid"

  local started=$SECONDS code
  podman kill --signal TERM "$name" >/dev/null
  code=$(timeout $((SHUTDOWN_TIMEOUT + 5)) podman wait "$name") || fail "$name did not stop within ${SHUTDOWN_TIMEOUT}s"
  [ "$code" = 0 ] || fail "$name exited with $code after SIGTERM"
  echo "$name: SIGTERM -> exit 0 in $((SECONDS - started))s"
  trap - ERR
  podman rm -f "$name" >/dev/null
}

volume=roster-smoke-data
podman volume rm -f "$volume" >/dev/null 2>&1 || true
podman volume create "$volume" >/dev/null
# No key configured: the server generates one onto the data volume (with a warning).
smoke roster-smoke-sqlite -v "$volume:/var/lib/roster"
podman volume rm -f "$volume" >/dev/null

database=roster_smoke
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"
# A configured key, as production has, made by the image's own `roster keygen`.
key=$(podman run --rm --network none "$TAG" keygen | sed -n 's/^private key[^:]*: //p')
[ -n "$key" ] || fail "roster keygen printed no key"

# `roster --version` names the commit the image was built from (the REVISION build
# argument), and the binary carries its crate list for scanners (cargo-auditable's
# zlib-compressed JSON in section .dep-v0).
version=$(podman run --rm --network none "$TAG" --version)
[[ $version =~ \(commit\ [0-9a-f]{12},\ built\ [0-9]{4}-[0-9]{2}-[0-9]{2}\) ]] \
  || fail "roster --version names no commit and build date: $version"
echo "image: $version"
extracted=$(mktemp -d)
container=$(podman create "$TAG")
podman cp "$container:/usr/local/bin/roster" "$extracted/roster" >/dev/null
podman rm "$container" >/dev/null
objcopy --dump-section .dep-v0="$extracted/deps.z" "$extracted/roster" "$extracted/stripped" \
  || fail "the binary has no .dep-v0 section: not built with cargo-auditable"
python3 - "$extracted/deps.z" <<'PY' || fail "the embedded crate list is unreadable or incomplete"
import json, sys, zlib
packages = json.loads(zlib.decompress(open(sys.argv[1], "rb").read()))["packages"]
names = {package["name"] for package in packages}
missing = {"roster-server", "actix-web", "diesel", "biscuit-auth", "argon2"} - names
assert not missing, missing
print(f"image: the binary lists {len(packages)} crates for scanners (cargo-auditable)")
PY
rm -rf "$extracted"
# Only DATABASE_URL, as every shipped deployment sets it.
SMOKE_POSTGRES_DATABASE=$database smoke roster-smoke-postgres \
  -e DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database" \
  -e ROSTER__AUTH__PRIVATE_KEY="$key"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $database WITH (FORCE)"
echo "image-smoke: passed"
