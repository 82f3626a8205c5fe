#!/usr/bin/env bash
# VMMigration end to end on two real hypervisors: the two-hosts harness (tests/e2e/harness) gives
# hosts A and B, each with its own libvirtd; a node-daemon per host (in the root namespace, talking
# to its host's libvirtd over the harness bridge, sharing one VM root: shared storage), the
# controller and the dev API server run here. The tiny TCG guest boots on A; a VMMigration moves it
# live to B. Checks: the VMMigration ends Succeeded with progress 100 %, the VM is bound to B and
# Running there, exactly one QEMU runs the guest, the domain is gone from A, and the guest never
# rebooted (its serial ticker went on past the value it had before the move). Then a second
# migration back to A, slowed to 1 MiB/s, is cancelled mid-transfer: it ends Cancelled, the guest
# keeps running on B (one QEMU, ticker going on) and nothing is left on A. Then a migration with
# `tls: true` (qemu+tls between the libvirtds, QEMU's native TLS for the stream; the harness makes
# the certificates), autoConverge and XBZRLE: Succeeded, the ticker goes on.
#
#   tests/e2e/migration/vmmigration_e2e_test.sh BUILD_DIR   (as root; exit 77 = skipped)
# shellcheck disable=SC2119 # lib.sh helpers take optional arguments (a VM name, harness flags)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=vmmigration_e2e
WAIT_INTERVAL=0.5
NS=default
VM=mig-e2e
MIG=mig-e2e-to-b
# shellcheck source=lib.sh
source "$HERE/lib.sh"
failures=0
# B cordoned so the VM lands on A; the hosts' certificates for the TLS migration.
mig_e2e_start --cordon-b --tls ${BENCH_WAN:+--shape 100mbit}

echo "== VM on A"
kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 <<EOF || fatal "kubectl apply vm"
apiVersion: novacron.io/v1alpha1
kind: VirtualMachine
metadata: {name: $VM, namespace: $NS}
spec:
  runStrategy: Always
  resources: {cpus: 1, memory: 128Mi}
  kernelBoot:
    kernel: {url: "image:debian-cloud-kernel"}
    initrd: {url: "image:busybox-initrd"}
    cmdline: "console=ttyS0 panic=-1${BENCH_ROUNDS:+ novacron.fastticks}"
  terminationGracePeriodSeconds: 5
EOF
wait_for 120 "VM Running" field_is vm "$VM" '{.status.phase}' Running || fatal "VM not Running"
check "the VM is bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
wait_for 90 "the guest's ticker" tick_above 2 || fatal "the guest did not boot (no ticker)"
uncordon_b

echo "== VMMigration A -> B"
before="$(max_tick)"
kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 <<EOF || fatal "kubectl apply vmmigration"
apiVersion: novacron.io/v1alpha1
kind: VMMigration
metadata: {name: $MIG, namespace: $NS}
spec:
  vmName: $VM
  targetHypervisor: hv-b
  mode: Live
  options: {maxDowntimeMs: 300, progressTimeoutSeconds: 60}
EOF
(kubectl get vmmigration "$MIG" -n "$NS" -w >"$RUN/watch.log" 2>&1 &
  echo $! >"$RUN/watch.pid")
wait_for 180 "the VMMigration to end" migration_ended "$MIG" ||
  fatal "the migration did not end: phase $(jp vmmigration "$MIG" '{.status.phase}')"
kill "$(cat "$RUN/watch.pid")" 2>/dev/null
echo "kubectl get vmmigration -w:"
sed 's/^/    /' "$RUN/watch.log"
phase="$(jp vmmigration "$MIG" '{.status.phase}')"
check "the VMMigration Succeeded (was $phase: $(jp vmmigration "$MIG" '{.status.failureReason}'))" \
  test "$phase" = Succeeded
check "progress reached 100 %" test "$(jp vmmigration "$MIG" '{.status.progress.percent}')" = 100
echo "MIGRATION A->B through NovaCron: downtime $(jp vmmigration "$MIG" '{.status.progress.downtimeMs}') ms," \
  "from $(jp vmmigration "$MIG" '{.status.startTime}') to $(jp vmmigration "$MIG" '{.status.completionTime}')"
