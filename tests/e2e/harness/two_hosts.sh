#!/usr/bin/env bash
# Two hypervisor hosts on one machine, for migration and multi-node e2e tests (issue 13), built as
# /work/shared/ENVIRONMENT.md describes. See README.md beside this file.
#
#   two_hosts.sh up     --state-dir DIR [--prefix nc] [--subnet 10.213.77] [--shape 100mbit]
#                       [--owner-pid PID]
#   two_hosts.sh down   --state-dir DIR        tear down exactly what `up` recorded (idempotent)
#   two_hosts.sh env    --state-dir DIR        shell-sourceable variables (HOST_A_URI, ...)
#   two_hosts.sh status --state-dir DIR        what is up; exit 0 only if both libvirtds answer
#   two_hosts.sh exec   --state-dir DIR A|B CMD [ARG...]   run CMD inside host A or B
# (--state-dir may be replaced by TWO_HOSTS_STATE_DIR in the environment.)
#
# Each host is a network namespace (veth on a bridge in the root namespace; the bridge has the .1
# address, host A .2, host B .3 of a private /24 that no route on this machine touches) plus a
# private mount namespace held open by a "holder" process (sleep infinity), in which private
# directories are bind-mounted over /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt
# and /var/cache/libvirt, and in which the host's own virtlogd and libvirtd (TCP on its address, no
# auth: tests only; and TLS with certificates from a throw-away CA made for this harness) run.
# Nothing is routed beyond the /24: the namespaces have no default route.
#
# Every resource is written to DIR/journal before it is created, so `down` removes exactly what an
# `up` made, even a partial one; `up` tears down itself when it fails or is interrupted. With
# --owner-pid, a watchdog runs `down` as soon as that process is gone (a test killed by SIGKILL).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
REPO="$(cd "$HERE/../../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../../../hack/lib/libvirt-prereqs.sh
source "$REPO/hack/lib/libvirt-prereqs.sh"

HOSTS=(A B)
# Where each private per-host directory (under DIR/hostA/) is bind-mounted inside that host.
declare -A MOUNTS=([etc]=/etc/libvirt [run]=/run/libvirt [lib]=/var/lib/libvirt
  [log]=/var/log/libvirt [cache]=/var/cache/libvirt)
RUN_LOCK_FD=""
MOUNTPOINTS=/run/novacron-two-hosts.mountpoints
STATE_DIR="" BRIDGE="" BRIDGE_ADDR="" SUBNET=""
SUBNET_CANDIDATES=(77 78 79 80 81 82 83 84 85 86 87 88 89 90)

log() { echo "two_hosts: $*" >&2; }
die() {
  log "$*"
  exit 1
}

