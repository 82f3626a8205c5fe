# shellcheck shell=bash
# What libvirtd needs on the machine before it starts its QEMU driver, shared by hack/libvirtd.sh
# (the root host's daemons) and tests/e2e/harness/two_hosts.sh (one libvirtd per test host).
# Sourced, not run. Every function takes as first argument the name of a function that is called
# with a one-line description of each change actually made ("created group kvm"); pass ":" to
# record nothing. Safe to call concurrently from two scripts: creating what another script just
# created is not an error.

# libvirtd's QEMU driver resolves the user "libvirt-qemu" before it reads qemu.conf, so the kvm group
# and the libvirt-qemu user and group must exist even when qemu.conf says user = "root".
libvirt_ensure_users() {
  local record="$1"
  if ! getent group kvm >/dev/null; then
    if groupadd -r kvm 2>/dev/null; then "$record" "created group kvm"; fi
    getent group kvm >/dev/null || return 1
  fi
  if ! getent group libvirt-qemu >/dev/null; then
    if groupadd -r libvirt-qemu 2>/dev/null; then "$record" "created group libvirt-qemu"; fi
    getent group libvirt-qemu >/dev/null || return 1
  fi
  if ! getent passwd libvirt-qemu >/dev/null; then
    if useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu \
      2>/dev/null; then
      "$record" "created user libvirt-qemu"
    fi
    getent passwd libvirt-qemu >/dev/null || return 1
  fi
}

# libvirt_ensure_dirs RECORD DIR...: creates each missing directory, recording "created directory D".
libvirt_ensure_dirs() {
  local record="$1" d
  shift
  for d in "$@"; do
    if [[ ! -d "$d" ]]; then
      mkdir -p "$d" && "$record" "created directory $d"
    fi
  done
}
