#!/usr/bin/env bash
# `kubectl auth can-i --as=system:serviceaccount:novacron-system:<sa>` (SelfSubjectAccessReview
# through impersonation) against config/rbac applied to the dev API server: for both service
# accounts, every verb on every resource NovaCron touches plus the ones it must never touch
# (namespaces, secrets, configmaps, serviceaccounts, RBAC itself), cluster-wide and in each Lease
# namespace, is allowed exactly when tests/manifests/manifests_test.sh's table grants it. The table
# is read from that file, so the manifests test (rendered YAML) and this test (a live API server's
# decisions) check the same promise.
#   tests/e2e/rbac/can_i_test.sh PATH/TO/novacron-dev-apiserver
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
# shellcheck source=rbac_cluster.sh
source "$HERE/rbac_cluster.sh"
WAIT_INTERVAL=0.1
export DEV_APISERVER="${1:?usage: $0 PATH/TO/novacron-dev-apiserver}"
for tool in kubectl etcd python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

RUN="$(mktemp -d /tmp/novacron-can-i.XXXXXX)"
cleanup() {
  local rc=$?
  if ((rc)); then
    tail -n 20 "$RUN/api/apiserver.log" 2>/dev/null || true
  fi
  stop_rbac_cluster
  rm -rf "$RUN"
  exit "$rc"
}
trap cleanup EXIT
start_rbac_cluster

# The table: "sa scope group resource verbs" lines between expected_rbac=' and the closing quote.
table="$(sed -n "/^expected_rbac='/,/^'/p" "$ROOT/tests/manifests/manifests_test.sh" | sed '1d;$d')"
[[ $(wc -l <<<"$table") -ge 10 ]] || die "could not read the RBAC table from manifests_test.sh"
declare -A granted
while read -r sa scope group resource verbs; do
  [[ -n "$sa" ]] || continue
  [[ "$group" == core ]] && group=""
  granted["$sa|$scope|$group|$resource"]="$verbs"
done <<<"$table"

# What each scope is checked for: group/resource pairs (core group written as "").
cluster_resources=(
  novacron.io/virtualmachines novacron.io/virtualmachines/status novacron.io/vmmigrations
  novacron.io/vmmigrations/status novacron.io/hypervisors novacron.io/hypervisors/status
  /events /namespaces /secrets /configmaps /serviceaccounts coordination.k8s.io/leases
  rbac.authorization.k8s.io/clusterroles rbac.authorization.k8s.io/rolebindings
)
verbs=(get list watch create update patch delete deletecollection)

# can_i SA SCOPE GROUP RESOURCE VERB: prints yes/no as kubectl does (its errors on stderr).
can_i() {
  local sa="$1" scope="$2" group="$3" resource="$4" verb="$5" res sub="" args=()
  res="${resource%%/*}"
  [[ "$resource" == */* ]] && sub="${resource#*/}"
  [[ -n "$group" ]] && res="$res.$group"
  [[ -n "$sub" ]] && args+=(--subresource="$sub")
  if [[ "$scope" == cluster ]]; then args+=(-A); else args+=(-n "$scope"); fi
  kubectl auth can-i "$verb" "$res" "${args[@]}" \
    --as="system:serviceaccount:novacron-system:$sa" || true
}
# check_one SA SCOPE GROUP RESOURCE VERB WANT: prints a FAIL line when kubectl disagrees.
check_one() {
  local got
  got="$(can_i "$1" "$2" "$3" "$4" "$5" 2>&1)"
  [[ "$got" == "$6" ]] || echo "FAIL: $1 $5 ${3:-core}/$4 ($2): kubectl says '$got', want '$6'"
}
export -f can_i check_one

# Every decision to check, one per line: SA SCOPE GROUP RESOURCE VERB WANT (GROUP "-" = core).
# Cluster-wide grants must also hold in a namespace (virtualmachines in "default").
decisions() {
  local sa gr verb want allowed scope group resource
  for sa in novacron-controller novacron-node-daemon; do
    for gr in "${cluster_resources[@]}" "lease:novacron-system" "lease:novacron-node-lease" \
      "lease:default" "vm:default"; do
      case "$gr" in
        lease:*) scope="${gr#lease:}" group=coordination.k8s.io resource=leases ;;
        vm:*) scope="${gr#vm:}" group=novacron.io resource=virtualmachines ;;
        *) scope=cluster group="${gr%%/*}" resource="${gr#*/}" ;;
      esac
      allowed=",${granted["$sa|$scope|$group|$resource"]:-},"
      [[ "$gr" == vm:* ]] && allowed=",${granted["$sa|cluster|$group|$resource"]:-},"
      for verb in "${verbs[@]}"; do
        want=no
        [[ "$allowed" == *",$verb,"* ]] && want=yes
        echo "$sa $scope ${group:--} $resource $verb $want"
      done
    done
  done
}
decisions >"$RUN/decisions"
checked="$(wc -l <"$RUN/decisions")"
# Four kubectl processes at a time: each decision is one SelfSubjectAccessReview.
# shellcheck disable=SC2016
xargs -P 4 -L 1 bash -c 'check_one "$1" "$2" "${3#-}" "$4" "$5" "$6"' _ <"$RUN/decisions" \
  >"$RUN/results" 2>&1
