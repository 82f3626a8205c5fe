#!/usr/bin/env bash
# The fault suite in depth (issue 18; docs/reliability.md "The fault suite in depth"): a seeded
# random schedule of live migrations and faults on the two-host QEMU harness (tests/e2e/harness),
# with real TCG guests that must never run twice, never reboot and never be lost.
#
# Two tiny guests run on real libvirtds in two network + mount namespaces; the schedule migrates
# them live between the hosts (some capped, so a fault lands mid-transfer), cancels migrations, and
# injects faults: SIGKILL of a node-daemon (restarted after 1-4 s; the guests must survive it),
# SIGSTOP of a node-daemon (1-6 s), SIGKILL of the controller, SIGKILL of a host's libvirtd
# (started again after 2-6 s), a host's link down (its namespace cut off from the bridge: the
# node-daemon's libvirt connection and the migration stream, 3-8 s), and an API server restart.
# While it runs, a sampler reads each host's running domains from inside its namespace every
# ~0.3 s: a guest running on both hosts at once is a violation. After the faults stop it waits
# (bound: 180 s) for every VMMigration to end and every guest to run exactly once, on the host it
# is bound to, with one QEMU process and the ledgers equal to the bound VMs; then it checks that no
# guest ever booted twice (the boot marker on its serial console) and that their tickers go on.
#
#   tests/e2e/reliability/qemu_faults_e2e_test.sh BUILD_DIR [--seed S|random] [--schedules K] [--steps N]
#   (as root; exit 77 = skipped without root, QEMU or libvirtd)
# Each failing schedule prints its seed and the command that runs it again.
# shellcheck disable=SC2119 # lib.sh helpers take optional arguments
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
shift || true
SEED=1 SCHEDULES=1 STEPS=10
while (($#)); do
  case "$1" in
    --seed) SEED="$2"; shift 2 ;;
    --schedules) SCHEDULES="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    *) echo "usage: $0 BUILD_DIR [--seed S|random] [--schedules K] [--steps N]" >&2; exit 2 ;;
  esac
done
[[ "$SEED" == random ]] && SEED=$(($(date +%s%N) / 1000 % 1000000))
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=qemu_faults_e2e
WAIT_INTERVAL=0.5
NS=default
VM=deep-0
GUESTS=(deep-0 deep-1)
CONVERGE_SECONDS=180
# shellcheck source=../migration/lib.sh
source "$ROOT/tests/e2e/migration/lib.sh"
failures=0
mig_e2e_start

HOST_OF=([0]=A [1]=B)
host_letter() { [[ "$1" == hv-a ]] && echo A || echo B; }
other_hv() { [[ "$1" == hv-a ]] && echo hv-b || echo hv-a; }
# Running domains of host A or B, read inside its namespace (works while its link is down);
# fails when its libvirtd does not answer.
running_on() {
  local nsenter="HOST_$1_NSENTER"
  # shellcheck disable=SC2086 # HOST_X_NSENTER is a command line
  timeout 10 ${!nsenter} virsh -c qemu:///system list --name --state-running
}
boots() { grep -ac NOVACRON-GUEST-BOOTED "$(serial_log "$1")" 2>/dev/null || true; }
# The guest's last "tick N" (a reboot starts again from 1: the last one, not the largest).
last_tick() { grep -ao 'tick [0-9]*' "$(serial_log "$1")" 2>/dev/null | tail -n1 | awk '{ print $2 }'; }
no_migrations() { local out; out="$(kubectl get vmmigrations -n "$NS" -o name 2>/dev/null)" && [[ -z "$out" ]]; }
ticks_past() { local t; t="$(last_tick "$2")"; [[ -n "$t" ]] && ((t > $1)); }

echo "== the guests"
for g in "${GUESTS[@]}"; do
  create_vm "$g"
done
for g in "${GUESTS[@]}"; do
  wait_for 300 "$g Running" field_is vm "$g" '{.status.phase}' Running || fatal "$g not Running"
  wait_for 300 "$g's ticker" tick_above 2 "$g" || fatal "$g did not boot (no ticker)"
done

