#!/usr/bin/env bash
# The newcomer's main command: a complete local NovaCron with a real VM, driven by plain kubectl.
#
#   hack/demo.sh                 install deps, build, start everything, boot a VM, print what to try
#   hack/demo.sh migrate         live-migrate the demo VM to the other hypervisor, watching progress
#   hack/demo.sh maintenance [HV] [off]   put HV (default demo-node) in maintenance: its VMs are
#                                evacuated (docs/evacuation.md); `off` clears it
#   hack/demo.sh down            stop everything this script started and delete its run directory
#   hack/demo.sh status          show what is running
#
# Two hypervisors: the two-hosts harness (tests/e2e/harness/two_hosts.sh) makes hosts A and B on
# this machine (network + mount namespaces, a libvirtd each, an isolated libvirt network each); a
# node-daemon per host registers Hypervisors demo-node (A, where the VM lands) and demo-node-b (B).
#
# Flags for `up` (the default):
#   --teardown      run `down` at the end (used by the end-to-end test; exit status is the demo's)
#   --no-install    skip hack/install-deps.sh      --no-build   skip the build
#
# Everything lives under the run directory (RUN_DIR, default <repo>/.run/demo): logs, PIDs, the
# API server's etcd data and certificates, the kubeconfig, the guest image, VM disks and serial
# logs. `down` removes only that directory, the processes recorded in it, the two hosts (their
# namespaces, bridge, libvirtds and QEMUs: two_hosts.sh down), the libvirt network and domains it
# created, and libvirtd/virtlogd if (and only if) it started them.
#
# Environment: BUILD_DIR (default build), RUN_DIR, DEMO_API_PORT (16443), DEMO_ETCD_PORT (12379),
# DEMO_NODE_METRICS_PORT (19101; B uses it + 2), DEMO_CONTROLLER_PORT (19102),
# DEMO_DOMAIN_TYPE (auto|kvm|qemu; default: qemu inside a VM, where nested KVM is unreliable, else
# auto), DEMO_TIMEOUT (seconds to wait for the VM, default 300), DEMO_NODE_DAEMON_FLAGS (extra
# node-daemon flags, e.g. "--image-allowed-networks 127.0.0.0/8" for tests).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
RUN_DIR="${RUN_DIR:-$ROOT/.run/demo}"
API_PORT="${DEMO_API_PORT:-16443}"
ETCD_PORT="${DEMO_ETCD_PORT:-12379}"
ETCD_PEER_PORT=$((ETCD_PORT + 1))
NODE_METRICS_PORT="${DEMO_NODE_METRICS_PORT:-19101}"
CONTROLLER_BIND="127.0.0.1:${DEMO_CONTROLLER_PORT:-19102}"
TIMEOUT="${DEMO_TIMEOUT:-300}"
NODE_NAME=demo-node      # on host A
NODE_NAME_B=demo-node-b  # on host B
HARNESS="$ROOT/tests/e2e/harness/two_hosts.sh"
HOSTS_STATE="$RUN_DIR/hosts"
NODE_METRICS_PORT_B=$((NODE_METRICS_PORT + 2))
NETWORK=novacron-demo
NETWORK_BRIDGE=ncdemo0
LIBVIRT_URI=qemu:///system
SAMPLE=config/samples/virtualmachine_kernelboot.yaml
VM_NAME=tiny
LOGS="$RUN_DIR/logs"
export KUBECONFIG="$RUN_DIR/api/kubeconfig"
export NOVACRON_LIBVIRTD_STATE="$RUN_DIR/libvirtd"

# shellcheck source=lib/common.sh
source "$ROOT/hack/lib/common.sh"
WAIT_INTERVAL=0.5  # the probes are kubectl and curl runs: no need to hammer

step_no=0
current_step=""
current_log=""
step() {  # step "description" [log file]
  step_no=$((step_no + 1))
  current_step="$1"
  current_log="${2:-}"
  printf '==> [%d] %s\n' "$step_no" "$1"
}
fail() {
  echo >&2
  echo "demo: FAILED at step $step_no: $current_step" >&2
  [[ -n "$*" ]] && echo "demo: $*" >&2
  if [[ -n "$current_log" && -f "$current_log" ]]; then
    echo "demo: last lines of $current_log:" >&2
    tail -n 20 "$current_log" >&2
  fi
  echo "demo: logs are in $LOGS; run 'hack/demo.sh down' to clean up" >&2
  exit 1
}
trap 'fail "command failed (line $LINENO)"' ERR

