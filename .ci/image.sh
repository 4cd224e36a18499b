#!/usr/bin/env bash
# Builds the image from the unmodified Dockerfile with podman: `just image`.
# On the project's machines (no registry), the base images are local stand-ins built
# by ../shared/container/make-standins.sh; elsewhere podman pulls the real ones.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TAG=${IMAGE_TAG:-roster:dev}

args=(--format docker --tag "$TAG"
      --build-arg "VERSION=$(git describe --tags --always 2>/dev/null || echo dev)"
      --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)")

# shellcheck source=.ci/standins.sh
source .ci/standins.sh
args+=("${PODMAN_BUILD_ARGS[@]}")

start=$SECONDS
podman build "${args[@]}" .
echo "built $TAG in $((SECONDS - start))s: $(podman image inspect "$TAG" --format '{{.Size}}' | numfmt --to=iec) uncompressed"
