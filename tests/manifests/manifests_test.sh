#!/usr/bin/env bash
# Checks the deployable manifests without a cluster:
#  - config/crd/ holds exact copies of crds/ (run hack/sync-crds.sh after editing crds/);
#  - `kubectl kustomize config/default` renders every object NovaCron needs;
#  - RBAC: each service account gets exactly the verbs of the table below (what its code uses,
#    docs/security.md), no wildcard, no secrets, no namespaces, and heartbeat Leases and the
#    controller's leader Lease are in different namespaces (as the code says they are);
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
for want in "Namespace novacron-system" "Namespace novacron-node-lease" \
  "CustomResourceDefinition virtualmachines.novacron.io" \
  "CustomResourceDefinition vmmigrations.novacron.io" "CustomResourceDefinition hypervisors.novacron.io" \
  "ClusterRole novacron-controller" "ClusterRole novacron-node-daemon" \
  "Role novacron-controller-leader-election" "Role novacron-controller-heartbeat-reader" \
  "Role novacron-node-daemon-heartbeat" \
  "Deployment novacron-controller" "DaemonSet novacron-node-daemon" \
  "ConfigMap novacron-controller"; do
  kind=${want%% *}
  name=${want#* }
  # metadata.name is the first two-space-indented "name:" after the kind line.
  if ! awk -v k="kind: $kind" -v n="  name: $name" '$0==k{s=1;next} s&&/^  name: /{if($0==n){f=1};s=0} END{exit !f}' <<<"$rendered"; then
    fail "rendered config/default lacks $kind $name"
  fi
done

# RBAC, exactly. One line per service account, scope (cluster or a namespace), API group, resource:
# the verbs it must have, no more, no less. Change it only together with the code that needs it.
expected_rbac='
novacron-controller   cluster              novacron.io          virtualmachines         get,list,patch,update,watch
novacron-controller   cluster              novacron.io          virtualmachines/status  update
novacron-controller   cluster              novacron.io          vmmigrations            create,delete,list,patch,update,watch
novacron-controller   cluster              novacron.io          vmmigrations/status     update
novacron-controller   cluster              novacron.io          hypervisors             get,list,update,watch
novacron-controller   cluster              novacron.io          hypervisors/status      patch,update
novacron-controller   cluster              core                 events                  create,patch
novacron-controller   novacron-system      coordination.k8s.io  leases                  create,get,update
novacron-controller   novacron-node-lease  coordination.k8s.io  leases                  list,watch
novacron-node-daemon  cluster              novacron.io          virtualmachines         get,list,patch,watch
novacron-node-daemon  cluster              novacron.io          virtualmachines/status  update
novacron-node-daemon  cluster              novacron.io          vmmigrations            list,watch
novacron-node-daemon  cluster              novacron.io          vmmigrations/status     update
novacron-node-daemon  cluster              novacron.io          hypervisors             create,get
novacron-node-daemon  cluster              novacron.io          hypervisors/status      update
novacron-node-daemon  cluster              core                 events                  create,patch
novacron-node-daemon  novacron-node-lease  coordination.k8s.io  leases                  create,get,update
'
# Where the code puts the Leases: heartbeats (lib/api/node_lease.h) and the leader Lease (the
# controller's default leaderElection.namespace, controller/config/config.h).
heartbeat_ns=$(sed -n 's/.*kNodeLeaseNamespace = "\([^"]*\)".*/\1/p' "$ROOT/lib/api/node_lease.h")
leader_ns=$(sed -n 's/.*std::string namespace_ = "\([^"]*\)".*/\1/p' "$ROOT/controller/config/config.h")
rendered_file=$(mktemp)
printf '%s\n' "$rendered" >"$rendered_file"
rbac_out=$(python3 - "$rendered_file" "$heartbeat_ns" "$leader_ns" "$expected_rbac" 2>&1 <<'PY'
import sys
import yaml

path, heartbeat_ns, leader_ns, table = sys.argv[1:5]
with open(path) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
problems = []
roles = {}  # (kind, namespace or "", name) -> rules
for d in docs:
    if d["kind"] in ("ClusterRole", "Role"):
        ns = d["metadata"].get("namespace", "") if d["kind"] == "Role" else ""
        roles[(d["kind"], ns, d["metadata"]["name"])] = d.get("rules") or []
# (service account, scope, group, resource) -> verbs, through every binding.
granted = {}
for d in docs:
    if d["kind"] not in ("ClusterRoleBinding", "RoleBinding"):
        continue
    scope = "cluster" if d["kind"] == "ClusterRoleBinding" else d["metadata"]["namespace"]
    ref = d["roleRef"]
    key = (ref["kind"], "" if ref["kind"] == "ClusterRole" else scope, ref["name"])
    if key not in roles:
        problems.append(f"{d['kind']} {d['metadata']['name']} refers to missing {key}")
        continue
    for subject in d.get("subjects") or []:
        if subject.get("kind") != "ServiceAccount" or subject.get("namespace") != "novacron-system":
            problems.append(f"{d['metadata']['name']}: unexpected subject {subject}")
            continue
        for rule in roles[key]:
            if "nonResourceURLs" in rule or "resourceNames" in rule:
                problems.append(f"{key[2]}: nonResourceURLs/resourceNames are not in the table")
            for field in ("apiGroups", "resources", "verbs"):
                if "*" in (rule.get(field) or []):
                    problems.append(f"{key[2]}: wildcard in {field}")
            for group in rule.get("apiGroups") or []:
                for resource in rule.get("resources") or []:
                    if resource == "secrets":
                        problems.append(f"{subject['name']} may access secrets")
                    if resource == "namespaces":
                        problems.append(f"{subject['name']} may {rule.get('verbs')} namespaces")
                    k = (subject["name"], scope, group or "core", resource)
                    granted.setdefault(k, set()).update(rule.get("verbs") or [])
expected = {}
for line in table.strip().splitlines():
    sa, scope, group, resource, verbs = line.split()
    expected[(sa, scope, group, resource)] = set(verbs.split(","))
for k in sorted(set(granted) | set(expected)):
    have, want = granted.get(k, set()), expected.get(k, set())
    if have - want:
        problems.append(f"{' '.join(k)}: extra verbs {sorted(have - want)}")
    if want - have:
        problems.append(f"{' '.join(k)}: missing verbs {sorted(want - have)}")
# The lease separation: heartbeats and the leader Lease in different namespaces, and each
# service account's Lease rights exactly where the code uses them.
if not heartbeat_ns or not leader_ns or heartbeat_ns == leader_ns:
    problems.append(f"heartbeat namespace {heartbeat_ns!r} must differ from leader {leader_ns!r}")
for (sa, scope, group, resource), verbs in granted.items():
    if resource != "leases":
        continue
    if scope == "cluster":
        problems.append(f"{sa} gets leases cluster-wide")
    if sa == "novacron-node-daemon" and scope != heartbeat_ns:
        problems.append(f"novacron-node-daemon may touch Leases in {scope}")
    if sa == "novacron-controller" and scope == heartbeat_ns and verbs - {"get", "list", "watch"}:
        problems.append(f"novacron-controller may write heartbeat Leases: {sorted(verbs)}")
for want_ns in (heartbeat_ns, leader_ns):
    if not any(d["kind"] == "Namespace" and d["metadata"]["name"] == want_ns for d in docs):
        problems.append(f"no Namespace {want_ns} in config/default")
print("\n".join(problems))
PY
) || fail "RBAC check did not run: $rbac_out"
while IFS= read -r problem; do
  [[ -n "$problem" ]] && fail "RBAC: $problem"
done <<<"$rbac_out"
rm -f "$rendered_file"

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