# --- the continuous check: nothing runs twice -------------------------------------------------
VIOLATIONS="$RUN/violations"
: >"$VIOLATIONS"
# A timeline of each guest's libvirt state and reason on each host, written when it changes
# ($RUN/timeline; kept with NOVACRON_KEEP_TEST_DIRS=1): what a failure report is read against.
domain_states() {
  local h g nsenter
  for h in A B; do
    nsenter="HOST_${h}_NSENTER"
    for g in "${GUESTS[@]}"; do
      # shellcheck disable=SC2086 # HOST_X_NSENTER is a command line
      printf '%s:%s=%s ' "$h" "$g" "$(timeout 10 ${!nsenter} virsh -c qemu:///system domstate \
        --reason "${NS}_$g" 2>/dev/null | head -n1 | tr ' ' _)"
    done
  done
}
sampler() {
  local a b g states last=""
  trap - EXIT INT TERM  # a subshell: the test's teardown is the main shell's
  trap 'exit 0' TERM
  while :; do
    a="$(running_on A 2>/dev/null)" || a=""
    b="$(running_on B 2>/dev/null)" || b=""
    for g in "${GUESTS[@]}"; do
      # A then B is not one instant: at a switch-over from A to B, A may still run when it is read
      # and B already when B is read. Reading A again after B makes it one: A running before and
      # after B's read was running at that moment too.
      if grep -qx "${NS}_$g" <<<"$a" && grep -qx "${NS}_$g" <<<"$b" &&
        running_on A 2>/dev/null | grep -qx "${NS}_$g"; then
        echo "$(date -u +%T.%N) $g running on host A and host B at once" >>"$VIOLATIONS"
      fi
    done
    states="$(domain_states)"
    if [[ "$states" != "$last" ]]; then
      echo "$(date -u +%T.%3N) $states" >>"$RUN/timeline"
      last="$states"
    fi
    sleep 0.3
  done
}
sampler &
PIDS+=("$!")

# --- faults and their repair ------------------------------------------------------------------
declare -A FAULTS=() OPS=() BUSY=()  # counts by kind; BUSY: a component or host under a fault now
HEAL_AT=() HEAL_DO=()
R=()  # this step's random draws (R[0..9]), drawn at its start from the schedule's seed
later() { # later SECONDS_MIN SECONDS_MAX COMMAND: run COMMAND (eval) then, or when the faults stop
  HEAL_AT+=($(($(date +%s) + $1 + R[7] % ($2 - $1 + 1))))
  HEAL_DO+=("$3")
}
heal() { # heal [all]: runs the repairs that are due (all: every one, "the faults stop")
  local now i keep_at=() keep_do=() order=()
  now="$(date +%s)"
  # Links first: a libvirtd that comes back is waited for over the bridge.
  for i in "${!HEAL_DO[@]}"; do
    [[ "${HEAL_DO[i]}" == link_up* ]] && order+=("$i")
  done
  for i in "${!HEAL_DO[@]}"; do
    [[ "${HEAL_DO[i]}" == link_up* ]] || order+=("$i")
  done
  for i in "${order[@]}"; do
    if [[ "${1:-}" == all ]] || ((HEAL_AT[i] <= now)); then
      echo "$(date -u +%T.%3N) repair: ${HEAL_DO[i]}" >>"$RUN/timeline"
      eval "${HEAL_DO[i]}"
    else
      keep_at+=("${HEAL_AT[i]}")
      keep_do+=("${HEAL_DO[i]}")
    fi
  done
  HEAL_AT=("${keep_at[@]}")
  HEAL_DO=("${keep_do[@]}")
}
# Signals PID only while it is still one of this run's processes: a process that exited on its
# own leaves a pid the kernel may give to anyone else's process (it happened: a stale pid was
# another test's node-daemon).
alive_ours() { grep -qaF -- "$RUN" "/proc/$1/cmdline" 2>/dev/null; }
signal_ours() { alive_ours "$2" && kill "-$1" "$2"; }
node_back() { start_node "$1" "$2"; BUSY[$1]=""; }
node_thaw() { signal_ours CONT "${NODE_PID[$1]}"; BUSY[$1]=""; }
controller_back() { start_controller; BUSY[controller]=""; }
link_up() { ip link set "$(host_veth "$1")" up; BUSY[host$1]=""; }
libvirtd_back() {
  start_libvirtd "$1" || { echo "FAIL: libvirtd of host $1 did not come back"; failures=$((failures + 1)); }
  BUSY[host$1]=""
}
host_veth() { local v="HOST_$1_VETH"; echo "${!v}"; }
host_addr() { local v="HOST_$1_ADDR"; echo "${!v}"; }
restart_apiserver() {
  local pidfile="$RUN/api/apiserver.pid" args api_port etcd_port
  args="$(tr '\0' ' ' <"/proc/$(cat "$pidfile")/cmdline")"
  api_port="$(sed -n 's/.*--secure-port=\([0-9]*\).*/\1/p' <<<"$args")"
  etcd_port="$(sed -n 's/.*--etcd-servers=http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' <<<"$args")"
  kill -KILL "$(cat "$pidfile")"
  wait_for 10 "the API server to exit" bash -c "! kill -0 $(cat "$pidfile") 2>/dev/null"
  RUN_DIR="$RUN/api" BUILD_DIR="$BUILD_DIR" API_PORT="$api_port" ETCD_PORT="$etcd_port" \
    "$ROOT/hack/dev-cluster.sh" start >>"$RUN/dev-cluster.log" 2>&1 ||
    fatal "the API server did not start again"
}

