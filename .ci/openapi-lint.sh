#!/usr/bin/env bash
# Redocly's recommended ruleset on docs/openapi.json (`just openapi-lint`), which a test
# keeps equal to the served description. Warnings fail too: the ruleset must report
# nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
output=$(npx --yes @redocly/cli@2.77.0 lint docs/openapi.json --format=stylish 2>&1) || {
  echo "$output" >&2
  exit 1
}
if grep -qE '(error|warning) ' <<<"$output"; then
  echo "$output" >&2
  exit 1
fi
grep -E 'validated|valid' <<<"$output"
