#!/usr/bin/env bash
# Runs libvirtd and virtlogd on a machine without systemd (Debian 12 containers/VMs, as root).
#
#   hack/libvirtd.sh start    prepare users/config/dirs, start virtlogd + libvirtd if not running
#   hack/libvirtd.sh stop     stop only the daemons this script started, then undo what start changed
#                             (qemu.conf, libvirt's iptables chains, directories); prints what it
#                             could not undo and how, and keeps $STATE/changes until nothing remains
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
    note_iptables_before
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

# libvirtd adds LIBVIRT_* chains (and jumps to them from INPUT, FORWARD, OUTPUT, POSTROUTING)
# when it starts networks. When none existed before this script started libvirtd, stop removes
# them again.
libvirt_chains() {  # TOOL: lines "TABLE CHAIN"
  local table
  for table in filter nat mangle; do
    "$1" -w -t "$table" -S 2>/dev/null | awk -v t="$table" '$1 == "-N" && $2 ~ /^LIBVIRT_/ { print t, $2 }'
  done
}

note_iptables_before() {
  local tool
  [[ -e "$STATE/iptables.owned" ]] && return 0
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    [[ -z "$(libvirt_chains "$tool")" ]] || return 0
  done
  touch "$STATE/iptables.owned"
}

undo_iptables() {
  [[ -e "$STATE/iptables.owned" ]] || return 0
  local tool table chain rule removed=0
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      # Jumps into libvirt's chains from the built-in ones (libvirt's rules carry no comments).
      while read -r rule; do
        # shellcheck disable=SC2086  # the rule is iptables -S output: words, no quoting
        "$tool" -w -t "$table" -D ${rule#-A } && removed=1
      done < <("$tool" -w -t "$table" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j LIBVIRT_' || true)
    done
    while read -r table chain; do
      [[ -n "$chain" ]] || continue
      "$tool" -w -t "$table" -F "$chain" && "$tool" -w -t "$table" -X "$chain" && removed=1
    done < <(libvirt_chains "$tool")
  done
  rm -f "$STATE/iptables.owned"
  if ((removed)); then
    record "removed libvirt's iptables chains (none existed before libvirtd was started here)"
    log "removed libvirt's iptables chains"
  fi
}

# Directories start created, most nested first: empty ones go (/run/libvirt is runtime state of
# the libvirtd this script ran and goes entirely); the others are reported with how to remove them.
undo_dirs() {
  local d
  while read -r d; do
    [[ -d "$d" ]] || continue
    if [[ "$d" == /run/libvirt ]]; then
      rm -rf "$d"
    else
      find "$d" -depth -type d -empty -delete 2>/dev/null || true
    fi
    if [[ -d "$d" ]]; then
      remains "directory $d (not empty; remove it with: rm -rf $d)"
    else
      record "removed directory $d"
    fi
  done < <(sed -n 's/^[^ ]* created directory //p' "$STATE/changes" 2>/dev/null | sort -r | uniq)
}

# Users and groups are left (other software may use them by now); said once, with the undo.
report_users() {
  local what
  what="$(sed -n 's/^[^ ]* created \(user\|group\) /\1 /p' "$STATE/changes" 2>/dev/null | sort -u |
    tr '\n' ',' | sed 's/,$//; s/,/, /g')"
  [[ -n "$what" ]] || return 0
  remains "$what (created for libvirtd; remove with: userdel libvirt-qemu; groupdel libvirt-qemu; groupdel kvm)"
}

remains() {
  echo "$*" >>"$STATE/remaining"
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
    log "another libvirtd still runs: leaving $QEMU_CONF, iptables and directories as they are"
    return 0
  fi
  restore_config
  undo_iptables
  rm -f "$STATE/remaining"
  undo_dirs
  report_users
  if [[ -s "$STATE/remaining" ]]; then
    log "what hack/libvirtd.sh changed and left in place (record kept in $STATE/changes):"
    sed 's/^/  /' "$STATE/remaining" >&2
    return 0
  fi
  if [[ -e "$STATE/changes" ]]; then
    log "everything hack/libvirtd.sh changed is undone"
    rm -f "$STATE/changes"
  fi
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
