# Roster's everyday commands. `just` lists them.
set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Run the service (default: `serve` on the embedded SQLite database under ./data).
run *ARGS="serve":
    cargo run --release -p roster-server -- {{ARGS}}

# Run every test (PostgreSQL, NATS and Redis tests need `just db-up nats-up redis-up`; without them they are skipped loudly).
test *ARGS:
    cargo test --workspace {{ARGS}}

# Formatting check and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Fail on any module cycle inside a crate (installs cargo-modules when missing).
modules:
    bash .ci/module-cycles.sh

# Format the code.
fmt:
    cargo fmt --all

# Database migrations: `just migrate` (status), `just migrate run`, `just migrate revert`.
migrate *ARGS="status":
    cargo run -p roster-server -- migrate {{ARGS}}

# Start the local PostgreSQL (installing it first where it is missing).
db-up:
    bash .ci/postgres-up.sh

# Start the local NATS server with JetStream (installing it first where it is missing).
nats-up:
    bash .ci/nats-up.sh

# Start the local Redis (installing it first where it is missing).
redis-up:
    bash .ci/redis-up.sh

# Run the service against the local PostgreSQL instead of SQLite.
run-postgres:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --release -p roster-server -- serve

# Everything CI runs.
ci:
    bash .ci/run

# Scrape /metrics after some traffic, lint it with promtool (apt-get install prometheus),
# and check that every metric the alerts and dashboards use is in it.
metrics-check:
    bash .ci/metrics-check.sh

# Lint docs/openapi.json with Redocly's recommended ruleset (npm); any error or warning fails.
openapi-lint:
    bash .ci/openapi-lint.sh

# Check the Prometheus alert rules and run their unit tests (promtool).
alerts-check:
    bash .ci/alerts-check.sh

# Load the API explorer in headless Chromium (apt-get install chromium chromium-driver;
# pip install selenium) and screenshot it to target/explorer.png.
explorer-check:
    bash .ci/explorer-check.sh

# Load 1,000,000 users into a scratch PostgreSQL database and write the listing plans to docs/listing-plans.md.
explain-listing:
    bash .ci/explain-listing.sh

# Regenerate docs/openapi.json from the code (a test fails while it is stale).
openapi:
    cargo run --quiet -p roster-server -- openapi > docs/openapi.json

# Fuzz the running service with schemathesis against its own OpenAPI description (sqlite or postgres).
fuzz backend="sqlite":
    bash .ci/schemathesis.sh {{backend}}

# Fuzz both backends with N seeds, more examples and registration open and closed (run before resolving an API change).
fuzz-deep runs="10":
    bash .ci/fuzz-deep.sh {{runs}}

# Build the container image with podman (roster:dev) from the Dockerfile as it is.
image:
    bash .ci/image.sh

# The README's two commands inside the bare Rust image (only the toolchain and a C compiler).
bare-machine:
    bash .ci/bare-machine.sh

# Run the image on SQLite and on the local PostgreSQL: healthy, round trip, non-root, clean SIGTERM.
image-smoke:
    bash .ci/image-smoke.sh

# Benchmarks (criterion): password hashing cost and per-request token verification.
bench:
    cargo bench -p roster-security --bench auth

# The hot path under load on SQLite and PostgreSQL: requests/s, p50/p99, login storm RSS (installs wrk).
bench-http *BACKENDS:
    bash .ci/bench-http.sh {{BACKENDS}}

# What the rate limit and the throttle cost per request, in memory and in Redis (SQLite).
bench-limits:
    bash .ci/redis-up.sh >/dev/null
    cargo build --quiet --release -p roster-server
    python3 .ci/bench-limits.py target/release/roster

# The outbox's cost per write and the relay's rate into NATS JetStream (BINARY=LABEL ... to compare builds).
bench-events *BINARIES:
    bash .ci/nats-up.sh >/dev/null
    bash .ci/postgres-up.sh >/dev/null
    cargo build --quiet --release -p roster-server
    python3 .ci/bench-events.py {{ if BINARIES == "" { "target/release/roster=this" } else { BINARIES } }}

# Bulk import and export: 100,000 users with argon2id hashes into SQLite and PostgreSQL (ROWS to change it).
bench-import rows="100000":
    bash .ci/bench-import.sh {{rows}}

# A CPU profile under load: perf samples the server while wrk drives PATH; writes target/profile/flamegraph.svg.
profile path="":
    bash .ci/profile.sh {{path}}

# Throughput of GET /api/v1/users/{id} with telemetry off, exporting, and exporting to nowhere (needs wrk).
bench-telemetry:
    bash .ci/bench-telemetry.sh
