#!/usr/bin/env bash
# The newcomer's main command: installs dependencies, builds NovaCron and runs the local demo.
# (Issue "local demo" turns this into a full etcd + API server + controller + node-daemon + real VM
# demo; until then it builds everything and lists what exists.)
set -euo pipefail
cd "$(dirname "$0")/.."
hack/install-deps.sh
hack/build.sh
echo
echo "demo: built. Binaries:"
find "${BUILD_DIR:-build}" -maxdepth 3 -type f -perm -u+x -name 'novacron-*' -printf '  %p\n' | sort
echo "demo: the end-to-end demo with a real VM is not implemented yet (see docs/architecture.md)."