# progress LOG: copies its input to LOG and shows how far the step is: ninja's [done/total] (one
# updating line on a terminal, a line every 10% otherwise) and apt's downloads (size, then bytes
# and rate: "Fetched 68.3 MB in 2s (30.1 MB/s)").
progress() {
  local log="$1" line pct last=-10
  : >"$log"
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    if [[ "$line" =~ ^\[([0-9]+)/([0-9]+)\] ]]; then
      pct=$((BASH_REMATCH[1] * 100 / BASH_REMATCH[2]))
      if [[ -t 1 ]]; then
        printf '\r    %s/%s build steps (%d%%)' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "$pct"
      elif ((pct / 10 != last / 10)); then
        printf '    %s/%s build steps (%d%%)\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "$pct"
      fi
      last=$pct
    elif [[ "$line" =~ ^(Get:[0-9]|Fetched ) ]]; then
      printf '    %s\n' "$line"
    fi
  done
  if [[ -t 1 ]] && ((last >= 0)); then
    echo
  fi
}

# start_daemon NAME LOGFILE CMD...: runs CMD in the background unless NAME's pid file is alive.
start_daemon() {
  local name="$1" log="$2"
  shift 2
  pid_alive "$RUN_DIR/$name.pid" || start_bg "$RUN_DIR/$name.pid" "$log" "$@"
}

stop_daemon() {  # NAME
  stop_pidfile "$RUN_DIR/$1.pid" 10
}

# await SECONDS WHAT CMD...: waits for CMD to succeed, or fails the current step.
await() {
  local secs="$1" what="$2"
  shift 2
  wait_until "$secs" "$@" || fail "timed out after ${secs}s waiting for $what"
}

choose_domain_type() {
  if [[ -n "${DEMO_DOMAIN_TYPE:-}" ]]; then
    echo "$DEMO_DOMAIN_TYPE"
  elif grep -qw hypervisor /proc/cpuinfo 2>/dev/null; then
    echo qemu  # inside a VM: nested KVM often hangs guests at early boot; TCG always works
  else
    echo auto
  fi
}

# An isolated libvirt network (no <forward>): the VM's NIC gets an address by DHCP from libvirt's
# dnsmasq, and no guest traffic can leave the machine.
network_xml() {
  cat <<EOF
<network>
  <name>$NETWORK</name>
  <bridge name='$NETWORK_BRIDGE' stp='off'/>
  <ip address='10.213.0.1' netmask='255.255.255.0'>
    <dhcp><range start='10.213.0.10' end='10.213.0.200'/></dhcp>
  </ip>
</network>
EOF
}

# The EXIT trap of `up --teardown`: runs `down`, keeping the demo's exit status (1 if down fails).
teardown_on_exit() {
  local rc=$?
  trap - EXIT ERR
  echo "==> tearing down"
  down || rc=1
  exit "$rc"
}

