#!/usr/bin/env bash
# The newcomer's test command: installs dependencies, builds everything, runs the test suite.
#
#   hack/test.sh                 default suite (unit + integration + e2e; excludes soak)
#   hack/test.sh --soak          also the long soak/scale runs (label "soak")
#   hack/test.sh --unit          unit tests only
#   hack/test.sh -- <ctest args> extra arguments passed to ctest (e.g. -R core_)
# Environment: BUILD_DIR (default build), NOVACRON_SANITIZE=1 for an ASan/UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."

label_args=(-LE soak)
extra=()
while (($#)); do
  case "$1" in
    --soak) label_args=() ;;
    --unit) label_args=(-L unit) ;;
    --) shift; extra=("$@"); break ;;
    *) echo "test.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

hack/install-deps.sh
hack/build.sh

cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j2 "${label_args[@]}" "${extra[@]}"
