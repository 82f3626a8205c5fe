#!/usr/bin/env bash
# VMMigration with non-shared storage on two real hypervisors (docs/migration.md, "copyStorage"
# and "Cold"): the two-hosts harness gives hosts A and B; each node-daemon has its OWN VM root and
# image store (different paths, so the domain XML is rewritten for the target), both holding the
# same named images. The tiny TCG guest has a qcow2 overlay disk over a named base image.
#   1. Live A -> B with copyStorage Auto: the target prepares (TargetPrepared), only the overlay
#      crosses the wire; the VM ends bound to B, Running, the ticker goes on, the overlay is on B
#      over B's base image, and A holds no files of the VM.
#   2. Live B -> A slowed to 1 MiB/s with copyStorage Always, cancelled mid-transfer: Cancelled,
#      the guest keeps running on B, and A removed what it prepared (no folder left).
#   3. Cold B -> A: graceful shutdown, overlay copied over libvirt, defined and started on A; the
#      VM ends bound to A and Running, B holds no domain and no files.
#
#   tests/e2e/migration/vmmigration_storage_e2e_test.sh BUILD_DIR   (as root; exit 77 = skipped)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
HARNESS="$ROOT/tests/e2e/harness/two_hosts.sh"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=vmmigration_storage_e2e
WAIT_INTERVAL=0.5
NS=default
VM=mig-disk
MIG=mig-disk-copy

skip() {
  echo "SKIP: $*"
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "needs root (network and mount namespaces, libvirtd)"
for tool in qemu-img qemu-system-x86_64 libvirtd virtlogd virsh ip nsenter unshare setsid flock python3 \
  etcd kubectl curl; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (hack/install-deps.sh)"
done
CONTROLLER="$BUILD_DIR/controller/novacron-controller"
NODE_DAEMON="$BUILD_DIR/node-daemon/novacron-node-daemon"
[[ -x "$CONTROLLER" && -x "$NODE_DAEMON" ]] || skip "binaries not built in $BUILD_DIR"

failures=0
fatal() {
  echo "FAIL: $*"
  exit 1
}

STATE="$(mktemp -u /tmp/novacron-migstore-e2e.XXXXXX)"
RUN="$(mktemp -d /tmp/novacron-migstore-e2e-run.XXXXXX)"
PIDS=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc)); then
    kubectl get vm,vmmigration,hypervisor -A -o yaml 2>&1 | sed 's/^/    /' | head -n 300
    for f in "$RUN"/*.log; do
      echo "---- tail of $f ----"
      tail -n 40 "$f"
    done
  fi
  kubectl delete vmmigration --all -n "$NS" --wait=false >/dev/null 2>&1
  kubectl delete vm "$VM" -n "$NS" --wait=false >/dev/null 2>&1
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  if [[ -e "$STATE/journal" ]]; then
    # Destroys the guests with their hosts' libvirtds.
    "$HARNESS" down --state-dir "$STATE" >/dev/null 2>&1 || echo "vmmigration_storage_e2e: harness down failed"
  fi
  RUN_DIR="$RUN/api" "$ROOT/hack/dev-cluster.sh" stop >/dev/null 2>&1
  rm -rf "$RUN"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
jp() { kubectl get "$1" "$2" -n "$NS" -o "jsonpath=$3" 2>/dev/null; }
# field_is KIND NAME JSONPATH VALUE: re-reads the object on every call (for wait_for).
field_is() { [[ "$(jp "$1" "$2" "$3")" == "$4" ]]; }
not_running_on() { [[ "$(domstate "$1")" != running ]]; }
# Per-host VM roots: the guest's serial log moves with it (the highest tick over both hosts).
max_tick() {
  find "$RUN"/vms-*/"$NS/$VM" -name serial.log -exec grep -aoh 'tick [0-9]*' {} + 2>/dev/null |
    awk '{ print $2 }' | sort -n | tail -n1
}
tick_above() { local t; t="$(max_tick)"; [[ -n "$t" ]] && ((t > $1)); }
qemu_copies() { pgrep -f -- "guest=${NS}_${VM}" | wc -l; }
domstate() { virsh -c "$1" domstate "${NS}_${VM}" 2>/dev/null | head -n1; }
routed_via_bridge() {
  [[ "$(ip -o route get "$1" | sed -n 's/.* dev \([^ ]*\).*/\1/p')" == "$TWO_HOSTS_BRIDGE" ]]
}