up() {
  local install=1 build=1 teardown=0
  while (($#)); do
    case "$1" in
      --teardown) teardown=1 ;;
      --no-install) install=0 ;;
      --no-build) build=0 ;;
      *) echo "demo: unknown flag $1" >&2; exit 2 ;;
    esac
    shift
  done
  if ((teardown)); then
    trap teardown_on_exit EXIT
  fi
  require_root "it starts libvirtd and QEMU"
  mkdir -p "$LOGS" "$RUN_DIR/api" "$RUN_DIR/node/vms" "$RUN_DIR/node/images/named"

  if ((install)); then
    step "installing dependencies (Debian packages; log: $LOGS/install.log)" "$LOGS/install.log"
    hack/install-deps.sh 2>&1 | progress "$LOGS/install.log"
  fi
  if ((build)); then
    step "building the API server, controller and node-daemon (first run: ~15 min; log: $LOGS/build.log)" \
      "$LOGS/build.log"
    BUILD_DIR="$BUILD_DIR" hack/build.sh novacron-dev-apiserver novacron-controller \
      novacron-node-daemon kubectl-novacron 2>&1 | progress "$LOGS/build.log"
  fi
  local apiserver="$BUILD_DIR/dev-apiserver/novacron-dev-apiserver"
  local controller="$BUILD_DIR/controller/novacron-controller"
  local nodedaemon="$BUILD_DIR/node-daemon/novacron-node-daemon"
  for b in "$apiserver" "$controller" "$nodedaemon"; do
    [[ -x "$b" ]] || fail "$b is missing; build it (hack/build.sh) or drop --no-build"
  done

  step "building the tiny guest (Debian cloud kernel + busybox initramfs; log: $LOGS/guest.log)" \
    "$LOGS/guest.log"
  hack/build-guest.sh "$RUN_DIR/guest" 2>&1 | progress "$LOGS/guest.log"
  # The node image store serves "image:<name>" references from <image-root>/named/<name>.
  cp -f "$RUN_DIR/guest/vmlinuz" "$RUN_DIR/node/images/named/debian-cloud-kernel"
  cp -f "$RUN_DIR/guest/initrd.img" "$RUN_DIR/node/images/named/busybox-initrd"

  step "starting etcd and the development API server on 127.0.0.1:$API_PORT" \
    "$RUN_DIR/api/apiserver.log"
  RUN_DIR="$RUN_DIR/api" BUILD_DIR="$BUILD_DIR" API_PORT="$API_PORT" ETCD_PORT="$ETCD_PORT" \
    ETCD_PEER_PORT="$ETCD_PEER_PORT" hack/dev-cluster.sh start >"$LOGS/dev-cluster.log" 2>&1 ||
    fail "see $LOGS/dev-cluster.log"
  await 30 "the API server" kubectl get --raw /readyz

  step "installing the NovaCron CRDs (kubectl apply -f crds/)" "$LOGS/kubectl.log"
  kubectl apply -f crds/ >>"$LOGS/kubectl.log" 2>&1
  kubectl wait --for condition=established --timeout=60s crd --all >>"$LOGS/kubectl.log" 2>&1
  step "creating NovaCron's namespaces (kubectl apply -f config/default/namespace.yaml)" \
    "$LOGS/kubectl.log"
  kubectl apply -f config/default/namespace.yaml >>"$LOGS/kubectl.log" 2>&1 ||
    fail "could not create the namespaces; see $LOGS/kubectl.log"

  step "starting two hypervisor hosts A and B (tests/e2e/harness/two_hosts.sh)" "$LOGS/hosts.log"
  if ! "$HARNESS" status --state-dir "$HOSTS_STATE" >/dev/null 2>&1; then
    "$HARNESS" up --state-dir "$HOSTS_STATE" >>"$LOGS/hosts.log" 2>&1 ||
      fail "two_hosts.sh up failed; see $LOGS/hosts.log"
  fi
  # shellcheck disable=SC1090
  source <("$HARNESS" env --state-dir "$HOSTS_STATE")
  network_xml >"$RUN_DIR/network.xml"
  local host uri
  for uri in "$HOST_A_URI" "$HOST_B_URI"; do
    # Each host's own isolated network (same name on both, so a migrated VM finds it).
    virsh -q -c "$uri" net-info "$NETWORK" >/dev/null 2>&1 ||
      virsh -q -c "$uri" net-create "$RUN_DIR/network.xml" >>"$LOGS/hosts.log" 2>&1 ||
      fail "could not create the isolated libvirt network $NETWORK on $uri"
  done

  local domain_type extra_flags=()
  read -r -a extra_flags <<<"${DEMO_NODE_DAEMON_FLAGS:-}"
  domain_type=$(choose_domain_type)
  step "starting a node-daemon per host: '$NODE_NAME' on A, '$NODE_NAME_B' on B (domain type: $domain_type)" \
    "$LOGS/node-daemon.log"
  # Both share one VM root (shared storage: a live migration moves memory, not disks).
  start_daemon node-daemon "$LOGS/node-daemon.log" "$nodedaemon" --node-name "$NODE_NAME" \
    --kubeconfig "$KUBECONFIG" --libvirt-uri "$HOST_A_URI" --domain-type "$domain_type" \
    --vm-root "$RUN_DIR/node/vms" --image-root "$RUN_DIR/node/images" --nat-network "$NETWORK" \
    --metrics-address 127.0.0.1 --metrics-port "$NODE_METRICS_PORT" --heartbeat-seconds 5 \
    --shared-vm-root true --log-format text "${extra_flags[@]}"
  start_daemon node-daemon-b "$LOGS/node-daemon-b.log" "$nodedaemon" --node-name "$NODE_NAME_B" \
    --kubeconfig "$KUBECONFIG" --libvirt-uri "$HOST_B_URI" --domain-type "$domain_type" \
    --vm-root "$RUN_DIR/node/vms" --image-root "$RUN_DIR/node/images" --nat-network "$NETWORK" \
    --metrics-address 127.0.0.1 --metrics-port "$NODE_METRICS_PORT_B" --heartbeat-seconds 5 \
    --shared-vm-root true --log-format text "${extra_flags[@]}"
  for host in "$NODE_NAME:$HOST_A_ADDR" "$NODE_NAME_B:$HOST_B_ADDR"; do
    await 60 "Hypervisor ${host%%:*} to register" kubectl get hypervisor "${host%%:*}"
    kubectl wait --for=condition=Ready --timeout=60s "hypervisor/${host%%:*}" \
      >>"$LOGS/kubectl.log" 2>&1 || fail "Hypervisor ${host%%:*} did not become Ready"
    # The operator's part of migration: where other hypervisors reach this one.
    kubectl patch hypervisor "${host%%:*}" --type=merge \
      -p "{\"spec\":{\"migration\":{\"address\":\"${host#*:}\"}}}" >>"$LOGS/kubectl.log" 2>&1
  done

  step "starting the controller (leader election on)" "$LOGS/controller.log"
  start_daemon controller "$LOGS/controller.log" "$controller" --kubeconfig "$KUBECONFIG" \
    --identity demo-controller --bind-address "$CONTROLLER_BIND" --leader-elect true \
    --log-format text
  await 60 "the controller to become ready" curl -sf "http://$CONTROLLER_BIND/readyz"

  step "creating the sample VM (kubectl apply -f $SAMPLE)" "$LOGS/kubectl.log"
  kubectl apply -f "$SAMPLE" >>"$LOGS/kubectl.log" 2>&1
  step "waiting for VM $VM_NAME to be Ready (up to ${TIMEOUT}s)" "$LOGS/node-daemon.log"
  if ! kubectl wait --for=condition=Ready --timeout="${TIMEOUT}s" "vm/$VM_NAME" \
    >>"$LOGS/kubectl.log" 2>&1; then
    kubectl get vm "$VM_NAME" -o yaml >&2 || true
    fail "VM $VM_NAME did not become Ready"
  fi
  local serial
  serial=$(find "$RUN_DIR/node/vms" -name serial.log | head -n 1)
  [[ -n "$serial" ]] || fail "no serial log found under $RUN_DIR/node/vms"
  await 120 "the guest's boot marker in $serial" grep -q NOVACRON-GUEST-BOOTED "$serial"

  echo
  echo "NovaCron is running. What kubectl sees:"
  kubectl get hv,vm -o wide
  echo
  echo "The guest's serial console ($serial):"
  grep -A2 -m1 NOVACRON-GUEST-BOOTED "$serial"
  cat <<EOF

