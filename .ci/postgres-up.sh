#!/usr/bin/env bash
# Starts the local PostgreSQL cluster if it is not answering on 127.0.0.1:5432, and
# installs it from Debian's packages first if the machine has none (trusting local TCP
# connections, as the project's machines are set up). Used by `just db-up` and .ci/run.
set -euo pipefail

ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
ready && { echo "PostgreSQL is up"; exit 0; }

cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(cluster_version)" ]; then
  echo "PostgreSQL is not installed: installing it from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  hba="/etc/postgresql/$(cluster_version)/main/pg_hba.conf"
  sed -i -E 's/^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1\/32|::1\/128)[[:space:]]+)[^[:space:]]+/\1trust/' "$hba"
fi

pg_ctlcluster --skip-systemctl-redirect "$(cluster_version)" main start || true
for _ in $(seq 1 30); do
  ready && { echo "PostgreSQL is up"; exit 0; }
  sleep 1
done
echo "PostgreSQL did not start: see /var/log/postgresql/" >&2
exit 1