echo "== guest"
GUEST="${NOVACRON_GUEST_DIR:-$ROOT/.run/guest}"
"$ROOT/hack/build-guest.sh" "$GUEST" >"$RUN/guest.log" 2>&1 || fatal "hack/build-guest.sh"
# Non-shared storage: each host has its own VM root and image store; the operator placed the same
# named images (kernel, initrd, a qcow2 base disk) in both.
qemu-img create -q -f qcow2 "$RUN/base-disk" 64M || fatal "qemu-img create"
for hv in hv-a hv-b; do
  mkdir -p "$RUN/images-$hv/named" "$RUN/vms-$hv"
  cp "$GUEST/vmlinuz" "$RUN/images-$hv/named/debian-cloud-kernel"
  cp "$GUEST/initrd.img" "$RUN/images-$hv/named/busybox-initrd"
  cp "$RUN/base-disk" "$RUN/images-$hv/named/base-disk"
done

echo "== two hosts"
"$HARNESS" up --state-dir "$STATE" --owner-pid $$ >"$RUN/harness.log" 2>&1 || fatal "two_hosts.sh up"
# shellcheck disable=SC1090
source <("$HARNESS" env --state-dir "$STATE") || fatal "two_hosts.sh env"
check "host A is routed through the harness bridge" routed_via_bridge "$HOST_A_ADDR"
check "host B is routed through the harness bridge" routed_via_bridge "$HOST_B_ADDR"

echo "== API server"
API_PORT="$(free_port)"
ETCD_PORT="$(free_port)"
ETCD_PEER_PORT="$(free_port)"
RUN_DIR="$RUN/api" BUILD_DIR="$BUILD_DIR" API_PORT="$API_PORT" ETCD_PORT="$ETCD_PORT" \
  ETCD_PEER_PORT="$ETCD_PEER_PORT" "$ROOT/hack/dev-cluster.sh" start >"$RUN/dev-cluster.log" 2>&1 ||
  fatal "dev-cluster start"
export KUBECONFIG="$RUN/api/kubeconfig"
wait_for 30 "the API server" kubectl get --raw /readyz || fatal "API server not ready"
kubectl apply -f "$ROOT/crds/" >"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply crds"
# The node-daemons' heartbeat namespace (they may not create it themselves).
kubectl apply -f "$ROOT/config/default/namespace.yaml" >>"$RUN/kubectl.log" 2>&1 ||
  fatal "kubectl apply namespaces"
kubectl wait --for condition=established --timeout=60s crd --all >>"$RUN/kubectl.log" 2>&1

echo "== node-daemons and controller"
start_node() { # name, host address
  "$NODE_DAEMON" --node-name "$1" --kubeconfig "$KUBECONFIG" --libvirt-uri "qemu+tcp://$2/system" \
    --domain-type qemu --vm-root "$RUN/vms-$1" --image-root "$RUN/images-$1" \
    --metrics-address 127.0.0.1 --metrics-port 0 --heartbeat-seconds 2 --resync-seconds 5 \
    --log-format text >"$RUN/node-$1.log" 2>&1 &
  PIDS+=("$!")
}
start_node hv-a "$HOST_A_ADDR"
start_node hv-b "$HOST_B_ADDR"
"$CONTROLLER" --kubeconfig "$KUBECONFIG" --identity e2e --bind-address "127.0.0.1:$(free_port)" \
  --leader-elect false --log-format text >"$RUN/controller.log" 2>&1 &
PIDS+=("$!")
for hv in hv-a hv-b; do
  wait_for 60 "Hypervisor $hv" kubectl get hypervisor "$hv" || fatal "$hv did not register"