Try next (in this shell: export KUBECONFIG=$KUBECONFIG):
  kubectl get vm -w                                          # watch phases change
  kubectl patch vm $VM_NAME --type=merge -p '{"spec":{"runStrategy":"Halted"}}'   # stop it
  kubectl patch vm $VM_NAME --type=merge -p '{"spec":{"runStrategy":"Always"}}'   # start it again
  kubectl annotate vm $VM_NAME novacron.io/paused=true        # pause it (remove with paused-)
The kubectl plugin (docs/kubectl-plugin.md): export PATH=$BUILD_DIR/kubectl-plugin:\$PATH, then
  kubectl novacron top                                        # hypervisor capacity and allocation
  kubectl novacron explain $VM_NAME                           # why it runs where it runs
  kubectl novacron pause $VM_NAME --wait; kubectl novacron unpause $VM_NAME --wait
  kubectl novacron restart $VM_NAME --wait                    # stop|start|restart|pause|unpause
  kubectl novacron console $VM_NAME --libvirt-uri ${HOST_A_URI:-$LIBVIRT_URI}   # serial console (Ctrl-] leaves)
  kubectl describe vm $VM_NAME                                # conditions and events
  sed 's/name: $VM_NAME/name: tiny2/' $SAMPLE | kubectl apply -f -   # another VM
  kubectl delete vm $VM_NAME                                  # domain and disks are removed
  tail -f $serial                           # the guest's ticker
  virsh -c ${HOST_A_URI:-$LIBVIRT_URI} console default_$VM_NAME              # its console (Ctrl+] leaves)
  hack/demo.sh down                                         # stop everything, remove $RUN_DIR
