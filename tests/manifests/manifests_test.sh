#!/usr/bin/env bash
# Checks the deployable manifests without a cluster:
#  - config/crd/ holds exact copies of crds/ (run hack/sync-crds.sh after editing crds/);
#  - `kubectl kustomize config/default` renders every object NovaCron needs;
#  - the controller accepts the configuration shipped in its ConfigMap (and refuses a bad one).
# Usage: manifests_test.sh [path to novacron-controller]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
controller="${1:-}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for f in "$ROOT"/crds/*.yaml; do
  copy="$ROOT/config/crd/$(basename "$f")"
  if ! cmp -s "$f" "$copy"; then
    fail "$copy differs from $f (run hack/sync-crds.sh)"
  fi
done

rendered=$(kubectl kustomize "$ROOT/config/default" 2>&1) || fail "kubectl kustomize failed: $rendered"
for want in "Namespace novacron-system" "CustomResourceDefinition virtualmachines.novacron.io" \
  "CustomResourceDefinition vmmigrations.novacron.io" "CustomResourceDefinition hypervisors.novacron.io" \
  "ClusterRole novacron-controller" "ClusterRole novacron-node-daemon" \
  "Deployment novacron-controller" "DaemonSet novacron-node-daemon" \
  "ConfigMap novacron-controller"; do
  kind=${want%% *}
  name=${want#* }
  # metadata.name is the first two-space-indented "name:" after the kind line.
  if ! awk -v k="kind: $kind" -v n="  name: $name" '$0==k{s=1;next} s&&/^  name: /{if($0==n){f=1};s=0} END{exit !f}' <<<"$rendered"; then
    fail "rendered config/default lacks $kind $name"
  fi
done

# The node-daemon DaemonSet is privileged: keep what it gets to the minimum (docs/security.md).
daemonset=$(awk '/^---$/{if(ds){exit} buf=""; next} /^kind: DaemonSet$/{ds=1} {buf=buf $0 "\n"}
                 END{if(ds){printf "%s", buf}}' <<<"$rendered")
[[ -n "$daemonset" ]] || fail "no DaemonSet in the rendered config"
grep -q "mountPropagation" <<<"$daemonset" && fail "node-daemon mounts with mountPropagation (not needed)"
grep -q "type: RuntimeDefault" <<<"$daemonset" || fail "node-daemon has no RuntimeDefault seccomp profile"
grep -q -- "--metrics-address=\$(POD_IP)" <<<"$daemonset" ||
  fail "node-daemon metrics are not bound to the pod IP"
for want in "limits:" "memory: 512Mi" "requests:"; do
  grep -q "$want" <<<"$daemonset" || fail "node-daemon DaemonSet lacks resources ($want)"
done

if [[ -n "$controller" ]]; then
  cfg=$(mktemp)
  # The controller.yaml key of the ConfigMap, as the Deployment mounts it.
  kubectl kustomize "$ROOT/config/default" |
    awk '/^---$/{if(cm){exit} buf=""; next}
         /^kind: ConfigMap$/{cm=1}
         {buf=buf $0 "\n"}
         END{if(cm){printf "%s", buf}}' |
    awk '/^  controller.yaml: \|/{p=1;next} p&&!/^    /{p=0} p{sub(/^    /,"");print}' >"$cfg"
  # An empty extraction would be parsed as all defaults and prove nothing.
  grep -q "policy: Spread" "$cfg" || fail "could not extract controller.yaml from the ConfigMap"
  grep -q "maxParallel:" "$cfg" || fail "the shipped controller.yaml lacks migrations.maxParallel"
  out=$("$controller" --config "$cfg" --kubeconfig /nonexistent/kubeconfig 2>&1)
  if ! grep -q "kubeconfig" <<<"$out" || grep -q "invalid controller configuration" <<<"$out"; then
    fail "controller refused the shipped configuration: $out"
  fi
  printf 'scheduler:\n  policy: Packed\n' >"$cfg"
  out=$("$controller" --config "$cfg" --kubeconfig /nonexistent/kubeconfig 2>&1)
  grep -q "scheduler.policy" <<<"$out" || fail "controller accepted a bad policy: $out"
  rm -f "$cfg"
fi

if ((failures)); then
  echo "manifests_test: $failures failure(s)"
  exit 1
fi
echo "manifests_test: ok"
