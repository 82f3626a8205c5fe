# shellcheck shell=bash
# The WAN profile of the migration benchmark, sourced by tests/e2e/migration/vmmigration_e2e_test.sh
# when BENCH_WAN=1 (tests/bench/migration/migration_bench.sh --wan), after its checks, with the
# two-hosts harness shaped to 100 Mbit/s (tc tbf on both root-side veths: everything entering a
# host). A guest that dirties memory steadily (novacron.wandirty: 4 MiB/s of compressible text
# rewritten in place, hack/build-guest.sh) is moved once per variant — compression None, XBZRLE,
# Zstd, and None with post-copy after the first pass — and each line prints: the outcome, total time
# (kubectl apply to a terminal phase), libvirt's downtime, the longest gap of the guest's ~10 ms
# serial ticker, libvirt's processed bytes and the bytes that entered the target host's veth (the
# wire: TCP and libvirt framing included). A benchmark: it asserts nothing about time.
# Uses the e2e's helpers and variables (jp, field_is, wait_for, fatal, now_ms, RUN, NS, HOST_*).

WAN_VM=wan-guest
GAP="$ROOT/tests/bench/migration/serial_gap.py"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
veth_of() { [[ "$1" == hv-a ]] && echo "$HOST_A_VETH" || echo "$HOST_B_VETH"; }
# Bytes the root namespace sent into a host through its veth: everything the host received.
rx_of_host() { cat "/sys/class/net/$(veth_of "$1")/statistics/tx_bytes"; }
mib() { awk -v b="${1:-0}" 'BEGIN { printf "%.1f", b / 1048576 }'; }

echo "== WAN profile: 100 Mbit/s (tbf) between the hosts, a guest dirtying 4 MiB/s"
tc qdisc show dev "$HOST_A_VETH" | sed 's/^/    /'
printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VirtualMachine" \
  "metadata: {name: $WAN_VM, namespace: $NS}" \
  "spec:" "  runStrategy: Always" "  resources: {cpus: 1, memory: 128Mi}" "  kernelBoot:" \
  "    kernel: {url: \"image:debian-cloud-kernel\"}" "    initrd: {url: \"image:busybox-initrd\"}" \
  "    cmdline: \"console=ttyS0 panic=-1 novacron.wandirty novacron.fastticks\"" \
  "  terminationGracePeriodSeconds: 5" |
  kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vm $WAN_VM"
wait_for 120 "$WAN_VM Running" field_is vm "$WAN_VM" '{.status.phase}' Running || fatal "$WAN_VM"
wan_log() { find "$RUN/vms/$NS/$WAN_VM" -name serial.log 2>/dev/null | head -n1; }
wan_ticking() { grep -q 'tick 5' "$(wan_log)" 2>/dev/null; }
wait_for 120 "$WAN_VM's ticker" wan_ticking || fatal "$WAN_VM did not boot"
"$GAP" follow "$(wan_log)" "$RUN/ticks-wan.tsv" &
PIDS+=("$!")

variants=("None|{compression: None}" "XBZRLE|{compression: XBZRLE}" "Zstd|{compression: Zstd}"
  "None+postCopy|{compression: None, postCopy: {enabled: true, afterIterations: 1}}")
rows=()
n=0
for variant in "${variants[@]}"; do
  label="${variant%%|*}" opts="${variant#*|}"
  n=$((n + 1))
  name="wan-$n"
  from="$(jp vm "$WAN_VM" '{.status.hypervisor}')"
  to="hv-a"
  [[ "$from" == hv-a ]] && to="hv-b"
  wire0="$(rx_of_host "$to")"
  t0="$(now_ms)"
  printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
    "metadata: {name: $name, namespace: $NS}" \
    "spec: {vmName: $WAN_VM, targetHypervisor: $to, mode: Live," \
    "  options: {maxDowntimeMs: 300, progressTimeoutSeconds: 300, completionTimeoutPerGiBSeconds: 3600," \
    "    ${opts#\{}}" |
    kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $name"
  ended() { jp vmmigration "$1" '{.status.phase}' | grep -Eq 'Succeeded|Failed|Cancelled'; }
  wait_for 900 "$name ($label) to end" ended "$name" || fatal "$name did not end"
  total=$(($(now_ms) - t0))
  wire=$(($(rx_of_host "$to") - wire0))
  phase="$(jp vmmigration "$name" '{.status.phase}')"
  gap="$("$GAP" gap "$RUN/ticks-wan.tsv" "$t0" "$(now_ms)")"
  postcopy="$(jp vmmigration "$name" '{.status.conditions[?(@.type=="PostCopy")].reason}')"
  if [[ "$phase" == Succeeded ]]; then
    rows+=("$(printf '%-15s %-10s %9s %11s %11s %11s %12s  %s' "$label" "$phase" "$total" \
      "$(jp vmmigration "$name" '{.status.progress.downtimeMs}')" "${gap%% *}" \
      "$(mib "$(jp vmmigration "$name" '{.status.progress.dataProcessedBytes}')")" "$(mib "$wire")" \
      "${postcopy:+PostCopy: $postcopy}")")
    wait_for 60 "$WAN_VM Running on $to" field_is vm "$WAN_VM" '{.status.phase}' Running
  else
    rows+=("$(printf '%-15s %-10s %9s %11s %11s %11s %12s  %s' "$label" "$phase" "$total" - - - \
      "$(mib "$wire")" "$(jp vmmigration "$name" '{.status.failureReason}' | cut -c1-90)")")
    wait_for 60 "$WAN_VM unlocked" field_is vm "$WAN_VM" '{.status.activeMigration}' ""
  fi
done

echo
echo "BENCH WAN profile: 100 Mbit/s tbf link, 128 MiB TCG guest dirtying 4 MiB/s of text, maxDowntimeMs 300"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg); libvirt $(libvirtd --version | awk '{ print $NF }'), $(qemu-system-x86_64 --version | head -n1)"
printf '  %-15s %-10s %9s %11s %11s %11s %12s\n' variant phase "total ms" "downtime ms" "tick gap ms" \
  "data MiB" "wire MiB"
for row in "${rows[@]}"; do echo "  $row"; done
echo "  (downtime: libvirt's completed-job figure; tick gap: longest host-time pause of the guest's"
echo "   ~10 ms serial ticker; data: libvirt's processed bytes; wire: bytes into the target's veth)"
