#!/usr/bin/env bash
# Forecast against measurement: for an idle guest and two memory-dirtying guests (hack/build-guest.sh:
# novacron.wandirty rewrites 4 MiB/s of text; novacron.dirty rewrites 48 MiB as fast as it can),
# each migration is planned first (a dry-run VMMigration: the source node-daemon measures the dirty
# rate through libvirt, the controller forecasts) and then run for real with the same options;
# printed per run: the measured dirty rate, the forecast total time and downtime, libvirt's measured
# total (progress.elapsedMs) and downtime (progress.downtimeMs), and the error in % ((forecast -
# measured) / measured). Variants: unlimited bandwidth (the plan assumes 1 GiB/s) and a 16 MiB/s cap
# (bandwidthMiBps: the plan knows the bandwidth; progressTimeoutSeconds 10 ends a migration that
# cannot converge quickly). Figures and what they say: tests/bench/README.md.
#
#   tests/bench/migration/forecast_bench.sh [BUILD_DIR] [ROUNDS]   (as root; default 2 rounds)
#
# The setup is the migration e2e tests' (tests/e2e/migration/lib.sh: the two-hosts harness, two
# node-daemons, the controller, the dev API server). A benchmark: it asserts nothing about time.
# shellcheck disable=SC2119 # lib.sh helpers take optional arguments
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
ROUNDS="${2:-2}"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=forecast_bench
WAIT_INTERVAL=0.25
NS=default
VM=fb-idle
# shellcheck source=../../e2e/migration/lib.sh
source "$ROOT/tests/e2e/migration/lib.sh"
mig_e2e_prereqs
failures=0
mig_e2e_init
mig_e2e_guest
mig_e2e_hosts
mig_e2e_api
start_node hv-a "$HOST_A_ADDR"
start_node hv-b "$HOST_B_ADDR"
start_controller
mig_e2e_register --cordon-b

GUESTS=("fb-idle|" "fb-wandirty|novacron.wandirty" "fb-dirty|novacron.dirty")
for g in "${GUESTS[@]}"; do
  create_vm "${g%%|*}" "${g#*|}"
done
for g in "${GUESTS[@]}"; do
  name="${g%%|*}"
  wait_for 180 "$name Running" field_is vm "$name" '{.status.phase}' Running || fatal "$name"
  wait_for 90 "$name's ticker" tick_above 3 "$name" || fatal "$name did not boot"
done
uncordon_b

now_ms() { echo $(($(date +%s%N) / 1000000)); }
ended() { jp vmmigration "$1" '{.status.phase}' | grep -Eq 'Succeeded|Failed|Cancelled|Planned'; }
err_pct() { awk -v f="$1" -v m="$2" 'BEGIN { if (m > 0 && f != "") printf "%+.0f%%", (f - m) * 100 / m; else print "-" }'; }
mibps() { awk -v b="${1:-0}" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# apply_migration NAME VM TARGET DRYRUN OPTIONS
apply_migration() {
  printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
    "metadata: {name: $1, namespace: $NS}" \
    "spec: {vmName: $2, targetHypervisor: $3, mode: Live, dryRun: $4, options: $5}" |
    kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $1"
}

VARIANTS=("unlimited|{}" "16MiB/s|{bandwidthMiBps: 16, progressTimeoutSeconds: 10}")
rows=()
n=0
for ((round = 1; round <= ROUNDS; round++)); do
  for g in "${GUESTS[@]}"; do
    name="${g%%|*}"
    for variant in "${VARIANTS[@]}"; do
      label="${variant%%|*}" opts="${variant#*|}"
      n=$((n + 1))
      from="$(jp vm "$name" '{.status.hypervisor}')"
      to="hv-a"
      [[ "$from" == hv-a ]] && to="hv-b"
      apply_migration "plan-$n" "$name" "$to" true "$opts"
      wait_for 120 "plan-$n" ended "plan-$n" || fatal "plan-$n did not end"
      fp() { jp vmmigration "plan-$n" "{.status.plan.$1}"; }
      [[ "$(jp vmmigration "plan-$n" '{.status.phase}')" == Planned ]] ||
        fatal "plan-$n: $(jp vmmigration "plan-$n" '{.status.phase}: {.status.failureReason}')"
      rate="$(fp dirtyRateBytesPerSecond)"
      f_total="$(fp forecast.totalMs)" f_down="$(fp forecast.downtimeMs)"
      f_conv="$(fp forecast.converges)" f_strategy="$(fp forecast.strategy)"
      t0="$(now_ms)"
      apply_migration "mig-$n" "$name" "$to" false "$opts"
      wait_for 300 "mig-$n" ended "mig-$n" || fatal "mig-$n did not end"
      wall=$(($(now_ms) - t0))
      phase="$(jp vmmigration "mig-$n" '{.status.phase}')"
      m_total="$(jp vmmigration "mig-$n" '{.status.progress.elapsedMs}')"
      m_down="$(jp vmmigration "mig-$n" '{.status.progress.downtimeMs}')"
      if [[ "$phase" != Succeeded ]]; then
        m_total="" m_down=""
        wait_for 60 "$name unlocked" field_is vm "$name" '{.status.activeMigration}' ""
      else
        wait_for 60 "$name Running on $to" field_is vm "$name" '{.status.phase}' Running
      fi
      rows+=("$(printf '%-12s %-9s %7s %-6s %-12s %9s %9s %6s %8s %8s %6s  %-10s %s' \
        "$name" "$label" "$(mibps "$rate")" "$f_conv" "$f_strategy" "$f_total" "${m_total:--}" \
        "$(err_pct "$f_total" "$m_total")" "$f_down" "${m_down:--}" "$(err_pct "$f_down" "$m_down")" \
        "$phase" "wall ${wall} ms")")
    done
  done
done

echo
echo "BENCH migration forecast vs measurement: 128 MiB TCG guests, two libvirtds on one machine, $ROUNDS round(s)"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg); libvirt $(libvirtd --version | awk '{ print $NF }'), $(qemu-system-x86_64 --version | head -n1)"
printf '  %-12s %-9s %7s %-6s %-12s %9s %9s %6s %8s %8s %6s  %-10s\n' guest bandwidth "dirty" conv strategy \
  "total fc" "total ms" "err" "down fc" "down ms" "err" phase
for row in "${rows[@]}"; do echo "  $row"; done
echo "  (dirty: MiB/s measured by QEMU calc-dirty-rate in the plan; fc: the plan's forecast in ms;"
echo "   total ms / down ms: libvirt's completed job (progress.elapsedMs / downtimeMs); err: (fc - measured) / measured;"
echo "   wall: kubectl apply to a terminal phase)"
