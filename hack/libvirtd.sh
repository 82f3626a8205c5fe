#!/usr/bin/env bash
# Runs libvirtd and virtlogd on a machine without systemd (Debian 12 containers/VMs, as root).
#
#   hack/libvirtd.sh start    prepare users/config/dirs, start virtlogd + libvirtd if not running
#   hack/libvirtd.sh stop     stop only the daemons this script started, then restore qemu.conf
#   hack/libvirtd.sh status   exit 0 if qemu:///system answers, 1 otherwise
#
# libvirtd's QEMU driver resolves the user "libvirt-qemu" before reading qemu.conf, so the kvm group
# and the libvirt-qemu user/group are created first. qemu.conf gets user/group root and
# dynamic_ownership = 0 so that QEMU can read kernels and disks under temporary directories without
# libvirt chown'ing them. Every change made to the system is appended to $STATE/changes (idempotent:
# nothing is changed twice). Daemons already running (started by someone else) are used as they are
# and never stopped by this script.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=libvirtd.sh

STATE="${NOVACRON_LIBVIRTD_STATE:-/run/novacron-libvirtd}"
URI="qemu:///system"
QEMU_CONF=/etc/libvirt/qemu.conf

# shellcheck source-path=SCRIPTDIR source=lib/libvirt-prereqs.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/libvirt-prereqs.sh"

record() {
  mkdir -p "$STATE"
  echo "$(date -u +%FT%TZ) $*" >>"$STATE/changes"
}

# The processes named $1 of this host: same network and mount namespace as this script (test
# harnesses run their own libvirtd/virtlogd in namespaces; those are not this host's).
host_pids() {
  local pid
  for pid in $(pgrep -x "$1" || true); do
    if [[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" == "$(readlink /proc/self/ns/net)" &&
      "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" == "$(readlink /proc/self/ns/mnt)" ]]; then
      echo "$pid"
    fi
  done
}

responding() {
  timeout 10 virsh -q -c "$URI" version >/dev/null 2>&1
}

ensure_users() {
  libvirt_ensure_users record
}

# Sets `key = value` in qemu.conf, replacing an existing (possibly commented) line for the key.
set_conf() {
  local key="$1" value="$2"
  if grep -Eq "^[[:space:]]*${key}[[:space:]]*=[[:space:]]*${value}[[:space:]]*$" "$QEMU_CONF"; then
    return 0
  fi
  if [[ ! -e "$STATE/qemu.conf.orig" ]]; then
    mkdir -p "$STATE"
    cp -p "$QEMU_CONF" "$STATE/qemu.conf.orig"
  fi
  if grep -Eq "^[[:space:]]*${key}[[:space:]]*=" "$QEMU_CONF"; then
    sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*$|${key} = ${value}|" "$QEMU_CONF"
  else
    echo "${key} = ${value}" >>"$QEMU_CONF"
  fi
  record "set ${key} = ${value} in $QEMU_CONF (original saved in $STATE/qemu.conf.orig)"
}

ensure_config() {
  mkdir -p /etc/libvirt
  if [[ ! -e "$QEMU_CONF" ]]; then
    : >"$QEMU_CONF"
    record "created empty $QEMU_CONF"
  fi
  set_conf user '"root"'
  set_conf group '"root"'
  set_conf dynamic_ownership 0
}

ensure_dirs() {
  libvirt_ensure_dirs record /var/log/libvirt /var/log/libvirt/qemu /var/lib/libvirt \
    /var/lib/libvirt/qemu /var/lib/libvirt/images /run/libvirt /var/cache/libvirt
}

start() {
  require_root "it configures and starts libvirtd"
  if responding; then
    log "libvirtd already answers on $URI; using it as it is (nothing on this host is changed)"
    return 0
  fi
  # A libvirtd this script did not start (not answering yet, or hung) belongs to someone else:
  # never rewrite its configuration or start a second one next to it.
  local foreign
  foreign="$(host_pids libvirtd | grep -vx "$(cat "$STATE/libvirtd.pid" 2>/dev/null || echo none)" || true)"
  if [[ -n "$foreign" ]]; then
    die "a libvirtd not started by this script is running (pid ${foreign//$'\n'/ }) but does not" \
      "answer on $URI; refusing to touch this host (stop it, or fix it, and try again)"
  fi
  ensure_users
  ensure_config
  ensure_dirs
  mkdir -p "$STATE"
  if ! pid_alive "$STATE/virtlogd.pid"; then
    if [[ -n "$(host_pids virtlogd)" ]]; then
      log "a virtlogd not started by this script is running; using it"
    else
      virtlogd -d -p "$STATE/virtlogd.pid"
      wait_for 30 "virtlogd pid file" pid_alive "$STATE/virtlogd.pid"
      log "started virtlogd (pid $(cat "$STATE/virtlogd.pid"))"
    fi
  fi
  if ! pid_alive "$STATE/libvirtd.pid"; then
    libvirtd -d -p "$STATE/libvirtd.pid"
    wait_for 30 "libvirtd pid file" pid_alive "$STATE/libvirtd.pid"
    log "started libvirtd (pid $(cat "$STATE/libvirtd.pid"))"
  fi
  wait_for 30 "libvirtd to answer on $URI" responding
}

stop_one() {
  local name="$1" f="$STATE/$1.pid" pid
  if ! pid_alive "$f"; then
    rm -f "$f"
    return 0
  fi
  pid="$(cat "$f")"
  stop_pidfile "$f" 20
  log "stopped $name (pid $pid)"
}

# Puts back the qemu.conf this script changed (only after its own libvirtd stopped).
restore_config() {
  if [[ -e "$STATE/qemu.conf.orig" ]]; then
    cp -p "$STATE/qemu.conf.orig" "$QEMU_CONF"
    rm -f "$STATE/qemu.conf.orig"
    record "restored $QEMU_CONF from the copy saved before the first change"
    log "restored $QEMU_CONF"
  fi
}

stop() {
  require_root "it stops libvirtd"
  stop_one libvirtd
  stop_one virtlogd
  if [[ -n "$(host_pids libvirtd)" ]]; then
    log "another libvirtd still runs: leaving $QEMU_CONF as it is"
    return 0
  fi
  restore_config
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if responding; then
      echo "libvirtd: running ($URI answers)"
    else
      echo "libvirtd: not running"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
