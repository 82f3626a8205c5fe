#!/usr/bin/env python3
"""Unit tests of fault_suite.py's own logic (no processes started): ctest fault_suite_unit_test."""

import os
import sys
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_suite  # noqa: E402


class FakeProc:
    def __init__(self, name, alive=True, frozen=False):
        self.name, self._alive, self.frozen = name, alive, frozen
        self.p = types.SimpleNamespace(returncode=None if alive else 1)
        self.starts = 0

    def alive(self):
        return self._alive

    def start(self):
        self.starts += 1
        self._alive = True


class FakeCluster:
    def __init__(self, procs):
        self.procs = {p.name: p for p in procs}

    def components(self):
        return dict(self.procs)


class SuperviseTest(unittest.TestCase):
    def schedule(self, procs):
        args = types.SimpleNamespace(steps=1, max_vms=1, converge_seconds=1)
        return fault_suite.Schedule(FakeCluster(procs), 1, args, {})

    # Regression (issue 18, seeds 2017 and 2044): a controller that exits on its own after losing
    # its lease, after the faults stopped, was never restarted: no controller during the whole
    # convergence wait, reported as "VMs not bound" / "ledger not released".
    def test_a_component_that_exited_on_its_own_is_restarted(self):
        controller = FakeProc("controller", alive=False)
        s = self.schedule([controller, FakeProc("etcd")])
        s.supervise()
        self.assertEqual(controller.starts, 1)
        self.assertEqual(s.stats["self_exits"], {"controller": 1})

    def test_a_deliberately_killed_component_waits_for_its_heal(self):
        node = FakeProc("node-0", alive=False)
        s = self.schedule([node])
        s.heal_at.append((1e18, node, "start"))
        s.supervise()
        self.assertEqual(node.starts, 0)

    def test_frozen_and_running_components_are_left_alone(self):
        frozen, running = FakeProc("apiserver", frozen=True), FakeProc("etcd")
        s = self.schedule([frozen, running])
        s.supervise()
        self.assertEqual((frozen.starts, running.starts), (0, 0))
        self.assertNotIn("self_exits", s.stats)


if __name__ == "__main__":
    unittest.main()
