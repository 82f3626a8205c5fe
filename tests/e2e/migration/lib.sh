# shellcheck shell=bash
# The setup every VMMigration e2e test shares, sourced (never run): two real hypervisor hosts from
# the two-hosts harness (tests/e2e/harness), the dev API server, a node-daemon per host (in the
# root namespace, talking to its host's libvirtd over the harness bridge, sharing one VM root:
# shared storage) and the controller, plus the checks the tests make on guests and objects.
#
#   ROOT=...; BUILD_DIR=...; LOG_NAME=...; NS=default; VM=...   (VM: the default guest of the
#   source "$ROOT/tests/e2e/migration/lib.sh"                    serial/tick/QEMU helpers)
#   mig_e2e_prereqs          # exit 77 (skipped) without root, tools or binaries
#   mig_e2e_init             # RUN/STATE dirs and the EXIT trap that tears everything down
#   mig_e2e_guest; mig_e2e_hosts [two_hosts.sh up args]; mig_e2e_api
#   start_node hv-a "$HOST_A_ADDR"; start_node hv-b "$HOST_B_ADDR"; start_controller [CONFIG]
#   mig_e2e_register [--cordon-b]   # waits for both Hypervisors, sets their migration addresses
#   create_vm NAME [CMDLINE_EXTRA]; create_migration NAME VM TARGET [OPTIONS]
# or all of the start-up above in one call (after failures=0):
#   mig_e2e_start [--cordon-b] [--tls] [--shape RATE]
# Relies on hack/lib/common.sh (wait_for, check) and on the caller's `failures` counter.

HARNESS="$ROOT/tests/e2e/harness/two_hosts.sh"
CONTROLLER="$BUILD_DIR/controller/novacron-controller"
NODE_DAEMON="$BUILD_DIR/node-daemon/novacron-node-daemon"
NS="${NS:-default}"
PIDS=()                  # every process to stop at the end
declare -A NODE_PID=()   # node name -> node-daemon pid
CONTROLLER_PID=""
CONTROLLER_CONFIG=""
NODE_EXTRA_ARGS=()       # more node-daemon flags for start_node (a test may set them)

skip() {
  echo "SKIP: $*"
  exit 77
}
fatal() {
  echo "FAIL: $*"
  exit 1
}

mig_e2e_prereqs() {
  [[ $(id -u) -eq 0 ]] || skip "needs root (network and mount namespaces, libvirtd)"
  local tool
  for tool in qemu-system-x86_64 libvirtd virtlogd virsh ip nsenter unshare setsid flock python3 \
    etcd kubectl curl; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (hack/install-deps.sh)"
  done
  [[ -x "$CONTROLLER" && -x "$NODE_DAEMON" ]] || skip "binaries not built in $BUILD_DIR"
}