wait_for 60 "the VM bound to hv-b" field_is vm "$VM" '{.status.hypervisor}' hv-b
check "the VM is bound to hv-b" field_is vm "$VM" '{.status.hypervisor}' hv-b
wait_for 60 "the VM Running on hv-b" field_is vm "$VM" '{.status.phase}' Running
check "the VM is Running" field_is vm "$VM" '{.status.phase}' Running
check "the domain runs on B" test "$(domstate "$HOST_B_URI")" = running
wait_for 30 "A's copy to go" not_running_on "$HOST_A_URI"
check "no domain runs on A" not_running_on "$HOST_A_URI"
check "exactly one QEMU runs the guest" test "$(qemu_copies)" -eq 1
check "the guest never rebooted (ticker went past $before)" wait_for 30 "ticks past $before" \
  tick_above "$((before + 2))"

echo "== VMMigration B -> A, cancelled mid-transfer"
CANCEL=mig-e2e-cancel
before="$(max_tick)"
printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
  "metadata: {name: $CANCEL, namespace: $NS}" \
  "spec: {vmName: $VM, targetHypervisor: hv-a, mode: Live, options: {bandwidthMiBps: 1}}" |
  kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $CANCEL"
wait_for 120 "$CANCEL to move data" percent_above_zero "$CANCEL" ||
  fatal "$CANCEL never transferred: $(jp vmmigration "$CANCEL" '{.status.phase} {.status.failureReason}')"
kubectl patch vmmigration "$CANCEL" -n "$NS" --type=merge -p '{"spec":{"cancel":true}}' \
  >>"$RUN/kubectl.log" 2>&1
wait_for 120 "$CANCEL to end" field_is vmmigration "$CANCEL" '{.status.phase}' Cancelled
check "the cancelled VMMigration is Cancelled (was $(jp vmmigration "$CANCEL" '{.status.phase}'))" \
  field_is vmmigration "$CANCEL" '{.status.phase}' Cancelled
wait_for 60 "the VM unlocked" field_is vm "$VM" '{.status.activeMigration}' ""
check "the VM stays bound to hv-b" field_is vm "$VM" '{.status.hypervisor}' hv-b
check "the domain still runs on B" test "$(domstate "$HOST_B_URI")" = running
check "nothing runs on A" not_running_on "$HOST_A_URI"
check "still exactly one QEMU" test "$(qemu_copies)" -eq 1
check "the guest kept running through the abort (ticker went past $before)" \
  wait_for 30 "ticks past $before" tick_above "$((before + 2))"