usage() {
  sed -n '5,11p' "$SELF" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---- state ---------------------------------------------------------------------------------------

journal() { echo "$*" >>"$STATE_DIR/journal"; }

# Called by libvirt_ensure_* (under the machine-wide lock): remembers system changes. Directories
# made only to be mount points go to a machine-wide registry, because the harness that made one may
# go down while another still mounts over it; every `down` removes those no longer in use.
record_change() {
  journal "note $*"
  if [[ "$*" == "created directory "* ]]; then echo "${*#created directory }" >>"$MOUNTPOINTS"; fi
}

# Under the machine-wide lock: rmdir every registered mount point that no mount namespace uses;
# forget those that are gone or that someone else filled (a root-namespace libvirtd).
remove_unused_mountpoints() {
  local d keep=()
  [[ -s "$MOUNTPOINTS" ]] || { rm -f "$MOUNTPOINTS"; return 0; }
  while read -r d; do
    [[ -n "$d" && -d "$d" ]] || continue
    if mounted_anywhere "$d"; then
      keep+=("$d")
    else
      rmdir "$d" 2>/dev/null || true
    fi
  done <"$MOUNTPOINTS"
  if ((${#keep[@]})); then
    printf '%s\n' "${keep[@]}" >"$MOUNTPOINTS"
  else
    rm -f "$MOUNTPOINTS"
  fi
}

# A machine-wide lock (flock on /run itself, so no lock file is left behind) around choosing a
# subnet and creating mount points, and around removing them, so parallel harnesses never collide.
# A flock is held as long as any process keeps the open file, so every long-lived process started
# while it is held must close it (spawn() does).
lock_run() {
  [[ -z "$RUN_LOCK_FD" ]] || return 0
  exec {RUN_LOCK_FD}</run
  if ! flock -w 120 "$RUN_LOCK_FD"; then
    exec {RUN_LOCK_FD}<&-
    RUN_LOCK_FD=""
    log "timed out waiting for the machine-wide harness lock on /run"
    return 1
  fi
}
unlock_run() {
  [[ -n "$RUN_LOCK_FD" ]] || return 0
  exec {RUN_LOCK_FD}<&-
  RUN_LOCK_FD=""
}

# spawn LOG CMD...: starts CMD in its own session, detached from the caller's terminal and pipes
# (a test runner waits for those to close) and without the machine-wide lock's file descriptor.
spawn() {
  local logfile="$1"
  shift
  if [[ -n "$RUN_LOCK_FD" ]]; then
    setsid -f "$@" </dev/null >>"$logfile" 2>&1 {RUN_LOCK_FD}<&-
  else
    setsid -f "$@" </dev/null >>"$logfile" 2>&1
  fi
}

mounted_anywhere() {
  # cat fails when a process exits between the glob and its read; under pipefail that failure
  # made the pipeline "not mounted", and the rmdir that followed detached a running harness's
  # private libvirt directories in its own namespaces (Linux >= 3.18 lets rmdir take a mount
  # point used elsewhere): its libvirtd, restarted, lost its domains' state and killed a guest.
  { cat /proc/[0-9]*/mountinfo 2>/dev/null || true; } |
    awk -v d="$1" '$5 == d { found = 1 } END { exit !found }'
}

# Reads DIR/state (KEY=VALUE lines written by `up`) into the shell.
load_state() {
  [[ -s "$STATE_DIR/state" ]] || die "no harness state in $STATE_DIR (was 'up' run?)"
  # shellcheck disable=SC1091
  source "$STATE_DIR/state"
}

set_state() { printf '%s=%q\n' "$1" "$2" >>"$STATE_DIR/state"; }

host_dir() { echo "$STATE_DIR/host$1"; }
holder_pid() { cat "$(host_dir "$1")/holder.pid" 2>/dev/null || true; }

# The inode of a network namespace's nsfs file, which names it even after `ip netns del`.
netns_inode() { stat -L -c %i "/run/netns/$1" 2>/dev/null || true; }

# Every process whose network namespace has inode $1.
pids_in_netns() {
  local want="net:[$1]" p
  for p in /proc/[0-9]*; do
    if [[ "$(readlink "$p/ns/net" 2>/dev/null)" == "$want" ]]; then
      echo "${p#/proc/}"
    fi
  done
}

# Process start time (clock ticks since boot), to tell a process from a later one with its pid.
start_time() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

# ---- safety --------------------------------------------------------------------------------------

# The network safety rule (ENVIRONMENT.md): before any connection to a test address, the kernel must
# route it through our bridge; otherwise the packets would leave the machine.
assert_route_via_bridge() {
  local addr="$1" dev
  dev="$(ip -o route get "$addr" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p')"
  if [[ "$dev" != "$BRIDGE" ]]; then
    die "SAFETY: $addr is routed via '${dev:-nothing}', not the harness bridge $BRIDGE; refusing to connect"
  fi
}

# A /24 is free when no address is in it and no route (in any table) lies inside or around it
# other than a default route.
subnet_free() {
  local net="$1.0/24"
  [[ -z "$(ip -4 route show table all root "$net" 2>/dev/null)" ]] || return 1
  [[ -z "$(ip -4 route show table all match "$net" 2>/dev/null | grep -v '^default' |
    grep -v '^unreachable default' || true)" ]] || return 1
  ! ip -4 -o addr show | grep -q " inet ${1//./\\.}\."
}

# ---- up ------------------------------------------------------------------------------------------

write_host_config() {
  local h="$1" addr="$2" dir f
  dir="$(host_dir "$h")"
  mkdir -p "$dir"/{etc,run,lib/qemu,lib/images,log/qemu,cache,files,pki}
  make_host_cert "$h" "$addr" 
  # Only the top-level client/admin configuration is copied: the root host's domain, network and
  # storage definitions (subdirectories) must not appear, let alone autostart, on the test hosts.
  for f in /etc/libvirt/libvirt.conf /etc/libvirt/libvirt-admin.conf; do
    if [[ -f "$f" ]]; then cp -p "$f" "$dir/etc/"; fi
  done
  cat >"$dir/etc/libvirtd.conf" <<CONF
# Test host $h of the two-hosts e2e harness: plain TCP without authentication, on a private
# test subnet reachable only through the harness bridge. Never use this outside tests.
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
listen_tcp = 1
listen_addr = "$addr"
auth_tcp = "none"
# TLS (qemu+tls://ADDR/system, port 16514): certificates of the harness's CA; clients must present
# one too (tls_no_verify_certificate stays 0).
listen_tls = 1
auth_tls = "none"
ca_file = "$dir/pki/cacert.pem"
cert_file = "$dir/pki/servercert.pem"
key_file = "$dir/pki/serverkey.pem"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
  # cgroup_controllers = []: both hosts run a QEMU for the same domain name during a migration, and
  # two libvirtds sharing the machine's cgroup tree would fight over the same cgroup paths.
  cat >"$dir/etc/qemu.conf" <<CONF
user = "root"
group = "root"
dynamic_ownership = 0
cgroup_controllers = [ ]
# QEMU's native TLS (VIR_MIGRATE_TLS): ca-cert.pem, server-*.pem, client-*.pem, peers verified.
default_tls_x509_cert_dir = "$dir/pki"
migrate_tls_x509_cert_dir = "$dir/pki"
migrate_tls_x509_verify = 1
CONF
  : >"$dir/etc/virtlogd.conf"
}

# A throw-away CA for this harness (DIR/work/ca, removed by `down`) and, per host, one key and one
# certificate for both roles (serverAuth + clientAuth, SAN = the host's IP, which is what libvirt
# and QEMU check), under libvirt's pki names (cacert.pem, servercert.pem, clientcert.pem, ...:
# libvirtd.conf and the `pkipath` of a qemu+tls URI) and QEMU's (ca-cert.pem, server-cert.pem, ...:
# qemu.conf's *_tls_x509_cert_dir) in DIR/hostX/pki.
make_ca() {
  local ca="$STATE_DIR/work/ca"
  [[ -s "$ca/cacert.pem" ]] && return 0
  mkdir -p "$ca"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=novacron two-hosts test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$ca/ca.key" -out "$ca/cacert.pem" 2>/dev/null || die "openssl: cannot make the CA"
}

make_host_cert() {
  local h="$1" addr="$2" ca="$STATE_DIR/work/ca" pki name
  pki="$(host_dir "$h")/pki"
  make_ca
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$addr" -keyout "$pki/key.pem" \
    -out "$pki/req.csr" 2>/dev/null || die "openssl: cannot make the key of host $h"
  printf '%s\n' "subjectAltName=IP:$addr" "extendedKeyUsage=serverAuth,clientAuth" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "basicConstraints=CA:FALSE" >"$pki/ext.cnf"
  openssl x509 -req -in "$pki/req.csr" -CA "$ca/cacert.pem" -CAkey "$ca/ca.key" -CAcreateserial \
    -days 2 -extfile "$pki/ext.cnf" -out "$pki/cert.pem" 2>/dev/null ||
    die "openssl: cannot sign the certificate of host $h"
  cp "$ca/cacert.pem" "$pki/cacert.pem"
  cp "$ca/cacert.pem" "$pki/ca-cert.pem"
  for name in servercert.pem clientcert.pem server-cert.pem client-cert.pem; do
    cp "$pki/cert.pem" "$pki/$name"
  done
  for name in serverkey.pem clientkey.pem server-key.pem client-key.pem; do
    install -m 0600 "$pki/key.pem" "$pki/$name"
  done
  rm -f "$pki/req.csr" "$pki/ext.cnf" "$pki/cert.pem" "$pki/key.pem"
}

wait_until() {
  local what="$1" timeout="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@"; do
    if ((SECONDS > deadline)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

pid_file_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

holder_ready() {
  local pid
  pid="$(holder_pid "$1")"
  [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == sleep ]] &&
    [[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]]
}

libvirtd_answers() {
  timeout 10 virsh -q -c "qemu+tcp://$1/system" version >/dev/null 2>&1
}

# Config, holder and bind mounts of host $1 (fast; done under the machine-wide lock).
prepare_host() {
  local h="$1" addr="$2" ns="$3" dir pid sub
  dir="$(host_dir "$h")"
  write_host_config "$h" "$addr"
  # The holder keeps the host's mount namespace alive; setsid so that a Ctrl-C aimed at the caller
  # does not take it down behind `down`'s back. It writes its own pid, then execs into the holder.
  # shellcheck disable=SC2016 # expanded by the inner shell
  spawn "$dir/holder.log" sh -c \
    'echo $$ >"$1"; exec ip netns exec "$2" unshare -m --propagation private sleep infinity' \
    _ "$dir/holder.pid" "$ns"
  wait_until "the holder of host $h" 10 holder_ready "$h"
  pid="$(holder_pid "$h")"
  journal "holder $pid $(start_time "$pid")"
  for sub in "${!MOUNTS[@]}"; do
    nsenter -t "$pid" -m -- mount --bind "$dir/$sub" "${MOUNTS[$sub]}"
  done
}

start_daemons() {
  local h="$1" addr="$2" ns="$3" dir pid
  dir="$(host_dir "$h")"
  pid="$(holder_pid "$h")"
  nsenter -t "$pid" -m -n -- virtlogd -d -p "$dir/virtlogd.pid" </dev/null >>"$dir/daemons.log" 2>&1
  wait_until "virtlogd on host $h" 20 pid_file_alive "$dir/virtlogd.pid"
  nsenter -t "$pid" -m -n -- libvirtd -d --listen -p "$dir/libvirtd.pid" \
    </dev/null >>"$dir/daemons.log" 2>&1
  wait_until "libvirtd on host $h" 30 pid_file_alive "$dir/libvirtd.pid"
  assert_route_via_bridge "$addr"
  # Generous: libvirtd answers only after probing QEMU, slow on a loaded 2-core machine.
  wait_until "libvirtd of host $h to answer on qemu+tcp://$addr/system" 180 libvirtd_answers "$addr"
  log "host $h: netns $ns, address $addr, libvirtd pid $(cat "$dir/libvirtd.pid")"
}

start_watchdog() {
  local owner="$1" started
  started="$(start_time "$owner")" || die "--owner-pid $owner: no such process"
  journal "watchdog $STATE_DIR/watchdog.pid"
  # Polls once a second; when the owner is gone (or its pid was reused), runs `down` in its place.
  # shellcheck disable=SC2016 # expanded by the inner shell
  spawn "$STATE_DIR/watchdog.log" bash -c '
    echo $$ >"$4/watchdog.pid"
    st() { local s; s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1; s="${s##*) }"; set -- $s; echo "${20}"; }
    while [[ "$(st "$1")" == "$2" ]]; do sleep 1; done
    exec "$3" down --state-dir "$4"' _ "$owner" "$started" "$SELF" "$STATE_DIR"
}

on_up_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc)); then
    log "up failed (exit $rc); tearing down"
    cmd_down || true
  fi
  exit "$rc"
}

cmd_up() {
  local prefix="nc" subnet="" shape="" owner="" id n ns veth h addr
  while (($#)); do
    case "$1" in
      --prefix) prefix="$2"; shift 2 ;;
      --subnet) subnet="$2"; shift 2 ;;
      --shape) shape="$2"; shift 2 ;;
      --owner-pid) owner="$2"; shift 2 ;;
      *) usage ;;
    esac
  done
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  [[ "$prefix" =~ ^[a-z][a-z0-9]{0,5}$ ]] || die "--prefix: 1-6 lower-case letters/digits"
  [[ -z "$subnet" || "$subnet" =~ ^10\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
    die "--subnet: the first three octets of a 10.x.y.0/24, e.g. 10.213.77"
  for tool in ip nsenter unshare setsid virtlogd libvirtd virsh flock openssl; do
    command -v "$tool" >/dev/null || die "missing $tool"
  done
  if [[ -n "$shape" ]]; then command -v tc >/dev/null || die "missing tc"; fi
  if [[ -e "$STATE_DIR/journal" ]]; then
    die "$STATE_DIR already holds a harness (run 'down' first)"
  fi
  if [[ ! -d "$STATE_DIR" ]]; then
    mkdir -p "$STATE_DIR"
    : >"$STATE_DIR/.created-by-harness"
  fi
  STATE_DIR="$(cd "$STATE_DIR" && pwd)"
  : >"$STATE_DIR/journal"
  : >"$STATE_DIR/state"
  mkdir -p "$STATE_DIR/work"
  trap on_up_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  if [[ -n "$owner" ]]; then start_watchdog "$owner"; fi

  # Names must be unique machine-wide (parallel runs, other users): a random id, checked.
  for ((n = 0; ; n++)); do
    id="$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')"
    if ! ip link show "${prefix}${id}br" >/dev/null 2>&1 && [[ ! -e "/run/netns/$prefix-$id-hostA" ]]; then
      break
    fi
    ((n < 20)) || die "cannot find a free name"
  done
  BRIDGE="${prefix}${id}br"
  set_state PREFIX "$prefix"
  set_state ID "$id"
  set_state BRIDGE "$BRIDGE"

  # Choosing a free /24 and claiming it with the bridge route, and making mount points and using
  # them, happen under the machine-wide lock.
  lock_run || exit 1
  if [[ -n "$subnet" ]]; then
    subnet_free "$subnet" || die "subnet $subnet.0/24 is in use on this machine"
  else
    for n in "${SUBNET_CANDIDATES[@]}"; do
      if subnet_free "10.213.$n"; then
        subnet="10.213.$n"
        break
      fi
    done
    [[ -n "$subnet" ]] || die "no free 10.213.{77..90}.0/24 subnet"
  fi
  set_state SUBNET "$subnet"
  set_state BRIDGE_ADDR "$subnet.1"
  journal "bridge $BRIDGE"
  ip link add "$BRIDGE" type bridge
  ip addr add "$subnet.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  log "bridge $BRIDGE with $subnet.1/24"

  libvirt_ensure_users record_change
  libvirt_ensure_dirs record_change "${MOUNTS[@]}"

  n=2
  for h in "${HOSTS[@]}"; do
    addr="$subnet.$n"
    ns="$prefix-$id-host$h"
    veth="${prefix}${id}${h,,}"
    set_state "HOST_${h}_ADDR" "$addr"
    set_state "HOST_${h}_NETNS" "$ns"
    set_state "HOST_${h}_VETH" "$veth"
    journal "netns $ns"
    ip netns add "$ns"
    journal "link $veth"
    ip link add "$veth" type veth peer name "${veth}p"
    ip link set "${veth}p" netns "$ns"
    ip -n "$ns" link set "${veth}p" name eth0
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip link set "$veth" master "$BRIDGE"
    ip link set "$veth" up
    if [[ -n "$shape" ]]; then
      tc qdisc add dev "$veth" root tbf rate "$shape" burst 32kbit latency 400ms
    fi
    n=$((n + 1))
  done
  set_state SHAPE "$shape"
  load_state
  for h in "${HOSTS[@]}"; do assert_route_via_bridge "$(host_var "$h" ADDR)"; done
  for h in "${HOSTS[@]}"; do
    prepare_host "$h" "$(host_var "$h" ADDR)" "$(host_var "$h" NETNS)"
  done
  unlock_run
  start_daemons A "$HOST_A_ADDR" "$HOST_A_NETNS"
  # B reuses A's probe of QEMU's capabilities (keyed by the binary, validated by libvirtd against
  # the binary's and its own timestamps and the kernel), which halves the start-up time.
  cp -a "$(host_dir A)/cache/qemu" "$(host_dir B)/cache/" 2>/dev/null || true
  start_daemons B "$HOST_B_ADDR" "$HOST_B_NETNS"
  trap - EXIT INT TERM
  log "up: state in $STATE_DIR (source <($SELF env --state-dir $STATE_DIR))"
}

host_var() {
  local name="HOST_$1_$2"
  echo "${!name}"
}

# ---- down ----------------------------------------------------------------------------------------

# TERM, then KILL after a grace period, every process in the given network namespaces.
kill_netns_processes() {
  local inodes=("$@") ino pids=() deadline
  ((${#inodes[@]})) || return 0
  for ino in "${inodes[@]}"; do mapfile -t -O "${#pids[@]}" pids < <(pids_in_netns "$ino"); done
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  deadline=$((SECONDS + 15))
  while ((SECONDS < deadline)); do
    pids=()
    for ino in "${inodes[@]}"; do mapfile -t -O "${#pids[@]}" pids < <(pids_in_netns "$ino"); done
    ((${#pids[@]})) || return 0
    sleep 0.2
  done
  log "killing processes that ignored SIGTERM: ${pids[*]}"
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait_until "processes to exit after SIGKILL" 10 no_netns_processes "${inodes[@]}" || true
}

no_netns_processes() {
  local ino
  for ino in "$@"; do [[ -z "$(pids_in_netns "$ino")" ]] || return 1; done
}

cmd_down() {
  local kind a b inodes=() lines=() i pid lockfd ino
  [[ -n "$STATE_DIR" && -d "$STATE_DIR" ]] || return 0
  [[ -e "$STATE_DIR/journal" ]] || return 0
  # One `down` at a time per state dir (the caller's trap and the watchdog may race).
  exec {lockfd}<"$STATE_DIR"
  flock "$lockfd"
  [[ -e "$STATE_DIR/journal" ]] || return 0
  mapfile -t lines <"$STATE_DIR/journal"
  # First every process of both hosts (daemons, QEMU, holders), so that nothing holds a namespace.
  for kind in "${lines[@]}"; do
    read -r kind a b <<<"$kind"
    case "$kind" in
      watchdog)
        pid="$(cat "$a" 2>/dev/null || true)"
        # Not when this `down` is the watchdog's own (it execs into `down`, keeping its pid).
        if [[ -n "$pid" && "$pid" != "$$" &&
          "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" == *"$STATE_DIR"* ]]; then
          kill -TERM "$pid" 2>/dev/null || true
        fi
        ;;
      netns) inodes+=("$(netns_inode "$a")") ;;
      # A namespace is found by its name or, if that was deleted behind our back, through our holder
      # (same pid and start time) still in it. Never by a remembered inode alone: inode numbers of
      # dead namespaces are reused, and we must not kill another namespace's processes.
      holder)
        if [[ -n "$b" && "$(start_time "$a" 2>/dev/null)" == "$b" ]]; then
          ino="$(readlink "/proc/$a/ns/net" 2>/dev/null || true)"
          ino="${ino#net:[}"
          inodes+=("${ino%]}")
        fi
        ;;
    esac
  done
  mapfile -t inodes < <(printf '%s\n' "${inodes[@]}" | grep . | sort -u || true)
  kill_netns_processes "${inodes[@]}"
  # Then the network and directories, newest first.
  for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    read -r kind a b <<<"${lines[i]}"
    case "$kind" in
      link | bridge) if ip link show "$a" >/dev/null 2>&1; then ip link del "$a" || true; fi ;;
      netns) if [[ -e "/run/netns/$a" ]]; then ip netns del "$a" || true; fi ;;
    esac
  done
  if lock_run; then remove_unused_mountpoints; fi
  if [[ -e "$STATE_DIR/.created-by-harness" ]]; then
    rm -rf "${STATE_DIR:?}"
  else
    rm -rf "${STATE_DIR:?}"/host? "$STATE_DIR/work" "$STATE_DIR/state" "$STATE_DIR/watchdog.pid" \
      "$STATE_DIR/watchdog.log" "$STATE_DIR/journal"
  fi
  unlock_run
  exec {lockfd}<&-
  log "down: removed everything recorded in $STATE_DIR"
}

# ---- env / status / exec -------------------------------------------------------------------------

cmd_env() {
  load_state
  local h
  printf 'TWO_HOSTS_STATE_DIR=%q\n' "$STATE_DIR"
  printf 'TWO_HOSTS_BRIDGE=%q\n' "$BRIDGE"
  printf 'TWO_HOSTS_BRIDGE_ADDR=%q\n' "$BRIDGE_ADDR"
  printf 'TWO_HOSTS_SUBNET=%q\n' "$SUBNET.0/24"
  printf 'TWO_HOSTS_WORK_DIR=%q\n' "$STATE_DIR/work"
  for h in "${HOSTS[@]}"; do
    printf 'HOST_%s_ADDR=%q\n' "$h" "$(host_var "$h" ADDR)"
    printf 'HOST_%s_URI=%q\n' "$h" "qemu+tcp://$(host_var "$h" ADDR)/system"
    printf 'HOST_%s_MIGRATE_URI=%q\n' "$h" "tcp://$(host_var "$h" ADDR)"
    printf 'HOST_%s_TLS_URI=%q\n' "$h" "qemu+tls://$(host_var "$h" ADDR)/system"
    printf 'HOST_%s_PKI_DIR=%q\n' "$h" "$(host_dir "$h")/pki"
    printf 'HOST_%s_VETH=%q\n' "$h" "$(host_var "$h" VETH)"
    printf 'HOST_%s_NETNS=%q\n' "$h" "$(host_var "$h" NETNS)"
    printf 'HOST_%s_PID=%q\n' "$h" "$(holder_pid "$h")"
    printf 'HOST_%s_NSENTER=%q\n' "$h" "nsenter -t $(holder_pid "$h") -m -n --"
    printf 'HOST_%s_DIR=%q\n' "$h" "$(host_dir "$h")/files"
  done
}

cmd_status() {
  load_state
  local h ok=0 dir addr
  echo "bridge $BRIDGE ($BRIDGE_ADDR/24): $(ip link show "$BRIDGE" >/dev/null 2>&1 && echo present || echo MISSING)"
  for h in "${HOSTS[@]}"; do
    dir="$(host_dir "$h")"
    addr="$(host_var "$h" ADDR)"
    echo "host $h: netns $(host_var "$h" NETNS) $([[ -e "/run/netns/$(host_var "$h" NETNS)" ]] && echo present || echo MISSING)," \
      "holder $(holder_ready "$h" && echo alive || echo DEAD)," \
      "virtlogd $(pid_file_alive "$dir/virtlogd.pid" && echo alive || echo DEAD)," \
      "libvirtd $(pid_file_alive "$dir/libvirtd.pid" && echo alive || echo DEAD)"
    assert_route_via_bridge "$addr"
    if libvirtd_answers "$addr"; then
      echo "host $h: qemu+tcp://$addr/system answers"
    else
      echo "host $h: qemu+tcp://$addr/system does NOT answer"
      ok=1
    fi
  done
  return "$ok"
}

cmd_exec() {
  (($# >= 2)) || usage
  local h="${1^^}" pid
  shift
  [[ "$h" == A || "$h" == B ]] || die "exec: host must be A or B"
  load_state
  holder_ready "$h" || die "host $h is not running"
  pid="$(holder_pid "$h")"
  exec nsenter -t "$pid" -m -n -- "$@"
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  STATE_DIR="${TWO_HOSTS_STATE_DIR:-}"
  local args=()
  while (($#)); do
    if [[ "$1" == --state-dir ]]; then
      STATE_DIR="$2"
      shift 2
    elif [[ "$cmd" == exec ]]; then
      args+=("$@")
      break
    else
      args+=("$1")
      shift
    fi
  done
  [[ -n "$STATE_DIR" ]] || usage
  if [[ "$cmd" != up && -d "$STATE_DIR" ]]; then STATE_DIR="$(cd "$STATE_DIR" && pwd)"; fi
  case "$cmd" in
    up) cmd_up "${args[@]}" ;;
    down) cmd_down ;;
    env) cmd_env ;;
    status) cmd_status ;;
    exec) cmd_exec "${args[@]}" ;;
    *) usage ;;
  esac
}

main "$@"
