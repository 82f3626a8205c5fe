#!/usr/bin/env bash
# Checks charts/novacron (docs/install.md):
#  - always (no Helm needed): the generated parts are current (hack/gen-chart.py --check: RBAC
#    rules from config/rbac, CRDs from crds/, dashboard and alerts from config/monitoring);
#    Chart.yaml, values.schema.json (valid, accepts values.yaml, rejects bad values), template
#    references (tests/manifests/chart_check.py static); the controller accepts the configuration
#    the chart renders from its default values;
#  - config/overlays/dev renders (kubectl kustomize);
#  - when `helm` is on PATH: helm lint --strict, helm template with default and with optional
#    features, and the rendered RBAC equal rule-for-rule to config/rbac, labels, restricted
#    controller pods, kept CRDs, the test hook. Without helm that part prints SKIPPED.
# Usage: chart_test.sh [path to novacron-controller]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART="$ROOT/charts/novacron"
controller="${1:-}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$ROOT/hack/gen-chart.py" --check 2>&1) || fail "$out"
out=$(python3 "$ROOT/tests/manifests/chart_check.py" static 2>&1) || fail "chart_check static: $out"

if [[ -n "$controller" ]]; then
  python3 "$ROOT/tests/manifests/chart_check.py" config "$tmp/controller.yaml" ||
    fail "could not build the chart's controller.yaml"
  grep -q "leaseName: novacron-controller" "$tmp/controller.yaml" ||
    fail "chart's controller.yaml lacks the lease name: $(cat "$tmp/controller.yaml")"
  out=$("$controller" --config "$tmp/controller.yaml" --kubeconfig /nonexistent/kubeconfig 2>&1)
  if ! grep -q "kubeconfig" <<<"$out" || grep -q "invalid controller configuration" <<<"$out"; then
    fail "controller refused the chart's default configuration: $out"
  fi
fi

# The kustomize overlay for the demo/dev cluster renders and says what it promises.
if dev=$(kubectl kustomize "$ROOT/config/overlays/dev" 2>&1); then
  for want in "replicas: 1" "image: novacron/controller:dev" "image: novacron/node-daemon:dev" \
    "- --domain-type=qemu" "kind: DaemonSet" "kind: CustomResourceDefinition"; do
    grep -qF -- "$want" <<<"$dev" || fail "config/overlays/dev renders without '$want'"
  done
else
  fail "kubectl kustomize config/overlays/dev: $dev"
fi

if command -v helm >/dev/null 2>&1; then
  helm lint --strict "$CHART" >"$tmp/lint.log" 2>&1 || fail "helm lint: $(cat "$tmp/lint.log")"
  if helm template novacron "$CHART" -n novacron-system --set namespace.create=true \
    >"$tmp/default.yaml" 2>"$tmp/template.log"; then
    kubectl kustomize "$ROOT/config/default" >"$tmp/kustomized.yaml" ||
      fail "kubectl kustomize config/default failed"
    out=$(python3 "$ROOT/tests/manifests/chart_check.py" rendered "$tmp/default.yaml" \
      "$tmp/kustomized.yaml" 2>&1) || fail "rendered chart: $out"
  else
    fail "helm template (defaults): $(cat "$tmp/template.log")"
  fi
  helm template novacron "$CHART" -n novacron-system \
    --set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true \
    --set metrics.grafanaDashboard.enabled=true --set nodeDaemon.libvirtSidecar.enabled=false \
    --set crds.keep=false >"$tmp/features.yaml" 2>"$tmp/template.log" ||
    fail "helm template (optional features): $(cat "$tmp/template.log")"
  for kind in ServiceMonitor PrometheusRule; do
    grep -q "^kind: $kind$" "$tmp/features.yaml" || fail "metrics.* enabled but no $kind rendered"
  done
  grep -q "novacron-dashboard.json" "$tmp/features.yaml" || fail "no dashboard ConfigMap rendered"
  grep -q "helm.sh/resource-policy" "$tmp/features.yaml" && fail "crds.keep=false still keeps CRDs"
  helm template novacron "$CHART" --set crds.enabled=false >"$tmp/nocrds.yaml" 2>&1 ||
    fail "helm template (crds.enabled=false): $(cat "$tmp/nocrds.yaml")"
  grep -q "^kind: CustomResourceDefinition" "$tmp/nocrds.yaml" && fail "crds.enabled=false renders CRDs"
  if helm template novacron "$CHART" --set controller.config.scheduler.policy=Packed \
    >/dev/null 2>&1; then
    fail "helm template accepted scheduler.policy=Packed (values.schema.json not applied)"
  fi
else
  echo "SKIPPED: helm lint / helm template: helm is not on PATH (the checks above need no helm)"
fi

if ((failures)); then
  echo "chart_test: $failures failure(s)"
  exit 1
fi
echo "chart_test: ok"
