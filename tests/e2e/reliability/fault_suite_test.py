#!/usr/bin/env python3
"""Unit tests of fault_suite.py's own logic (no processes started): ctest fault_suite_unit_test."""

import os
import sys
import time
import types
import unittest
import urllib.error

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

    def thaw(self):
        self.frozen = False


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

    # Regression (this session's first version of the seed-14009 fix): a kill whose restart is
    # due but not yet carried out (heal() supervises first) is not "exited on its own".
    def test_a_killed_component_whose_restart_is_due_is_left_to_its_heal(self):
        node = FakeProc("node-0", alive=False)
        s = self.schedule([node])
        s.heal_at.append((0, node, "start"))  # due long ago, heal() has not run it yet
        s.supervise()
        self.assertEqual(node.starts, 0)
        self.assertEqual(s.violations, [])

    def test_frozen_and_running_components_are_left_alone(self):
        frozen, running = FakeProc("apiserver", frozen=True), FakeProc("etcd")
        s = self.schedule([frozen, running])
        s.supervise()
        self.assertEqual((frozen.starts, running.starts), (0, 0))
        self.assertNotIn("self_exits", s.stats)


class FenceCluster:
    """node-0 fenced and killed; its VM stays bound until a controller has been started again."""

    def __init__(self, controller):
        self.controller = controller
        self.etcd, self.apiserver = FakeProc("etcd"), FakeProc("apiserver")
        self.nodes = {"node-0": FakeProc("node-0", alive=False), "node-1": FakeProc("node-1")}
        self.fenced = {"node-0"}

    def components(self):
        return {"controller": self.controller, "etcd": self.etcd, "apiserver": self.apiserver,
                **self.nodes}

    def list_vms(self):
        if self.controller.alive() and self.controller.starts == 0:
            self.controller._alive = False  # exits (lost lease) once the wait has begun
            self.controller.p.returncode = 1
        node = "node-0" if self.controller.starts == 0 else "node-1"
        return [{"metadata": {"name": "a"}, "status": {"hypervisor": node}}]

    def set_fenced(self, name, on):
        (self.fenced.add if on else self.fenced.discard)(name)


class FenceWaitTest(unittest.TestCase):
    def fenced_schedule(self, cluster):
        args = types.SimpleNamespace(steps=1, max_vms=1, converge_seconds=1, fence_seconds=5)
        s = fault_suite.Schedule(cluster, 1, args, {})
        s.fenced = "node-0"
        s.heal_at.append((0, cluster.nodes["node-0"], s.unfence))
        return s

    # Regression (issue 18, seed 10016): the controller lost its lease 12 s after node-0 was
    # fenced and exited; the suite's 45 s wait for node-0's VMs to leave blocked the schedule, so
    # nothing restarted it and the wait timed out ("VMs still bound to fenced Hypervisor").
    def test_a_controller_that_exits_during_the_fence_wait_is_restarted(self):
        controller = FakeProc("controller")
        cluster = FenceCluster(controller)
        s = self.fenced_schedule(cluster)
        s.heal()
        self.assertEqual(s.violations, [])
        self.assertEqual(controller.starts, 1)
        self.assertEqual(s.stats["self_exits"], {"controller": 1})
        self.assertEqual(cluster.fenced, set())
        self.assertEqual(cluster.nodes["node-0"].starts, 1)  # restarted once unfenced

    def test_a_killed_controller_whose_restart_falls_due_during_the_fence_wait_restarts(self):
        controller = FakeProc("controller", alive=False)
        cluster = FenceCluster(controller)
        s = self.fenced_schedule(cluster)
        s.heal_at.append((time.monotonic() + 0.5, controller, "start"))  # after the wait began
        s.heal()
        self.assertEqual(s.violations, [])
        self.assertEqual(controller.starts, 1)
        self.assertNotIn("self_exits", s.stats)  # killed on purpose, not exited on its own
        s.heal(everything=True)  # the entry falls due again: a no-op
        self.assertEqual(controller.starts, 1)

    # Regression (issue 18, seed 14009, run J): the controller was SIGSTOPped before the fence;
    # its thaw fell due during the fence wait, it then lost its lease and exited, and supervise()
    # skipped it for the rest of the wait because its (done) thaw entry was still in heal_at.
    def test_a_controller_that_exits_after_its_thaw_during_the_fence_wait_is_restarted(self):
        class ExitsAfterThaw(FakeProc):
            def thaw(self):
                super().thaw()
                self._alive = False  # lost its lease while frozen: exits once it runs again
                self.p.returncode = 1

        controller = ExitsAfterThaw("controller", frozen=True)
        cluster = FenceCluster(controller)
        cluster.list_vms = lambda: [{"metadata": {"name": "a"}, "status": {
            "hypervisor": "node-0" if controller.starts == 0 else "node-1"}}]
        s = self.fenced_schedule(cluster)
        s.heal_at.append((time.monotonic() + 0.3, controller, "thaw"))  # due during the wait
        s.heal()
        self.assertEqual(s.violations, [])
        self.assertEqual(controller.starts, 1)
        self.assertEqual(s.stats["self_exits"], {"controller": 1})

    def test_a_vm_that_stays_on_the_fenced_node_is_a_violation(self):
        controller = FakeProc("controller", alive=False)
        cluster = FenceCluster(controller)
        cluster.list_vms = lambda: [{"metadata": {"name": "a"}, "status": {"hypervisor": "node-0"}}]
        s = self.fenced_schedule(cluster)
        s.args.fence_seconds = 1
        s.heal()
        self.assertEqual(len(s.violations), 1)
        self.assertIn("VMs still bound to fenced Hypervisor node-0", s.violations[0])


