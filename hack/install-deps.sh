#!/usr/bin/env bash
# Installs every Debian package NovaCron needs to build, test and run its local demo.
# Idempotent: packages already present are skipped and `apt-get update` runs at most once.
# Must run as root on Debian 12 (bookworm).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PACKAGES=(
  # tool chain
  build-essential cmake ninja-build pkg-config git ccache clang-format clang-tidy shellcheck
  # test frameworks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # libraries
  libcpprest-dev libboost-dev libboost-system-dev libssl-dev openssl
  libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev prometheus-cpp-dev
  libpugixml-dev libvirt-dev
  # the dev API server's etcd client (etcd's gRPC API)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # the dev API server's allocator (cmake/NovacronHelpers.cmake, novacron_use_jemalloc)
  libjemalloc-dev
  # runtime: hypervisor, store, guest image tooling
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  dnsmasq-base etcd-server etcd-client lua5.1 cpio busybox-static genisoimage
  # scripts
  curl ca-certificates iproute2 iptables procps psmisc jq
  # tests/e2e/harness: namespaces (nsenter, unshare, setsid, flock) and a test TCP server
  util-linux python3
  # tests/manifests: RBAC table check over the rendered kustomization
  python3-yaml
  # tests/manifests/chart_test.sh (values.schema.json); tests/e2e/monitoring (Prometheus, promtool)
  python3-jsonschema prometheus
  # tests/e2e/truth: the serial console driven under tmux
  tmux
)

require_root "apt-get"

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # etcd-server's postinst tries to start a service; without systemd that is harmless but noisy.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubectl: the machine image usually carries a recent one; Debian's kubernetes-client (1.20) is the fallback.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "install-deps: no kubectl on PATH, installing Debian's kubernetes-client"
  apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi

echo "install-deps: all dependencies present"
