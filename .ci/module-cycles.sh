#!/usr/bin/env bash
# No module cycles in any crate (`just modules`): cargo-modules draws each crate's
# item graph, .ci/module-cycles.py folds it onto modules and looks for a cycle.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! cargo modules --version >/dev/null 2>&1; then
  # 0.27 is the last release that builds with Rust 1.95; it compiles rust-analyzer's
  # crates (about 15 minutes on 2 cores), once per machine.
  cargo install --locked --quiet cargo-modules@0.27.0
fi
for crate in crates/*/; do
  package=$(sed -n 's/^name = "\(.*\)"/\1/p' "$crate/Cargo.toml" | head -n 1)
  if [ -f "$crate/src/lib.rs" ]; then
    python3 .ci/module-cycles.py "$package" --lib
  fi
  if [ -f "$crate/src/main.rs" ]; then
    python3 .ci/module-cycles.py "$package" --bin roster
  fi
done
