#!/usr/bin/env bash
# Runs the benchmarks of issue 15 (tests/bench/README.md) and prints their figures as one table
# against the goals. Benchmarks print numbers and assert nothing about time.
#
#   hack/bench.sh [--quick] [--before BUILD_DIR] [--rss-50k] [--boot] [BUILD_DIR]
#
#   BUILD_DIR         the build to measure (default build/); its benchmark targets are built first
#   --before DIR      also runs the same benchmarks from another build (e.g. of an older commit, see
#                     tests/bench/README.md) and prints both columns, measured in this one run
#   --quick           smaller sizes (B1 at 100 VMs only; B4 at 10,000; B3 at 1,000 hypervisors
#                     and 2,000 VMs; no B1x): a smoke run of a few minutes
#   --rss-50k         B4: also the real controller's RSS at 50,000 VMs (creating them through the
#                     API takes minutes; 10,000 always run)
#   --boot            B5: TCG guest boot through NovaCron vs bare `virsh create` (root, libvirtd,
#                     QEMU; brings up the demo in its own run directory; a few minutes)
#
# Needs etcd on PATH (the dev API server's store). Prints the machine's load average beside the
# table: the 2 cores here are shared, and the figures move with what else runs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/common.sh
source "$ROOT/hack/lib/common.sh"

quick=0
rss_50k=0
boot=0
before=""
build="$ROOT/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
  --quick) quick=1 ;;
  --rss-50k) rss_50k=1 ;;
  --boot) boot=1 ;;
  --before)
    before="$(cd "$2" && pwd)"
    shift
    ;;
  *) build="$(cd "$1" && pwd)" ;;
  esac
  shift
done

command -v etcd >/dev/null || die "etcd is not on PATH (hack/install-deps.sh installs it)"
targets=(controller_create_to_running_bench novacron-dev-apiserver novacron-node-daemon
  runtime_informer_bench controller_memory_bench novacron-controller
  controller_placement_throughput_bench kube_rest_client_bench)
log "building ${targets[*]} in $build"
(cd "$ROOT" && BUILD_DIR="$build" nice -n 10 hack/build.sh "${targets[@]}" >/dev/null)

out="$(mktemp -d /tmp/novacron-bench-XXXXXX)"  # kept: each benchmark's full output

# run LABEL DIR NAME ARGS...: runs benchmark NAME of build DIR, keeps its output in $out/LABEL-NAME.
run() {
  local label=$1 dir=$2 name=$3
  shift 3
  local bin
  bin="$(find "$dir/tests/bench" -type f -name "$name" -perm -u+x | head -1)"
  if [[ -z "$bin" ]]; then
    echo "missing" >"$out/$label-$name-$*.txt"
    return
  fi
  log "$label: $name $*"
  NOVACRON_BINARY_DIR="$dir" NOVACRON_SOURCE_DIR="$ROOT" "$bin" "$@" >"$out/$label-$name-$*.txt" \
    2>"$out/$label-$name-$*.err" || true
}

# field FILE KEY: the value of KEY=... on the RESULT line of FILE ("-" when absent).
field() {
  local v
  v="$(grep -o "^RESULT .*" "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1)"
  echo "${v:--}"
}

# matched FILE PATTERN: the first number matched by the sed -E group of PATTERN in FILE ("-" when absent).
matched() {
  local v
  v="$(sed -nE "s/$2/\1/p" "$1" 2>/dev/null | head -1)"
  echo "${v:--}"
}

# ratio FILE: the typed informer's bytes per object (the controller's cache) as a multiple of the JSON text ("-" when absent).
ratio() { matched "$1" '^typed .* = ([0-9.]+)x the JSON text.*'; }

labels=(after)
dirs=("$build")
if [[ -n "$before" ]]; then
  labels=(before after)
  dirs=("$before" "$build")
fi
b1_small=(100 10 3)
b1_large=(1000 50 20 64)
b4_sizes=(10000 50000)
b3_size=(5000 10000 32)
b1x=(8000 100 20 400)
if [[ $quick == 1 ]]; then
  b4_sizes=(10000)
  b3_size=(1000 2000 32)
fi
rss_sizes=(10000)
if [[ $rss_50k == 1 ]]; then
  rss_sizes+=(50000)