mig_e2e_init() {
  STATE="$(mktemp -u "/tmp/novacron-$LOG_NAME.XXXXXX")"
  RUN="$(mktemp -d "/tmp/novacron-$LOG_NAME-run.XXXXXX")"
  trap mig_e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

mig_e2e_cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  if ((rc)); then
    kubectl get vm,vmmigration,hypervisor -A -o yaml 2>&1 | sed 's/^/    /' | head -n 300
    for f in "$RUN"/*.log; do
      echo "---- tail of $f ----"
      tail -n 40 "$f"
    done
  fi
  kubectl delete vmmigration --all -n "$NS" --wait=false >/dev/null 2>&1
  kubectl delete vm --all -n "$NS" --wait=false >/dev/null 2>&1
  # Only processes of this run (a pid of one that exited may since belong to anyone): those whose
  # command line names the run directory, and this shell's own children (a sampler subshell),
  # woken if a test stopped them, SIGKILLed if they do not exit within 15 s.
  local ours=()
  for pid in "${PIDS[@]}"; do
    if grep -qaF -- "$RUN" "/proc/$pid/cmdline" 2>/dev/null ||
      [[ "$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)" == "$$" ]]; then
      ours+=("$pid")
      kill "$pid" 2>/dev/null
      kill -CONT "$pid" 2>/dev/null
    fi
  done
  for pid in "${ours[@]}"; do
    wait_until 15 bash -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status" ||
      kill -KILL "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  if [[ -e "$STATE/journal" ]]; then
    # Destroys the guests with their hosts' libvirtds.
    "$HARNESS" down --state-dir "$STATE" >/dev/null 2>&1 || echo "$LOG_NAME: harness down failed"
  fi
  RUN_DIR="$RUN/api" "$ROOT/hack/dev-cluster.sh" stop >/dev/null 2>&1
  if [[ "${NOVACRON_KEEP_TEST_DIRS:-0}" == 1 ]]; then
    echo "$LOG_NAME: logs kept in $RUN (NOVACRON_KEEP_TEST_DIRS=1)"
  else
    rm -rf "$RUN"
  fi
  exit "$rc"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
jp() { kubectl get "$1" "$2" -n "$NS" -o "jsonpath=$3" 2>/dev/null; }
# field_is KIND NAME JSONPATH VALUE: re-reads the object on every call (for wait_for).
field_is() { [[ "$(jp "$1" "$2" "$3")" == "$4" ]]; }
phase_of() { jp vmmigration "$1" '{.status.phase}'; }
migration_ended() { phase_of "$1" | grep -Eq 'Succeeded|Failed|Cancelled'; }
percent_above_zero() { (($(jp vmmigration "$1" '{.status.progress.percent}' || echo 0) > 0)); }
# Guest helpers; VM_NAME defaults to $VM.
domstate() { virsh -c "$1" domstate "${NS}_${2:-$VM}" 2>/dev/null | head -n1; }
not_running_on() { [[ "$(domstate "$1" "${2:-$VM}")" != running ]]; }
no_domain_on() { ! virsh -c "$1" dominfo "${NS}_${2:-$VM}" >/dev/null 2>&1; }
serial_log() { find "$RUN/vms/$NS/${1:-$VM}" -name 'serial.log' 2>/dev/null | head -n1; }
max_tick() { grep -ao 'tick [0-9]*' "$(serial_log "${1:-$VM}")" 2>/dev/null | awk '{ print $2 }' | sort -n | tail -n1; }
tick_above() { local t; t="$(max_tick "${2:-$VM}")"; [[ -n "$t" ]] && ((t > $1)); }
qemu_copies() { pgrep -f -- "guest=${NS}_${1:-$VM}(,|$| )" | wc -l; }
# The VM's entry in a Hypervisor's capacity ledger (a reservation or a binding).
in_ledger() {
  kubectl get hypervisor "$1" -o 'jsonpath={range .status.allocations[*]}{.vm}{"\n"}{end}' |
    grep -qxF "$NS/${2:-$VM}"
}
not_in_ledger() { ! in_ledger "$@"; }
routed_via_bridge() {
  [[ "$(ip -o route get "$1" | sed -n 's/.* dev \([^ ]*\).*/\1/p')" == "$TWO_HOSTS_BRIDGE" ]]
}

mig_e2e_guest() {
  echo "== guest"
  GUEST="${NOVACRON_GUEST_DIR:-$ROOT/.run/guest}"
  "$ROOT/hack/build-guest.sh" "$GUEST" >"$RUN/guest.log" 2>&1 || fatal "hack/build-guest.sh"
  mkdir -p "$RUN/images/named" "$RUN/vms"
  cp "$GUEST/vmlinuz" "$RUN/images/named/debian-cloud-kernel"
  cp "$GUEST/initrd.img" "$RUN/images/named/busybox-initrd"
}

mig_e2e_hosts() {
  echo "== two hosts"
  "$HARNESS" up --state-dir "$STATE" --owner-pid $$ "$@" >"$RUN/harness.log" 2>&1 ||
    fatal "two_hosts.sh up"
  # shellcheck disable=SC1090
  source <("$HARNESS" env --state-dir "$STATE") || fatal "two_hosts.sh env"
  check "host A is routed through the harness bridge" routed_via_bridge "$HOST_A_ADDR"
  check "host B is routed through the harness bridge" routed_via_bridge "$HOST_B_ADDR"
}