Live migration ($VM_NAME runs on $NODE_NAME; $NODE_NAME_B is the second hypervisor):
  hack/demo.sh migrate                                      # moves it to the other one, watching
  kubectl apply -f config/samples/vmmigration_demo.yaml     # or by hand: $VM_NAME -> $NODE_NAME_B
  kubectl get vmim -w                                       # phase, percent, ETA as it moves
Logs: $LOGS
EOF
}

down() {
  trap - ERR
  set +e
  if [[ ! -d "$RUN_DIR" ]]; then
    echo "demo: nothing to tear down ($RUN_DIR does not exist)"
    return 0
  fi
  # Delete VMs while the node-daemon still runs, so it destroys their domains and disks itself.
  if pid_alive "$RUN_DIR/node-daemon.pid" && [[ -f "$KUBECONFIG" ]]; then
    echo "demo: deleting VirtualMachines (the node-daemon removes their domains and disks)"
    timeout 120 kubectl delete vm --all --all-namespaces --wait=true --timeout=100s >/dev/null 2>&1
  fi
  stop_daemon controller
  stop_daemon node-daemon
  stop_daemon node-daemon-b
  if [[ -d "$HOSTS_STATE" ]]; then
    echo "demo: tearing down hosts A and B (their libvirtds and guests go with them)"
    "$HARNESS" down --state-dir "$HOSTS_STATE" >/dev/null 2>&1 || echo "demo: two_hosts.sh down failed"
  fi
  # Domains created under this run directory that are still there (e.g. the node-daemon had died).
  if virsh -q -c "$LIBVIRT_URI" version >/dev/null 2>&1; then
    local dom
    for dom in $(virsh -q -c "$LIBVIRT_URI" list --all --name 2>/dev/null); do
      if virsh -q -c "$LIBVIRT_URI" dumpxml "$dom" 2>/dev/null | grep -q "$RUN_DIR/"; then
        echo "demo: removing leftover domain $dom"
        virsh -q -c "$LIBVIRT_URI" destroy "$dom" >/dev/null 2>&1
        virsh -q -c "$LIBVIRT_URI" undefine "$dom" --nvram >/dev/null 2>&1 ||
          virsh -q -c "$LIBVIRT_URI" undefine "$dom" >/dev/null 2>&1
      fi
    done
    if [[ -f "$RUN_DIR/network.created" ]]; then
      virsh -q -c "$LIBVIRT_URI" net-destroy "$NETWORK" >/dev/null 2>&1
    fi
  fi
  if [[ -f "$RUN_DIR/network.created" ]]; then
    # What libvirtd keeps of a destroyed transient network (status, dnsmasq's leases).
    rm -rf "/run/libvirt/network/$NETWORK" "/run/libvirt/network/$NETWORK".* \
      "/var/lib/libvirt/dnsmasq/$NETWORK".* "/var/lib/libvirt/dnsmasq/$NETWORK-"* \
      "/var/lib/libvirt/dnsmasq/$NETWORK_BRIDGE".*
  fi
  # Undoes what hack/libvirtd.sh changed on the host (qemu.conf, iptables, directories) and says
  # what it left; its record of the changes is kept until nothing is left.
  hack/libvirtd.sh stop 2>&1 | sed 's/^/demo: /'
  RUN_DIR="$RUN_DIR/api" hack/dev-cluster.sh stop >/dev/null 2>&1
  if [[ -s "$NOVACRON_LIBVIRTD_STATE/remaining" ]]; then
    find "$RUN_DIR" -mindepth 1 -maxdepth 1 ! -name libvirtd -exec rm -rf {} +
    echo "demo: stopped; kept $NOVACRON_LIBVIRTD_STATE (the record of host changes listed above)"
    return 0
  fi
  rm -rf "$RUN_DIR"
  echo "demo: stopped and removed $RUN_DIR"
}

