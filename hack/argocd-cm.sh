#!/usr/bin/env bash
# Prints the argocd-cm patch that installs NovaCron's Argo CD health checks
# (resource_customizations/novacron.io/<Kind>/health.lua) in Argo CD's per-resource key form:
#
#   hack/argocd-cm.sh > novacron-argocd-cm.yaml
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file novacron-argocd-cm.yaml
#
# docs/gitops.md explains it; tests/manifests/argocd_health_test.sh checks the output.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
echo "data:"
for dir in "$ROOT"/resource_customizations/novacron.io/*/; do
  kind=$(basename "$dir")
  echo "  resource.customizations.health.novacron.io_$kind: |"
  sed 's/^/    /; s/^ *$//' "$dir/health.lua"
done
