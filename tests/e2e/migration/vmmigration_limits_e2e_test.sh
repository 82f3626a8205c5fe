#!/usr/bin/env bash
# VMMigration limits end to end (issue 13: "3 migrations with inbound limit 1 run one at a time"):
# three tiny guests run on host A; hv-b's inbound limit is 1 (spec.migration.maxInbound); three
# VMMigrations to hv-b are created one after the other. Checks, from a poller sampling every
# migration's phase twice a second: never more than one of them past Pending at a time; they
# start in creation order (FIFO); the waiting ones are Pending with Progressing=True, reason
# WaitingForLimit and a message naming hv-b's inbound limit; all three end Succeeded, bound to
# hv-b, with one QEMU per guest.
#
#   tests/e2e/migration/vmmigration_limits_e2e_test.sh BUILD_DIR   (as root; exit 77 = skipped)
# shellcheck disable=SC2119 # lib.sh helpers take optional arguments (a VM name, harness flags)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=vmmigration_limits_e2e
WAIT_INTERVAL=0.5
NS=default
VM=lim-1
GUESTS=(lim-1 lim-2 lim-3)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
failures=0
mig_e2e_start --cordon-b
kubectl patch hypervisor hv-b --type=merge -p '{"spec":{"migration":{"maxInbound":1}}}' \
  >>"$RUN/kubectl.log" 2>&1 || fatal "setting hv-b's inbound limit"

echo "== three guests on A"
for g in "${GUESTS[@]}"; do
  create_vm "$g"
done
for g in "${GUESTS[@]}"; do
  wait_for 180 "$g Running" field_is vm "$g" '{.status.phase}' Running || fatal "$g not Running"
  check "$g is bound to hv-a" field_is vm "$g" '{.status.hypervisor}' hv-a
done
uncordon_b

echo "== three VMMigrations to hv-b (inbound limit 1)"
# Phases of all three, twice a second, one line per sample: "Pending Migrating -". Each sample is
# one list call, so one consistent read of all three (separate reads a moment apart could show
# one migration still Finalizing and the next already Scheduling).
(
  while :; do
    listed="$(kubectl get vmmigrations -n "$NS" \
      -o 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\n"}{end}' 2>/dev/null)" || {
      sleep 0.5
      continue
    }
    line=""
    for g in "${GUESTS[@]}"; do
      phase="$(sed -n "s/^to-b-$g=//p" <<<"$listed")"
      line+="${phase:--} " # "-": not created yet, or no phase yet
    done
    echo "$line"
    sleep 0.5
  done >"$RUN/phases.txt"
) &
POLLER=$!
PIDS+=("$POLLER")
for g in "${GUESTS[@]}"; do
  # A bandwidth cap keeps each transfer a few seconds long, so an overlap could not hide.
  create_migration "to-b-$g" "$g" hv-b "{bandwidthMiBps: 4}"
  sleep 1.1 # distinct creationTimestamps (seconds): the FIFO order is the creation order
done

waiting_with_reason() {
  field_is vmmigration "$1" '{.status.phase}' Pending &&
    [[ "$(jp vmmigration "$1" '{.status.conditions[?(@.type=="Progressing")].reason}')" == WaitingForLimit ]]
}
wait_for 60 "to-b-lim-3 waiting for the limit" waiting_with_reason to-b-lim-3
check "to-b-lim-3 waits Pending, reason WaitingForLimit" waiting_with_reason to-b-lim-3
message="$(jp vmmigration to-b-lim-3 '{.status.conditions[?(@.type=="Progressing")].message}')"
echo "    to-b-lim-3: $message"
check "the message names hv-b's inbound limit" \
  bash -c "[[ '$message' == *'inbound limit of hypervisor hv-b: 1 of 1'* ]]"

for g in "${GUESTS[@]}"; do
  wait_for 180 "to-b-$g to end" migration_ended "to-b-$g" || fatal "to-b-$g did not end"
done
kill "$POLLER" 2>/dev/null
wait "$POLLER" 2>/dev/null

echo "phase samples (lim-1 lim-2 lim-3), changes only:"
uniq "$RUN/phases.txt" | sed 's/^/    /'
# At most one migration holds hv-b's inbound slot (Scheduling..Finalizing) in any sample.
most="$(awk '{ n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^(Scheduling|Preparing|Migrating|Finalizing)$/) n++; if (n > m) m = n } END { print m + 0 }' "$RUN/phases.txt")"
check "never more than one migration into hv-b at a time (saw $most)" test "$most" -le 1
# The sample index at which each one left Pending for the first time: FIFO means increasing.
first_start() {
  awk -v col="$1" '$col != "-" && $col != "Pending" { print NR; exit }' "$RUN/phases.txt"
}
s1="$(first_start 1)" s2="$(first_start 2)" s3="$(first_start 3)"
echo "    left Pending at samples: lim-1 ${s1:-never}, lim-2 ${s2:-never}, lim-3 ${s3:-never}"
check "they started in creation order (FIFO)" \
  bash -c "[[ -n '$s1' && -n '$s2' && -n '$s3' ]] && (( $s1 < $s2 && $s2 < $s3 ))"
for g in "${GUESTS[@]}"; do
  check "to-b-$g Succeeded (was $(phase_of "to-b-$g"): $(jp vmmigration "to-b-$g" '{.status.failureReason}'))" \
    field_is vmmigration "to-b-$g" '{.status.phase}' Succeeded
  wait_for 60 "$g bound to hv-b" field_is vm "$g" '{.status.hypervisor}' hv-b
  check "$g is bound to hv-b" field_is vm "$g" '{.status.hypervisor}' hv-b
  check "$g runs on B" test "$(domstate "$HOST_B_URI" "$g")" = running
  check "one QEMU runs $g" test "$(qemu_copies "$g")" -eq 1
done

if ((failures)); then
  echo "$LOG_NAME: $failures check(s) failed"
  exit 1
fi
echo "$LOG_NAME: ok"
