#!/usr/bin/env bash
# The API explorer in a real browser (`just explorer-check`): runs the server on a
# throw-away SQLite file, and headless Chromium (Debian's chromium and
# chromium-driver) loads /api-docs/, waits for Swagger UI to list createUser, checks
# the console for Content-Security-Policy refusals, and saves a screenshot to
# target/explorer.png (a CI artifact; docs/api-explorer.png is one such).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install chromium chromium-driver" >&2; exit 1; }
done
python3 -c 'import selenium' 2>/dev/null || { echo "selenium is missing: pip install selenium" >&2; exit 1; }

# shellcheck source=.ci/scratch-server.sh
source .ci/scratch-server.sh
start_roster
python3 .ci/explorer-check.py "$base" "$PWD/target/explorer.png"