echo "== a guest that dirties memory faster than the bandwidth cap: aborted for NoProgress"
DIRTY=mig-e2e-dirty
printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VirtualMachine" \
  "metadata: {name: $DIRTY, namespace: $NS}" \
  "spec:" "  runStrategy: Always" "  resources: {cpus: 1, memory: 128Mi}" "  kernelBoot:" \
  "    kernel: {url: \"image:debian-cloud-kernel\"}" "    initrd: {url: \"image:busybox-initrd\"}" \
  "    cmdline: \"console=ttyS0 panic=-1 novacron.dirty\"" "  terminationGracePeriodSeconds: 5" |
  kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vm $DIRTY"
wait_for 120 "$DIRTY Running" field_is vm "$DIRTY" '{.status.phase}' Running || fatal "$DIRTY not Running"
dirty_from="$(jp vm "$DIRTY" '{.status.hypervisor}')"
dirty_to="hv-a"
[[ "$dirty_from" == hv-a ]] && dirty_to="hv-b"
dirty_log() { find "$RUN/vms/$NS/$DIRTY" -name serial.log 2>/dev/null | head -n1; }
dirty_ticking() { grep -q 'tick 3' "$(dirty_log)" 2>/dev/null; }
wait_for 90 "$DIRTY's ticker" dirty_ticking || fatal "$DIRTY did not boot"
STALL=mig-e2e-stall
printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
  "metadata: {name: $STALL, namespace: $NS}" \
  "spec: {vmName: $DIRTY, targetHypervisor: $dirty_to, mode: Live," \
  "  options: {bandwidthMiBps: 2, progressTimeoutSeconds: 8}}" |
  kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $STALL"
wait_for 180 "$STALL to end" migration_ended "$STALL" || fatal "$STALL did not end"
echo "    $STALL: $(jp vmmigration "$STALL" '{.status.phase}: {.status.failureReason}')"
check "the migration failed" field_is vmmigration "$STALL" '{.status.phase}' Failed
check "the reason is NoProgress" bash -c "[[ '$(jp vmmigration "$STALL" '{.status.failureReason}')' == NoProgress* ]]"
wait_for 60 "$DIRTY unlocked" field_is vm "$DIRTY" '{.status.activeMigration}' ""
check "the dirtying VM stays bound to $dirty_from" field_is vm "$DIRTY" '{.status.hypervisor}' "$dirty_from"
check "the dirtying VM is Running" field_is vm "$DIRTY" '{.status.phase}' Running
check "one QEMU runs the dirtying guest" test "$(pgrep -f -- "guest=${NS}_${DIRTY}" | wc -l)" -eq 1

echo "== VMMigration with tls: true (qemu+tls between the libvirtds, TLS stream), autoConverge, XBZRLE"
TLS=mig-e2e-tls
tls_from="$(jp vm "$VM" '{.status.hypervisor}')"
tls_to="hv-a"
[[ "$tls_from" == hv-a ]] && tls_to="hv-b"
before="$(max_tick)"
printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
  "metadata: {name: $TLS, namespace: $NS}" \
  "spec: {vmName: $VM, targetHypervisor: $tls_to, mode: Live," \
  "  options: {tls: true, autoConverge: true, compression: XBZRLE}}" |
  kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $TLS"
tls_ended() { jp vmmigration "$TLS" '{.status.phase}' | grep -Eq 'Succeeded|Failed|Cancelled'; }
wait_for 180 "$TLS to end" tls_ended || fatal "$TLS did not end"
check "the TLS migration Succeeded (was $(jp vmmigration "$TLS" '{.status.phase}: {.status.failureReason}'))" \
  field_is vmmigration "$TLS" '{.status.phase}' Succeeded
check "the source node-daemon asked for qemu+tls with its certificates" \
  grep -q "to qemu+tls://.*pkipath=" "$RUN/node-$tls_from.log"
wait_for 60 "the VM bound to $tls_to" field_is vm "$VM" '{.status.hypervisor}' "$tls_to"
check "the VM is bound to $tls_to" field_is vm "$VM" '{.status.hypervisor}' "$tls_to"
check "exactly one QEMU after the TLS migration" test "$(qemu_copies)" -eq 1
check "the guest kept ticking through the TLS migration (past $before)" \
  wait_for 30 "ticks past $before" tick_above "$((before + 2))"

if ((failures)); then
  echo "vmmigration_e2e: $failures check(s) failed"
  exit 1
fi
echo "vmmigration_e2e: ok"

# --- benchmark (tests/bench/migration/migration_bench.sh sets BENCH_ROUNDS) --------------------
# The same guest moved back and forth through NovaCron (a VMMigration each way; total = from
# `kubectl apply` to Succeeded, as a user sees it) and, in the same run, a plain libvirt domain of
# the same shape moved with bare `virsh migrate --live --p2p` (total = the virsh call). Downtime is
# measured two ways for both: libvirt's completed-job figure, and the longest gap in the guest's
# ~10 ms serial ticker as the host saw the lines arrive (serial_gap.py).
# BENCH_WAN=1 runs the WAN profile instead (tests/bench/migration/wan_profile.sh).
if [[ -n "${BENCH_WAN:-}" ]]; then
  # shellcheck source=../../bench/migration/wan_profile.sh
  source "$ROOT/tests/bench/migration/wan_profile.sh"
  exit 0
fi
((${BENCH_ROUNDS:-0} > 0)) || exit 0
GAP="$ROOT/tests/bench/migration/serial_gap.py"
# follow LOG OUT: stamps the guest's serial lines in the background (stopped by cleanup).
follow_ticks() {
  "$GAP" follow "$1" "$2" &
  PIDS+=("$!")
}
ticker_gap() { "$GAP" gap "$1" "$2" "$(now_ms)" | cut -d' ' -f1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { tr ' ' '\n' <<<"$*" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] + 0 }'; }
nova_total=() nova_down=() bare_total=() bare_down=() nova_gap=() bare_gap=()
here="$(jp vm "$VM" '{.status.hypervisor}')"
follow_ticks "$(serial_log)" "$RUN/ticks-nova.tsv"
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
  to="hv-b"
  [[ "$here" == hv-b ]] && to="hv-a"
  name="bench-$round"
  t0="$(now_ms)"
  printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
    "metadata: {name: $name, namespace: $NS}" \
    "spec: {vmName: $VM, targetHypervisor: $to, mode: Live, options: {maxDowntimeMs: 300}}" |
    kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $name"
  wait_for 180 "$name to succeed" field_is vmmigration "$name" '{.status.phase}' Succeeded ||
    fatal "$name: $(jp vmmigration "$name" '{.status.phase} {.status.failureReason}')"
  nova_total+=("$(($(now_ms) - t0))")
  nova_down+=("$(jp vmmigration "$name" '{.status.progress.downtimeMs}')")
  nova_gap+=("$(ticker_gap "$RUN/ticks-nova.tsv" "$t0")")
  wait_for 60 "the VM Running on $to" field_is vm "$VM" '{.status.phase}' Running
  here="$to"
done

BARE=bench-bare
bare_xml="$RUN/bare.xml"
{
  echo "<domain type='qemu'><name>$BARE</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
  echo "<os><type arch='x86_64' machine='pc'>hvm</type>"
  echo "<kernel>$RUN/images/named/debian-cloud-kernel</kernel>"
  echo "<initrd>$RUN/images/named/busybox-initrd</initrd><cmdline>console=ttyS0 panic=-1 novacron.fastticks</cmdline></os>"
  echo "<devices><serial type='file'><source path='$RUN/bare-serial.log' append='on'/>"
  echo "<target port='0'/></serial><memballoon model='none'/></devices></domain>"
} >"$bare_xml"
virsh -c "$HOST_A_URI" define "$bare_xml" >/dev/null || fatal "bare domain: define on A"
virsh -c "$HOST_A_URI" start "$BARE" >/dev/null || fatal "bare domain: start on A"
wait_for 90 "the bare guest's ticker" grep -q 'tick 3' "$RUN/bare-serial.log" || fatal "bare guest"
follow_ticks "$RUN/bare-serial.log" "$RUN/ticks-bare.tsv"
uris=("$HOST_A_URI" "$HOST_B_URI")
streams=("$HOST_A_MIGRATE_URI" "$HOST_B_MIGRATE_URI")
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
  from=$(((round + 1) % 2)) to=$((round % 2))
  t0="$(now_ms)"
  virsh -c "${uris[$from]}" migrate --live --p2p --persistent --undefinesource "$BARE" \
    "${uris[$to]}" "${streams[$to]}" || fatal "bare virsh migrate (round $round)"
  bare_total+=("$(($(now_ms) - t0))")
  bare_down+=("$(virsh -c "${uris[$to]}" domjobinfo --completed "$BARE" 2>/dev/null |
    awk -F: '/^Total downtime:/ { print $2 + 0 }')")
  bare_gap+=("$(ticker_gap "$RUN/ticks-bare.tsv" "$t0")")
done
for uri in "${uris[@]}"; do
  virsh -c "$uri" destroy "$BARE" >/dev/null 2>&1
  virsh -c "$uri" undefine "$BARE" >/dev/null 2>&1
done

echo
echo "BENCH live migration, 128 MiB TCG guest, two libvirtds on one machine, $BENCH_ROUNDS rounds each"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-22s %-36s %-36s %s\n' "" "total ms: median (all)" "libvirt downtime ms" \
  "ticker gap ms (guest ticks ~10 ms)"
printf '  %-22s %-36s %-36s %s\n' "NovaCron VMMigration" "$(median "${nova_total[*]}") (${nova_total[*]})" \
  "$(median "${nova_down[*]}") (${nova_down[*]})" "$(median "${nova_gap[*]}") (${nova_gap[*]})"
printf '  %-22s %-36s %-36s %s\n' "bare virsh migrate" "$(median "${bare_total[*]}") (${bare_total[*]})" \
  "$(median "${bare_down[*]}") (${bare_down[*]})" "$(median "${bare_gap[*]}") (${bare_gap[*]})"
awk -v nt="$(median "${nova_total[*]}")" -v bt="$(median "${bare_total[*]}")" \
  -v nd="$(median "${nova_down[*]}")" -v bd="$(median "${bare_down[*]}")" \
  'BEGIN { printf "  NovaCron/bare: total %.2fx, downtime %.2fx (goals: total <= 1.1x, downtime <= 300 ms)\n", nt / (bt ? bt : 1), nd / (bd ? bd : 1) }'
