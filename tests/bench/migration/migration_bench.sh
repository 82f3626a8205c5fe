#!/usr/bin/env bash
# Live migration through NovaCron vs bare `virsh migrate --live --p2p`, same guest shape, same run:
# prints total time and downtime — libvirt's figure and the longest gap in the guest's ~10 ms serial
# ticker — (median and every round) for both, and their ratios. With --wan instead: the WAN profile
# (wan_profile.sh: a 100 Mbit/s tbf-shaped link, a memory-dirtying guest, compression None / XBZRLE
# / Zstd and post-copy side by side: total, downtime two ways, bytes on the wire).
#
#   tests/bench/migration/migration_bench.sh [BUILD_DIR] [ROUNDS]     (as root; default 5 rounds)
#   tests/bench/migration/migration_bench.sh --wan [BUILD_DIR]
#
# It runs the e2e test's setup (two-hosts harness, two node-daemons, controller, dev API server)
# and checks first, then the rounds. A benchmark, not a test: it asserts nothing about time.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
if [[ "${1:-}" == --wan ]]; then
  BENCH_WAN=1 exec "$ROOT/tests/e2e/migration/vmmigration_e2e_test.sh" "${2:-$ROOT/build}"
fi
BENCH_ROUNDS="${2:-5}" exec "$ROOT/tests/e2e/migration/vmmigration_e2e_test.sh" "${1:-$ROOT/build}"