failures="$(grep -c '^FAIL' "$RUN/results" || true)"
cat "$RUN/results"

# The examples of the issue, spelled out.
spot() {  # WANT ARGS...
  local want="$1" got
  shift
  got="$(kubectl auth can-i "$@" 2>/dev/null || true)"
  checked=$((checked + 1))
  if [[ "$got" == "$want" ]]; then
    echo "PASS: can-i $* -> $want"
  else
    echo "FAIL: can-i $* -> '$got', want $want"
    failures=$((failures + 1))
  fi
}
ND=system:serviceaccount:novacron-system:novacron-node-daemon
CTL=system:serviceaccount:novacron-system:novacron-controller
spot yes update virtualmachines --subresource=status -A --as="$ND"
spot no update virtualmachines -A --as="$ND"
spot no create namespaces --as="$ND"
spot no get secrets -A --as="$ND"
spot no get secrets -n novacron-system --as="$ND"
spot no update leases -n novacron-system --as="$ND"
spot yes update leases -n novacron-node-lease --as="$ND"
spot no delete virtualmachines -A --as="$CTL"
spot yes update virtualmachines -A --as="$CTL"
spot no list configmaps -A --as="$CTL"
spot no update leases -n novacron-node-lease --as="$CTL"
# Not a service account of NovaCron: nothing beyond discovery and access reviews.
spot no get virtualmachines -A --as=system:serviceaccount:default:default
spot yes create selfsubjectaccessreviews.authorization.k8s.io --as=system:serviceaccount:default:default

# `kubectl auth can-i --list` (SelfSubjectRulesReview) shows the heartbeat Role in its namespace
# and nothing of it elsewhere.
leases_line() {
  kubectl auth can-i --list -n "$1" --as="$ND" 2>/dev/null | grep '^leases.coordination.k8s.io ' || true
}
line="$(leases_line novacron-node-lease)"
checked=$((checked + 2))
if [[ "$line" == *create* && "$line" == *get* && "$line" == *update* && "$line" != *delete* ]]; then
  echo "PASS: can-i --list -n novacron-node-lease: $line"
else
  echo "FAIL: can-i --list -n novacron-node-lease shows '$line'"
  failures=$((failures + 1))
fi
if [[ -z "$(leases_line novacron-system)" ]]; then
  echo "PASS: can-i --list -n novacron-system shows no Lease rule"
else
  echo "FAIL: can-i --list -n novacron-system shows '$(leases_line novacron-system)'"
  failures=$((failures + 1))
fi

echo "can_i: $checked decisions checked, $failures wrong"
((failures == 0))
