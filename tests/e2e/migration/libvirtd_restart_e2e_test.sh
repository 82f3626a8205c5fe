#!/usr/bin/env bash
# A restart of a real libvirtd under a running guest (issue 18, docs/reliability.md promise 6), on
# the two-hosts harness: the tiny guest runs on host A; A's libvirtd is stopped (SIGTERM) and
# started again, then killed (SIGKILL) and started again, each time staying down longer than the
# controller's heartbeat timeout. Throughout, a sampler records the node-daemon's /healthz and
# /readyz, the Hypervisor's Ready and Schedulable conditions and the VM's phase. It checks that:
#   - the guest is untouched: the same QEMU process, the same libvirt domain id once libvirtd is
#     back, its serial ticker going on, no second boot;
#   - the node-daemon is not "dead": the same process, /healthz 200 in every sample (its liveness
#     probe does not depend on libvirt) while /readyz fails during the outage;
#   - the heartbeat goes on: the Lease is renewed past the heartbeat timeout after libvirtd went
#     down, the Hypervisor reports Ready=False LibvirtUnavailable and never Ready=Unknown nor
#     Schedulable=False NotReady, the VM never Unknown;
#   - the node-daemon reconnects in the background (log line, /readyz 200, Ready=True) and acts
#     again: runStrategy Halted, set while libvirtd is down a third time, stops the guest once it
#     is back; Always starts it again; one QEMU, nothing on B.
#
#   tests/e2e/migration/libvirtd_restart_e2e_test.sh BUILD_DIR   (as root; exit 77 = skipped)
# shellcheck disable=SC2119 # lib.sh helpers take optional arguments (a VM name, harness flags)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=libvirtd_restart_e2e
WAIT_INTERVAL=0.5
NS=default
VM=lvd-1
# The controller's heartbeat timeout: each outage lasts longer than this, so a heartbeat that
# stopped with libvirtd would turn the Hypervisor Unknown in the middle of it.
HB_TIMEOUT=10
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# Status every 3 s (not 60): the Hypervisor reports LibvirtUnavailable, then Ready, promptly.
NODE_EXTRA_ARGS=(--status-seconds 3)
mig_e2e_prereqs
failures=0
mig_e2e_init
mig_e2e_guest
mig_e2e_hosts
mig_e2e_api

echo "== node-daemons and controller"
start_node hv-a "$HOST_A_ADDR"
start_node hv-b "$HOST_B_ADDR"
printf 'hypervisorHealth:\n  heartbeatTimeout: %ss\n' "$HB_TIMEOUT" >"$RUN/controller.yaml"
start_controller "$RUN/controller.yaml"
mig_e2e_register --cordon-b

echo "== the guest on A"
create_vm "$VM"
wait_for 180 "$VM Running" field_is vm "$VM" '{.status.phase}' Running || fatal "$VM not Running"
check "$VM is bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
wait_for 90 "the guest's ticker" tick_above 2 || fatal "the guest did not boot (no ticker)"
hv_condition() {  # TYPE -> "Status/Reason" of hv-a's condition
  local c=".status.conditions[?(@.type==\"$1\")]"
  kubectl get hypervisor hv-a -o "jsonpath={$c.status}/{$c.reason}" 2>/dev/null
}
hv_condition_is() { [[ "$(hv_condition "$1")" == "$2" ]]; }
wait_for 60 "hv-a Ready" hv_condition_is Ready True/NodeDaemonReady || fatal "hv-a not Ready"

NODE_LOG="$RUN/node-hv-a.log"
HEALTH_PORT="$(sed -n 's/.*metrics and health on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$NODE_LOG" |
  tail -n1)"
[[ -n "$HEALTH_PORT" ]] || fatal "no health port in $NODE_LOG"
NODE_A_PID="${NODE_PID[hv-a]}"
qemu_pid() { pgrep -f -- "guest=${NS}_${VM}(,|$| )" | head -n1; }
QEMU_PID="$(qemu_pid)"
DOMID="$(virsh -c "$HOST_A_URI" domid "${NS}_$VM" 2>/dev/null | head -n1)"
echo "    node-daemon pid $NODE_A_PID (health :$HEALTH_PORT), QEMU pid $QEMU_PID, domain id $DOMID"
[[ -n "$QEMU_PID" && -n "$DOMID" ]] || fatal "no QEMU process or domain id for $VM"

http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$HEALTH_PORT/$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
boots() { grep -ac '^tick 1\b' "$(serial_log)" 2>/dev/null; }
connects() { grep -c 'libvirt: connected to' "$NODE_LOG"; }

