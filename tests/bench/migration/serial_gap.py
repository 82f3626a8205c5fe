#!/usr/bin/env python3
"""Downtime as the guest shows it: the longest pause between lines of its serial ticker.

The guest (hack/build-guest.sh, novacron.fastticks) prints "ms N" every ~10 ms. Both hosts' QEMUs
append to the same serial log (shared storage), so a follower on the host that stamps every new
line with the host's clock sees the switch-over pause of a live migration as a gap.

  serial_gap.py follow LOG OUT           stamp each line appended to LOG from now on into OUT
                                         ("epoch_ms<TAB>line"), polling every 2 ms, until killed
  serial_gap.py gap OUT FROM_MS TO_MS    prints "gap_ms interval_ms guest_gap_ms" for ms-lines
                                         stamped in [FROM_MS, TO_MS]: the longest host-time gap
                                         between two consecutive lines, the median gap, and the
                                         jump of the guest's own counter across that gap (about
                                         one interval: the guest's clock stops while paused)
"""
import os
import sys
import time


def follow(log, out):
    while not os.path.exists(log):
        time.sleep(0.01)
    with open(log, "rb") as f, open(out, "a", buffering=1) as o:
        f.seek(0, os.SEEK_END)
        partial = b""
        while True:
            chunk = f.read()
            if not chunk:
                time.sleep(0.002)
                continue
            now_ms = int(time.time() * 1000)
            partial += chunk
            *lines, partial = partial.split(b"\n")
            for line in lines:
                text = line.decode("ascii", "replace").strip()
                if text:
                    o.write(f"{now_ms}\t{text}\n")


def gap(out, from_ms, to_ms):
    ticks = []
    with open(out) as f:
        for row in f:
            stamp, _, text = row.rstrip("\n").partition("\t")
            parts = text.split()
            if len(parts) == 2 and parts[0] == "ms" and parts[1].isdigit():
                t = int(stamp)
                if from_ms <= t <= to_ms:
                    ticks.append((t, int(parts[1])))
    if len(ticks) < 3:
        print("- - -")
        return
    gaps = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(ticks, ticks[1:])]
    longest = max(gaps)
    intervals = sorted(g for g, _ in gaps)
    print(f"{longest[0]} {intervals[len(intervals) // 2]} {longest[1]}")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "follow":
        follow(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "gap":
        gap(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