done
# Migration addresses (the operator's part), and B cordoned so the VM lands on A.
kubectl patch hypervisor hv-a --type=merge \
  -p "{\"spec\":{\"migration\":{\"address\":\"$HOST_A_ADDR\"}}}" >>"$RUN/kubectl.log" 2>&1
kubectl patch hypervisor hv-b --type=merge \
  -p "{\"spec\":{\"unschedulable\":true,\"migration\":{\"address\":\"$HOST_B_ADDR\"}}}" \
  >>"$RUN/kubectl.log" 2>&1

echo "== VM on A"
kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 <<EOV || fatal "kubectl apply vm"
apiVersion: novacron.io/v1alpha1
kind: VirtualMachine
metadata: {name: $VM, namespace: $NS}
spec:
  runStrategy: Always
  resources: {cpus: 1, memory: 128Mi}
  kernelBoot:
    kernel: {url: "image:debian-cloud-kernel"}
    initrd: {url: "image:busybox-initrd"}
    cmdline: "console=ttyS0 panic=-1"
  disks:
    - name: data
      image: {url: "image:base-disk"}
  terminationGracePeriodSeconds: 5
EOV
wait_for 120 "VM Running" field_is vm "$VM" '{.status.phase}' Running || fatal "VM not Running"
check "the VM is bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
wait_for 90 "the guest's ticker" tick_above 2 || fatal "the guest did not boot (no ticker)"
kubectl patch hypervisor hv-b --type=merge -p '{"spec":{"unschedulable":false}}' \
  >>"$RUN/kubectl.log" 2>&1
overlay_on() { find "$RUN/vms-$1/$NS/$VM" -name 'disk-data.qcow2' 2>/dev/null | head -n1; }
no_files_on() { [[ ! -e "$RUN/vms-$1/$NS/$VM" ]]; }
backing_of() { qemu-img info --force-share "$1" 2>/dev/null | sed -n 's/^backing file: //p'; }
check "the overlay is on A" test -n "$(overlay_on hv-a)"
migration_ended() { jp vmmigration "$1" '{.status.phase}' | grep -Eq 'Succeeded|Failed|Cancelled'; }

echo "== live A -> B, copyStorage Auto"
before="$(max_tick)"
printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
  "metadata: {name: $MIG, namespace: $NS}" \
  "spec: {vmName: $VM, targetHypervisor: hv-b, mode: Live, options: {progressTimeoutSeconds: 60}}" |
  kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $MIG"
wait_for 180 "$MIG to end" migration_ended "$MIG" || fatal "$MIG did not end"
phase="$(jp vmmigration "$MIG" '{.status.phase}')"
check "$MIG Succeeded (was $phase: $(jp vmmigration "$MIG" '{.status.failureReason}'))" \
  test "$phase" = Succeeded
check "the target prepared local disks" field_is vmmigration "$MIG" \
  '{.status.conditions[?(@.type=="TargetPrepared")].reason}' StoragePrepared
check "status.targetStorage.copy" field_is vmmigration "$MIG" '{.status.targetStorage.copy}' true
check "the target label is set" field_is vmmigration "$MIG" \
  '{.metadata.labels.novacron\.io/target-hypervisor}' hv-b
wait_for 60 "the VM bound to hv-b" field_is vm "$VM" '{.status.hypervisor}' hv-b
check "the VM is bound to hv-b" field_is vm "$VM" '{.status.hypervisor}' hv-b
wait_for 60 "the VM Running on hv-b" field_is vm "$VM" '{.status.phase}' Running
check "the domain runs on B" test "$(domstate "$HOST_B_URI")" = running
check "exactly one QEMU runs the guest" test "$(qemu_copies)" -eq 1
check "the guest never rebooted (ticker went past $before)" wait_for 30 "ticks past $before" \
  tick_above "$((before + 2))"
overlay_b="$(overlay_on hv-b)"
check "the overlay is on B" test -n "$overlay_b"
check "B's overlay is over B's base image" test "$(backing_of "$overlay_b")" = \
  "$RUN/images-hv-b/named/base-disk"
wait_for 30 "A's files to go" no_files_on hv-a
check "A holds no files of the VM" no_files_on hv-a

