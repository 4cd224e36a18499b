#!/usr/bin/env bash
# The Prometheus alert rules (`just alerts-check`): promtool checks their syntax, then
# runs their unit tests (deploy/observability/alerts.test.yml), which fire and silence
# each alert on synthetic series.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../deploy/observability"
command -v promtool >/dev/null || { echo "promtool is missing: apt-get install prometheus" >&2; exit 1; }
promtool check rules alerts.yml
promtool test rules alerts.test.yml