fi
# run_subject LABEL DIR NAME ARGS...: benchmark NAME of the measured build, run against the
# binaries (controller, API server, node-daemon) of build DIR: a "before" build needs no copy of a
# newer benchmark.
run_subject() {
  local label=$1 dir=$2 name=$3
  shift 3
  local bin
  bin="$(find "$build/tests/bench" "$ROOT/tests/bench" -type f -name "$name" -perm -u+x | head -1)"
  log "$label: $name $* (binaries of $dir)"
  NOVACRON_BINARY_DIR="$dir" NOVACRON_SOURCE_DIR="$ROOT" BUILD_DIR="$dir" "$bin" "$@" \
    >"$out/$label-$name-$*.txt" 2>"$out/$label-$name-$*.err" || true
}
for i in "${!labels[@]}"; do
  for n in "${rss_sizes[@]}"; do
    run_subject "${labels[$i]}" "${dirs[$i]}" controller_memory_bench "$n"
  done
  if [[ $boot == 1 ]]; then
    run_subject "${labels[$i]}" "${dirs[$i]}" boot_ratio_bench.sh 5
  fi
  run "${labels[$i]}" "${dirs[$i]}" controller_create_to_running_bench "${b1_small[@]}"
  if [[ $quick == 0 ]]; then
    run "${labels[$i]}" "${dirs[$i]}" controller_create_to_running_bench "${b1_large[@]}"
  fi
  for n in "${b4_sizes[@]}"; do
    run "${labels[$i]}" "${dirs[$i]}" runtime_informer_bench "$n" 1000
  done
  run "${labels[$i]}" "${dirs[$i]}" controller_placement_throughput_bench "${b3_size[@]}"
  run "${labels[$i]}" "${dirs[$i]}" kube_rest_client_bench 200000 20000
  if [[ $quick == 0 ]]; then
    run "${labels[$i]}" "${dirs[$i]}" controller_create_to_running_bench "${b1x[@]}"
  fi
done

# row NAME GOAL FORMAT...: one table row with a column per label.
echo
echo "NovaCron benchmarks (issue 15), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load" \
  "average $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
printf '| %-52s | %-18s |' "figure" "goal"
for l in "${labels[@]}"; do printf ' %-22s |' "$l"; done
echo
printf '|%s|%s|' "$(printf -- '-%.0s' {1..54})" "$(printf -- '-%.0s' {1..20})"
for _ in "${labels[@]}"; do printf '%s|' "$(printf -- '-%.0s' {1..24})"; done
echo
b1row() {
  local title=$1 goal=$2 args=$3
  printf '| %-52s | %-18s |' "$title" "$goal"
  for l in "${labels[@]}"; do
    local f="$out/$l-controller_create_to_running_bench-$args.txt"
    if [[ ! -f "$f" ]]; then
      printf ' %-22s |' "not run"
      continue
    fi
    printf ' %-22s |' "$(field "$f" p50_ms)/$(field "$f" p95_ms)/$(field "$f" p99_ms)/$(field "$f" max_ms) ms"
  done
  echo
  printf '| %-52s | %-18s |' "  running / conflicts (409, failed patch test)" "all / -"
  for l in "${labels[@]}"; do
    local f="$out/$l-controller_create_to_running_bench-$args.txt"
    printf ' %-22s |' "$(field "$f" running)/${args%% *} / $(field "$f" conflicts)"
  done
  echo
  b2row "  B2 writes per VM: VMs+Hypervisors (+Events)" "$args" object_writes_per_vm writes_per_vm
  # The same, counted again once the system was left alone after the last Running (what the VMs
  # still caused then, e.g. Events, or the status.allocated summaries of builds before the ledger
  # moved into status; "-": the build's benchmark does not say).
  b2row "  B2 until settled (+ the writes after the last Running)" "$args" \
    object_writes_settled_per_vm writes_settled_per_vm
}
# b2row TITLE ARGS OBJECTS_KEY ALL_KEY: writes per VM to VMs and Hypervisors (with Events).
b2row() {
  local title=$1 args=$2 objects=$3 all=$4
  printf '| %-52s | %-18s |' "$title" "<= 4"
  for l in "${labels[@]}"; do
    local f="$out/$l-controller_create_to_running_bench-$args.txt"
    printf ' %-22s |' "$(field "$f" "$objects") ($(field "$f" "$all"))"
  done
  echo
}
b1row "B1 create->Running 100 VMs, 10/s, 3 nodes p50/95/99/max" "p99 <= 500 ms" "${b1_small[*]}"
if [[ $quick == 0 ]]; then
  b1row "B1 create->Running 1000 VMs, 50/s, 20 nodes" "p99 <= 1 s" "${b1_large[*]}"