echo "== live B -> A, copyStorage Always, cancelled mid-transfer"
CANCEL=mig-disk-cancel
before="$(max_tick)"
printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
  "metadata: {name: $CANCEL, namespace: $NS}" \
  "spec: {vmName: $VM, targetHypervisor: hv-a, mode: Live," \
  "  options: {bandwidthMiBps: 1, copyStorage: Always}}" |
  kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $CANCEL"
percent_above_zero() { (($(jp vmmigration "$CANCEL" '{.status.progress.percent}' || echo 0) > 0)); }
wait_for 120 "$CANCEL to move data" percent_above_zero ||
  fatal "$CANCEL never transferred: $(jp vmmigration "$CANCEL" '{.status.phase} {.status.failureReason}')"
check "A prepared the overlay" test -n "$(overlay_on hv-a)"
kubectl patch vmmigration "$CANCEL" -n "$NS" --type=merge -p '{"spec":{"cancel":true}}' \
  >>"$RUN/kubectl.log" 2>&1
wait_for 120 "$CANCEL to end" migration_ended "$CANCEL"
check "$CANCEL is Cancelled (was $(jp vmmigration "$CANCEL" '{.status.phase}'))" \
  field_is vmmigration "$CANCEL" '{.status.phase}' Cancelled
wait_for 60 "A to clean up" no_files_on hv-a
check "A removed what it prepared" no_files_on hv-a
check "A reports CleanedUp" wait_for 30 "TargetPrepared=False/CleanedUp" field_is vmmigration \
  "$CANCEL" '{.status.conditions[?(@.type=="TargetPrepared")].reason}' CleanedUp
check "the VM stays bound to hv-b" field_is vm "$VM" '{.status.hypervisor}' hv-b
check "the domain still runs on B" test "$(domstate "$HOST_B_URI")" = running
check "nothing runs on A" not_running_on "$HOST_A_URI"
check "B keeps its overlay" test -n "$(overlay_on hv-b)"
check "the guest kept running through the abort (ticker went past $before)" \
  wait_for 30 "ticks past $before" tick_above "$((before + 2))"

echo "== cold B -> A"
COLD=mig-disk-cold
printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
  "metadata: {name: $COLD, namespace: $NS}" \
  "spec: {vmName: $VM, targetHypervisor: hv-a, mode: Cold}" |
  kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $COLD"
wait_for 180 "$COLD to end" migration_ended "$COLD" || fatal "$COLD did not end"
phase="$(jp vmmigration "$COLD" '{.status.phase}')"
check "$COLD Succeeded (was $phase: $(jp vmmigration "$COLD" '{.status.failureReason}'))" \
  test "$phase" = Succeeded
check "progress reached 100 %" field_is vmmigration "$COLD" '{.status.progress.percent}' 100
wait_for 60 "the VM bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
check "the VM is bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
wait_for 60 "the VM Running on hv-a" field_is vm "$VM" '{.status.phase}' Running
check "the VM is Running" field_is vm "$VM" '{.status.phase}' Running
check "the domain runs on A" test "$(domstate "$HOST_A_URI")" = running
no_domain_on() { ! virsh -c "$1" dominfo "${NS}_${VM}" >/dev/null 2>&1; }
check "B holds no domain of the VM" no_domain_on "$HOST_B_URI"
wait_for 30 "B's files to go" no_files_on hv-b
check "B holds no files of the VM" no_files_on hv-b
overlay_a="$(overlay_on hv-a)"
check "the overlay is on A, over A's base image" test "$(backing_of "$overlay_a")" = \
  "$RUN/images-hv-a/named/base-disk"
check "exactly one QEMU runs the guest" test "$(qemu_copies)" -eq 1
ticking_on_a() { grep -q 'tick 2' "$(find "$RUN/vms-hv-a/$NS/$VM" -name serial.log | head -n1)"; }
check "the guest boots on A" wait_for 60 "A's ticker" ticking_on_a

if ((failures)); then
  echo "vmmigration_storage_e2e: $failures check(s) failed"
  exit 1
fi
echo "vmmigration_storage_e2e: ok"
