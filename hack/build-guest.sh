#!/usr/bin/env bash
# Builds NovaCron's tiny test guest from Debian packages: a cloud kernel and a busybox initramfs whose
# init prints a boot marker and then "tick N" once a second on the serial console (ttyS0). Kernel
# command line switches (migration tests and benchmarks):
#   novacron.dirty       keep rewriting 48 MiB of RAM as fast as it can (never converges when capped)
#   novacron.wandirty    rewrite 4 MiB of a 24 MiB text buffer (compressible) every second
#   novacron.fastticks   also print "ms N" (N = the guest's uptime in ms) every ~10 ms, so a host
#                        that timestamps the serial log sees the switch-over pause as a gap
# When it has a virtio NIC it asks for an address by DHCP (udhcpc; "NOVACRON-GUEST-IP <ip>" on the
# console), so a libvirt network's lease gives the VM its status.interfaces[].ip.
# The guest has no ACPI button driver: it ignores a graceful shutdown request (virsh shutdown), so
# every stop runs into terminationGracePeriodSeconds and is forced off (tests rely on this).
#
#   hack/build-guest.sh [OUT_DIR]      (default: <repo>/.run/guest)
#
# Produces OUT_DIR/vmlinuz and OUT_DIR/initrd.img. Idempotent and cached: downloaded .debs are kept
# in OUT_DIR/debs and nothing is rebuilt when both outputs exist and are newer than this script.
# Needs apt-get, dpkg, cpio and gzip (see hack/install-deps.sh); does not need root unless apt's
# cache is stale.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$REPO/.run/guest}"
MARKER="NOVACRON-GUEST-BOOTED"
SELF="${BASH_SOURCE[0]}"
# shellcheck source=lib/common.sh
source "$REPO/hack/lib/common.sh"

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

if [[ -s "$OUT/vmlinuz" && -s "$OUT/initrd.img" && "$OUT/initrd.img" -nt "$SELF" ]]; then
  echo "build-guest: cached guest in $OUT"
  exit 0
fi

for tool in apt-get apt-cache dpkg cpio gzip; do
  command -v "$tool" >/dev/null || die "missing $tool"
done

DEBS="$OUT/debs"
mkdir -p "$DEBS"

# apt-get download writes into the current directory; it only needs read access to apt's lists.
download() {
  local pkg="$1"
  if compgen -G "$DEBS/${pkg}_*.deb" >/dev/null; then
    return 0
  fi
  # apt prints what it fetches, its size, then bytes and rate ("Fetched 68.3 MB in 2s (30.1 MB/s)").
  (cd "$DEBS" && apt-get download "$pkg" 2>&1) || {
    if [[ $(id -u) -eq 0 ]]; then
      apt-get update -qq
      (cd "$DEBS" && apt-get download "$pkg")
    else
      die "apt-get download $pkg failed (stale apt lists? run apt-get update)"
    fi
  }
}

# linux-image-cloud-amd64 is a meta package: the kernel lives in its linux-image-6.1.*-cloud-amd64
# dependency.
download linux-image-cloud-amd64
META_DEB="$(compgen -G "$DEBS/linux-image-cloud-amd64_*.deb" | head -n1)"
KPKG="$(dpkg-deb -f "$META_DEB" Depends | tr ',' '\n' | sed 's/[ (].*//;s/^ *//' \
  | grep -E '^linux-image-[0-9].*-cloud-amd64$' | head -n1 || true)"
[[ -n "$KPKG" ]] || die "cannot find the kernel package among linux-image-cloud-amd64's Depends"
download "$KPKG"
download busybox-static

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

dpkg -x "$(compgen -G "$DEBS/${KPKG}_*.deb" | head -n1)" "$WORK/kernel"
dpkg -x "$(compgen -G "$DEBS/busybox-static_*.deb" | head -n1)" "$WORK/busybox"

KERNEL="$(compgen -G "$WORK/kernel/boot/vmlinuz-*" | head -n1 || true)"
[[ -n "$KERNEL" ]] || die "no /boot/vmlinuz-* in $KPKG"

ROOT="$WORK/initramfs"
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,lib/modules}
cp "$WORK/busybox/bin/busybox" "$ROOT/bin/busybox"
# virtio-net is a module in the cloud kernel: these, in dependency order, give the guest its NIC.
NET_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"
for m in $NET_MODULES; do
  ko="$(find "$WORK/kernel/lib/modules" -name "$m.ko" | head -n1)"
  [[ -n "$ko" ]] && cp "$ko" "$ROOT/lib/modules/"
done
cat >"$ROOT/bin/udhcpc-script" <<'SCRIPT'
#!/bin/busybox sh
case "$1" in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    echo "NOVACRON-GUEST-IP $ip" >/dev/console
    ;;
  deconfig) ifconfig "$interface" 0.0.0.0 up ;;
esac
SCRIPT
chmod 0755 "$ROOT/bin/udhcpc-script"
cat >"$ROOT/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "$MARKER"
for m in $NET_MODULES; do
  insmod /lib/modules/\$m.ko 2>/dev/null
done
ip link set lo up 2>/dev/null
if ip link set eth0 up 2>/dev/null; then
  # In the background: retries until a DHCP server answers, then renews the lease.
  udhcpc -i eth0 -b -S -s /bin/udhcpc-script >/dev/null 2>&1
fi
# novacron.dirty on the kernel command line: keep rewriting 48 MiB of RAM (tmpfs in the
# initramfs), a guest whose memory a bandwidth-capped migration cannot keep up with.
if grep -q novacron.dirty /proc/cmdline; then
  (while true; do dd if=/dev/zero of=/tmp/dirty bs=1M count=48 2>/dev/null; done) &
fi
# novacron.wandirty: a steady 4 MiB/s of dirty, compressible pages below a 100 Mbit/s link: text
# rewritten in place, alternating between two versions that differ in one word per line (small
# deltas of the same guest pages: what XBZRLE is for; text: what zstd compresses well).
if grep -q novacron.wandirty /proc/cmdline; then
  yes "novacron WAN benchmark: compressible text in guest memory, version even" |
    head -c 4194304 >/tmp/wan-0
  yes "novacron WAN benchmark: compressible text in guest memory, version odd." |
    head -c 4194304 >/tmp/wan-1
  for i in 0 1 2 3 4 5; do cat /tmp/wan-0; done >/tmp/wan-buffer
  (pass=0; while true; do
    dd if=/tmp/wan-\$((pass / 6 % 2)) of=/tmp/wan-buffer bs=1048576 seek=\$((pass % 6 * 4)) \
      conv=notrunc 2>/dev/null
    pass=\$((pass + 1)); sleep 1
  done) &
fi
# novacron.fastticks: uptime in ms ("12.34" -> 12340) every ~10 ms.
if grep -q novacron.fastticks /proc/cmdline; then
  (while true; do
    read up idle </proc/uptime
    echo "ms \${up%.*}\${up#*.}0"
    usleep 10000
  done) &
fi
n=0
while true; do
  n=\$((n + 1))
  echo "tick \$n"
  sleep 1
done
INIT
chmod 0755 "$ROOT/init"

(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet | gzip -9) >"$WORK/initrd.img"
install -m 0644 "$KERNEL" "$OUT/vmlinuz.tmp" && mv -f "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
install -m 0644 "$WORK/initrd.img" "$OUT/initrd.img.tmp" && mv -f "$OUT/initrd.img.tmp" "$OUT/initrd.img"
echo "$MARKER" >"$OUT/marker"
echo "build-guest: built $OUT/vmlinuz ($(basename "$KERNEL")) and $OUT/initrd.img"
