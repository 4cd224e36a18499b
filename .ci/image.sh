#!/usr/bin/env bash
# Builds the image from the unmodified Dockerfile with podman: `just image`.
# On the project's machines (no registry), the base images are local stand-ins built
# by ../shared/container/make-standins.sh; elsewhere podman pulls the real ones.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TAG=${IMAGE_TAG:-roster:dev}
standins=../shared/container

args=(--format docker --tag "$TAG"
      --build-arg "VERSION=$(git describe --tags --always 2>/dev/null || echo dev)"
      --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)")

if [ -x "$standins/make-standins.sh" ] || [ -f "$standins/make-standins.sh" ]; then
  # Skips whatever is up to date; rebuilds the crate layer when Cargo.lock changed.
  bash "$standins/make-standins.sh" . >/tmp/roster-standins.log 2>&1 \
    || { tail -n 40 /tmp/roster-standins.log; exit 1; }
  # shellcheck disable=SC1091
  source "$standins/podman-env.sh"
  args+=(--pull=never --isolation=chroot --network=host)
fi

start=$SECONDS
podman build "${args[@]}" .
echo "built $TAG in $((SECONDS - start))s: $(podman image inspect "$TAG" --format '{{.Size}}' | numfmt --to=iec) uncompressed"
