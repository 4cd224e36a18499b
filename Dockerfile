# Roster's container image.
#
#   podman build --format docker -t roster .      (or: docker build -t roster .)
#
# Base images are pinned by tag: Rust 1.95 on Debian 12 "bookworm" for the build, and
# distroless `cc-debian12:nonroot` to run. Pin them by digest as well where your
# registry is reachable (`crane digest IMAGE:TAG`, then `FROM IMAGE:TAG@sha256:...`)
# and let Renovate or Dependabot bump both together; our build machines cannot reach a
# registry, so the digests are not recorded here. Keep both stages on bookworm: a
# trixie build (the unpinned `rust:1`) links against a newer glibc than distroless
# debian12 has.

ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# --- chef: the toolchain, the C build tools and cargo-chef ---------------------------
FROM ${RUST_IMAGE} AS chef
# pkg-config and OpenSSL headers: libpq is built from source (feature bundled-libpq)
# and links the system libssl3, which the distroless runtime also ships.
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config=1.8.* libssl-dev=3.0.* \
    && rm -rf /var/lib/apt/lists/*
# The build tools, pinned (bump them on purpose, as the base images): cargo-chef caches
# the dependency layer; cargo-auditable embeds the crate list (names, versions, sources)
# in the binary's `.dep-v0` section, which container scanners (Trivy, Grype, Syft)
# and `cargo audit bin` read, so scanning the image sees the Rust dependencies.
ARG CARGO_CHEF_VERSION=0.1.78
ARG CARGO_AUDITABLE_VERSION=0.7.7
RUN cargo install --locked "cargo-chef@${CARGO_CHEF_VERSION}" "cargo-auditable@${CARGO_AUDITABLE_VERSION}"
WORKDIR /src

# --- planner: the dependency recipe, which changes only when manifests do -------------
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# --- builder: dependencies first (a cached layer), then Roster itself -----------------
FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo chef cook --release --locked --package roster-server --features bundled-libpq \
    --recipe-path recipe.json
COPY . .
# `roster --version` names this commit (the build context has no .git).
ARG REVISION=unknown
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    ROSTER_GIT_COMMIT="${REVISION}" \
    cargo auditable build --release --locked --package roster-server --features bundled-libpq \
    && install -D --mode 0755 target/release/roster /out/usr/local/bin/roster \
    && install -d --mode 0750 /out/var/lib/roster

# --- runtime --------------------------------------------------------------------------
# Distroless `cc` rather than debian-slim: glibc, libgcc, libssl3 and CA certificates,
# with no shell or package manager (nothing for an intruder to use, little to patch),
# about a third of debian-slim's size, and a built-in non-root user (65532).
FROM ${RUNTIME_IMAGE}

ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://gitlab.com/roster/roster
LABEL org.opencontainers.image.title="roster" \
      org.opencontainers.image.description="Roster: a user-management REST service" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"

COPY --from=builder /out/usr/local/bin/roster /usr/local/bin/roster
COPY --from=builder --chown=65532:65532 /out/var/lib/roster /var/lib/roster

# Listen on every interface; keep the embedded SQLite database on the data volume.
# The default is DATABASE_URL, the conventional variable that every deployment sets
# for PostgreSQL; ROSTER__DATABASE__URL would win over it, so the image never sets that.
ENV ROSTER__SERVER__HOST=0.0.0.0 \
    ROSTER__SERVER__PORT=8080 \
    ROSTER__LOG__FORMAT=json \
    DATABASE_URL=sqlite:///var/lib/roster/roster.db
VOLUME ["/var/lib/roster"]
WORKDIR /var/lib/roster
USER 65532:65532
EXPOSE 8080

# The image has no curl: the binary probes its own /health.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["roster", "healthcheck"]

ENTRYPOINT ["roster"]
CMD ["serve"]
