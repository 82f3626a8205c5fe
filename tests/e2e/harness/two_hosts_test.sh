#!/usr/bin/env bash
# Smoke test of the two-hosts harness (two_hosts.sh), and the "bare virsh" migration baseline:
# brings up two hypervisor hosts, boots the tiny TCG guest (hack/build-guest.sh) on host A, live-
# migrates it peer-to-peer to B and back with plain `virsh migrate --live --p2p`, checks that it ran
# on exactly one host at a time and never rebooted (its serial ticker continued, the boot marker
# appeared once), prints libvirt's completed-job statistics (total time, downtime) of each
# migration, tears down, and checks that nothing of the harness is left on the machine.
#
#   tests/e2e/harness/two_hosts_test.sh      (as root; exit 77 = skipped)
#
# Environment: NOVACRON_GUEST_DIR (default <repo>/.run/guest) caches the guest's kernel/initramfs.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
HARNESS="$HERE/two_hosts.sh"
VM="nc-two-hosts-smoke-$$"
MARKER="NOVACRON-GUEST-BOOTED"

skip() {
  echo "SKIP: $*"
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "needs root (network and mount namespaces, libvirtd)"
for tool in qemu-system-x86_64 libvirtd virtlogd virsh ip nsenter unshare setsid flock python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (hack/install-deps.sh)"
done

failures=0
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh" # check(); its wait_for is replaced below by this test's own
fatal() {
  echo "FAIL: $*"
  exit 1
}

# The harness creates the state dir, so `down` removes all of it, whoever runs it (this script's
# trap, or the harness's watchdog if this script is killed with SIGKILL).
STATE="$(mktemp -u /tmp/novacron-two-hosts.XXXXXX)"
WORK="" # $TWO_HOSTS_WORK_DIR, removed by `down`
root_libvirtd_before="$(ps -C libvirtd -o pid=,stat=,args= | awk '$2 !~ /Z/' | grep -v -- "$STATE" | sort || true)"

dump_logs() {
  local f
  for f in "$STATE"/host?/log/libvirtd.log "$STATE"/host?/log/qemu/*.log "$STATE"/host?/files/*.log; do
    [[ -s "$f" ]] || continue
    echo "---- tail of $f ----"
    tail -n 30 "$f"
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -e "$STATE/journal" ]]; then
    if ((rc)); then dump_logs; fi
    "$HARNESS" down --state-dir "$STATE" || echo "two_hosts_test: down failed"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Polls "$@" until it succeeds, for at most $2 seconds.
wait_for() {
  local what="$1" timeout="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@"; do
    if ((SECONDS > deadline)); then
      echo "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# The network safety rule: every address we connect to must be routed through the harness bridge.
routed_via_bridge() {
  [[ "$(ip -o route get "$1" | sed -n 's/.* dev \([^ ]*\).*/\1/p')" == "$TWO_HOSTS_BRIDGE" ]]
}

ticks() { grep -ao 'tick [0-9]*' "$1" 2>/dev/null | awk '{ print $2 }'; }
max_tick() { ticks "$1" | sort -n | tail -n1; }
first_tick() { ticks "$1" | head -n1; }
tick_at_least() { local t; t="$(max_tick "$1")"; [[ -n "$t" ]] && ((t >= $2)); }
markers() { grep -ac "$MARKER" "$@" 2>/dev/null | awk -F: '{ s += $NF } END { print s + 0 }'; }
domstate() { virsh -c "$1" domstate "$VM" 2>/dev/null | head -n1; }
qemu_copies() { pgrep -f -- "guest=$VM" | wc -l; }

# Prints libvirt's statistics of the completed migration job (as the source reports them), and
# "total_ms downtime_ms" on the last line for the caller.
job_stats() {
  local uri="$1" out
  out="$(virsh -c "$uri" domjobinfo --completed "$VM" 2>&1)"
  printf '    %s\n' "${out//$'\n'/$'\n'    }" >&2
  echo "$(echo "$out" | awk -F: '/^Time elapsed:/ { print $2 + 0 }')" \
    "$(echo "$out" | awk -F: '/^Total downtime:/ { print $2 + 0 }')"
}

# migrate FROM TO: live, peer-to-peer, with the serial log moved to the destination's directory.
# --persistent keeps an inactive definition on the source, whose completed-job statistics libvirt
# then still reports (a transient source domain vanishes with them).
migrate() {
  local from="$1" to="$2" from_uri to_uri to_mig from_dir to_dir xml="$WORK/dest-$2.xml" stats total downtime
  from_uri="HOST_${from}_URI" to_uri="HOST_${to}_URI" to_mig="HOST_${to}_MIGRATE_URI"
  from_dir="HOST_${from}_DIR" to_dir="HOST_${to}_DIR"
  virsh -c "${!from_uri}" dumpxml --migratable "$VM" | sed "s|${!from_dir}/|${!to_dir}/|g" >"$xml" ||
    fatal "dumpxml on $from"
  local args=(migrate --live --p2p --persistent --xml "$xml" --persistent-xml "$xml" "$VM" "${!to_uri}"
    "${!to_mig}")
  echo "migrating $VM $from -> $to: virsh -c ${!from_uri} ${args[*]}"
  if ! virsh -c "${!from_uri}" "${args[@]}"; then
    fatal "virsh migrate $from -> $to"
  fi
  echo "  completed job on the source ($from):"
  stats="$(job_stats "${!from_uri}")"
  read -r total downtime <<<"$stats"
  echo "MIGRATION $from->$to: bare virsh migrate --live --p2p (128 MiB TCG guest):" \
    "total ${total:-?} ms, downtime ${downtime:-?} ms"
  [[ -n "$total" && -n "$downtime" ]] || fatal "no completed-job statistics on $from"
}

echo "== guest"
GUEST="${NOVACRON_GUEST_DIR:-$ROOT/.run/guest}"
"$ROOT/hack/build-guest.sh" "$GUEST" || fatal "hack/build-guest.sh $GUEST"

echo "== up"
"$HARNESS" up --state-dir "$STATE" --owner-pid $$ || fatal "two_hosts.sh up"
# shellcheck disable=SC1090
source <("$HARNESS" env --state-dir "$STATE") || fatal "two_hosts.sh env"
WORK="$TWO_HOSTS_WORK_DIR"
check "host A ($HOST_A_ADDR) is routed via the harness bridge" routed_via_bridge "$HOST_A_ADDR"
check "host B ($HOST_B_ADDR) is routed via the harness bridge" routed_via_bridge "$HOST_B_ADDR"
((failures == 0)) || fatal "network safety check"
check "the harness status says both libvirtds answer" "$HARNESS" status --state-dir "$STATE"
host_uuid() { virsh -c "$1" capabilities | grep -m1 -o '<uuid>[^<]*'; }
check "host A and B have distinct host UUIDs" test "$(host_uuid "$HOST_A_URI")" != "$(host_uuid "$HOST_B_URI")"
check "host B answers over TLS to a client with A's certificates" \
  timeout 20 virsh -q -c "$HOST_B_TLS_URI?pkipath=$HOST_A_PKI_DIR" version
tls_without_client_cert() { # the harness CA but no client certificate: no session
  local d="$TWO_HOSTS_WORK_DIR/no-client-cert"
  mkdir -p "$d" && cp "$HOST_A_PKI_DIR/cacert.pem" "$d/"
  ! timeout 20 virsh -q -c "$HOST_B_TLS_URI?pkipath=$d" version >/dev/null 2>&1
}
check "a TLS connection to B without a client certificate fails" tls_without_client_cert
check "exec runs inside host B (its eth0 has $HOST_B_ADDR)" \
  bash -c "'$HARNESS' exec --state-dir '$STATE' B ip -o addr show dev eth0 | grep -q ' $HOST_B_ADDR/'"

check "host A has no route off the test subnet (e.g. to 192.0.2.1)" \
  bash -c "! '$HARNESS' exec --state-dir '$STATE' A ip route get 192.0.2.1 >/dev/null 2>&1"

# A server in the root namespace listening on the bridge address (as the dev API server will) is
# reachable from inside the hosts.
reach_root_server() {
  local port_file="$WORK/port" got
  timeout 30 python3 -c '
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(1)
open(sys.argv[2], "w").write(str(s.getsockname()[1]))
c, _ = s.accept(); c.sendall(b"hello from the root namespace\n"); c.close()' \
    "$TWO_HOSTS_BRIDGE_ADDR" "$port_file" &
  local server=$!
  wait_for "the test server's port" 10 test -s "$port_file" || return 1
  got="$("$HARNESS" exec --state-dir "$STATE" A timeout 10 bash -c \
    "exec 3<>/dev/tcp/$TWO_HOSTS_BRIDGE_ADDR/$(cat "$port_file"); cat <&3")"
  wait "$server"
  [[ "$got" == "hello from the root namespace" ]]
}
check "host A reaches a server listening on the bridge address $TWO_HOSTS_BRIDGE_ADDR" reach_root_server

echo "== boot $VM on host A"
cat >"$WORK/domain.xml" <<XML
<domain type='qemu'>
  <name>$VM</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$GUEST/vmlinuz</kernel>
    <initrd>$GUEST/initrd.img</initrd>
    <cmdline>console=ttyS0</cmdline>
  </os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <serial type='file'>
      <source path='$HOST_A_DIR/serial.log' append='on'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
virsh -c "$HOST_A_URI" define "$WORK/domain.xml" >/dev/null || fatal "define on A"
virsh -c "$HOST_A_URI" start "$VM" >/dev/null || fatal "start on A"
A_LOG="$HOST_A_DIR/serial.log" B_LOG="$HOST_B_DIR/serial.log"
wait_for "the boot marker on A's serial console" 120 grep -q "$MARKER" "$A_LOG" || fatal "guest did not boot"
wait_for "tick 3 on A" 60 tick_at_least "$A_LOG" 3 || fatal "guest ticker"
echo "guest booted on A; ticker at $(max_tick "$A_LOG")"

echo "== A -> B"
migrate A B
a_last="$(max_tick "$A_LOG")"
check "the domain runs on B" test "$(domstate "$HOST_B_URI")" = running
check "the domain does not run on A (state '$(domstate "$HOST_A_URI")')" \
  test "$(domstate "$HOST_A_URI")" != running
check "exactly one QEMU runs the guest" test "$(qemu_copies)" -eq 1
check "the ticker continues on B" wait_for "ticks on B" 30 tick_at_least "$B_LOG" $((a_last + 2))
b_first="$(first_tick "$B_LOG")"
check "B's first tick ($b_first) follows A's last ($a_last): no reboot" \
  test "${b_first:-0}" -ge "$a_last" -a "${b_first:-0}" -le $((a_last + 5))
check "the boot marker was printed once (A: $(markers "$A_LOG"), B: $(markers "$B_LOG"))" \
  test "$(markers "$A_LOG" "$B_LOG")" -eq 1

echo "== B -> A"
b_before="$(max_tick "$B_LOG")"
migrate B A
b_last="$(max_tick "$B_LOG")"
check "the domain runs on A again" test "$(domstate "$HOST_A_URI")" = running
check "the domain does not run on B (state '$(domstate "$HOST_B_URI")')" \
  test "$(domstate "$HOST_B_URI")" != running
check "exactly one QEMU runs the guest" test "$(qemu_copies)" -eq 1
check "the ticker continues on A past B's last tick ($b_last)" \
  wait_for "ticks on A" 30 tick_at_least "$A_LOG" $((b_last + 2))
check "B ticked while the guest was there ($b_before..$b_last)" test "${b_last:-0}" -gt "$a_last"
check "the boot marker was still printed only once" test "$(markers "$A_LOG" "$B_LOG")" -eq 1

virsh -c "$HOST_A_URI" destroy "$VM" >/dev/null 2>&1
virsh -c "$HOST_A_URI" undefine "$VM" >/dev/null 2>&1

echo "== down"
netns_a="$HOST_A_NETNS" netns_b="$HOST_B_NETNS" bridge="$TWO_HOSTS_BRIDGE"
veth_prefix="${bridge%br}"
"$HARNESS" down --state-dir "$STATE" || echo "two_hosts.sh down failed"
live_procs() { # non-zombie processes whose command line mentions $1
  local p
  for p in $(pgrep -f -- "$1"); do
    [[ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" =~ ^[^Z]$ ]] && echo "$p"
  done
}
nothing_mentions() { [[ -z "$(live_procs "$1")" ]]; }
check "no network namespace $netns_a / $netns_b" \
  bash -c "! ip netns list | grep -Eq '^($netns_a|$netns_b)( |\$)'"
check "no bridge $bridge" bash -c "! ip link show '$bridge' >/dev/null 2>&1"
check "no veth ${veth_prefix}a / ${veth_prefix}b" \
  bash -c "! ip -o link | grep -Eq ': ${veth_prefix}[ab]p?[@:]'"
check "no route into the test subnet $TWO_HOSTS_SUBNET" \
  test -z "$(ip -4 route show table all root "$TWO_HOSTS_SUBNET")"
check "no process refers to the state dir (daemons, holders, watchdog)" \
  wait_for "harness processes to exit" 20 nothing_mentions "$STATE"
check "no QEMU of the guest is left" wait_for "QEMU to exit" 20 nothing_mentions "guest=$VM"
check "no mount of the harness in any mount namespace" \
  bash -c "! cat /proc/[0-9]*/mountinfo 2>/dev/null | grep -qF '$STATE'"
check "the state dir is gone" test ! -e "$STATE"
root_libvirtd_after="$(ps -C libvirtd -o pid=,stat=,args= | awk '$2 !~ /Z/' | grep -v -- "$STATE" | sort || true)"
# Informational only: other tests may start or stop the root host's libvirtd meanwhile. The harness
# itself signals only processes inside its own network namespaces (and its watchdog).
echo "INFO: libvirtd outside the harness before: '${root_libvirtd_before//$'\n'/; }'," \
  "after: '${root_libvirtd_after//$'\n'/; }'"

if ((failures)); then
  echo "two_hosts_test: $failures check(s) failed"
  exit 1
fi
echo "two_hosts_test: all checks passed"
