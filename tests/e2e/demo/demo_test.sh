#!/usr/bin/env bash
# End-to-end test of the newcomer's main command: runs hack/demo.sh non-interactively with
# --teardown and checks that (1) a real QEMU guest booted and its VM reached Running/Ready as seen
# through kubectl, and (2) teardown left no process, libvirt domain, network or file behind.
#
#   tests/e2e/demo/demo_test.sh            (BUILD_DIR must hold the built binaries)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
export BUILD_DIR="${NOVACRON_BINARY_DIR:-${BUILD_DIR:-$ROOT/build}}"
export RUN_DIR
RUN_DIR="$(mktemp -d /tmp/novacron-demo-test.XXXXXX)"
out="$(mktemp /tmp/novacron-demo-test-out.XXXXXX)"
failures=0

domains_before=$(virsh -q -c qemu:///system list --all --name 2>/dev/null | sort | tr '\n' ' ')
qemu_conf_before=$(md5sum /etc/libvirt/qemu.conf 2>/dev/null || echo absent)

"$ROOT/hack/demo.sh" --no-install --no-build --teardown >"$out" 2>&1
rc=$?
cat "$out"
if ((rc)); then
  for f in "$RUN_DIR"/logs/*.log; do
    [[ -s "$f" ]] || continue
    echo "---- tail of $f ----"
    tail -n 40 "$f"
  done
fi
echo "---- checks ----"
check "hack/demo.sh exited 0 (was $rc)" test "$rc" -eq 0
check "the guest printed its boot marker on the serial console" grep -q '^NOVACRON-GUEST-BOOTED' "$out"
check "kubectl showed the VM Running on demo-node" \
  grep -Eq 'virtualmachine.novacron.io/tiny +Running +demo-node' "$out"
check "kubectl showed the Hypervisor demo-node" grep -q 'hypervisor.novacron.io/demo-node' "$out"
check "teardown ran" grep -q 'demo: stopped and removed' "$out"
check "the run directory is gone" test ! -e "$RUN_DIR"
check "no process refers to the run directory" \
  bash -c "! pgrep -af -- '$RUN_DIR' | grep -v pgrep"
domains_after=$(virsh -q -c qemu:///system list --all --name 2>/dev/null | sort | tr '\n' ' ')
check "no libvirt domain left behind (before: '$domains_before', after: '$domains_after')" \
  test "$domains_before" = "$domains_after"
qemu_conf_after=$(md5sum /etc/libvirt/qemu.conf 2>/dev/null || echo absent)
check "qemu.conf is as it was before the demo" test "$qemu_conf_before" = "$qemu_conf_after"
check "the demo network is gone" \
  bash -c '! virsh -q -c qemu:///system net-info novacron-demo >/dev/null 2>&1'
port_free() { ! port_open "$1"; }
for port in 16443 12379 19101 19102; do
  check "port $port is free" port_free "$port"
done
rm -f "$out"
rm -rf "$RUN_DIR"
if ((failures)); then
  echo "demo_test: $failures check(s) failed"
  exit 1
fi
echo "demo_test: all checks passed"