# One sample a line: ms healthz readyz Ready/reason Schedulable/reason vm-phase.
SAMPLES="$RUN/samples.tsv"
SAMPLER_STOP="$RUN/sampler.stop"
sampler() {
  local hv vm
  while [[ ! -e "$SAMPLER_STOP" ]]; do
    hv="$(hv_condition Ready) $(hv_condition Schedulable)"
    vm="$(jp vm "$VM" '{.status.phase}')"
    printf '%s\t%s\t%s\t%s\t%s\n' "$(now_ms)" "$(http_code healthz)" "$(http_code readyz)" \
      "${hv:-? ?}" "${vm:-?}" >>"$SAMPLES"
    sleep 0.3
  done
}
sampler &
SAMPLER_PID=$!
PIDS+=("$SAMPLER_PID")

lease_renewed_after() {  # MS: the hv-a Lease was renewed after that moment
  local t
  t="$(kubectl get lease -n novacron-node-lease hv-a -o 'jsonpath={.spec.renewTime}' 2>/dev/null)"
  [[ -n "$t" ]] && (($(date -d "$t" +%s%3N) > $1))
}
libvirtd_gone() { ! kill -0 "$1" 2>/dev/null; }
not_ready() { [[ "$(http_code readyz)" != 200 ]]; }
ready_code_200() { [[ "$(http_code readyz)" == 200 ]]; }

# outage SIGNAL: stops A's libvirtd with SIGNAL, keeps it down past the heartbeat timeout, starts
# it again and waits for the node-daemon to reconnect.
outage() {
  local sig="$1" pid t_down t_up before_ticks before_connects
  before_ticks="$(max_tick)"
  before_connects="$(connects)"
  pid="$(cat "$(libvirtd_pidfile A)")"
  echo "== libvirtd of host A: SIG$sig (pid $pid)"
  t_down="$(now_ms)"
  kill "-$sig" "$pid" || fatal "signalling libvirtd $pid"
  wait_for 60 "libvirtd $pid to exit" libvirtd_gone "$pid" || fatal "libvirtd $pid did not exit"
  wait_for 30 "/readyz to fail (SIG$sig)" not_ready
  check "SIG$sig: the node-daemon's /readyz fails while libvirtd is down" not_ready
  wait_for 30 "Ready=False LibvirtUnavailable (SIG$sig)" \
    hv_condition_is Ready False/LibvirtUnavailable
  check "SIG$sig: hv-a reports Ready=False LibvirtUnavailable" \
    hv_condition_is Ready False/LibvirtUnavailable
  # Down for longer than the heartbeat timeout, the heartbeat renewed all along.
  wait_for 60 "the Lease renewed ${HB_TIMEOUT}s+2s after libvirtd went down" \
    lease_renewed_after "$((t_down + (HB_TIMEOUT + 2) * 1000))"
  check "SIG$sig: the heartbeat Lease is renewed past the heartbeat timeout with libvirtd down" \
    lease_renewed_after "$((t_down + (HB_TIMEOUT + 2) * 1000))"
  check "SIG$sig: libvirtd is still down (the outage outlasted the heartbeat timeout)" \
    libvirtd_gone "$pid"
  start_libvirtd A || fatal "starting A's libvirtd again"
  t_up="$(now_ms)"
  echo "    libvirtd down for $((t_up - t_down)) ms, now pid $(cat "$(libvirtd_pidfile A)")"
  wait_for 60 "the node-daemon to reconnect (SIG$sig)" \
    bash -c "(( \$(grep -c 'libvirt: connected to' '$NODE_LOG') > $before_connects ))"
  check "SIG$sig: the node-daemon reconnected (log line)" test "$(connects)" -gt "$before_connects"
  wait_for 60 "/readyz 200 (SIG$sig)" ready_code_200
  check "SIG$sig: /readyz is 200 again" ready_code_200
  wait_for 60 "hv-a Ready=True (SIG$sig)" hv_condition_is Ready True/NodeDaemonReady
  check "SIG$sig: hv-a is Ready=True again" hv_condition_is Ready True/NodeDaemonReady
  echo "    back to ready $(($(now_ms) - t_up)) ms after libvirtd was started again"
  check "SIG$sig: the node-daemon is the same process" kill -0 "$NODE_A_PID"
  check "SIG$sig: the guest is the same QEMU process ($QEMU_PID)" test "$(qemu_pid)" = "$QEMU_PID"
  check "SIG$sig: libvirt found the same domain again (id $DOMID)" \
    test "$(virsh -c "$HOST_A_URI" domid "${NS}_$VM" 2>/dev/null | head -n1)" = "$DOMID"
  check "SIG$sig: the domain runs on A" test "$(domstate "$HOST_A_URI")" = running
  check "SIG$sig: the guest's ticker went on past $before_ticks" \
    wait_for 30 "ticks past $before_ticks" tick_above "$((before_ticks + 2))"
  check "SIG$sig: the guest booted once" test "$(boots)" -eq 1
  check "SIG$sig: exactly one QEMU runs the guest" test "$(qemu_copies)" -eq 1
  check "SIG$sig: B has no domain of the guest" no_domain_on "$HOST_B_URI"
  OUTAGES+=("$t_down $t_up")
}

