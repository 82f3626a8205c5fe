#!/usr/bin/env bash
# The newcomer's main command: a complete local NovaCron with a real VM, driven by plain kubectl.
#
#   hack/demo.sh                 install deps, build, start everything, boot a VM, print what to try
#   hack/demo.sh down            stop everything this script started and delete its run directory
#   hack/demo.sh status          show what is running
#
# Flags for `up` (the default):
#   --teardown      run `down` at the end (used by the end-to-end test; exit status is the demo's)
#   --no-install    skip hack/install-deps.sh      --no-build   skip the build
#
# Everything lives under the run directory (RUN_DIR, default <repo>/.run/demo): logs, PIDs, the
# API server's etcd data and certificates, the kubeconfig, the guest image, VM disks and serial
# logs. `down` removes only that directory, the processes recorded in it, the libvirt network and
# domains it created, and libvirtd/virtlogd if (and only if) it started them.
#
# Environment: BUILD_DIR (default build), RUN_DIR, DEMO_API_PORT (16443), DEMO_ETCD_PORT (12379),
# DEMO_DOMAIN_TYPE (auto|kvm|qemu; default: qemu inside a VM, where nested KVM is unreliable, else
# auto), DEMO_TIMEOUT (seconds to wait for the VM, default 300).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
RUN_DIR="${RUN_DIR:-$ROOT/.run/demo}"
API_PORT="${DEMO_API_PORT:-16443}"
ETCD_PORT="${DEMO_ETCD_PORT:-12379}"
ETCD_PEER_PORT=$((ETCD_PORT + 1))
NODE_METRICS_PORT=19101
CONTROLLER_BIND=127.0.0.1:19102
TIMEOUT="${DEMO_TIMEOUT:-300}"
NODE_NAME=demo-node
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
    step "installing dependencies (Debian packages)" "$LOGS/install.log"
    hack/install-deps.sh >"$LOGS/install.log" 2>&1
  fi
  if ((build)); then
    step "building the API server, controller and node-daemon" "$LOGS/build.log"
    BUILD_DIR="$BUILD_DIR" hack/build.sh novacron-dev-apiserver novacron-controller \
      novacron-node-daemon kubectl-novacron >"$LOGS/build.log" 2>&1
  fi
  local apiserver="$BUILD_DIR/dev-apiserver/novacron-dev-apiserver"
  local controller="$BUILD_DIR/controller/novacron-controller"
  local nodedaemon="$BUILD_DIR/node-daemon/novacron-node-daemon"
  for b in "$apiserver" "$controller" "$nodedaemon"; do
    [[ -x "$b" ]] || fail "$b is missing; build it (hack/build.sh) or drop --no-build"
  done

  step "building the tiny guest (Debian cloud kernel + busybox initramfs)" "$LOGS/guest.log"
  hack/build-guest.sh "$RUN_DIR/guest" >"$LOGS/guest.log" 2>&1
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

  step "starting virtlogd and libvirtd" "$LOGS/libvirtd.log"
  hack/libvirtd.sh start >>"$LOGS/libvirtd.log" 2>&1
  if ! virsh -q -c "$LIBVIRT_URI" net-info "$NETWORK" >/dev/null 2>&1; then
    network_xml >"$RUN_DIR/network.xml"
    virsh -q -c "$LIBVIRT_URI" net-create "$RUN_DIR/network.xml" >>"$LOGS/libvirtd.log" 2>&1 ||
      fail "could not create the isolated libvirt network $NETWORK"
    touch "$RUN_DIR/network.created"
  fi

  local domain_type
  domain_type=$(choose_domain_type)
  step "starting the node-daemon as node '$NODE_NAME' (domain type: $domain_type)" \
    "$LOGS/node-daemon.log"
  start_daemon node-daemon "$LOGS/node-daemon.log" "$nodedaemon" --node-name "$NODE_NAME" \
    --kubeconfig "$KUBECONFIG" --libvirt-uri "$LIBVIRT_URI" --domain-type "$domain_type" \
    --vm-root "$RUN_DIR/node/vms" --image-root "$RUN_DIR/node/images" --nat-network "$NETWORK" \
    --metrics-address 127.0.0.1 --metrics-port "$NODE_METRICS_PORT" --heartbeat-seconds 5 \
    --log-format text
  await 60 "Hypervisor $NODE_NAME to register" kubectl get hypervisor "$NODE_NAME"
  kubectl wait --for=condition=Ready --timeout=60s "hypervisor/$NODE_NAME" \
    >>"$LOGS/kubectl.log" 2>&1 || fail "Hypervisor $NODE_NAME did not become Ready"

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
  kubectl novacron console $VM_NAME --libvirt-uri $LIBVIRT_URI   # serial console (Ctrl-] leaves)
  kubectl describe vm $VM_NAME                                # conditions and events
  sed 's/name: $VM_NAME/name: tiny2/' $SAMPLE | kubectl apply -f -   # another VM
  kubectl delete vm $VM_NAME                                  # domain and disks are removed
  tail -f $serial                           # the guest's ticker
  hack/demo.sh down                                         # stop everything, remove $RUN_DIR
Live migration needs two hypervisors: tests/bench/migration/migration_bench.sh build 1 brings up
two hosts (network + mount namespaces, a libvirtd and a node-daemon each), moves a VM live with a
VMMigration while printing 'kubectl get vmm -w', and compares it with bare 'virsh migrate'.
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
  hack/libvirtd.sh stop >/dev/null 2>&1
  RUN_DIR="$RUN_DIR/api" hack/dev-cluster.sh stop >/dev/null 2>&1
  rm -rf "$RUN_DIR"
  echo "demo: stopped and removed $RUN_DIR"
}

status() {
  local name
  for name in node-daemon controller; do
    if pid_alive "$RUN_DIR/$name.pid"; then
      echo "$name: running (pid $(cat "$RUN_DIR/$name.pid"))"
    else
      echo "$name: stopped"
    fi
  done
  RUN_DIR="$RUN_DIR/api" hack/dev-cluster.sh status || true
  if [[ -f "$KUBECONFIG" ]]; then
    kubectl get hv,vm -o wide 2>/dev/null || true
  fi
}

case "${1:-up}" in
  up) shift || true; up "$@" ;;
  --*) up "$@" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: hack/demo.sh [up] [--teardown] [--no-install] [--no-build] | down | status" >&2
     exit 2 ;;
esac
