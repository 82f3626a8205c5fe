#!/usr/bin/env python3
"""Splits each VM's create->Running latency of a kept controller_create_to_running_bench run into
legs, from the scratch directory's timeline.tsv (written by the benchmark) and audit.log (the dev
API server's, one line per write with the time it was answered):

  create -> binding        the controller's PUT virtualmachines/NAME/status
  binding -> label         the controller's PUT virtualmachines/NAME
  label -> Running write   the node-daemon's last PUT virtualmachines/NAME/status
  Running write -> seen    the benchmark's watch delivering it

Prints p50/p95/p99/max per leg and the slowest VMs.
Usage: create_to_running_legs.py SCRATCH_DIR [slowest=10]
"""
import collections
import sys

PREFIX = '/apis/novacron.io/v1alpha1/namespaces/bench-controller/virtualmachines/'


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * (len(values) - 1) + 0.5))]


def main():
    scratch = sys.argv[1]
    slowest = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    created, seen = {}, {}
    with open(scratch + '/timeline.tsv') as f:
        for line in f:
            name, c, r = line.split('\t')
            created[name], seen[name] = int(c), int(r)
    binding, label, running = {}, {}, {}
    with open(scratch + '/audit.log') as f:
        for line in f:
            agent, verb, path, code, ms = line.rstrip('\n').split('\t')
            if not path.startswith(PREFIX) or verb != 'PUT' or code != '200':
                continue
            rest = path[len(PREFIX):]
            name = rest.split('/')[0]
            status = rest.endswith('/status')
            if agent.startswith('novacron-controller'):
                (binding if status else label).setdefault(name, int(ms))
            elif agent.startswith('novacron-node-daemon') and status:
                running[name] = int(ms)
    legs = collections.defaultdict(list)
    rows = []
    for name, c in created.items():
        b, l, r, o = binding.get(name), label.get(name), running.get(name), seen[name]
        if None in (b, l, r) or not o:
            continue
        row = (o - c, b - c, l - b, r - l, o - r)
        rows.append((row, name))
        for leg, value in zip(('total', 'create -> binding', 'binding -> label',
                               'label -> Running write', 'Running write -> seen'), row):
            legs[leg].append(value)
    for leg in ('create -> binding', 'binding -> label', 'label -> Running write',
                'Running write -> seen', 'total'):
        v = legs[leg]
        if v:
            print('%-24s p50 %5d  p95 %5d  p99 %5d  max %5d ms' %
                  (leg, percentile(v, .5), percentile(v, .95), percentile(v, .99), max(v)))
    print('slowest (ms): total, create -> binding, binding -> label, label -> Running write, '
          'Running write -> seen')
    for row, name in sorted(rows, reverse=True)[:slowest]:
        print('  %-8s %5d %5d %5d %5d %5d' % ((name,) + row))


if __name__ == '__main__':
    main()