mig_e2e_api() {
  echo "== API server"
  local api_port etcd_port etcd_peer_port
  api_port="$(free_port)" etcd_port="$(free_port)" etcd_peer_port="$(free_port)"
  RUN_DIR="$RUN/api" BUILD_DIR="$BUILD_DIR" API_PORT="$api_port" ETCD_PORT="$etcd_port" \
    ETCD_PEER_PORT="$etcd_peer_port" "$ROOT/hack/dev-cluster.sh" start >"$RUN/dev-cluster.log" 2>&1 ||
    fatal "dev-cluster start"
  export KUBECONFIG="$RUN/api/kubeconfig"
  wait_for 30 "the API server" kubectl get --raw /readyz || fatal "API server not ready"
  kubectl apply -f "$ROOT/crds/" >"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply crds"
  # The node-daemons' heartbeat namespace (they may not create it themselves).
  kubectl apply -f "$ROOT/config/default/namespace.yaml" >>"$RUN/kubectl.log" 2>&1 ||
    fatal "kubectl apply namespaces"
  kubectl wait --for condition=established --timeout=60s crd --all >>"$RUN/kubectl.log" 2>&1
}

# start_node NAME HOST_ADDRESS [PKI_DIR]: a node-daemon for that host (again after a kill: same log
# file); PKI_DIR holds the host's certificates for `tls: true` migrations (HOST_X_PKI_DIR).
start_node() {
  local tls=()
  [[ -n "${3:-}" ]] && tls=(--migration-tls-dir "$3")
  "$NODE_DAEMON" --node-name "$1" --kubeconfig "$KUBECONFIG" --libvirt-uri "qemu+tcp://$2/system" \
    "${tls[@]}" "${NODE_EXTRA_ARGS[@]}" \
    --domain-type qemu --vm-root "$RUN/vms" --image-root "$RUN/images" \
    --metrics-address 127.0.0.1 --metrics-port 0 --heartbeat-seconds 2 --resync-seconds 5 \
    --log-format text >>"$RUN/node-$1.log" 2>&1 &
  # shellcheck disable=SC2034 # for the tests that kill a node-daemon
  NODE_PID[$1]=$!
  PIDS+=("$!")
}

# start_controller [CONFIG_YAML_FILE]: the controller (again after a kill: the same config).
start_controller() {
  [[ -n "${1:-}" ]] && CONTROLLER_CONFIG="$1"
  local config=()
  [[ -n "$CONTROLLER_CONFIG" ]] && config=(--config "$CONTROLLER_CONFIG")
  "$CONTROLLER" --kubeconfig "$KUBECONFIG" --identity e2e --bind-address "127.0.0.1:$(free_port)" \
    --leader-elect false --log-format text "${config[@]}" >>"$RUN/controller.log" 2>&1 &
  # shellcheck disable=SC2034 # for the tests that kill the controller
  CONTROLLER_PID=$!
  PIDS+=("$!")
}

