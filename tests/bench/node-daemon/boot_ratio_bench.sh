#!/usr/bin/env bash
# B5 (issue 15): a real guest (TCG), create -> boot marker on its serial console, through NovaCron
# versus the same domain started by a bare `virsh create`, in the same run on the same host.
#
#   tests/bench/node-daemon/boot_ratio_bench.sh [runs=5]
#
# Brings up the local demo (hack/demo.sh: dev API server on etcd, two-hosts harness, a node-daemon
# per host, the controller) in its own run directory and on its own ports, then deletes the demo
# VM so no guest ticks in the background, and alternates, `runs` times:
#   (a) NovaCron: `kubectl apply` of the tiny kernel-boot VM (config/samples/virtualmachine_kernelboot.yaml,
#       a new name each time) -> the marker NOVACRON-GUEST-BOOTED appears in its serial log;
#   (b) bare: `virsh create` on host A of the domain XML the node-daemon generated for the first
#       NovaCron run (dumped; only name, uuid, MAC and serial log path changed) -> the same marker.
# The order alternates (a,b then b,a) so a trend in the machine's load hits both alike. Each run's
# guest is removed before the next (NovaCron: kubectl delete; bare: virsh destroy).
# Prints every run, the medians and their ratio (goal <= 1.1), and the NovaCron runs' timeline
# from the API (created -> Scheduled -> started) to show where the difference goes. The last line
# is machine-readable ("RESULT key=value ...") for hack/bench.sh. Asserts nothing about time.
# Needs root, libvirtd/QEMU and the packages of hack/install-deps.sh; builds nothing
# (BUILD_DIR / NOVACRON_BINARY_DIR: a build with the API server, controller and node-daemon).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
RUNS="${1:-5}"
MARKER=NOVACRON-GUEST-BOOTED
export BUILD_DIR="${NOVACRON_BINARY_DIR:-${BUILD_DIR:-$ROOT/build}}"
export RUN_DIR
RUN_DIR="$(mktemp -d /tmp/novacron-boot-ratio.XXXXXX)"
export KUBECONFIG="$RUN_DIR/api/kubeconfig"
# Ports of its own (the demo's defaults may be in use by a demo or another benchmark).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    port_open "$p" || { echo "$p"; return; }
  done
}
export DEMO_API_PORT DEMO_ETCD_PORT DEMO_NODE_METRICS_PORT DEMO_CONTROLLER_PORT
DEMO_API_PORT=$(free_port)
DEMO_ETCD_PORT=$(free_port)
DEMO_NODE_METRICS_PORT=$(free_port)
DEMO_CONTROLLER_PORT=$(free_port)
SAMPLE="$ROOT/config/samples/virtualmachine_kernelboot.yaml"

finish() {
  local rc=$?
  [[ -n "${HOST_A_URI:-}" ]] && for d in $(virsh -q -c "$HOST_A_URI" list --name 2>/dev/null | grep '^b5-bare-'); do
    virsh -q -c "$HOST_A_URI" destroy "$d" >/dev/null 2>&1
  done
  "$ROOT/hack/demo.sh" down >/dev/null 2>&1 || true
  rm -rf "$RUN_DIR"
  exit "$rc"
}
trap finish EXIT

