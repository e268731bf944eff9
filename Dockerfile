# syntax=docker/dockerfile:1
# The logship image: the agent binary on a distroless base, running as non-root by default.
#
#   docker build -t registry.example.com/logship:0.1.0 .
#
# The DaemonSet (deploy/daemonset.yaml) overrides the user with uid 0, because container logs
# are root-owned 0640 files; everything else (check-config, the retention job) runs as the
# image's non-root user.

# --- build -------------------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
# The whole workspace: cargo needs every member's manifest to resolve it, and --locked builds
# exactly the versions in Cargo.lock.
COPY . .
# The cache mounts keep the registry and the target directory between builds (BuildKit); the
# binary is copied out of the cached target/ in the same step. Debug info is stripped (the
# release profile keeps line tables for profiling), symbol names stay for backtraces.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p logship \
    && objcopy --strip-debug target/release/logship /usr/local/bin/logship

# --- runtime -----------------------------------------------------------------------------------
# glibc, libgcc and CA certificates, no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/logship /usr/local/bin/logship
# distroless's "nonroot" user, numeric so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
# /metrics, /healthz, /readyz (LOGSHIP_HTTP_ADDR).
EXPOSE 2020
ENTRYPOINT ["/usr/local/bin/logship"]
CMD ["run"]