# A node-daemon or the controller that exited although no fault killed it: a violation for a
# node-daemon (it must report what it cannot do, not die: docs/reliability.md promise 7), and
# restarted at once as a DaemonSet or Deployment would; called at every step and convergence poll.
supervise() {
  local hv
  for hv in hv-a hv-b; do
    [[ -n "${BUSY[$hv]:-}" ]] && continue  # killed or stopped by a fault: its repair restarts it
    if ! alive_ours "${NODE_PID[$hv]}"; then
      echo "$(date -u +%T.%N) node-daemon $hv exited on its own (restarted)" >>"$VIOLATIONS"
      echo "$(date -u +%T.%3N) node-daemon $hv exited on its own; restarting it" >>"$RUN/timeline"
      start_node "$hv" "$(host_addr "$(host_letter "$hv")")"
    fi
  done
  if [[ -z "${BUSY[controller]:-}" ]] && ! alive_ours "$CONTROLLER_PID"; then
    echo "$(date -u +%T.%3N) the controller exited on its own; restarting it" >>"$RUN/timeline"
    start_controller
  fi
}

fault() {
  local h=${HOST_OF[$((R[1] % 2))]} hv kind
  hv="hv-${h,,}"
  case $((R[2] % 6)) in
    0) kind=kill-node
       [[ -n "${BUSY[$hv]:-}" ]] && return
       signal_ours KILL "${NODE_PID[$hv]}" || return; BUSY[$hv]=1
       later 1 4 "node_back $hv $(host_addr "$h")" ;;
    1) kind=sigstop-node
       [[ -n "${BUSY[$hv]:-}" ]] && return
       signal_ours STOP "${NODE_PID[$hv]}" || return; BUSY[$hv]=1
       later 1 6 "node_thaw $hv" ;;
    2) kind=kill-controller
       [[ -n "${BUSY[controller]:-}" ]] && return
       signal_ours KILL "$CONTROLLER_PID" || return; BUSY[controller]=1
       later 1 3 controller_back ;;
    3) kind=kill-libvirtd
       [[ -n "${BUSY[host$h]:-}" ]] && return
       kill_libvirtd "$h"; BUSY[host$h]=1
       later 2 6 "libvirtd_back $h" ;;
    4) kind=link-down
       [[ -n "${BUSY[host$h]:-}" ]] && return
       ip link set "$(host_veth "$h")" down; BUSY[host$h]=1
       later 3 8 "link_up $h" ;;
    5) kind=restart-apiserver
       restart_apiserver ;;
  esac
  [[ "$kind" == *-node || "$kind" == *libvirtd || "$kind" == link-down ]] && kind="$kind $h"
  echo "    fault: $kind"
  echo "$(date -u +%T.%3N) fault: $kind" >>"$RUN/timeline"
  FAULTS[${kind% *}]=$((${FAULTS[${kind% *}]:-0} + 1))
}