fi
for n in "${b4_sizes[@]}"; do
  printf '| %-52s | %-18s |' "B4 informer bytes per cached VM / JSON size, $n VMs" "<= 2x"
  for l in "${labels[@]}"; do
    printf ' %-22s |' "$(ratio "$out/$l-runtime_informer_bench-$n 1000.txt")x"
  done
  echo
done
for n in "${rss_sizes[@]}"; do
  printf '| %-52s | %-18s |' "B4 controller RSS/VM / JSON, $n VMs: watched/restarted" "<= 2x"
  for l in "${labels[@]}"; do
    f="$out/$l-controller_memory_bench-$n.txt"
    printf ' %-22s |' "$(field "$f" ratio_watched)x/$(field "$f" ratio_listed)x"
  done
  echo
done
n="${b4_sizes[0]}"
printf '| %-52s | %-18s |' "Watch fan-out: typed informer, $n VMs, events/CPU-s" "stay (no drop)"
for l in "${labels[@]}"; do
  printf ' %-22s |' "$(matched "$out/$l-runtime_informer_bench-$n 1000.txt" \
    '^typed .* watch events: .* => ([0-9]+) events\/CPU-s.*')"
done
echo
printf '| %-52s | %-18s |' "REST transport (TLS): watch events/s / GETs/s" "stay (no drop)"
for l in "${labels[@]}"; do
  f="$out/$l-kube_rest_client_bench-200000 20000.txt"
  printf ' %-22s |' "$(matched "$f" '^  watch: .* = ([0-9]+) events\/s.*') / $(matched "$f" \
    '^  get: .* = ([0-9]+) requests\/s.*')"
done
echo
printf '| %-52s | %-18s |' "B3 placement via API, ${b3_size[0]} hypervisors, ${b3_size[1]} VMs" ">= 500 VMs/s"
for l in "${labels[@]}"; do
  f="$out/$l-controller_placement_throughput_bench-${b3_size[*]}.txt"
  printf ' %-22s |' "$(field "$f" vms_per_s) VMs/s ($(field "$f" bound) bound)"
done
echo
printf '| %-52s | %-18s |' "  controller CPU per VM / conflicts" "-"
for l in "${labels[@]}"; do
  f="$out/$l-controller_placement_throughput_bench-${b3_size[*]}.txt"
  printf ' %-22s |' "$(field "$f" controller_cpu_ms_per_vm) ms / $(field "$f" conflicts)"
done
echo
printf '| %-52s | %-18s |' "B5 TCG boot via NovaCron / bare virsh create" "<= 1.1"
for l in "${labels[@]}"; do
  f="$out/$l-boot_ratio_bench.sh-5.txt"
  if [[ -f "$f" ]]; then
    printf ' %-22s |' "$(field "$f" ratio) ($(field "$f" novacron_median_s)/$(field "$f" bare_median_s) s)"
  else
    printf ' %-22s |' "run with --boot"
  fi
done
echo
if [[ $quick == 0 ]]; then
  b1row "B1x ${b1x[0]} VMs, ${b1x[1]}/s, ${b1x[2]} nodes of ${b1x[3]} VMs" "-" "${b1x[*]}"
  printf '| %-52s | %-18s |' "  B1x all Running after (create of the first VM to the last Running)" "<= 2 min"
  for l in "${labels[@]}"; do
    f="$out/$l-controller_create_to_running_bench-${b1x[*]}.txt"
    printf ' %-22s |' "$(field "$f" wall_s) s ($(field "$f" running)/${b1x[0]})"
  done
  echo
fi
echo
echo "Full outputs (writes by component and verb, slowest VMs): $out"
