#!/usr/bin/env bash
# Bulk import and export speed (`just bench-import [ROWS]`): generates ROWS users (100,000
# by default) with argon2id hashes, imports them into a fresh SQLite file and a fresh
# PostgreSQL database with the release binary, exports them again, and prints one
# Markdown table; keep the latest in docs/performance.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rows="${1:-100000}"
work="$PWD/target/bench-import"
mkdir -p "$work"
bash .ci/postgres-up.sh >/dev/null
cargo build --quiet --release -p roster-server
roster="$PWD/target/release/roster"

# One argon2id hash (of "imported password 1", m=19456,t=2,p=1) for every user: the
# import stores it as given, so its cost is not what is measured.
hash='$argon2id$v=19$m=19456,t=2,p=1$cm9zdGVyLXRlc3Qtc2FsdA$9k7OppdvLxlqP8xhGrRqVqjYHpQUqjA8oozto6QVMbg'
# Two orders of the same users: by address (an export sorted by e-mail), and shuffled
# (addresses and names arrive in no order, so every batch lands all over those indexes).
sorted="$work/users-$rows.ndjson"
shuffled="$work/users-$rows-shuffled.ndjson"
if [ ! -s "$sorted" ]; then
  awk -v n="$rows" -v h="$hash" 'BEGIN {
    for (i = 1; i <= n; i++)
      printf "{\"email\":\"user%07d@example.com\",\"name\":\"User %d\",\"password_hash\":\"%s\",\"created_at\":\"2024-01-01T00:00:00Z\"}\n", i, i, h
  }' > "$sorted"
fi
[ -s "$shuffled" ] || shuf --random-source=<(yes) "$sorted" > "$shuffled"

export ROSTER__AUTH__PRIVATE_KEY
ROSTER__AUTH__PRIVATE_KEY="$("$roster" keygen | sed -n 's/^private key[^:]*: //p')"
unset DATABASE_URL ROSTER_CONFIG

seconds() { python3 -c 'import sys,time; print(f"{time.time():.3f}")'; }

measure() { # backend url file order
  local backend="$1" url="$2" file="$3" order="$4" started import_s export_s summary
  export ROSTER__DATABASE__URL="$url"
  "$roster" migrate run >/dev/null
  started=$(seconds)
  summary=$("$roster" users import "$file" 2>/dev/null)
  import_s=$(python3 -c "print(f'{$(seconds) - $started:.2f}')")
  case "$summary" in *"$rows created"*) ;; *) echo "unexpected: $summary" >&2; exit 1;; esac
  started=$(seconds)
  "$roster" users export --include-password-hashes -o "$work/export.ndjson" 2>/dev/null
  export_s=$(python3 -c "print(f'{$(seconds) - $started:.2f}')")
  started=$(seconds)
  summary=$("$roster" users import "$file" 2>/dev/null)
  again_s=$(python3 -c "print(f'{$(seconds) - $started:.2f}')")
  printf '| %s | %s | %s | %s s (%s rows/s) | %s s (%s rows/s) | %s s |\n' "$backend" "$order" "$rows" \
    "$import_s" "$(python3 -c "print(round($rows / $import_s))")" \
    "$export_s" "$(python3 -c "print(round($rows / $export_s))")" "$again_s"
}

echo "| backend | rows in | users | import (new users) | export (with hashes) | import again (all skipped) |"
echo "|---|---|---|---|---|---|"
db=roster_bench_import
for order in sorted shuffled; do
  file=$sorted; [ "$order" = shuffled ] && file=$shuffled
  rm -f "$work"/roster.db*
  measure SQLite "sqlite://$work/roster.db" "$file" "$order"
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
  measure PostgreSQL "postgres://postgres@127.0.0.1:5432/$db" "$file" "$order"
done
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
