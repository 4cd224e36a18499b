#!/usr/bin/env bash
# Starts Redis on 127.0.0.1:6379 if nothing answers there, installing Debian's
# redis-server first if the machine has none. Used by `just redis-up` and .ci/run:
# the shared-limits tests count in it (keys under a prefix of their own each), and
# start throw-away servers of their own from the same binary.
set -euo pipefail

up() { [ "$( (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3) 2>/dev/null)" = "+PONG" ]; }
up && { echo "Redis is up"; exit 0; }

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server is not installed: installing it from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }
fi

# Counters only: nothing is kept on disk.
setsid redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
  --logfile /var/log/redis-roster.log < /dev/null > /dev/null 2>&1 &
for _ in $(seq 1 30); do
  up && { echo "Redis is up"; exit 0; }
  sleep 1
done
echo "Redis did not start: see /var/log/redis-roster.log" >&2
exit 1
