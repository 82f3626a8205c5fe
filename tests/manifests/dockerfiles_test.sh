#!/usr/bin/env bash
# Checks images/*/Dockerfile without a Docker engine (tests/manifests/dockerfile_check.py):
#  - every stage is Debian 12; controller and node-daemon images are multi-stage;
#  - each `COPY --from=build` copies a binary the build produces (the CMake target files passed
#    as arguments) and the build stage builds that target;
#  - every package installed exists in Debian 12 (apt-cache, offline); the build stage installs
#    every -dev package hack/install-deps.sh does; the runtime stage provides every shared
#    library the built binary links (ldd -> dpkg -S, against apt's dependency closure).
# Usage: dockerfiles_test.sh BUILD_DIR TARGET_FILE...
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
(($# >= 2)) || { echo "usage: $0 BUILD_DIR TARGET_FILE..." >&2; exit 2; }
command -v apt-cache >/dev/null || { echo "SKIPPED: apt-cache not found (not a Debian machine)"; exit 77; }
if ! apt-cache show libc6 >/dev/null 2>&1; then
  echo "SKIPPED: apt-cache has no package lists (run apt-get update)"
  exit 77
fi
if out=$(python3 "$ROOT/tests/manifests/dockerfile_check.py" "$ROOT" "$@" 2>&1); then
  echo "$out"
  echo "dockerfiles_test: ok"
else
  echo "$out"
  echo "dockerfiles_test: FAILED"
  exit 1
fi
