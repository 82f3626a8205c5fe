#!/usr/bin/env bash
# Copies crds/*.yaml (the single source of the CRDs) into config/crd/, because kustomize refuses
# files outside its root (symlinks included). The manifests test fails when the copies drift.
set -euo pipefail
cd "$(dirname "$0")/.."
cp -f crds/novacron.io_*.yaml config/crd/
echo "sync-crds: config/crd/ updated from crds/"
