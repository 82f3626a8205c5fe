#!/usr/bin/env bash
# Maintenance → evacuation end to end (issue 17), on the two-hosts harness: two tiny guests run on
# host A, `evac-live` (evictionStrategy LiveMigrate, a ~10 ms serial ticker) and `evac-stay`
# (evictionStrategy None). `spec.maintenance: true` on hv-a must empty it: evac-live moves live to
# hv-b through an evacuation VMMigration (labels novacron.io/initiator=evacuation,
# novacron.io/evacuating-hypervisor=hv-a) with its ticker uninterrupted (the longest pause between
# serial lines stays short, the guest's counter never restarts: no reboot); evac-stay is stopped
# and stays bound to hv-a; hv-a shows Evacuated with status.evacuation {migrated 1, stopped 1}, an
# Event per action, and the migration bandwidth to hv-b measured. Clearing maintenance makes hv-a
# schedulable again, removes the evacuation's records and starts evac-stay again on A.
#
#   tests/e2e/migration/evacuation_e2e_test.sh BUILD_DIR   (as root; exit 77 = skipped)
# shellcheck disable=SC2119 # lib.sh helpers take optional arguments (a VM name, harness flags)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=evacuation_e2e
WAIT_INTERVAL=0.5
NS=default
VM=evac-live
STAY=evac-stay
# The longest pause between two serial lines of evac-live allowed during the evacuation: a live
# switch-over pauses the guest for a few hundred ms here; a reboot or a cold move takes seconds.
MAX_GAP_MS="${EVAC_MAX_GAP_MS:-2000}"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
failures=0
mig_e2e_start --cordon-b

echo "== two guests on A"
create_vm "$VM" novacron.fastticks
create_vm "$STAY"
kubectl patch vm "$STAY" --type=merge -p '{"spec":{"evictionStrategy":"None"}}' \
  >>"$RUN/kubectl.log" 2>&1 || fatal "setting $STAY's evictionStrategy"
for g in "$VM" "$STAY"; do
  wait_for 180 "$g Running" field_is vm "$g" '{.status.phase}' Running || fatal "$g not Running"
  check "$g is bound to hv-a" field_is vm "$g" '{.status.hypervisor}' hv-a
done
guest_counting() { grep -aq '^ms [0-9]' "$(serial_log)" 2>/dev/null; }
wait_for 90 "$VM's fast ticker" guest_counting || fatal "$VM prints no ticker"
uncordon_b

GAP="$ROOT/tests/bench/migration/serial_gap.py"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
"$GAP" follow "$(serial_log)" "$RUN/ticks.tsv" &
PIDS+=("$!")
# The guest's own counter ("ms N" lines) as it is now: it must only grow (a reboot restarts it).
last_ms_counter() { grep -ao '^ms [0-9]*' "$(serial_log)" | tail -n1 | awk '{ print $2 }'; }

echo "== maintenance on hv-a"
counter_before="$(last_ms_counter)"
t0="$(now_ms)"
kubectl patch hypervisor hv-a --type=merge -p '{"spec":{"maintenance":true}}' \
  >>"$RUN/kubectl.log" 2>&1 || fatal "setting maintenance on hv-a"
condition_of() {  # HV TYPE -> "Status Reason"
  kubectl get hypervisor "$1" -o "jsonpath={.status.conditions[?(@.type==\"$2\")].status} {.status.conditions[?(@.type==\"$2\")].reason}" 2>/dev/null
}
evacuated() { [[ "$(condition_of hv-a Evacuated)" == "True Evacuated" ]]; }
wait_for 150 "hv-a Evacuated" evacuated ||
  fatal "hv-a not evacuated: $(condition_of hv-a Evacuating): $(kubectl get hypervisor hv-a -o 'jsonpath={.status.evacuation}')"
t1="$(now_ms)"
echo "    evacuated in $((t1 - t0)) ms: $(kubectl get hypervisor hv-a -o 'jsonpath={.status.conditions[?(@.type=="Evacuated")].message}')"

MIG="evac-hv-a-$VM-1"
check "$MIG Succeeded" field_is vmmigration "$MIG" '{.status.phase}' Succeeded
check "$MIG is labelled as the evacuation's" field_is vmmigration "$MIG" \
  '{.metadata.labels.novacron\.io/initiator}/{.metadata.labels.novacron\.io/evacuating-hypervisor}' \
  evacuation/hv-a
