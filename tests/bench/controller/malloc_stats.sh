#!/usr/bin/env bash
# For controller_memory_bench's NOVACRON_BENCH_INSPECT: prints glibc's malloc_stats() of a running
# process (attached with gdb for a moment): per arena the bytes taken from the system and the
# bytes in use, so RSS can be split into live heap and freed-but-kept heap.
#   NOVACRON_BENCH_INSPECT=tests/bench/controller/malloc_stats.sh controller_memory_bench 10000
set -euo pipefail
pid=$1
label=${2:-}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# $f is a gdb convenience variable, not the shell's.
# shellcheck disable=SC2016
gdb -p "$pid" -batch -nx \
  -ex "set \$f = (void *) fopen(\"$out\", \"w\")" \
  -ex 'call (int) malloc_info(0, $f)' \
  -ex 'call (int) fclose($f)' >/dev/null 2>&1
rss_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
# The totals at the end of malloc_info's XML: <total type="fast"/"rest" size=...> are free
# chunks, <system type="current"> what the arenas took from the system, mmap'd chunks apart.
python3 - "$out" "$label" "$rss_kib" <<'PY'
import re, sys
xml = open(sys.argv[1]).read()
tail = xml[xml.rfind('</heap>'):] if '</heap>' in xml else xml
def total(kind):
    m = re.search(r'<total type="%s" count="(\d+)" size="(\d+)"' % kind, tail)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)
def system(kind):
    m = re.search(r'<system type="%s" size="(\d+)"' % kind, tail)
    return int(m.group(1)) if m else 0
fast, rest, mmap = total("fast"), total("rest"), total("mmap")
cur = system("current")
heaps = len(re.findall(r'<heap nr=', xml))
mib = lambda b: b / 2**20
print("malloc %-8s RSS %.1f MiB; %d arenas hold %.1f MiB from the system, free in them %.1f MiB "
      "(%d fast chunks %.1f MiB, %d others %.1f MiB) => in use %.1f MiB; mmap'd chunks %d, %.1f MiB"
      % (sys.argv[2], int(sys.argv[3]) / 1024, heaps, mib(cur), mib(fast[1] + rest[1]), fast[0],
         mib(fast[1]), rest[0], mib(rest[1]), mib(cur - fast[1] - rest[1]), mmap[0], mib(mmap[1])))
PY
