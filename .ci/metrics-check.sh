#!/usr/bin/env bash
# Checks `/metrics` with Prometheus' own linter (`just metrics-check`): runs the server
# on a throw-away SQLite file, sends a little traffic (logins, a failed one, a user
# created, patched and deleted, a logout, a 404), scrapes, and runs `promtool check
# metrics` on the result. Then checks that every metric name the alert rules and the
# Grafana dashboards use is in that scrape, and runs the dashboard's queries on a
# Prometheus that scraped the server during the traffic (.ci/observability-check.py).
# Redis is pointed at a closed port, so that limit fallbacks are counted (and their
# series exists) as they would be during a Redis outage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for tool in promtool prometheus; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install prometheus" >&2; exit 1; }
done

# shellcheck source=.ci/scratch-server.sh
source .ci/scratch-server.sh
start_roster ROSTER__AUTH__BOOTSTRAP_ADMIN__EMAIL=admin@example.com \
  ROSTER__AUTH__BOOTSTRAP_ADMIN__PASSWORD="metrics check password" \
  ROSTER__LIMITS__REDIS__URL=redis://127.0.0.1:1

# A Prometheus of our own scrapes the server every second (with the alert rules
# loaded), so that the dashboard's queries can be run on what it saw.
prometheus_port=$(free_port)
cat > "$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$PWD/deploy/observability/alerts.yml"]
scrape_configs:
  - job_name: roster
    static_configs: [{targets: ["127.0.0.1:$port"]}]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prometheus_port" > "$work/prometheus.log" 2>&1 &
prometheus_pid=$!
trap 'kill "$server" "$prometheus_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# Until its first scrape (it applies new targets after up to 5 s).
for _ in $(seq 200); do
  curl -fsS "http://127.0.0.1:$prometheus_port/api/v1/query?query=up" 2>/dev/null | grep -q '"value"' && break
  kill -0 "$prometheus_pid" 2>/dev/null || { cat "$work/prometheus.log" >&2; echo "prometheus exited" >&2; exit 1; }
  sleep 0.1
done

login() { curl -sS -H 'content-type: application/json' -d "{\"email\":\"admin@example.com\",\"password\":\"$1\"}" "$base/api/v1/auth/token"; }
login "wrong password" >/dev/null
token=$(login "metrics check password" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
id=$(curl -fsS -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"email":"someone@example.com","name":"Someone","password":"a long enough password"}' \
  "$base/api/v1/users" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fsS -o /dev/null -X PATCH -H "authorization: Bearer $token" \
  -H 'content-type: application/merge-patch+json' -d '{"name":"Someone Else"}' "$base/api/v1/users/$id"
curl -fsS -o /dev/null -X DELETE -H "authorization: Bearer $token" "$base/api/v1/users/$id"
other=$(login "metrics check password" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -fsS -o /dev/null -X POST -H "authorization: Bearer $other" "$base/api/v1/auth/revoke"
curl -fsS -o /dev/null "$base/ready" || true
curl -sS -o /dev/null -H "authorization: Bearer $token" "$base/api/v1/users/01ARZ3NDEKTSV4RRFFQ69G5FAV"

# Enough scrapes after the traffic for rate() over every counter.
sleep 4

curl -fsS "$base/metrics" > "$work/metrics.txt"
promtool check metrics < "$work/metrics.txt"
echo "/metrics: $(grep -c '^# TYPE' "$work/metrics.txt") metric families, promtool finds nothing to complain about"
python3 .ci/observability-check.py "$work/metrics.txt" "http://127.0.0.1:$prometheus_port"
