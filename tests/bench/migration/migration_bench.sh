#!/usr/bin/env bash
# Live migration through NovaCron vs bare `virsh migrate --live --p2p`, same guest shape, same run:
# prints total time and downtime (median and every round) for both, and their ratios.
#
#   tests/bench/migration/migration_bench.sh [BUILD_DIR] [ROUNDS]     (as root; default 5 rounds)
#
# It runs the e2e test's setup (two-hosts harness, two node-daemons, controller, dev API server)
# and checks first, then the rounds. A benchmark, not a test: it asserts nothing about time.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
BENCH_ROUNDS="${2:-5}" exec "$ROOT/tests/e2e/migration/vmmigration_e2e_test.sh" "${1:-$ROOT/build}"