OUTAGES=()
wait_for 30 "the first samples" test -s "$SAMPLES"
outage TERM
outage KILL
: >"$SAMPLER_STOP"
wait "$SAMPLER_PID" 2>/dev/null

echo "== what the sampler saw ($(wc -l <"$SAMPLES") samples)"
in_outages=0
for o in "${OUTAGES[@]}"; do
  read -r a b <<<"$o"
  n="$(awk -F'\t' -v a="$a" -v b="$b" '$1 >= a && $1 <= b' "$SAMPLES" | wc -l)"
  in_outages=$((in_outages + n))
done
echo "    $in_outages samples while libvirtd was down"
awk -F'\t' '{ print "    healthz " $2 ", readyz " $3 ", Ready " $4 ", VM " $5 }' "$SAMPLES" |
  sort | uniq -c
check "the sampler saw the outages (>= 10 samples while libvirtd was down)" \
  test "$in_outages" -ge 10
check "/healthz answered 200 in every sample" \
  test -z "$(awk -F'\t' '$2 != 200' "$SAMPLES")"
check "/readyz failed in some samples (the outages were seen)" \
  test -n "$(awk -F'\t' '$3 != 200' "$SAMPLES")"
check "hv-a was never Ready=Unknown" test -z "$(grep -a 'Unknown/' "$SAMPLES")"
check "hv-a was never Schedulable=False/NotReady" test -z "$(grep -a 'False/NotReady' "$SAMPLES")"
check "the VM was Running in every sample" test -z "$(awk -F'\t' '$5 != "Running"' "$SAMPLES")"
check "the node-daemon logged no crash" \
  bash -c "! grep -aiE 'fatal|terminate called|segmentation' '$NODE_LOG'"

echo "== a change made while libvirtd is down is carried out once it is back"
set_run_strategy() {
  kubectl patch vm "$VM" --type=merge -p "{\"spec\":{\"runStrategy\":\"$1\"}}" \
    >>"$RUN/kubectl.log" 2>&1 || fatal "setting $VM's runStrategy to $1"
}
failed_tries() {
  grep -ac "reconcile $NS/$VM failed, retrying: .*libvirt .*not connected" "$NODE_LOG"
}
tries_before="$(failed_tries)"
pid="$(cat "$(libvirtd_pidfile A)")"
kill -TERM "$pid" || fatal "stopping libvirtd $pid"
wait_for 60 "libvirtd $pid to exit" libvirtd_gone "$pid" || fatal "libvirtd $pid did not exit"
wait_for 30 "/readyz to fail" not_ready
set_run_strategy Halted
# The node-daemon sees the change and cannot act on it yet: the VM stays Running meanwhile.
wait_for 30 "the node-daemon to try $VM and fail" test "$(failed_tries)" -gt "$tries_before"
check "while libvirtd is down the node-daemon retries $VM (not connected to libvirt)" \
  test "$(failed_tries)" -gt "$tries_before"
check "while libvirtd is down the guest still runs (the same QEMU)" \
  test "$(qemu_pid)" = "$QEMU_PID"
start_libvirtd A || fatal "starting A's libvirtd again"
wait_for 90 "$VM Stopped" field_is vm "$VM" '{.status.phase}' Stopped
check "Halted: $VM is Stopped" field_is vm "$VM" '{.status.phase}' Stopped
check "Halted: the domain does not run on A" not_running_on "$HOST_A_URI"
wait_for 30 "no QEMU of $VM" test "$(qemu_copies)" -eq 0
check "Halted: no QEMU runs the guest" test "$(qemu_copies)" -eq 0
set_run_strategy Always
wait_for 120 "$VM Running again" field_is vm "$VM" '{.status.phase}' Running
check "Always: $VM is Running again" field_is vm "$VM" '{.status.phase}' Running
check "Always: the domain runs on A" test "$(domstate "$HOST_A_URI")" = running
one_new_qemu() { [[ "$(qemu_copies)" -eq 1 && "$(qemu_pid)" != "$QEMU_PID" ]]; }
check "Always: exactly one QEMU runs the guest (a new one)" one_new_qemu
check "Always: $VM is still bound to hv-a" field_is vm "$VM" '{.status.hypervisor}' hv-a
check "Always: B has no domain of the guest" no_domain_on "$HOST_B_URI"
check "the node-daemon is still the same process" kill -0 "$NODE_A_PID"

if ((failures)); then
  echo "$LOG_NAME: $failures check(s) failed"
  exit 1
fi
echo "$LOG_NAME: ok"
