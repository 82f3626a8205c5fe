#!/usr/bin/env bash
# Configures and builds into BUILD_DIR (default build/): the whole tree, or only the targets given
# as arguments (hack/build.sh novacron-controller). Assumes dependencies are installed
# (hack/install-deps.sh). NOVACRON_SANITIZE=1 builds with ASan/UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
sanitize=OFF
[[ "${NOVACRON_SANITIZE:-0}" == 1 ]] && sanitize=ON
generator=()
if command -v ninja >/dev/null 2>&1 && [[ ! -f "$build_dir/Makefile" ]]; then
  generator=(-G Ninja)
fi
cmake -S . -B "$build_dir" "${generator[@]}" -DNOVACRON_SANITIZE="$sanitize" >/dev/null
targets=()
for t in "$@"; do
  targets+=(--target "$t")
done
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
