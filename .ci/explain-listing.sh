#!/usr/bin/env bash
# Loads 1,000,000 users into a scratch PostgreSQL database (migrated by `roster
# migrate run`) and writes the plans of the listing queries, as the repository sends
# them (prepared, with parameters), to docs/listing-plans.md. `just explain-listing`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ADMIN_URL=${ROSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=roster_explain
OUT=docs/listing-plans.md

psql -qX "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
url="${ADMIN_URL%/*}/$DB"
cargo build --quiet -p roster-server
DATABASE_URL=$url target/debug/roster migrate run >/dev/null

started=$SECONDS
psql -qX "$url" <<'SQL'
INSERT INTO users (id, email, name, role, status, created_at, updated_at, version, email_domain)
SELECT lpad(upper(to_hex(g)), 26, '0'),
       'user' || g || '@d' || (g % 50) || '.example',
       'Name ' || substr(md5(g::text), 1, 12),
       CASE WHEN g % 10 = 0 THEN 'admin' ELSE 'member' END,
       CASE WHEN g % 7 = 0 THEN 'disabled' ELSE 'active' END,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
       1,
       'd' || (g % 50) || '.example'
FROM generate_series(1, 1000000) AS g;
VACUUM ANALYZE users;
SQL
loaded=$((SECONDS - started))

plan() {
  local title=$1 sql=$2
  printf '\n### %s\n\n```sql\n%s\n```\n\n```\n' "$title" "$sql"
  psql -qXAt "$url" -c "$sql" | sed -n '/QUERY PLAN/!p' | sed '/^$/d'
  printf '```\n'
}

columns="id, email, name, role, status, created_at, updated_at, version, password_hash, password_changed_at, last_login_at, email_domain"
{
  cat <<EOF2
# Listing plans on 1,000,000 users (PostgreSQL)

Written by \`just explain-listing\` (\`.ci/explain-listing.sh\`), which loads 1,000,000
users into a scratch database migrated by \`roster migrate run\` (load and
\`VACUUM ANALYZE\`: ${loaded} s). The data: 50 e-mail domains, 10 % admins, 1 in 7
disabled, one user a minute. The statements are the ones the repository prepares, with
their parameters bound, under \`EXPLAIN (ANALYZE, BUFFERS)\`. Timings are from this
2-core machine and serve as illustration only.

Read them for the access path. Every page is an index scan that stops after
\`limit + 1\` rows, whatever the table's size: the first page and a page a million rows
deep cost the same. Only \`include_total\` reads every matching row.
EOF2
  plan "status=active&sort=-created_at&limit=50, first page (6 users in 7 are active: the planner walks the created_at index and filters)" \
"PREPARE q1(text, bigint) AS SELECT $columns FROM users WHERE status = \$1 ORDER BY created_at DESC, id DESC LIMIT \$2;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q1('active', 51);"
  plan "the same, deep in the listing (with a cursor): the row-value bound starts the index scan in place" \
"PREPARE q2(text, timestamptz, text, bigint) AS SELECT $columns FROM users WHERE status = \$1 AND (created_at, id) < (\$2, \$3) ORDER BY created_at DESC, id DESC LIMIT \$4;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q2('active', '2024-06-01 00:00:00+00', '0000000000000000000002F0A1', 51);"
  plan "status=disabled&sort=-created_at with a cursor (1 user in 7): walking created_at and filtering reads about 7 entries a row shown, which the planner prefers; users_status_created_at_id serves rarer values and the count below" \
"PREPARE q2b(text, timestamptz, text, bigint) AS SELECT $columns FROM users WHERE status = \$1 AND (created_at, id) < (\$2, \$3) ORDER BY created_at DESC, id DESC LIMIT \$4;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q2b('disabled', '2024-06-01 00:00:00+00', '0000000000000000000002F0A1', 51);"
  plan "email_domain=d7.example&role=member&created_after=2025-01-01T00:00:00Z&sort=created_at (three filters)" \
"PREPARE q3(text, text, timestamptz, bigint) AS SELECT $columns FROM users WHERE email_domain = \$1 AND role = \$2 AND created_at > \$3 ORDER BY created_at ASC, id ASC LIMIT \$4;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q3('d7.example', 'member', '2025-01-01 00:00:00+00', 51);"
  plan "sort=email with a cursor: users_email_id" \
"PREPARE q4(text, text, bigint) AS SELECT $columns FROM users WHERE (email, id) > (\$1, \$2) ORDER BY email ASC, id ASC LIMIT \$3;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q4('user5@d5.example', '00000000000000000000000005', 51);"
  plan "email=User42@D42.example: the unique index on lower(email)" \
"PREPARE q5(text, bigint) AS SELECT $columns FROM users WHERE lower(email) = \$1 ORDER BY created_at ASC, id ASC LIMIT \$2;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q5('user42@d42.example', 51);"
  plan "include_total=true with status=disabled: the count reads every match (here from the index only)" \
"PREPARE q6(text) AS SELECT count(*) FROM users WHERE status = \$1;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q6('disabled');"
  plan "name_contains=abc&sort=name: a substring has no B-tree index; the scan follows users_name_id and filters" \
"PREPARE q7(text, bigint) AS SELECT $columns FROM users WHERE lower(name) LIKE lower(\$1) ESCAPE '\\' ORDER BY name ASC, id ASC LIMIT \$2;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q7('%abc%', 51);"
} > "$OUT"
psql -qX "$ADMIN_URL" -c "DROP DATABASE $DB"
echo "wrote $OUT"