def vm(name, run_strategy="Always", annotations=None):
    return {"metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"runStrategy": run_strategy}}


def hv(name, maintenance=False, schedulable=("True", "Schedulable"), evacuation=None,
       evacuating=None):
    conds = [{"type": "Schedulable", "status": schedulable[0], "reason": schedulable[1]}]
    if evacuating:
        conds.append({"type": "Evacuating", "status": evacuating[0], "reason": evacuating[1]})
    status = {"conditions": conds}
    if evacuation:
        status["evacuation"] = evacuation
    return {"metadata": {"name": name}, "spec": {"maintenance": maintenance}, "status": status}


class MaintenanceTest(unittest.TestCase):
    def test_a_vm_stopped_by_an_evacuation_is_expected_to_get_its_run_strategy_back(self):
        stopped = vm("a", "Halted", {fault_suite.EVACUATION_STOPPED: "Always"})
        self.assertEqual(fault_suite.expected_run_strategy(stopped), "Always")
        self.assertEqual(fault_suite.expected_run_strategy(vm("b", "Halted")), "Halted")

    def test_nothing_left_of_a_cleared_maintenance_is_no_problem(self):
        hvs = {"n0": hv("n0", evacuating=("False", "MaintenanceCleared"))}
        mig = {"metadata": {"name": "m", "labels": {}}, "status": {"phase": "Failed"}}
        self.assertEqual(fault_suite.maintenance_problems(hvs, {"a": vm("a")}, [mig]), [])

    def test_each_leftover_of_an_evacuation_is_reported(self):
        hvs = {"n0": hv("n0", maintenance=True),
               "n1": hv("n1", schedulable=("False", "Maintenance"), evacuation={"pending": 1},
                        evacuating=("True", "InProgress"))}
        vms = {"a": vm("a", "Halted", {fault_suite.EVACUATION_STOPPED: "Always"})}
        migs = [{"metadata": {"name": "evac-n1-a-1",
                              "labels": {fault_suite.EVACUATING_LABEL: "n1"}},
                 "status": {"phase": "Failed"}}]
        problems = fault_suite.maintenance_problems(hvs, vms, migs)
        self.assertEqual(len(problems), 6, problems)
        for what in ("n0: still in maintenance", "n1: not Schedulable", "status.evacuation",
                     "Evacuating still True", "a: still stopped", "evac-n1-a-1"):
            self.assertTrue(any(what in p for p in problems), (what, problems))

    def test_maintenance_keeps_one_node_in_service_and_is_cleared_later(self):
        cluster = MaintenanceCluster(["node-0", "node-1", "node-2"])
        args = types.SimpleNamespace(steps=1, max_vms=1, converge_seconds=1)
        s = fault_suite.Schedule(cluster, 7, args, {})
        for _ in range(3):
            s.op("maintenance")
        self.assertEqual(len(cluster.maintenance), 2)
        self.assertIn("node-2", cluster.maintenance)  # the node holding a VM first
        self.assertEqual(s.stats["ops"], {"maintenance-on": 2})
        cluster.apiserver.frozen = True  # the undo waits for the API server
        self.assertTrue(all(action() is False for _, _, action in s.heal_at))
        cluster.apiserver.frozen = False
        for _, _, action in s.heal_at:
            self.assertTrue(action())
        self.assertEqual(cluster.maintenance, set())
        self.assertEqual(s.maintenance, set())
        self.assertEqual(s.stats["ops"]["maintenance-off"], 2)

    def test_evacuation_actions_are_counted_from_the_controller_log(self):
        lines = [
            '{"level":"info","msg":"hypervisor node-1: evacuation: VM faults/a: live (VMMigration '
            'evac-node-1-a-1, Live)"}',
            "hypervisor node-1: evacuation: VM faults/b: cold (VMMigration evac-node-1-b-1, Cold)",
            "hypervisor node-1: evacuation: VM faults/c: evictionStrategy None: stopping the VM "
            "and leaving it on node-1",
            "hypervisor node-1: evacuation: VM faults/c: maintenance cleared: runStrategy back to "
            "Always",
            "VM faults/c: stopped by an evacuation, then failed over (hypervisor node-1 fenced or "
            "gone): runStrategy back to Always",
            "[info] hypervisor node-1: evacuation: VMMigration faults/evac-node-1-a-1: finished",
            "[info] hypervisor node-1: evacuating: 1 VM still to move",
        ]
        self.assertEqual(fault_suite.evacuation_figures(lines),
                         {"live": 1, "cold": 1, "stopped": 1, "restored": 1, "records-removed": 1,
                          "restored-after-failover": 1})

    def test_target_orphans_the_controller_reported_are_read_from_its_log(self):
        lines = [
            '{"level":"warn","msg":"hypervisor node-1: orphan: VMMigration faults/evac-node-0-a-1 '
            'deleted while hypervisor node-1 is fenced: what it prepared ..."}',
            "hypervisor node-2: orphan: faults/b: disks left on a fenced node",
            "VMMigration faults/m: Failed: ColdMigrationFailed",
        ]
        self.assertEqual(fault_suite.reported_target_orphans(lines),
                         {("node-1", "evac-node-0-a-1")})

    def test_heal_everything_can_hold_maintenance_back(self):
        cluster = MaintenanceCluster(["node-0", "node-1", "node-2"])
        args = types.SimpleNamespace(steps=1, max_vms=1, converge_seconds=1)
        s = fault_suite.Schedule(cluster, 7, args, {})
        s.op("maintenance")
        undone = []
        s.heal_at.append((1e18, None, lambda: undone.append("slow-api")))
        s.heal(everything=True, hold_maintenance=True)
        self.assertEqual(undone, ["slow-api"])
        self.assertEqual(cluster.maintenance, {"node-2"})
        self.assertEqual(len(s.heal_at), 1)
        s.heal(everything=True)
        self.assertEqual(cluster.maintenance, set())
        self.assertEqual(s.heal_at, [])

    # Regression (seed 7034): a maintenance patch that timed out had still been applied, but no
    # undo was scheduled, so the node stayed in maintenance ("Hypervisor node-1: still in
    # maintenance" 90 s after the faults stopped, and in every later schedule).
    def test_a_maintenance_patch_that_times_out_is_still_undone(self):
        cluster = MaintenanceCluster(["node-0", "node-1", "node-2"])
        cluster.time_out_after_applying = True
        args = types.SimpleNamespace(steps=1, max_vms=1, converge_seconds=1)
        s = fault_suite.Schedule(cluster, 7, args, {})
        s.op("maintenance")
        self.assertEqual(cluster.maintenance, {"node-2"})
        self.assertEqual(s.stats.get("ops_failed"), 1)
        cluster.time_out_after_applying = False
        s.heal(everything=True)
        self.assertEqual(cluster.maintenance, set())


def bound(name, node, strategy="LiveMigrate", run_strategy="Always", phase="Running"):
    return {"metadata": {"name": name, "namespace": fault_suite.NS},
            "spec": {"evictionStrategy": strategy, "runStrategy": run_strategy},
            "status": {"hypervisor": node, "phase": phase}}


class EvacuationHeldTest(unittest.TestCase):
    def held_hv(self, evacuation):
        return hv("n0", maintenance=True, schedulable=("False", "Maintenance"),
                  evacuation=evacuation)

    def test_blocked_and_stopped_vms_keep_the_promise(self):
        ns = fault_suite.NS
        evacuation = {"total": 2, "migrated": 0, "stopped": 1, "pending": 0,
                      "blocked": [{"vm": f"{ns}/a", "reason": "MigrationFailed"}]}
        vms = {"a": bound("a", "n0"), "b": bound("b", "n0", "None", "Halted", "Stopped"),
               "c": bound("c", "n1")}
        self.assertEqual(fault_suite.evacuation_problems(
            {"n0": self.held_hv(evacuation), "n1": hv("n1")}, vms), [])

    def test_a_vm_left_on_the_host_without_a_blocker_is_a_violation(self):
        evacuation = {"total": 1, "migrated": 0, "stopped": 0, "pending": 1}
        problems = fault_suite.evacuation_problems(
            {"n0": self.held_hv(evacuation)}, {"a": bound("a", "n0")})
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("a: still on n0 in maintenance", problems[0])

    def test_a_none_vm_still_running_and_counts_that_do_not_add_up_are_violations(self):
        evacuation = {"total": 3, "migrated": 0, "stopped": 0, "pending": 1}
        hvs = {"n0": hv("n0", maintenance=True, evacuation=evacuation)}
        problems = fault_suite.evacuation_problems(hvs, {"b": bound("b", "n0", "None")})
        self.assertEqual(len(problems), 3, problems)
        for what in ("want False/Maintenance", "does not add up", "b: still on n0"):
            self.assertTrue(any(what in p for p in problems), (what, problems))

    def test_held_maintenance_is_not_reported_as_left_over(self):
        hvs = {"n0": self.held_hv({"total": 0}), "n1": hv("n1")}
        vms = {"b": dict(bound("b", "n0", "None", "Halted", "Stopped"),
                         metadata={"name": "b",
                                   "annotations": {fault_suite.EVACUATION_STOPPED: "Always"}})}
        migs = [{"metadata": {"name": "evac-n0-a-1",
                              "labels": {fault_suite.EVACUATING_LABEL: "n0"}}}]
        self.assertEqual(fault_suite.maintenance_problems(hvs, vms, migs, held=True), [])
        self.assertEqual(len(fault_suite.maintenance_problems(hvs, vms, migs)), 3)


class MaintenanceCluster:
    def __init__(self, nodes):
        self.nodes = {n: FakeProc(n) for n in nodes}
        self.etcd, self.apiserver = FakeProc("etcd"), FakeProc("apiserver")
        self.maintenance = set()
        self.time_out_after_applying = False

    def components(self):
        return {"etcd": self.etcd, "apiserver": self.apiserver, **self.nodes}

    def list_vms(self):
        return [{"metadata": {"name": "a"}, "status": {"hypervisor": "node-2"}}]

    def set_maintenance(self, name, on):
        (self.maintenance.add if on else self.maintenance.discard)(name)
        if self.time_out_after_applying:
            raise urllib.error.URLError("timed out")


if __name__ == "__main__":
    unittest.main()
