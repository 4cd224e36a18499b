#!/usr/bin/env bash
# Starts NATS with JetStream on 127.0.0.1:4222 if nothing answers there, installing
# Debian's nats-server first if the machine has none. Used by `just nats-up` and
# .ci/run: the event tests publish to it (a stream of their own each), and start
# throw-away servers of their own from the same binary.
set -euo pipefail

up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
up && { echo "NATS is up"; exit 0; }

if ! command -v nats-server >/dev/null 2>&1; then
  echo "nats-server is not installed: installing it from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends nats-server >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends nats-server >/dev/null; }
fi

store=/var/lib/nats-server
mkdir -p "$store"
setsid nats-server -a 127.0.0.1 -p 4222 -js -sd "$store" -l /var/log/nats-server.log \
  < /dev/null > /dev/null 2>&1 &
for _ in $(seq 1 30); do
  up && { echo "NATS is up"; exit 0; }
  sleep 1
done
echo "NATS did not start: see /var/log/nats-server.log" >&2
exit 1
