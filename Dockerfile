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

# --- journalctl --------------------------------------------------------------------------------
# The journald input runs journalctl (docs/journald.md). It and the shared libraries it loads
# come from Debian's systemd package of the runtime base's release (bookworm), so they were
# built against the glibc the image has; glibc itself (package libc6) is the base's and is not
# copied. Each library keeps its soname under its real directory (/usr/lib/...: journalctl's
# RUNPATH for libsystemd-shared).
FROM debian:bookworm-slim AS journalctl
RUN apt-get update \
    && apt-get install -y --no-install-recommends systemd \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /out/usr/bin \
    && cp /usr/bin/journalctl /out/usr/bin/journalctl \
    && ldd /usr/bin/journalctl | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r lib; do \
         real="$(realpath "$lib")"; \
         case "$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || true)" in libc6:*) continue ;; esac; \
         mkdir -p "/out$(dirname "$real")"; \
         cp -L "$lib" "/out$(dirname "$real")/$(basename "$lib")"; \
       done

# --- runtime -----------------------------------------------------------------------------------
# glibc, libgcc and CA certificates, no shell, no package manager; journalctl for the journald
# input.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/logship /usr/local/bin/logship
COPY --from=journalctl /out/ /
# Fails the build if journalctl cannot load its libraries (exec form: there is no shell).
RUN ["/usr/bin/journalctl", "--version"]
# distroless's "nonroot" user, numeric so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
# /metrics, /healthz, /readyz (LOGSHIP_HTTP_ADDR).
EXPOSE 2020
ENTRYPOINT ["/usr/local/bin/logship"]
CMD ["run"]