MIGRATIONS=()
op() {
  local g=${GUESTS[$((R[1] % ${#GUESTS[@]}))]} from to name options
  if ((R[2] % 4 == 0)) && ((${#MIGRATIONS[@]})); then
    name=${MIGRATIONS[$((R[3] % ${#MIGRATIONS[@]}))]}
    echo "    op: cancel $name"
    echo "$(date -u +%T.%3N) op: cancel $name" >>"$RUN/timeline"
    kubectl patch vmmigration "$name" -n "$NS" --type=merge -p '{"spec":{"cancel":true}}' \
      >>"$RUN/kubectl.log" 2>&1 || { OPS[refused]=$((${OPS[refused]:-0} + 1)); return; }
    OPS[cancel]=$((${OPS[cancel]:-0} + 1))
    return
  fi
  from="$(jp vm "$g" '{.status.hypervisor}')" || return
  [[ -n "$from" ]] || return
  to="$(other_hv "$from")"
  name="mig-$SCHEDULE_SEED-${#MIGRATIONS[@]}"
  # A cap makes the transfer of the 128 MiB guest last seconds, so a fault can land mid-way.
  options="{progressTimeoutSeconds: 20, completionTimeoutPerGiBSeconds: 600"
  if ((R[4] % 2)); then options+=", bandwidthMiBps: $((8 + R[5] % 3 * 8))"; fi
  options+="}"
  echo "    op: migrate $g $from -> $to $options"
  echo "$(date -u +%T.%3N) op: $name migrate $g $from -> $to $options" >>"$RUN/timeline"
  MIGRATIONS+=("$name")
  printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
    "metadata: {name: $name, namespace: $NS}" \
    "spec: {vmName: $g, targetHypervisor: $to, mode: Live, options: $options}" |
    kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || { OPS[refused]=$((${OPS[refused]:-0} + 1)); return; }
  OPS[migrate]=$((${OPS[migrate]:-0} + 1))
}

# --- the end state: everything converged ---------------------------------------------------------
PROBLEM=""
problem() { PROBLEM="$*"; return 1; }
converged() {
  local phases g hv h other a b n_a=0 n_b=0
  supervise
  phases="$(kubectl get vmmigrations -n "$NS" -o 'jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}' 2>/dev/null)" ||
    problem "the API server does not answer" || return 1
  for p in $phases; do
    [[ "${p#*=}" =~ ^(Succeeded|Failed|Cancelled)$ ]] || problem "VMMigration ${p%=*}: phase '${p#*=}'" || return 1
  done
  a="$(running_on A)" || problem "host A's libvirtd does not answer" || return 1
  b="$(running_on B)" || problem "host B's libvirtd does not answer" || return 1
  for g in "${GUESTS[@]}"; do
    field_is vm "$g" '{.status.phase}' Running || problem "$g: phase $(jp vm "$g" '{.status.phase}')" || return 1
    field_is vm "$g" '{.status.activeMigration}' "" || problem "$g: still migrating" || return 1
    hv="$(jp vm "$g" '{.status.hypervisor}')"
    [[ "$hv" == hv-a || "$hv" == hv-b ]] || problem "$g: bound to '$hv'" || return 1
    [[ "$hv" == hv-a ]] && n_a=$((n_a + 1)) || n_b=$((n_b + 1))
    h="$(host_letter "$hv")"
    other="$(host_letter "$(other_hv "$hv")")"
    local on="$a" off="$b"
    [[ "$h" == B ]] && on="$b" off="$a"
    grep -qx "${NS}_$g" <<<"$on" || problem "$g: bound to $hv but not running on host $h" || return 1
    ! grep -qx "${NS}_$g" <<<"$off" || problem "$g: also running on host $other" || return 1
    [[ "$(qemu_copies "$g")" -eq 1 ]] || problem "$g: $(qemu_copies "$g") QEMU processes" || return 1
    not_in_ledger "$(other_hv "$hv")" "$g" || problem "$g: still in $(other_hv "$hv")'s ledger" || return 1
  done
  ledger_counts hv-a "$n_a" || return 1
  ledger_counts hv-b "$n_b" || return 1
  # Every node-daemon is healthy again: heartbeat fresh and libvirt connected (a hung node-daemon
  # leaves its guests running, and would otherwise go unnoticed).
  for hv in hv-a hv-b; do
    field_is hypervisor "$hv" '{.status.conditions[?(@.type=="Ready")].status}' True ||
      problem "$hv: Ready is $(jp hypervisor "$hv" '{.status.conditions[?(@.type=="Ready")].reason}')" ||
      return 1
  done
}
ledger_counts() { # ledger_counts HV N: status.allocated.vms (absent = 0) is N
  local got
  got="$(jp hypervisor "$1" '{.status.allocated.vms}')" || problem "cannot read $1" || return 1
  ((${got:-0} == $2)) || problem "$1: its ledger counts ${got:-0} VMs, $2 bound to it"
}

# The threads' stacks of every running node-daemon and the controller ($RUN/stacks-SEED-*.txt),
# for a report that a process hangs.
dump_stacks() {
  local name pid
  command -v gdb >/dev/null || return 0
  for name in hv-a hv-b controller; do
    pid="${NODE_PID[$name]:-}"
    [[ "$name" == controller ]] && pid="$CONTROLLER_PID"
    alive_ours "$pid" || continue
    timeout 60 gdb -p "$pid" -batch -ex "thread apply all bt" >"$RUN/stacks-$1-$name.txt" 2>&1
    echo "    stacks of $name (pid $pid): $RUN/stacks-$1-$name.txt"
  done
}

# --- the schedules ----------------------------------------------------------------------------------
CONVERGE_TIMES=()
FAILED_SEEDS=()
for ((SCHEDULE_SEED = SEED; SCHEDULE_SEED < SEED + SCHEDULES; SCHEDULE_SEED++)); do
  echo "== schedule seed $SCHEDULE_SEED: $STEPS steps"
  RANDOM=$SCHEDULE_SEED
  before_failures=$failures
  declare -A START_TICK=() START_BOOTS=()
  for g in "${GUESTS[@]}"; do
    START_TICK[$g]="$(last_tick "$g")"
    START_BOOTS[$g]="$(boots "$g")"
  done
  for ((step = 0; step < STEPS; step++)); do
    supervise
    heal
    # A fixed number of draws per step, whatever the step then does (a fault skipped because its
    # target is busy draws as many as one carried out): the seed fixes every step's choices.
    R=()
    for i in 0 1 2 3 4 5 6 7 8 9; do
      R[i]=$RANDOM
    done
    if ((R[0] % 100 < 50)); then fault; else op; fi
    sleep "$((1 + R[8] % 3)).$((R[9] % 10))"
  done
  heal all
  echo "    faults stopped"
  since="$(date +%s%N)"
  PROBLEM=""
  if WAIT_INTERVAL=1 wait_until "$CONVERGE_SECONDS" converged; then
    took=$((($(date +%s%N) - since) / 1000000))
    CONVERGE_TIMES+=("$took")
    echo "PASS: seed $SCHEDULE_SEED converged ${took} ms after the faults stopped${PROBLEM:+ (the last thing waited for: $PROBLEM)}"
  else
    converged  # once more, for the message
    echo "FAIL: seed $SCHEDULE_SEED not converged ${CONVERGE_SECONDS}s after the faults stopped: $PROBLEM"
    failures=$((failures + 1))
    dump_stacks "$SCHEDULE_SEED"
  fi
  for g in "${GUESTS[@]}"; do
    # The same boot's ticker went on past where it was when the schedule started (a reboot starts
    # from 1 again); then, its marker printed long before, the guest did not boot again during
    # this schedule (an earlier schedule's failure is not held against this one).
    check "seed $SCHEDULE_SEED: $g's ticker went on from tick ${START_TICK[$g]:-0}" \
      wait_for 60 "$g's ticker" ticks_past "${START_TICK[$g]:-0}" "$g"
    check "seed $SCHEDULE_SEED: $g did not boot again (never restarted, never lost)" \
      test "$(boots "$g")" -eq "${START_BOOTS[$g]:-1}"
  done
  check "seed $SCHEDULE_SEED: no guest ran on both hosts at once (sampler)" test ! -s "$VIOLATIONS"
  cat "$VIOLATIONS"
  : >"$VIOLATIONS"
  for m in "${MIGRATIONS[@]}"; do
    p="$(phase_of "$m")"
    OPS["mig-${p:-none}"]=$((${OPS["mig-${p:-none}"]:-0} + 1))
  done
  # Ended migrations can be deleted: each goes within 60 s (its finalizer waits at most for the
  # target's cleanup report).
  kubectl delete vmmigrations --all -n "$NS" --wait=false >>"$RUN/kubectl.log" 2>&1
  check "seed $SCHEDULE_SEED: the ended VMMigrations are deleted within 60 s" \
    wait_for 60 "the VMMigrations to go" no_migrations
  MIGRATIONS=()
  if ((failures > before_failures)); then
    FAILED_SEEDS+=("$SCHEDULE_SEED")
    echo "seed $SCHEDULE_SEED FAILED; reproduce with: $0 $BUILD_DIR --seed $SCHEDULE_SEED --schedules 1 --steps $STEPS"
  fi
done

echo "=== fault suite in depth: figures ==="
echo "schedules: $SCHEDULES (seeds $SEED..$((SEED + SCHEDULES - 1)), $STEPS steps, 2 QEMU hosts, ${#GUESTS[@]} guests)"
printf 'faults:'; for k in "${!FAULTS[@]}"; do printf ' %s=%s' "$k" "${FAULTS[$k]}"; done; echo
printf 'operations and migration outcomes:'; for k in "${!OPS[@]}"; do printf ' %s=%s' "$k" "${OPS[$k]}"; done; echo
if ((${#CONVERGE_TIMES[@]})); then
  sorted="$(printf '%s\n' "${CONVERGE_TIMES[@]}" | sort -n)"
  echo "time to converge (ms): p50 $(sed -n "$(((${#CONVERGE_TIMES[@]} + 1) / 2))p" <<<"$sorted") max $(tail -n1 <<<"$sorted") (n=${#CONVERGE_TIMES[@]})"
fi
echo "failed seeds: ${FAILED_SEEDS[*]:-none}"
((failures == 0)) || exit 1
echo "PASS: fault suite in depth"
