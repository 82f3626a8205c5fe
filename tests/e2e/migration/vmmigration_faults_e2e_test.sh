#!/usr/bin/env bash
# VMMigration under faults, end to end on two real hypervisors (issue 13: "any party killed at any
# phase and restarted converges"). The tiny guest runs on host A; each case moves it towards B,
# slowed by a bandwidth cap so the fault lands mid-transfer:
#   1. the target's libvirtd is killed (SIGKILL): the migration ends Failed, the guest keeps
#      running on A (ticker going on), the VM stays bound to hv-a, and B holds nothing: no
#      domain once its libvirtd is back, no QEMU of the guest, no reservation in hv-b's ledger;
#   2. the controller and the source node-daemon are killed (SIGKILL) and restarted: the
#      migration converges to Succeeded with the VM bound to and running on hv-b, or to Failed
#      with it running on hv-a and nothing on B; either way one QEMU, no libvirt job left running,
#      and the guest never rebooted.
#
#   tests/e2e/migration/vmmigration_faults_e2e_test.sh BUILD_DIR   (as root; exit 77 = skipped)
# shellcheck disable=SC2119 # lib.sh helpers take optional arguments (a VM name, harness flags)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=vmmigration_faults_e2e
WAIT_INTERVAL=0.5
NS=default
VM=fault-1
# shellcheck source=lib.sh
source "$HERE/lib.sh"
failures=0
mig_e2e_start --cordon-b

echo "== the guest on A"
create_vm "$VM"
wait_for 120 "$VM Running" field_is vm "$VM" '{.status.phase}' Running || fatal "$VM not Running"
check "$VM is bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
wait_for 90 "the guest's ticker" tick_above 2 || fatal "the guest did not boot (no ticker)"
uncordon_b

# No libvirt job runs on the guest's domain there (None, or the record of one that ended).
no_job_on() {
  local info
  info="$(virsh -c "$1" domjobinfo "${NS}_$VM" 2>&1)" || return 1
  grep -q '^Job type:' <<<"$info" || return 1
  if grep -Eq '^Job type: +(Bounded|Unbounded)' <<<"$info"; then
    echo "    a job still runs on $1: $(grep '^Job type' <<<"$info")"
    return 1
  fi
}
one_qemu() { [[ "$(qemu_copies)" -eq 1 ]]; }
unlocked() { field_is vm "$VM" '{.status.activeMigration}' ""; }

# the checks after a migration that must have left everything on A
stayed_on_a() {
  local why="$1" before="$2"
  wait_for 60 "$VM unlocked ($why)" unlocked
  check "$why: the VM stays bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
  check "$why: the domain runs on A" test "$(domstate "$HOST_A_URI")" = running
  check "$why: no libvirt job left on A" no_job_on "$HOST_A_URI"
  check "$why: B has no domain of the guest" no_domain_on "$HOST_B_URI"
  wait_for 60 "one QEMU ($why)" one_qemu
  check "$why: exactly one QEMU runs the guest" one_qemu
  wait_for 60 "hv-b's reservation to go ($why)" not_in_ledger hv-b
  check "$why: hv-b's ledger holds nothing of the guest" not_in_ledger hv-b
  check "$why: the guest kept running (ticker went past $before)" \
    wait_for 30 "ticks past $before" tick_above "$((before + 2))"
}

echo "== 1. the target's libvirtd is killed mid-transfer"
KILLB=fault-kill-target
before="$(max_tick)"
create_migration "$KILLB" "$VM" hv-b "{bandwidthMiBps: 1}"
wait_for 120 "$KILLB to move data" percent_above_zero "$KILLB" ||
  fatal "$KILLB never transferred: $(phase_of "$KILLB") $(jp vmmigration "$KILLB" '{.status.failureReason}')"
check "hv-b holds a reservation while it runs" in_ledger hv-b
kill_libvirtd B || fatal "killing B's libvirtd"
wait_for 120 "$KILLB to end" migration_ended "$KILLB" || fatal "$KILLB did not end"
echo "    $KILLB: $(phase_of "$KILLB"): $(jp vmmigration "$KILLB" '{.status.failureReason}')"
check "$KILLB Failed" field_is vmmigration "$KILLB" '{.status.phase}' Failed
start_libvirtd B || fatal "restarting B's libvirtd"
stayed_on_a "$KILLB" "$before"
# hv-b's node-daemon reconnects; the next case needs it Ready.
wait_for 90 "hv-b Ready again" field_is hypervisor hv-b '{.status.conditions[?(@.type=="Ready")].status}' True

echo "== 2. the controller and the source node-daemon are killed mid-transfer, then restarted"
KILLC=fault-kill-control
before="$(max_tick)"
create_migration "$KILLC" "$VM" hv-b "{bandwidthMiBps: 2}"
wait_for 120 "$KILLC to move data" percent_above_zero "$KILLC" ||
  fatal "$KILLC never transferred: $(phase_of "$KILLC") $(jp vmmigration "$KILLC" '{.status.failureReason}')"
kill -KILL "$CONTROLLER_PID" "${NODE_PID[hv-a]}"
wait "$CONTROLLER_PID" "${NODE_PID[hv-a]}" 2>/dev/null
echo "    killed at $(jp vmmigration "$KILLC" '{.status.progress.percent}') %"
start_controller
start_node hv-a "$HOST_A_ADDR"
wait_for 180 "$KILLC to end" migration_ended "$KILLC" || fatal "$KILLC did not converge"
outcome="$(phase_of "$KILLC")"
echo "    $KILLC: $outcome $(jp vmmigration "$KILLC" '{.status.failureReason}')"
check "$KILLC ended Succeeded or Failed (was $outcome)" \
  bash -c "[[ '$outcome' == Succeeded || '$outcome' == Failed ]]"
if [[ "$outcome" == Succeeded ]]; then
  wait_for 60 "$VM unlocked" unlocked
  wait_for 60 "$VM bound to hv-b" field_is vm "$VM" '{.status.hypervisor}' hv-b
  check "$KILLC: the VM is bound to hv-b" field_is vm "$VM" '{.status.hypervisor}' hv-b
  check "$KILLC: the domain runs on B" test "$(domstate "$HOST_B_URI")" = running
  wait_for 60 "A's copy to go" not_running_on "$HOST_A_URI"
  check "$KILLC: nothing runs on A" not_running_on "$HOST_A_URI"
  wait_for 60 "one QEMU" one_qemu
  check "$KILLC: exactly one QEMU runs the guest" one_qemu
  check "$KILLC: the guest never rebooted (ticker went past $before)" \
    wait_for 30 "ticks past $before" tick_above "$((before + 2))"
else
  stayed_on_a "$KILLC" "$before"
fi
# Converged means settled: a few seconds later the same holds (no job finishing behind our back).
sleep 5
check "$KILLC: still exactly one QEMU a little later" one_qemu

if ((failures)); then
  echo "$LOG_NAME: $failures check(s) failed"
  exit 1
fi
echo "$LOG_NAME: ok"