status() {
  local name
  for name in node-daemon node-daemon-b controller; do
    if pid_alive "$RUN_DIR/$name.pid"; then
      echo "$name: running (pid $(cat "$RUN_DIR/$name.pid"))"
    else
      echo "$name: stopped"
    fi
  done
  RUN_DIR="$RUN_DIR/api" hack/dev-cluster.sh status || true
  [[ -d "$HOSTS_STATE" ]] && { "$HARNESS" status --state-dir "$HOSTS_STATE" || true; }
  if [[ -f "$KUBECONFIG" ]]; then
    kubectl get hv,vm -o wide 2>/dev/null || true
  fi
}

# Moves the demo VM live to the hypervisor it is not on, printing `kubectl get vmim -w` until the
# migration ends.
migrate() {
  trap - ERR
  [[ -f "$KUBECONFIG" ]] || { echo "demo: not running (hack/demo.sh first)" >&2; exit 1; }
  local from to name
  from="$(kubectl get vm "$VM_NAME" -o 'jsonpath={.status.hypervisor}')"
  to="$NODE_NAME_B"
  [[ "$from" == "$NODE_NAME_B" ]] && to="$NODE_NAME"
  name="$VM_NAME-to-$to-$(date +%H%M%S)"
  echo "demo: moving VM $VM_NAME from $from to $to (VMMigration $name)"
  printf '%s\n' "apiVersion: novacron.io/v1alpha1" "kind: VMMigration" \
    "metadata: {name: $name, namespace: default}" \
    "spec: {vmName: $VM_NAME, targetHypervisor: $to, mode: Live, options: {maxDowntimeMs: 300}}" |
    kubectl apply -f -
  kubectl get vmim "$name" -w &
  local watcher=$!
  wait_until 300 bash -c "kubectl get vmim '$name' -o 'jsonpath={.status.phase}' | grep -Eq 'Succeeded|Failed|Cancelled'"
  sleep 1  # let the watch print the last line
  kill "$watcher" 2>/dev/null
  kubectl get vm "$VM_NAME" -o wide
}

# Puts a hypervisor in maintenance (its VMs are evacuated by their evictionStrategy,
# docs/evacuation.md) and prints the evacuation until it is Evacuated or blocked; `off` clears it.
maintenance() {
  trap - ERR
  [[ -f "$KUBECONFIG" ]] || { echo "demo: not running (hack/demo.sh first)" >&2; exit 1; }
  local hv="${1:-$NODE_NAME}" on=true
  [[ "${2:-}" == off ]] && on=false
  kubectl patch hv "$hv" --type merge -p "{\"spec\":{\"maintenance\":$on}}"
  if [[ "$on" == false ]]; then
    kubectl get hv "$hv" -o wide
    return
  fi
  wait_until 300 bash -c "kubectl get hv '$hv' -o 'jsonpath={.status.conditions[?(@.type==\"Evacuating\")].status}' | grep -q False || kubectl get hv '$hv' -o 'jsonpath={.status.conditions[?(@.type==\"Evacuating\")].reason}' | grep -q Blocked" || true
  kubectl get hv "$hv" -o 'jsonpath={range .status.conditions[?(@.type=="Evacuating")]}{.type}={.status} {.reason}: {.message}{"\n"}{end}{range .status.conditions[?(@.type=="Evacuated")]}{.type}={.status} {.reason}: {.message}{"\n"}{end}evacuation: {.status.evacuation}{"\n"}'
  kubectl get vmim -A -l "novacron.io/evacuating-hypervisor=$hv"
  kubectl get vm -o wide
}

case "${1:-up}" in
  up) shift || true; up "$@" ;;
  --*) up "$@" ;;
  migrate) migrate ;;
  maintenance) shift; maintenance "$@" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: hack/demo.sh [up] [--teardown] [--no-install] [--no-build] | migrate | maintenance [HV] [off] | down | status" >&2
     exit 2 ;;
esac
