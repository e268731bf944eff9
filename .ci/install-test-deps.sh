#!/usr/bin/env bash
# Installs the Debian packages the test suites need (called from .ci/run; safe to run by hand).
# Idempotent: does nothing when everything is installed, runs `apt-get update` at most once.
# Quiet on success; on failure prints apt's output and exits non-zero.
#
#   python3-elasticsearch  the official client (7.17), used by testkit/tests/python_client.rs
#                          to cross-check the ES double; it imports under /usr/bin/python3.
#   python3-elasticsearch-curator  Curator 5.8, which tests/retention/curator.rs runs with the
#                          original's action file to cross-check `logship retention`. Debian
#                          ships no /usr/bin/curator: the test starts curator.cli:cli under
#                          /usr/bin/python3.
#   python3-msgpack        an independent msgpack decoder: tests/forward.rs decodes what the
#                          forward output sent with it.
#   python3-fluent-logger  a real fluent forward sender (fluent.sender), which tests/forward.rs
#                          points at the forward input.
#   openssl                the command line makes the throw-away CA and server certificate
#                          that tests/es_tls.rs and tests/kubelet_metrics.rs (the kubelet
#                          double) serve HTTPS with (testkit/src/tls.rs).
#   systemd-journal-remote systemd-journal-remote writes real journal files from the journal
#                          export format for tests/journald.rs.
#   systemd                journalctl, which the journald input runs and tests/journald.rs reads
#                          the journal files back with.
set -euo pipefail

PACKAGES=(python3-elasticsearch python3-elasticsearch-curator python3-msgpack python3-fluent-logger openssl systemd-journal-remote systemd)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get update -q >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-test-deps: apt-get update failed" >&2
    exit 1
  fi
  if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-test-deps: apt-get install ${missing[*]} failed" >&2
    exit 1
  fi
  echo "install-test-deps: installed ${missing[*]}"
fi

if ! /usr/bin/python3 -c "import elasticsearch" 2>/dev/null; then
  echo "install-test-deps: python3-elasticsearch is installed but /usr/bin/python3 cannot import elasticsearch" >&2
  exit 1
fi

if ! /usr/bin/python3 -c "import curator.cli" 2>/dev/null; then
  echo "install-test-deps: python3-elasticsearch-curator is installed but /usr/bin/python3 cannot import curator.cli" >&2
  exit 1
fi

for program in /usr/bin/journalctl /lib/systemd/systemd-journal-remote; do
  if [ ! -x "$program" ]; then
    echo "install-test-deps: $program is missing (packages systemd, systemd-journal-remote)" >&2
    exit 1
  fi
done

for module in msgpack fluent.sender; do
  if ! /usr/bin/python3 -c "import $module" 2>/dev/null; then
    echo "install-test-deps: /usr/bin/python3 cannot import $module (python3-msgpack, python3-fluent-logger)" >&2
    exit 1
  fi
done