# mig_e2e_register [--cordon-b]: waits for hv-a and hv-b and sets their migration addresses (the
# operator's part); --cordon-b also cordons B, so new VMs land on A (uncordon_b lifts it).
mig_e2e_register() {
  local hv cordon=false
  [[ "${1:-}" == --cordon-b ]] && cordon=true
  for hv in hv-a hv-b; do
    wait_for 60 "Hypervisor $hv" kubectl get hypervisor "$hv" || fatal "$hv did not register"
  done
  kubectl patch hypervisor hv-a --type=merge \
    -p "{\"spec\":{\"migration\":{\"address\":\"$HOST_A_ADDR\"}}}" >>"$RUN/kubectl.log" 2>&1
  kubectl patch hypervisor hv-b --type=merge \
    -p "{\"spec\":{\"unschedulable\":$cordon,\"migration\":{\"address\":\"$HOST_B_ADDR\"}}}" \
    >>"$RUN/kubectl.log" 2>&1
}
# mig_e2e_start [--cordon-b] [--tls] [--shape RATE]: the whole start-up most tests share —
# prerequisites (exit 77 without them), RUN/STATE and the teardown trap, the guest, the two hosts,
# the API server, a node-daemon per host, the controller, and both Hypervisors registered with
# their migration addresses. --cordon-b: B cordoned (new VMs land on A; uncordon_b lifts it);
# --tls: the node-daemons get their host's certificates (HOST_X_PKI_DIR) for `tls: true`;
# --shape RATE: the link between the hosts limited to RATE (two_hosts.sh up --shape).
mig_e2e_start() {
  local register=() with_tls=false hosts=()
  while (($#)); do
    case "$1" in
      --cordon-b) register=(--cordon-b); shift ;;
      --tls) with_tls=true; shift ;;
      --shape) hosts=(--shape "$2"); shift 2 ;;
      *) fatal "mig_e2e_start: unknown option $1" ;;
    esac
  done
  mig_e2e_prereqs
  mig_e2e_init
  mig_e2e_guest
  mig_e2e_hosts "${hosts[@]}"
  mig_e2e_api
  echo "== node-daemons and controller"
  if [[ "$with_tls" == true ]]; then
    start_node hv-a "$HOST_A_ADDR" "$HOST_A_PKI_DIR"
    start_node hv-b "$HOST_B_ADDR" "$HOST_B_PKI_DIR"
  else
    start_node hv-a "$HOST_A_ADDR"
    start_node hv-b "$HOST_B_ADDR"
  fi
  start_controller "$CONTROLLER_CONFIG"  # empty: none
  mig_e2e_register "${register[@]}"
}
uncordon_b() {
  kubectl patch hypervisor hv-b --type=merge -p '{"spec":{"unschedulable":false}}' \
    >>"$RUN/kubectl.log" 2>&1
}

# create_vm NAME [CMDLINE_EXTRA]: the tiny TCG guest (128 MiB, kernel boot, serial ticker).
create_vm() {
  printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VirtualMachine" \
    "metadata: {name: $1, namespace: $NS}" \
    "spec:" "  runStrategy: Always" "  resources: {cpus: 1, memory: 128Mi}" "  kernelBoot:" \
    "    kernel: {url: \"image:debian-cloud-kernel\"}" "    initrd: {url: \"image:busybox-initrd\"}" \
    "    cmdline: \"console=ttyS0 panic=-1${2:+ $2}\"" "  terminationGracePeriodSeconds: 5" |
    kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vm $1"
}

# create_migration NAME VM TARGET [OPTIONS (YAML flow map)]: a Live VMMigration.
create_migration() {
  printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
    "metadata: {name: $1, namespace: $NS}" \
    "spec: {vmName: $2, targetHypervisor: $3, mode: Live, options: ${4:-{\}}}" |
    kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 || fatal "kubectl apply vmmigration $1"
}

# A host's libvirtd (the harness keeps its pid file in STATE/hostA|hostB, README.md there).
libvirtd_pidfile() { echo "$TWO_HOSTS_STATE_DIR/host$1/libvirtd.pid"; }
kill_libvirtd() { kill -KILL "$(cat "$(libvirtd_pidfile "$1")")"; }
start_libvirtd() {
  local nsenter_var="HOST_$1_NSENTER" uri_var="HOST_$1_URI"
  # shellcheck disable=SC2086 # HOST_X_NSENTER is a command line
  ${!nsenter_var} libvirtd -d --listen -p "$(libvirtd_pidfile "$1")" </dev/null \
    >>"$RUN/libvirtd-$1.log" 2>&1 || return 1
  wait_for 120 "libvirtd of host $1" virsh -c "${!uri_var}" version
}
