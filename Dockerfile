# Placeholder: the multi-stage image (pinned bases, non-root runtime, HEALTHCHECK via
# `roster healthcheck`) comes with the delivery work.
FROM docker.io/library/rust:1.95-slim-bookworm
WORKDIR /src
COPY . .
RUN cargo build --release -p roster-server
ENTRYPOINT ["/src/target/release/roster"]
CMD ["serve"]
