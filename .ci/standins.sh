# Sourced by the scripts that run podman (`.ci/image.sh`, `.ci/bare-machine.sh`). On the
# project's machines (no registry), the base images are local stand-ins built by
# ../shared/container/make-standins.sh; elsewhere podman pulls the real ones. Sets
# PODMAN_BUILD_ARGS for `podman build`.
standins=../shared/container
PODMAN_BUILD_ARGS=()
if [ -f "$standins/make-standins.sh" ]; then
  # The stand-in builds are offline: the crates of the build tools the Dockerfile
  # installs (pinned there) reach them only from this machine's cargo cache. Installing
  # the same versions here fills it (cargo skips a version already installed); an
  # offline `cargo install --locked` also resolves the tool's dev-dependencies, which
  # only a `cargo fetch` in its own source brings.
  for tool in CHEF AUDITABLE; do
    version=$(sed -n "s/^ARG CARGO_${tool}_VERSION=//p" Dockerfile)
    crate=cargo-$(echo "$tool" | tr '[:upper:]' '[:lower:]')
    cargo install --locked --quiet "$crate@$version"
    archive=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$crate-$version.crate" | head -n 1)
    unpacked=$(mktemp -d)
    tar -xzf "$archive" -C "$unpacked"
    (cd "$unpacked/$crate-$version" && cargo fetch --locked --quiet)
    rm -rf "$unpacked"
  done
  # Skips whatever is up to date; rebuilds the crate layer when Cargo.lock changed.
  bash "$standins/make-standins.sh" . >/tmp/roster-standins.log 2>&1 \
    || { tail -n 40 /tmp/roster-standins.log; exit 1; }
  # shellcheck disable=SC1091
  source "$standins/podman-env.sh"
  PODMAN_BUILD_ARGS=(--pull=never --isolation=chroot --network=host)
fi