check "$MIG is Live" field_is vmmigration "$MIG" '{.spec.mode}' Live
check "$VM is bound to hv-b" field_is vm "$VM" '{.status.hypervisor}' hv-b
check "$VM runs on B" test "$(domstate "$HOST_B_URI" "$VM")" = running
check "one QEMU runs $VM" test "$(qemu_copies "$VM")" -eq 1
wait_for 10 "ticks after the move" test -n "$(awk -F'\t' -v t="$t1" '$1 > t' "$RUN/ticks.tsv")"
read -r gap _ guest_gap < <("$GAP" gap "$RUN/ticks.tsv" "$t0" "$(now_ms)")
echo "    $VM's ticker: longest pause ${gap:-?} ms (guest counter jump ${guest_gap:-?} ms)"
check "$VM's ticker was never interrupted for more than $MAX_GAP_MS ms (${gap:-?} ms)" \
  test "${gap:-999999}" -le "$MAX_GAP_MS"
counter_after="$(last_ms_counter)"
check "$VM never rebooted (its counter went on: $counter_before -> $counter_after)" \
  test "${counter_after:-0}" -gt "${counter_before:-0}"

check "$STAY stays bound to hv-a" field_is vm "$STAY" '{.status.hypervisor}' hv-a
check "$STAY is Halted by the evacuation" field_is vm "$STAY" '{.spec.runStrategy}' Halted
check "$STAY remembers its runStrategy" field_is vm "$STAY" \
  '{.metadata.annotations.novacron\.io/evacuation-stopped}' Always
check "$STAY is Stopped" field_is vm "$STAY" '{.status.phase}' Stopped
check "$STAY does not run on A" not_running_on "$HOST_A_URI" "$STAY"
check "no evacuation migration of $STAY" bash -c \
  "! kubectl get vmmigration -n $NS evac-hv-a-$STAY-1 >/dev/null 2>&1"
evacuation="$(kubectl get hypervisor hv-a -o 'jsonpath={.status.evacuation.total}/{.status.evacuation.migrated}/{.status.evacuation.stopped}/{.status.evacuation.pending}')"
check "hv-a status.evacuation total/migrated/stopped/pending = 2/1/1/0 ($evacuation)" \
  test "$evacuation" = 2/1/1/0
check "hv-a is not schedulable (Maintenance)" \
  test "$(condition_of hv-a Schedulable)" = "False Maintenance"
reasons="$(kubectl get events -n default --field-selector involvedObject.name=hv-a \
  -o 'jsonpath={.items[*].reason}' 2>/dev/null)"
echo "    events on hv-a: $reasons"
for r in EvacuationMigrating EvacuationStopping Evacuated; do
  check "an Event $r on hv-a" bash -c "[[ ' $reasons ' == *' $r '* ]]"
done
bandwidth="$(kubectl get hypervisor hv-a -o 'jsonpath={.status.migrationBandwidth[?(@.target=="hv-b")].bytesPerSecond}')"
echo "    measured bandwidth hv-a -> hv-b: ${bandwidth:-none} B/s"
check "hv-a records the bandwidth measured to hv-b" test "${bandwidth:-0}" -gt 0

echo "== maintenance cleared"
kubectl patch hypervisor hv-a --type=merge -p '{"spec":{"maintenance":false}}' \
  >>"$RUN/kubectl.log" 2>&1 || fatal "clearing maintenance on hv-a"
schedulable() { [[ "$(condition_of hv-a Schedulable)" == "True Schedulable" ]]; }
wait_for 60 "hv-a schedulable" schedulable
check "hv-a is schedulable again" schedulable
wait_for 30 "Evacuating False/MaintenanceCleared" \
  test "$(condition_of hv-a Evacuating)" = "False MaintenanceCleared"
check "Evacuating is False/MaintenanceCleared" \
  test "$(condition_of hv-a Evacuating)" = "False MaintenanceCleared"
records_gone() { [[ -z "$(kubectl get vmmigration -n "$NS" -l novacron.io/evacuating-hypervisor=hv-a -o name 2>/dev/null)" ]]; }
wait_for 60 "the evacuation's records removed" records_gone
check "the evacuation's VMMigrations are removed" records_gone
wait_for 30 "$STAY's runStrategy back" field_is vm "$STAY" '{.spec.runStrategy}' Always
check "$STAY has its runStrategy back" field_is vm "$STAY" '{.spec.runStrategy}' Always
wait_for 120 "$STAY Running again" field_is vm "$STAY" '{.status.phase}' Running
check "$STAY runs again on A" test "$(domstate "$HOST_A_URI" "$STAY")" = running
check "$VM still runs on B" test "$(domstate "$HOST_B_URI" "$VM")" = running

if ((failures)); then
  echo "$LOG_NAME: $failures check(s) failed"
  exit 1
fi
echo "$LOG_NAME: ok"
