#!/usr/bin/env bash
# A migration plan (VMMigration spec.dryRun, `kubectl novacron plan`) on a real guest, on the
# two-hosts harness: a tiny TCG guest that dirties 4 MiB/s (novacron.wandirty) runs on host A;
# `kubectl novacron plan VM --to hv-b` creates the dry run and prints the plan. Checks: the plan
# ends Planned with target hv-b, a dirty rate measured by the source node-daemon through libvirt
# (QEMU calc-dirty-rate, page sampling; above 0 for this guest), a forecast with a verdict; and
# nothing moved: the VM stays bound to hv-a and unlocked, its domain runs on A only (one QEMU),
# nothing is reserved on hv-b, and the guest's ticker goes on.
#
#   tests/e2e/migration/vmmigration_plan_e2e_test.sh BUILD_DIR   (as root; exit 77 = skipped)
# shellcheck disable=SC2119 # lib.sh helpers take optional arguments (a VM name, harness flags)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=vmmigration_plan_e2e
WAIT_INTERVAL=0.5
NS=default
VM=plan-e2e
PLAN=plan-e2e-1
PLUGIN="$BUILD_DIR/kubectl-plugin/kubectl-novacron"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
[[ -x "$PLUGIN" ]] || skip "kubectl-novacron not built in $BUILD_DIR"
failures=0
mig_e2e_start --cordon-b

echo "== a guest dirtying 4 MiB/s on A"
create_vm "$VM" novacron.wandirty
wait_for 120 "VM Running" field_is vm "$VM" '{.status.phase}' Running || fatal "VM not Running"
check "the VM is bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
wait_for 90 "the guest's ticker" tick_above 2 || fatal "the guest did not boot (no ticker)"
uncordon_b

# novacron.wandirty changes page contents from its 7th second on (its first 6 passes rewrite the
# buffer with what it already holds: nothing for QEMU's page sampling to see).
wait_for 60 "the guest's dirtying to start" tick_above 10 || fatal "the guest's ticker stopped"
echo "== kubectl novacron plan $VM --to hv-b"
before="$(max_tick)"
qemu_before="$(pgrep -f -- "guest=${NS}_${VM}(,|$| )")"
"$PLUGIN" plan "$VM" --to hv-b --name "$PLAN" >"$RUN/plan.txt" 2>"$RUN/plan.err"
rc=$?
sed 's/^/    /' "$RUN/plan.txt"
check "kubectl novacron plan exits 0 (was $rc: $(tr '\n' ' ' <"$RUN/plan.err"))" test "$rc" -eq 0
check "the plan printed a verdict" grep -q '^VERDICT' "$RUN/plan.txt"
check "the plan is Planned" field_is vmmigration "$PLAN" '{.status.phase}' Planned
check "it is a dry run" field_is vmmigration "$PLAN" '{.spec.dryRun}' true
check "the target is hv-b" field_is vmmigration "$PLAN" '{.status.plan.targetHypervisor}' hv-b
rate="$(jp vmmigration "$PLAN" '{.status.plan.dirtyRateBytesPerSecond}')"
echo "    measured dirty rate: ${rate:-none} B/s ($(jp vmmigration "$PLAN" '{.status.plan.dirtyRateError}'))"
# 4 MiB/s of a 128 MiB guest over 3 s: ~6 of QEMU's 64 sampled pages change (0 with p < 0.5 %).
check "the source node-daemon measured a dirty rate above 0" test "${rate:-0}" -gt 0
check "the measurement has a time" test -n "$(jp vmmigration "$PLAN" '{.status.plan.dirtyRateMeasuredTime}')"
check "the forecast has a verdict" test -n "$(jp vmmigration "$PLAN" '{.status.plan.forecast.verdict}')"
check "the forecast converges" field_is vmmigration "$PLAN" '{.status.plan.forecast.converges}' true
check "the forecast used the measured rate" \
  field_is vmmigration "$PLAN" '{.status.plan.forecast.dirtyRateBytesPerSecond}' "$rate"
check "the guest memory is counted" \
  field_is vmmigration "$PLAN" '{.status.plan.memoryBytes}' "$((128 * 1024 * 1024))"

echo "== nothing moved"
check "the VM is still bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
check "the VM is not locked" field_is vm "$VM" '{.status.activeMigration}' ""
check "the VM is Running" field_is vm "$VM" '{.status.phase}' Running
check "the domain runs on A" test "$(domstate "$HOST_A_URI")" == running
check "no domain on B" no_domain_on "$HOST_B_URI"
check "exactly one QEMU" test "$(qemu_copies)" -eq 1
check "nothing is reserved on hv-b" not_in_ledger hv-b "$VM"
check "the plan has no target label (the target prepared nothing)" \
  test -z "$(jp vmmigration "$PLAN" '{.metadata.labels.novacron\.io/target-hypervisor}')"
check "the guest kept ticking (past $before)" wait_for 30 "ticks past $before" tick_above "$((before + 2))"
check "the guest's QEMU is the one from before the plan (pid $qemu_before)" \
  test "$(pgrep -f -- "guest=${NS}_${VM}(,|$| )")" == "$qemu_before"
check "the guest never restarted (one boot marker in its serial log)" \
  test "$(grep -ac NOVACRON-GUEST-BOOTED "$(serial_log)")" -eq 1

if ((failures)); then
  echo "vmmigration_plan_e2e: $failures check(s) failed"
  exit 1
fi
echo "vmmigration_plan_e2e: ok"