now() { echo "$EPOCHREALTIME"; }
# pause SECONDS: sleeps without starting a process (a read that times out on a pipe nobody
# writes). The watching loops below must cost the machine next to nothing: they run while QEMU
# starts, and a loop forking `find`, `date` and `sleep` every 10 ms took CPU from the NovaCron
# side only (the bare side's `virsh create` is waited for without polling).
exec {PAUSE_FD}<> <(:)
pause() { read -r -t "$1" -u "$PAUSE_FD" _ || true; }
# wait_marker FILE TIMEOUT_S: waits for FILE, then reads what it gains every 10 ms until the
# marker shows (also on a line not finished yet); prints the time. Builtins only (no `grep` per
# poll), and only the new bytes are read.
wait_marker() {
  local file=$1 deadline fd line partial="" complete
  deadline=$((EPOCHSECONDS + $2))
  until [[ -f "$file" ]]; do
    ((EPOCHSECONDS < deadline)) || return 1
    pause 0.01
  done
  exec {fd}<"$file"
  while :; do
    complete=0
    IFS= read -r -u "$fd" line && complete=1
    partial+="$line"
    if [[ "$partial" == *"$MARKER"* ]]; then
      exec {fd}<&-
      now
      return 0
    fi
    if ((complete)); then
      partial=""  # a whole line without the marker: read the next one at once
      continue
    fi
    ((EPOCHSECONDS < deadline)) || { exec {fd}<&-; return 1; }
    pause 0.01  # at the end of what was written so far
  done
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

log "bringing up the demo in $RUN_DIR (API port $DEMO_API_PORT)"
# The tiny guest is built from Debian packages once per run directory: reuse the repository's.
if [[ -f "$ROOT/.run/guest/vmlinuz" && -f "$ROOT/.run/guest/initrd.img" ]]; then
  cp -a "$ROOT/.run/guest" "$RUN_DIR/guest"
fi
if ! "$ROOT/hack/demo.sh" --no-install --no-build >"$RUN_DIR/demo.out" 2>&1; then
  tail -n 30 "$RUN_DIR/demo.out" >&2
  die "the demo did not come up"
fi
# shellcheck disable=SC1090
source <("$ROOT/tests/e2e/harness/two_hosts.sh" env --state-dir "$RUN_DIR/hosts")
kubectl delete vm tiny --wait=true --timeout=60s >/dev/null

# nc_run NAME: one NovaCron run; prints the seconds from `kubectl apply` to the marker.
nc_run() {
  local name=$1 t0 t1 uid serial
  t0=$(now)
  # The uid names the directory of the serial log: kubectl prints it, no second command runs.
  uid=$(sed -e "s/name: tiny/name: $name/" -e 's/terminationGracePeriodSeconds: 10/terminationGracePeriodSeconds: 1/' \
    "$SAMPLE" | kubectl apply -f - -o jsonpath='{.metadata.uid}')
  serial="$RUN_DIR/node/vms/default/$name/$uid/serial.log"
  t1=$(wait_marker "$serial" 120) || die "$name: no boot marker in $serial (or no such file)"
  # NovaCron's own part: apply -> the node-daemon logged that the domain started (ms timestamps).
  local started
  started=$(grep -m1 "started domain default_$name\$" "$RUN_DIR/logs/node-daemon.log" | cut -c1-23)
  started=$(date -d "$started" +%s.%N 2>/dev/null || echo "$t1")
  echo "$(elapsed "$t0" "$t1") $(elapsed "$t0" "$started")"
}

# bare_run NAME: one bare `virsh create` run of the template XML; prints the seconds to the marker.
bare_run() {
  local name=$1 t0 t1 dir="$RUN_DIR/bare/$1"
  mkdir -p "$dir"
  sed -e "s|<name>[^<]*</name>|<name>$name</name>|" -e '/<uuid>/d' -e "/<mac address=/d" \
    -e "s|<log file='[^']*'|<log file='$dir/serial.log'|" "$RUN_DIR/template.xml" >"$dir/domain.xml"
  t0=$(now)
  virsh -q -c "$HOST_A_URI" create "$dir/domain.xml" >/dev/null
  local started
  started=$(now)
  t1=$(wait_marker "$dir/serial.log" 120) || die "$name: no boot marker in $dir/serial.log"
  virsh -q -c "$HOST_A_URI" destroy "$name" >/dev/null
  echo "$(elapsed "$t0" "$t1") $(elapsed "$t0" "$started")"
}

nc_cleanup() {
  kubectl delete vm "$1" --wait=true --timeout=60s >/dev/null
}

# The template: the domain NovaCron made for a first (warm-up, not counted) run.
log "warm-up run through NovaCron (its domain XML is the bare runs' template)"
nc_run b5-nc-0 >/dev/null
virsh -q -c "$HOST_A_URI" dumpxml --inactive default_b5-nc-0 >"$RUN_DIR/template.xml"
grep -q "<log file=" "$RUN_DIR/template.xml" || die "no serial log in the dumped XML"
nc_cleanup b5-nc-0

nc_times=() bare_times=() nc_starts=() bare_starts=()
echo "seconds from the command to the boot marker (and to the domain started: NovaCron's node-daemon"
echo "logged it; virsh create returned)"
printf '%-4s %-22s %-22s\n' run "novacron (started)" "bare virsh (started)"
for i in $(seq 1 "$RUNS"); do
  if ((i % 2)); then
    read -r a a_start < <(nc_run "b5-nc-$i")
    nc_cleanup "b5-nc-$i"
    read -r b b_start < <(bare_run "b5-bare-$i")
  else
    read -r b b_start < <(bare_run "b5-bare-$i")
    read -r a a_start < <(nc_run "b5-nc-$i")
    nc_cleanup "b5-nc-$i"
  fi
  [[ -n "${a:-}" && -n "${b:-}" ]] || die "run $i did not complete"
  nc_times+=("$a") nc_starts+=("$a_start") bare_times+=("$b") bare_starts+=("$b_start")
  printf '%-4s %-22s %-22s\n' "$i" "$a ($a_start)" "$b ($b_start)"
done
nc_med=$(printf '%s\n' "${nc_times[@]}" | median)
bare_med=$(printf '%s\n' "${bare_times[@]}" | median)
nc_start_med=$(printf '%s\n' "${nc_starts[@]}" | median)
bare_start_med=$(printf '%s\n' "${bare_starts[@]}" | median)
ratio=$(awk -v a="$nc_med" -v b="$bare_med" 'BEGIN { printf "%.2f", a / b }')
echo "median: NovaCron ${nc_med} s (domain started after ${nc_start_med} s), bare virsh create" \
  "${bare_med} s (started after ${bare_start_med} s), ratio ${ratio} (goal <= 1.1)"
echo "(TCG guest, $(nproc) cores shared, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "node-daemon log lines of the last NovaCron run (timestamps show the steps):"
grep "b5-nc-$RUNS" "$RUN_DIR/logs/node-daemon.log" | head -n 12 || true
echo "RESULT runs=$RUNS novacron_median_s=$nc_med bare_median_s=$bare_med ratio=$ratio" \
  "novacron_started_s=$nc_start_med bare_started_s=$bare_start_med"
