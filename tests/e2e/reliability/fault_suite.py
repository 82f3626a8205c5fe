#!/usr/bin/env python3
"""Seeded fault suite (issue 18): real processes, random operations and faults, invariants.

Starts etcd, the dev API server, the controller and NODES node-daemons on libvirt's test driver
(each process has its own in-memory hypervisor), all on free loopback ports in a temporary
directory. Then, for every schedule (one seed each), it interleaves at random:
  operations: create / delete / stop (runStrategy Halted) / start (Always) VMs (each with a
              random evictionStrategy), create a VMMigration (Live or Cold, to a given or a
              scheduled target) and cancel one, maintenance on a Hypervisor (spec.maintenance
              true: its VMs are evacuated; cleared 3-15 s later);
  faults:     SIGKILL of the controller or a node-daemon (restarted after a random delay),
              SIGSTOP + SIGCONT of any component (API server and etcd included),
              API server restart, etcd compaction, and through the dev API server's
              --fault-file (dev-apiserver/fault_injection.h; the components' TLS port only):
              slow API (200-2000 ms per request), 409 storms (30-90 % of updates answered
              Conflict), heartbeat loss (one node's Lease renewals refused); disk full (node-0's
              VM root is a 512 MiB tmpfs the fault fills; root only); network partition of a
              node-daemon from the API server (each node-daemon talks to it through its own
              loopback relay, PartitionProxy, which the fault cuts).
A component that exits on its own is restarted, as a kubelet would (a controller exits when it
loses its lease); a node-daemon that does so is a violation.
While the schedule runs, a sampler checks every 0.3 s that no VM uid is active on two nodes
(each node-daemon exports novacron_node_domain_active{uuid}, --domain-inventory-seconds 1; a
SIGSTOPped node keeps its last inventory, since a frozen process cannot change its test-driver
domains). After the last step every component is resumed/restarted ("faults stop") and the suite
waits up to --converge-seconds for:
  - every VM bound to an existing Hypervisor, Always VMs Running with their domain active on
    exactly their node, Halted VMs Stopped with no active domain, deleted VMs gone;
  - no active domain without a VM (orphans);
  - each Hypervisor's ledger (status.allocated: vms, cpus, memory) equal to the sum over the VMs
    bound to it; no VM bound to a fenced Hypervisor;
  - every VMMigration in a terminal phase (Succeeded, Failed, Cancelled);
  - with maintenance still on where the schedule left it: every VM bound there stopped and left
    (evictionStrategy None) or reported blocked in status.evacuation (the test driver cannot
    migrate), the counts adding up; then the suite clears it and waits again for the above and:
  - maintenance over: every Hypervisor Schedulable
    again, no status.evacuation left, no evacuation VMMigration left, no VM still stopped by the
    evacuation (annotation novacron.io/evacuation-stopped: its runStrategy is back);
  - the disk of every running VM present on its node, no disk folder without a VM.
It prints the seed and a reproduction command for each violation, and at the end the figures:
schedules run, operations and faults injected by kind, violations, time to converge p50/p99.
Exit status: 0 = no violation, 1 = violations, 77 = SKIPPED (etcd or a binary missing).

  fault_suite.py --build-dir build                      # default: 3 schedules of 10 steps (ctest e2e_faults: 5)
  fault_suite.py --build-dir build --schedules 500      # the soak
  fault_suite.py --build-dir build --seed 1234 --schedules 1   # reproduce one schedule
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

NS = "faults"
GROUP = "/apis/novacron.io/v1alpha1"
TOKEN = "fault-suite-token"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MI = 1 << 20


def log(msg):
    print(f"fault_suite: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(what, fn, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if fn():
                return True
        except Exception:  # noqa: BLE001 - a probe that fails is "not yet"
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def quantity(q):
    """Bytes of a Kubernetes quantity ("64Mi", "1Gi", "1048576")."""
    if isinstance(q, (int, float)):
        return int(q)
    m = re.fullmatch(r"([0-9.]+)([KMGTE]i?|k|m)?", str(q))
    if not m:
        raise ValueError(f"bad quantity {q}")
    mult = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 1000,
            "K": 1000, "M": 10**6, "G": 10**9, "T": 10**12, "m": 0.001}[m.group(2)]
    return int(float(m.group(1)) * mult)


EVICTION_STRATEGIES = ["LiveMigrate", "LiveMigrateIfPossible", "Shutdown", "None"]
EVACUATION_STOPPED = "novacron.io/evacuation-stopped"
EVACUATING_LABEL = "novacron.io/evacuating-hypervisor"


def expected_run_strategy(vm):
    """The runStrategy a VM will have once maintenance is cleared.

    A VM the evacuation stopped (evictionStrategy None) is Halted with its previous runStrategy
    in an annotation; clearing maintenance puts that back (docs/evacuation.md).
    """
    annotations = vm["metadata"].get("annotations") or {}
    if annotations.get(EVACUATION_STOPPED):
        return annotations[EVACUATION_STOPPED]
    return vm["spec"].get("runStrategy", "Always")


def condition(obj, kind):
    for c in obj.get("status", {}).get("conditions", []) or []:
        if c.get("type") == kind:
            return c
    return None


def in_maintenance(hv):
    return bool(hv.get("spec", {}).get("maintenance"))


def maintenance_problems(hvs, vms, migrations, held=False):
    """What still shows an evacuation once maintenance is cleared (empty = none).

    held: maintenance is still on where it is set (evacuation_problems() checks those); only
    the other Hypervisors, their VMs and migrations are checked.
    """
    out = []
    held_hvs = {name for name, hv in hvs.items() if held and in_maintenance(hv)}
    for name, hv in sorted(hvs.items()):
        if name in held_hvs:
            continue
        if in_maintenance(hv):
            out.append(f"Hypervisor {name}: still in maintenance")
            continue
        sched = condition(hv, "Schedulable")
        if not sched or sched.get("status") != "True":
            out.append(f"Hypervisor {name}: not Schedulable after maintenance "
                       f"({(sched or {}).get('reason')})")
        if hv.get("status", {}).get("evacuation"):
            out.append(f"Hypervisor {name}: status.evacuation left: "
                       f"{json.dumps(hv['status']['evacuation'], sort_keys=True)}")
        evacuating = condition(hv, "Evacuating")
        if evacuating and evacuating.get("status") == "True":
            out.append(f"Hypervisor {name}: Evacuating still True ({evacuating.get('reason')})")
    for name, vm in sorted(vms.items()):
        if vm.get("status", {}).get("hypervisor") in held_hvs:
            continue
        if (vm["metadata"].get("annotations") or {}).get(EVACUATION_STOPPED):
            out.append(f"{name}: still stopped by an evacuation (annotation {EVACUATION_STOPPED})")
    for mig in migrations:
        hv = (mig["metadata"].get("labels") or {}).get(EVACUATING_LABEL)
        if hv and hv not in held_hvs:
            out.append(f"evacuation VMMigration {mig['metadata']['name']} of {hv} left "
                       f"(phase {mig.get('status', {}).get('phase')})")
    return out


def evacuation_problems(hvs, vms):
    """The evacuation's promise while maintenance stays on (docs/evacuation.md), once settled.

    Every VM still bound to a Hypervisor in maintenance is either stopped and left there
    (evictionStrategy None) or reported blocked in its status.evacuation (with libvirt's test
    driver every move fails, so nothing else can be settled); the counts add up
    (total = migrated + stopped + pending + blocked) and the Hypervisor is not schedulable.
    """
    out = []
    for name, hv in sorted(hvs.items()):
        if not in_maintenance(hv):
            continue
        sched = condition(hv, "Schedulable") or {}
        if (sched.get("status"), sched.get("reason")) != ("False", "Maintenance"):
            out.append(f"Hypervisor {name} in maintenance: Schedulable {sched.get('status')}/"
                       f"{sched.get('reason')}, want False/Maintenance")
        ev = hv.get("status", {}).get("evacuation")
        if ev is None:
            out.append(f"Hypervisor {name} in maintenance: no status.evacuation")
            ev = {}
        blocked = {b.get("vm") for b in ev.get("blocked", []) or []}
        parts = [int(ev.get(k, 0)) for k in ("migrated", "stopped", "pending")]
        if ev and int(ev.get("total", 0)) != sum(parts) + len(blocked):
            out.append(f"Hypervisor {name}: status.evacuation does not add up: "
                       f"{json.dumps(ev, sort_keys=True)}")
        for vm_name, vm in sorted(vms.items()):
            st = vm.get("status", {})
            if st.get("hypervisor") != name or vm["metadata"].get("deletionTimestamp"):
                continue
            key = f"{vm['metadata'].get('namespace', NS)}/{vm_name}"
            strategy = vm["spec"].get("evictionStrategy", "LiveMigrate")
            run_strategy = vm["spec"].get("runStrategy", "Always")
            if key in blocked:
                continue
            if strategy == "None" and run_strategy == "Halted" and st.get("phase") == "Stopped":
                continue
            out.append(f"{vm_name}: still on {name} in maintenance (evictionStrategy {strategy}, "
                       f"runStrategy {run_strategy}, phase {st.get('phase')}) and not reported "
                       f"blocked")
    return out


class MaintenanceEnd:
    """The undo of a maintenance operation (a heal_at action the final phase may hold back)."""

    def __init__(self, schedule, node):
        self.schedule, self.node = schedule, node

    def __call__(self):
        return self.schedule.end_maintenance(self.node)


def evacuation_figures(lines):
    """What the evacuations did, from the controller's log (one line per action)."""
    out = {"live": 0, "cold": 0, "stopped": 0, "restored": 0, "records-removed": 0,
           "restored-after-failover": 0}
    for line in lines:
        if "evacuation: VM " in line and "(VMMigration " in line:
            out["live" if ", Live)" in line else "cold"] += 1
        elif "evictionStrategy None: stopping the VM" in line:
            out["stopped"] += 1
        elif "maintenance cleared: runStrategy back to" in line:
            out["restored"] += 1
        elif "stopped by an evacuation, then failed over" in line:
            out["restored-after-failover"] += 1
        elif "evacuation: VMMigration " in line:
            out["records-removed"] += 1
    return out


def reported_target_orphans(lines):
    """(node, VMMigration name) pairs the controller reported as orphans: a failed migration deleted
    while its target was fenced or gone, whose prepared folder may stay there (the warn line
    "hypervisor N: orphan: VMMigration NS/NAME deleted while ..." of target_cleanup.h)."""
    found = re.compile(r"hypervisor (\S+): orphan: VMMigration [^/\s]+/(\S+) deleted while")
    return {m.groups() for line in lines for m in [found.search(line)] if m}


class Proc:
    """One child process with a log file; dies with us (its own process group is killed)."""

    def __init__(self, name, argv, logdir):
        self.name, self.argv, self.logpath = name, argv, os.path.join(logdir, name + ".log")
        self.p = None
        self.frozen = False

    def start(self):
        logf = open(self.logpath, "ab")
        self.p = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        logf.close()
        self.frozen = False

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.p.pid, sig)

    def kill(self):
        if self.alive():
            os.kill(self.p.pid, signal.SIGCONT)
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait()
        self.frozen = False

    def freeze(self):
        self.signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        self.signal(signal.SIGCONT)
        self.frozen = False

    def stop(self):
        if self.alive():
            os.kill(self.p.pid, signal.SIGCONT)
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class PartitionProxy:
    """A TCP relay on loopback between one node-daemon and the API server that can be cut.

    A network partition of that node-daemon, without leaving loopback (ENVIRONMENT.md's network
    safety rule): while cut, no byte moves in either direction on existing connections and new
    connections are accepted but not served — to the node-daemon the API server is unreachable
    (requests time out, as across a dead link, not refused); on heal the held connections resume,
    as TCP connections survive a short partition.
    """

    def __init__(self, target_port):
        self.target = target_port
        self.open = threading.Event()
        self.open.set()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.connect, args=(client,), daemon=True).start()

    def connect(self, client):
        self.open.wait()
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    def pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self.open.wait()  # cut: hold the bytes, as a dead link would
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.open.clear()

    def heal(self):
        self.open.set()


class Cluster:
    def __init__(self, build_dir, workdir, nodes, disk_full=True):
        self.build, self.dir = build_dir, workdir
        self.etcd_port, self.etcd_peer = free_port(), free_port()
        self.api_port, self.api_plain = free_port(), free_port()
        self.kubeconfig = os.path.join(workdir, "kubeconfig")
        self.etcd = Proc("etcd", ["etcd", "--name", "faults", "--data-dir",
                                  os.path.join(workdir, "etcd-data"),
                                  "--listen-client-urls", f"http://127.0.0.1:{self.etcd_port}",
                                  "--advertise-client-urls", f"http://127.0.0.1:{self.etcd_port}",
                                  "--listen-peer-urls", f"http://127.0.0.1:{self.etcd_peer}",
                                  "--initial-advertise-peer-urls",
                                  f"http://127.0.0.1:{self.etcd_peer}",
                                  "--initial-cluster", f"faults=http://127.0.0.1:{self.etcd_peer}",
                                  "--log-level", "error"], workdir)
        self.apiserver = Proc("apiserver", [
            os.path.join(build_dir, "dev-apiserver", "novacron-dev-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}", f"--secure-port={self.api_port}",
            "--bind-address=127.0.0.1", f"--cert-dir={os.path.join(workdir, 'certs')}",
            f"--token={TOKEN}", f"--kubeconfig-out={self.kubeconfig}",
            f"--insecure-port={self.api_plain}", "--bookmark-interval-ms=1000",
            f"--fault-file={os.path.join(workdir, 'apiserver-faults.json')}"], workdir)
        # Faults the API server injects (dev-apiserver/fault_injection.h), by name: slow API,
        # 409 storms, a node's heartbeat (Lease renewals) refused.
        self.fault_file = os.path.join(workdir, "apiserver-faults.json")
        self.api_faults = {}
        self.controller_port = free_port()
        config = os.path.join(workdir, "controller.yaml")
        with open(config, "w") as f:
            f.write("hypervisorHealth:\n  heartbeatTimeout: 4s\n  failover: Fenced\n"
                    "leaderElection:\n  enabled: true\n  leaseDuration: 6s\n"
                    "  renewDeadline: 4s\n  retryPeriod: 1s\n")
        self.controller = Proc("controller", [
            os.path.join(build_dir, "controller", "novacron-controller"), "--config", config,
            "--kubeconfig", self.kubeconfig, "--identity", "faults-controller",
            "--bind-address", f"127.0.0.1:{self.controller_port}", "--leader-elect", "true",
            "--log-level", "info"], workdir)
        self.nodes = {}
        self.metrics_ports = {}
        self.proxies = {}
        # "node/vm/uid" of the VMs bound to a node when it was fenced: after failover their disk
        # folders stay there (known, docs/reliability.md); reported, not a violation.
        self.known_orphans = set()
        # Orphan folders a failed schedule already reported: not held against the next ones.
        self.reported_orphans = set()
        self.orphan_gauge = {}  # node -> its novacron_node_orphaned_vm_folders at the last scrape
        for i in range(nodes):
            name = f"node-{i}"
            root = os.path.join(workdir, name)
            os.makedirs(root + "/vms", exist_ok=True)
            port = free_port()
            self.metrics_ports[name] = port
            # Each node-daemon reaches the API server through its own cuttable relay.
            self.proxies[name] = PartitionProxy(self.api_port)
            self.nodes[name] = Proc(name, [
                os.path.join(build_dir, "node-daemon", "novacron-node-daemon"), "--node-name",
                name, "--kubeconfig", os.path.join(workdir, f"kubeconfig-{name}"),
                "--libvirt-uri", "test:///default",
                "--vm-root", root + "/vms", "--image-root", root + "/images",
                "--metrics-address", "127.0.0.1", "--metrics-port", str(port),
                "--heartbeat-seconds", "1", "--resync-seconds", "5", "--workers", "2",
                "--domain-inventory-seconds", "1", "--log-level", "info"], workdir)
        # Each node's last inventory: {uuid}; kept while the node is frozen.
        self.inventory = {name: set() for name in self.nodes}
        # Disk full: node-0's VM root is a small tmpfs (root only) that the fault fills.
        self.small_root = None
        if disk_full and os.geteuid() == 0:
            path = os.path.join(workdir, "node-0", "vms")
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m", "novacron-faults", path],
                               capture_output=True, text=True)
            if r.returncode == 0:
                self.small_root = path
            else:
                log(f"no disk-full faults: cannot mount a tmpfs ({r.stderr.strip()})")

    def set_api_fault(self, name, part):
        """Adds (part) or removes (None) one named API-server fault and rewrites the fault file."""
        if part is None:
            self.api_faults.pop(name, None)
        else:
            self.api_faults[name] = part
        merged = {"latencyMs": 0, "conflictFraction": 0.0, "rules": []}
        for p in self.api_faults.values():
            merged["latencyMs"] = max(merged["latencyMs"], p.get("latencyMs", 0))
            merged["conflictFraction"] = max(merged["conflictFraction"],
                                             p.get("conflictFraction", 0.0))
            merged["rules"] += p.get("rules", [])
        tmp = self.fault_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(merged, f)
        os.replace(tmp, self.fault_file)

    def set_fenced(self, name, on):
        self.api("PATCH", f"{GROUP}/hypervisors/{name}",
                 {"metadata": {"annotations": {"novacron.io/fenced": "true" if on else None}}},
                 content_type="application/merge-patch+json")

    def set_maintenance(self, name, on):
        self.api("PATCH", f"{GROUP}/hypervisors/{name}", {"spec": {"maintenance": on}},
                 content_type="application/merge-patch+json")

    def fill_disk(self, on):
        """Fills node-0's VM root (a tmpfs) to the last byte, or frees it again."""
        filler = os.path.join(self.small_root, ".fault-suite-filler")
        if on:
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"],
                           capture_output=True, timeout=30)  # ends with ENOSPC
        elif os.path.exists(filler):
            os.remove(filler)

    def components(self):
        return {"etcd": self.etcd, "apiserver": self.apiserver, "controller": self.controller,
                **self.nodes}

    # --- API access (plain HTTP on the insecure loopback port: no TLS in the harness) -----------
    def api(self, method, path, body=None, content_type="application/json", timeout=5):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_plain}{path}", data=data,
                                     method=method)
        req.add_header("Content-Type", content_type)
        req.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read()
            return json.loads(text) if text else {}

    def list_vms(self):
        return self.api("GET", f"{GROUP}/namespaces/{NS}/virtualmachines")["items"]

    def list_hypervisors(self):
        return self.api("GET", f"{GROUP}/hypervisors")["items"]

    def list_migrations(self):
        return self.api("GET", f"{GROUP}/namespaces/{NS}/vmmigrations")["items"]

    def kubectl(self, *args):
        subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self):
        self.etcd.start()
        wait_until("etcd", lambda: port_open(self.etcd_port), 30)
        self.apiserver.start()
        wait_until("the API server", lambda: os.path.exists(self.kubeconfig) and
                   port_open(self.api_plain), 30)
        self.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        self.kubectl("wait", "--for", "condition=established", "--timeout=60s", "crd", "--all")
        self.kubectl("apply", "-f", os.path.join(ROOT, "config", "default", "namespace.yaml"))
        try:
            self.api("POST", "/api/v1/namespaces",
                     {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise
        with open(self.kubeconfig) as f:
            kubeconfig = f.read()
        for name, node in self.nodes.items():
            with open(os.path.join(self.dir, f"kubeconfig-{name}"), "w") as f:
                f.write(kubeconfig.replace(f"https://127.0.0.1:{self.api_port}",
                                           f"https://127.0.0.1:{self.proxies[name].port}"))
            node.start()
        self.controller.start()
        wait_until("the node-daemons to register", lambda: len(self.ready_hypervisors()) ==
                   len(self.nodes), 90)
        # A migration address per node (nothing listens there: libvirt's test driver cannot
        # migrate), so VMMigrations get past scheduling into the node-daemons' migration path and
        # must still end in a terminal phase.
        for name in self.nodes:
            self.api("PATCH", f"{GROUP}/hypervisors/{name}",
                     {"spec": {"migration": {"address": f"127.0.0.1:{free_port()}"}}},
                     content_type="application/merge-patch+json")

    def ready_hypervisors(self):
        out = set()
        for hv in self.list_hypervisors():
            conds = hv.get("status", {}).get("conditions", [])
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                out.add(hv["metadata"]["name"])
        return out

    def stop(self):
        for p in [*self.nodes.values(), self.controller, self.apiserver, self.etcd]:
            p.stop()
        if self.small_root:
            subprocess.run(["umount", "-l", self.small_root], capture_output=True)
            self.small_root = None

    def restart_apiserver(self):
        self.apiserver.stop()
        self.apiserver.start()
        wait_until("the API server to come back", lambda: port_open(self.api_plain), 30)

    def compact_etcd(self):
        endpoint = f"http://127.0.0.1:{self.etcd_port}"
        env = dict(os.environ, ETCDCTL_API="3")
        status = subprocess.run(["etcdctl", "--endpoints", endpoint, "endpoint", "status", "-w",
                                 "json"], env=env, check=True, capture_output=True, timeout=10)
        rev = json.loads(status.stdout)[0]["Status"]["header"]["revision"]
        subprocess.run(["etcdctl", "--endpoints", endpoint, "compact", str(rev)], env=env,
                       check=True, capture_output=True, timeout=10)

    def scrape_inventory(self, name):
        """Active domain UUIDs of a node; None when it cannot be read (and the node not frozen)."""
        node = self.nodes[name]
        if node.frozen:
            return self.inventory[name]
        if not node.alive():
            self.inventory[name] = set()  # test driver: its domains died with the process
            return set()
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.metrics_ports[name]}/metrics", timeout=2) as r:
                text = r.read().decode()
        except (OSError, urllib.error.URLError):
            return None
        uuids = set(re.findall(r'^novacron_node_domain_active\{uuid="([^"]+)"\} 1', text, re.M))
        self.inventory[name] = uuids
        orphaned = re.search(r'^novacron_node_orphaned_vm_folders ([0-9.e+]+)$', text, re.M)
        self.orphan_gauge[name] = int(float(orphaned.group(1))) if orphaned else None
        return uuids


class Schedule:
    """One seeded schedule: STEPS random operations and faults, then convergence checks."""

    OPS = ["create", "create", "delete", "stop", "start", "migrate", "cancel-migration",
           "maintenance", "maintenance"]
    FAULTS = ["kill-controller", "kill-node", "stop-component", "restart-apiserver",
              "compact-etcd", "slow-api", "conflict-storm", "heartbeat-loss", "disk-full",
              "partition-node", "fence-node"]
    TERMINAL = ("Succeeded", "Failed", "Cancelled")

    def __init__(self, cluster, seed, args, stats):
        self.c, self.seed, self.args, self.stats = cluster, seed, args, stats
        self.rng = random.Random(seed)
        self.vms = {}  # name -> desired: "Always" | "Halted" | "deleted"
        self.migrations = []  # names of the VMMigrations this schedule created
        self.fenced = None  # the node fenced now, if any
        self.maintenance = set()  # the nodes this schedule put in maintenance (not cleared yet)
        self.heal_at = []  # (time, proc, action)
        # ids of heal_at entries tend() already carried out (they stay listed until heal() runs)
        self.carried_out = set()
        self.violations = []
        self.sampling = False
        self.transcript = []

    def remember_orphans(self, problems):
        for p in problems:
            if p.startswith("orphan disk folder "):
                self.c.reported_orphans.add(p.split()[3])

    def target_orphan_reported(self, node, folder):
        """A folder a migration's target prepared (marker .novacron-migration-NAME) that the
        controller reported as an orphan when it deleted NAME while `node` was fenced or gone."""
        try:
            markers = [f[len(".novacron-migration-"):] for f in os.listdir(folder)
                       if f.startswith(".novacron-migration-")]
            if not markers:
                return False
            with open(self.c.controller.logpath, errors="replace") as f:
                reported = reported_target_orphans(f)
        except OSError:
            return False
        return any((node, name) in reported for name in markers)

    def violation(self, what):
        if what in self.violations:
            return  # the sampler sees a lasting violation many times: report it once
        self.violations.append(what)
        log(f"VIOLATION (seed {self.seed}): {what}")

    # --- continuous check ------------------------------------------------------------------------
    def sampler(self):
        while self.sampling:
            seen = {}
            for name in self.c.nodes:
                inv = self.c.scrape_inventory(name)
                for uuid in inv or ():
                    seen.setdefault(uuid, []).append(name)
            for uuid, nodes in seen.items():
                if len(nodes) > 1:
                    self.violation(f"VM uid {uuid} active on {len(nodes)} nodes: {nodes}")
            time.sleep(0.3)

    # --- operations -------------------------------------------------------------------------------
    def vm_body(self, name):
        return {"apiVersion": "novacron.io/v1alpha1", "kind": "VirtualMachine",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"runStrategy": "Always", "terminationGracePeriodSeconds": 2,
                         "resources": {"cpus": 1, "memory": "64Mi"},
                         "disks": [{"name": "root", "emptyDisk": {"size": "64Mi"}}],
                         "networks": [{"name": "default"}],
                         "evictionStrategy": self.rng.choice(EVICTION_STRATEGIES)}}

    def op(self, kind):
        live = [n for n, d in self.vms.items() if d != "deleted"]
        path = f"{GROUP}/namespaces/{NS}/virtualmachines"
        try:
            if kind == "create" and len(live) < self.args.max_vms:
                name = f"vm-{self.seed}-{len(self.vms)}"
                self.vms[name] = "Always"  # before the call: a timed-out create may have happened
                self.c.api("POST", path, self.vm_body(name))
            elif kind == "delete" and live:
                name = self.rng.choice(sorted(live))
                self.c.api("DELETE", f"{path}/{name}")
                self.vms[name] = "deleted"
            elif kind == "migrate" and live:
                name = self.rng.choice(sorted(live))
                target = self.rng.choice([None, *sorted(self.c.nodes)])
                mig = f"mig-{self.seed}-{len(self.migrations)}"
                spec = {"vmName": name, "mode": self.rng.choice(["Live", "Cold"])}
                if target:
                    spec["targetHypervisor"] = target
                self.migrations.append(mig)
                self.c.api("POST", f"{GROUP}/namespaces/{NS}/vmmigrations",
                           {"apiVersion": "novacron.io/v1alpha1", "kind": "VMMigration",
                            "metadata": {"name": mig, "namespace": NS}, "spec": spec})
            elif kind == "cancel-migration" and self.migrations:
                mig = self.rng.choice(self.migrations)
                try:
                    self.c.api("PATCH", f"{GROUP}/namespaces/{NS}/vmmigrations/{mig}",
                               {"spec": {"cancel": True}},
                               content_type="application/merge-patch+json")
                except urllib.error.HTTPError as e:
                    if e.code != 404:  # gone already (or never created: the POST failed)
                        raise
                    return
            elif kind == "maintenance":
                # At least one node stays in service; cleared 3-15 s later (or when the faults
                # stop), among the faults and other operations.
                free = sorted(set(self.c.nodes) - self.maintenance)
                if len(free) < 2:
                    return
                # A node that holds VMs if there is one: that is where evacuation happens.
                try:
                    holding = sorted({vm.get("status", {}).get("hypervisor")
                                      for vm in self.c.list_vms()} & set(free))
                except (OSError, urllib.error.URLError):
                    holding = []
                name = self.rng.choice(holding or free)
                # Before the call: a patch that timed out may have happened all the same.
                self.maintenance.add(name)
                self.heal_at.append((time.monotonic() + self.rng.uniform(3, 15), None,
                                     MaintenanceEnd(self, name)))
                self.c.set_maintenance(name, True)
                kind = "maintenance-on"
            elif kind in ("stop", "start") and live:
                name = self.rng.choice(sorted(live))
                strategy = "Halted" if kind == "stop" else "Always"
                self.c.api("PATCH", f"{path}/{name}", {"spec": {"runStrategy": strategy}},
                           content_type="application/merge-patch+json")
                self.vms[name] = strategy
            else:
                return
        except urllib.error.HTTPError as e:
            if e.code in (409, 422) and kind == "migrate":
                # Refused by admission (e.g. the VM is not running, or already migrating): fine.
                self.stats.setdefault("ops_refused", 0)
                self.stats["ops_refused"] += 1
                return
            self.stats["ops_failed"] = self.stats.get("ops_failed", 0) + 1
            log(f"seed {self.seed}: {kind} failed ({e}); reconciling expectations later")
            return
        except (OSError, urllib.error.URLError) as e:
            # The API server may be down or frozen: the operation did not happen (or did: then
            # the next read shows it). Re-read the truth at the end instead of guessing.
            self.stats["ops_failed"] = self.stats.get("ops_failed", 0) + 1
            log(f"seed {self.seed}: {kind} failed ({e}); reconciling expectations later")
            return
        self.stats.setdefault("ops", {}).setdefault(kind, 0)
        self.stats["ops"][kind] += 1

    # --- faults -----------------------------------------------------------------------------------
    def fault(self, kind):
        now = time.monotonic()
        comps = self.c.components()
        if kind == "kill-controller":
            self.c.controller.kill()
            self.heal_at.append((now + self.rng.uniform(0.5, 3), self.c.controller, "start"))
        elif kind == "kill-node":
            name = self.rng.choice(sorted(self.c.nodes))
            self.c.nodes[name].kill()
            self.c.inventory[name] = set()
            self.heal_at.append((now + self.rng.uniform(0.5, 3), self.c.nodes[name], "start"))
            kind = f"kill-node"
        elif kind == "stop-component":
            name = self.rng.choice(sorted(comps))
            proc = comps[name]
            if proc.frozen or not proc.alive():
                return
            proc.freeze()
            self.heal_at.append((now + self.rng.uniform(1, 8), proc, "thaw"))
            kind = f"sigstop-{'node' if name.startswith('node-') else name}"
        elif kind == "restart-apiserver":
            if self.c.apiserver.frozen or self.c.etcd.frozen:
                return  # a frozen etcd keeps a starting API server from listening
            try:
                self.c.restart_apiserver()
            except TimeoutError as e:
                self.violation(f"API server restart: {e}")
        elif kind == "slow-api":
            latency = self.rng.choice([200, 500, 1000, 2000])
            self.c.set_api_fault("slow-api", {"latencyMs": latency})
            self.heal_at.append((now + self.rng.uniform(2, 8), None,
                                 lambda: self.c.set_api_fault("slow-api", None)))
        elif kind == "conflict-storm":
            self.c.set_api_fault("conflict-storm",
                                 {"conflictFraction": self.rng.choice([0.3, 0.6, 0.9])})
            self.heal_at.append((now + self.rng.uniform(2, 8), None,
                                 lambda: self.c.set_api_fault("conflict-storm", None)))
        elif kind == "heartbeat-loss":
            # The node's Lease renewals are refused; the process and its guests are fine. Longer
            # than the controller's 4 s heartbeat timeout: the Hypervisor goes Unknown.
            name = self.rng.choice(sorted(self.c.nodes))
            key = f"heartbeat-{name}"
            self.c.set_api_fault(key, {"rules": [{
                "method": "PUT", "status": 503,
                "path": f"^/apis/coordination.k8s.io/v1/namespaces/novacron-node-lease/leases/"
                        f"{name}$"}]})
            self.heal_at.append((now + self.rng.uniform(3, 10), None,
                                 lambda: self.c.set_api_fault(key, None)))
        elif kind == "partition-node":
            name = self.rng.choice(sorted(self.c.nodes))
            proxy = self.c.proxies[name]
            if not proxy.open.is_set():
                return
            proxy.cut()
            self.heal_at.append((now + self.rng.uniform(3, 10), None, proxy.heal))
        elif kind == "fence-node":
            # A host crash the administrator confirms: the node-daemon (and, with the test
            # driver, its domains) die, the Hypervisor is annotated fenced; with failover Fenced
            # its VMs must be unbound and placed elsewhere. Repaired by unfencing and a restart.
            if self.fenced:
                return
            try:
                vms = self.c.list_vms()
            except (OSError, urllib.error.URLError):
                return  # the API server is down: fence another time
            # A node that holds VMs if there is one: that is where failover happens.
            holding = sorted({vm.get("status", {}).get("hypervisor") for vm in vms} &
                             set(self.c.nodes))
            name = self.rng.choice(holding or sorted(self.c.nodes))
            proc = self.c.nodes[name]
            if proc.frozen or not proc.alive():
                return
            for vm in vms:  # their disk folders stay there after failover (known orphans)
                if vm.get("status", {}).get("hypervisor") == name:
                    self.c.known_orphans.add(
                        f"{name}/{vm['metadata']['name']}/{vm['metadata']['uid']}")
            proc.kill()
            self.c.inventory[name] = set()
            try:
                self.c.set_fenced(name, True)
            except (OSError, urllib.error.URLError) as e:
                log(f"seed {self.seed}: fencing {name} failed ({e})")
                self.heal_at.append((now + 1, proc, "start"))
                return
            self.fenced = name
            self.heal_at.append((now + self.rng.uniform(4, 10), proc, self.unfence))
        elif kind == "disk-full":
            if not self.c.small_root or self.c.nodes["node-0"].frozen:
                return
            self.c.fill_disk(True)
            self.heal_at.append((now + self.rng.uniform(2, 8), None,
                                 lambda: self.c.fill_disk(False)))
            self.op("create")  # a disk to create while the disk is full (if placed on node-0)
        elif kind == "compact-etcd":
            if self.c.etcd.frozen or self.c.apiserver.frozen:
                return
            try:
                self.c.compact_etcd()
            except subprocess.SubprocessError as e:
                log(f"seed {self.seed}: compaction failed: {e}")
                return
        self.stats.setdefault("faults", {}).setdefault(kind, 0)
        self.stats["faults"][kind] += 1

    def heal(self, everything=False, hold_maintenance=False):
        """Undoes the faults that are due (everything: all of them, "the faults stop").

        hold_maintenance: maintenance stays on (the final phase checks the evacuation first).
        """
        self.supervise()
        now = time.monotonic()
        keep = []
        # Process thaws and restarts first: an undo that talks to the API (unfencing) needs a
        # running API server and etcd.
        for due, proc, action in sorted(self.heal_at, key=lambda e: callable(e[2])):
            if everything and hold_maintenance and isinstance(action, MaintenanceEnd):
                keep.append((due, proc, action))
            elif everything or due <= now:
                if callable(action):
                    # An API-server fault, a full disk, a fence: undo it (False: not yet).
                    if action() is False:
                        keep.append((due, proc, action))
                elif action == "thaw":
                    proc.thaw()
                elif not proc.alive():
                    proc.start()
            else:
                keep.append((due, proc, action))
        self.heal_at = keep
        if everything:
            for proc in self.c.components().values():
                if proc.frozen:
                    proc.thaw()
            held = []
            for entry in self.heal_at:  # undos that waited for the API server
                if hold_maintenance and isinstance(entry[2], MaintenanceEnd):
                    held.append(entry)
                    continue
                wait_until("an undo that needs the API server",
                           lambda a=entry[2]: a() is not False, 60)
            self.heal_at = held
            # Anything that died on its own (e.g. a controller that lost leadership exits).
            for proc in self.c.components().values():
                if not proc.alive():
                    log(f"seed {self.seed}: {proc.name} was not running; restarting it")
                    proc.start()

    def end_maintenance(self, name):
        """Clears maintenance on a node (False: the API server is down, try again later)."""
        if self.c.etcd.frozen or self.c.apiserver.frozen or not self.c.apiserver.alive():
            return False
        try:
            self.c.set_maintenance(name, False)
        except (OSError, urllib.error.URLError) as e:
            log(f"seed {self.seed}: clearing maintenance on {name} failed ({e}); again later")
            return False
        self.maintenance.discard(name)
        self.stats.setdefault("ops", {}).setdefault("maintenance-off", 0)
        self.stats["ops"]["maintenance-off"] += 1
        return True

    def unfence(self):
        """Checks that the fenced node holds no VM, then unfences it and restarts its daemon."""
        name = self.fenced
        if name is None:
            return True
        if self.c.etcd.frozen or self.c.apiserver.frozen or not self.c.apiserver.alive():
            return False  # after the API server is back

        def bound_here():
            return sorted(vm["metadata"]["name"] for vm in self.c.list_vms()
                          if vm.get("status", {}).get("hypervisor") == name)

        def settled():
            # The wait blocks the schedule: keep the other components running meanwhile, or a
            # controller that exited (or whose restart fell due) stays down for the whole wait
            # (seed 10016: it lost its lease 12 s after the fence and was down for 40 s).
            self.tend()
            return not bound_here()

        try:
            wait_until(f"no VM bound to fenced {name}", settled, self.args.fence_seconds, 0.5)
        except TimeoutError:
            try:
                left = bound_here()
            except (OSError, urllib.error.URLError):
                left = "(API unreadable)"
            self.violation(f"VMs still bound to fenced Hypervisor {name} after "
                           f"{self.args.fence_seconds}s: {left}")
        wait_until(f"unfencing {name}", lambda: self.c.set_fenced(name, False) or True, 60)
        self.fenced = None
        if not self.c.nodes[name].alive():
            self.c.nodes[name].start()
        return True

    def tend(self):
        """During a wait inside a step: the restarts and thaws that fell due, and supervise().

        The entries stay in heal_at (heal() may be iterating it); doing them again is a no-op.
        """
        now = time.monotonic()
        for entry in list(self.heal_at):
            due, proc, action = entry
            if due > now or proc is None or callable(action):
                continue
            if action == "thaw":
                if proc.frozen:
                    proc.thaw()
            elif not proc.alive():
                proc.start()
            self.carried_out.add(id(entry))
        self.supervise()

    def supervise(self):
        """Restarts a component that exited on its own, as a kubelet would (restartPolicy Always).

        A controller exits when it loses its lease (a fresh process competes again); without a
        supervisor it stayed down until the schedule's end, or, when it exited after the faults
        stopped, for the whole convergence wait (issue 18, seeds 2017 and 2044).
        """
        # A repair still to come leaves its component to the schedule; one already done (tend()
        # keeps its entry until heal() drops it) does not: a controller thawed during the fence
        # wait that then lost its lease and exited stayed down for the rest of the wait (seed
        # 14009, run J).
        # A repair that is a function (unfencing) restarts its node itself, when it is done.
        pending = {id(entry[1]) for entry in self.heal_at
                   if entry[1] is not None and (callable(entry[2]) or
                                                id(entry) not in self.carried_out)}
        for proc in self.c.components().values():
            if proc.frozen or proc.alive() or id(proc) in pending or proc.p is None:
                continue
            code = proc.p.returncode
            log(f"seed {self.seed}: {proc.name} exited on its own (status {code}); restarting it")
            self.stats.setdefault("self_exits", {}).setdefault(proc.name, 0)
            self.stats["self_exits"][proc.name] += 1
            if proc.name.startswith("node-"):
                # Nothing makes a node-daemon exit on purpose (a full disk, a slow or refusing
                # API server must be reported, not crash it).
                self.violation(f"{proc.name} exited on its own (status {code})")
            proc.start()

    # --- final checks -----------------------------------------------------------------------------
    def problems(self, held=False):
        """What still differs from the converged state (empty = converged).

        held: maintenance is still on where the schedule left it; the evacuation's promise is
        checked there (evacuation_problems) and VMs it stopped are expected stopped.
        """
        out = []
        vms = {vm["metadata"]["name"]: vm for vm in self.c.list_vms()}
        hvs = {hv["metadata"]["name"]: hv for hv in self.c.list_hypervisors()}
        active = {}
        for name in self.c.nodes:
            inv = self.c.scrape_inventory(name)
            if inv is None:
                return [f"node {name}: metrics unreadable"]
            for uuid in inv:
                active.setdefault(uuid, set()).add(name)
        known = set()
        ledger = {name: [0, 0, 0] for name in hvs}
        for name, desired in self.vms.items():
            vm = vms.get(name)
            if desired == "deleted":
                if vm is not None:
                    out.append(f"{name}: deleted but still present")
                continue
            if vm is None:
                out.append(f"{name}: missing")
                continue
            if held and (vm["metadata"].get("annotations") or {}).get(EVACUATION_STOPPED):
                desired = vm["spec"].get("runStrategy", "Always")  # until maintenance is cleared
            st = vm.get("status", {})
            uuid = (st.get("domainUUID") or vm["metadata"]["uid"]).lower()
            known.add(uuid)
            bound = st.get("hypervisor")
            if not bound:
                if desired == "Always":
                    out.append(f"{name}: not bound")
                elif active.get(uuid):
                    out.append(f"{name}: halted and unbound, active on {sorted(active[uuid])}")
                continue
            if bound not in hvs:
                out.append(f"{name}: bound to missing Hypervisor {bound}")
                continue
            res = vm["spec"]["resources"]
            ledger[bound][0] += 1
            ledger[bound][1] += int(res["cpus"])
            ledger[bound][2] += quantity(res["memory"])
            on = active.get(uuid, set())
            if desired == "Always" and (st.get("phase") != "Running" or on != {bound}):
                out.append(f"{name}: want Running on {bound}, phase {st.get('phase')}, active on "
                           f"{sorted(on)}")
            elif desired == "Always":
                disk = os.path.join(self.c.dir, bound, "vms", NS, name, vm["metadata"]["uid"],
                                    "disk-root.qcow2")
                if not os.path.exists(disk):
                    out.append(f"{name}: running on {bound} but its disk {disk} is missing")
            if desired == "Halted" and (st.get("phase") != "Stopped" or on):
                out.append(f"{name}: want Stopped, phase {st.get('phase')}, active on {sorted(on)}")
        migrations = self.c.list_migrations()
        out += maintenance_problems(hvs, vms, migrations, held)
        if held:
            out += evacuation_problems(hvs, vms)
        for mig in migrations:
            phase = mig.get("status", {}).get("phase")
            if phase not in self.TERMINAL:
                out.append(f"VMMigration {mig['metadata']['name']}: phase {phase}, not terminal")
        for name, vm in vms.items():
            bound = vm.get("status", {}).get("hypervisor")
            hv = hvs.get(bound) if bound else None
            if hv and hv["metadata"].get("annotations", {}).get("novacron.io/fenced") == "true":
                out.append(f"{name}: bound to fenced Hypervisor {bound}")
        # uid -> the node its disks belong on ("" when unbound: a halted VM keeps them where it
        # last ran); a migration in flight may have prepared disks on its target.
        owners = {vm["metadata"]["uid"]: (vm.get("status", {}).get("hypervisor") or "",
                                          bool(vm.get("status", {}).get("activeMigration")))
                  for vm in vms.values()}
        for node in self.c.nodes:
            ns_dir = os.path.join(self.c.dir, node, "vms", NS)
            for vm_name in os.listdir(ns_dir) if os.path.isdir(ns_dir) else ():
                for uid in os.listdir(os.path.join(ns_dir, vm_name)):
                    key = f"{node}/{vm_name}/{uid}"
                    if key in self.c.known_orphans or key in self.c.reported_orphans:
                        continue  # reported already (its VM may since have been deleted)
                    if self.target_orphan_reported(node, os.path.join(ns_dir, vm_name, uid)):
                        self.c.known_orphans.add(key)
                        continue
                    if uid not in owners:
                        out.append(f"orphan disk folder {node}/{vm_name}/{uid} (no such VM)")
                    elif owners[uid][0] not in ("", node) and not owners[uid][1]:
                        out.append(f"orphan disk folder {node}/{vm_name}/{uid} (the VM is on "
                                   f"{owners[uid][0]}, no migration in flight)")
        # The node-daemons report the folders failover left (vm/orphan_folders.h): each known
        # orphan still there whose VM is gone or bound to another node (not moving) must be in its
        # node's gauge (which may count more: folders of VMs deleted since).
        for node in self.c.nodes:
            want = 0
            for key in self.c.known_orphans:
                at, vm_name, uid = key.split("/")
                folder = os.path.join(self.c.dir, node, "vms", NS, vm_name, uid)
                if at != node or not os.path.isdir(folder) or any(
                        f.startswith(".novacron-migration-") for f in os.listdir(folder)):
                    continue  # gone, or a migration target's (reported by the controller)
                if uid not in owners or (owners[uid][0] not in ("", node) and not owners[uid][1]):
                    want += 1
            got = self.c.orphan_gauge.get(node)
            if want and (got is None or got < want):
                out.append(f"node {node}: {want} orphaned VM folder(s) from failover, its "
                           f"novacron_node_orphaned_vm_folders says {got}")
        for uuid, nodes in active.items():
            if uuid not in known:
                out.append(f"orphan domain {uuid} active on {sorted(nodes)}")
        for name, hv in hvs.items():
            alloc = hv.get("status", {}).get("allocated") or {}
            got = [int(alloc.get("vms", 0)), int(alloc.get("cpus", 0)),
                   quantity(alloc.get("memory", 0))]
            if got != ledger[name]:
                out.append(f"Hypervisor {name}: ledger {got} != bound VMs {ledger[name]}")
        return out

    def dump_state(self):
        """Writes what the API holds to state-<seed>.json in the work directory, for the report."""
        path = os.path.join(self.c.dir, f"state-{self.seed}.json")
        try:
            state = {"expected": self.vms, "vms": self.c.list_vms(),
                     "hypervisors": self.c.list_hypervisors(),
                     "inventory": {n: sorted(i) for n, i in self.c.inventory.items()}}
            with open(path, "w") as f:
                json.dump(state, f, indent=1, sort_keys=True)
            log(f"seed {self.seed}: state written to {path}")
        except (OSError, urllib.error.URLError) as e:
            log(f"seed {self.seed}: cannot dump state: {e}")

    def reread_expectations(self):
        """Operations whose API call failed may still have happened: take the API's word."""
        vms = {vm["metadata"]["name"]: vm for vm in self.c.list_vms()}
        for name in list(self.vms):
            vm = vms.get(name)
            if vm is None or vm["metadata"].get("deletionTimestamp"):
                self.vms[name] = "deleted"
            else:
                self.vms[name] = expected_run_strategy(vm)
        for name in vms:
            # Only this schedule's own VMs: a VM an earlier failed schedule left behind was
            # reported there (seed 5072's stuck VM failed the next two schedules too).
            if name not in self.vms and name.startswith(f"vm-{self.seed}-"):
                self.vms[name] = expected_run_strategy(vms[name])

    def run(self):
        log(f"schedule seed {self.seed}: {self.args.steps} steps")
        self.sampling = True
        sampler = threading.Thread(target=self.sampler, daemon=True)
        sampler.start()
        try:
            for _ in range(self.args.steps):
                self.heal()
                if self.rng.random() < self.args.fault_rate:
                    kind = self.rng.choice(self.FAULTS)
                    self.fault(kind)
                else:
                    kind = self.rng.choice(self.OPS)
                    self.op(kind)
                self.transcript.append(kind)
                time.sleep(self.rng.uniform(0.2, 1.5))
            self.heal(everything=True, hold_maintenance=True)
            log(f"seed {self.seed}: steps {' '.join(self.transcript)}; faults stopped")
            since = time.monotonic()
            wait_until("the API server after the faults",
                       lambda: self.c.list_vms() is not None, 60)
            self.reread_expectations()
            if self.heal_at:
                # Maintenance the schedule left on: first the evacuation's promise with it held,
                # then clear it (as an administrator would) and converge again.
                self.converge("with maintenance held", since, "the faults stopped", held=True)
                for _, _, action in self.heal_at:
                    wait_until("clearing maintenance", lambda a=action: a() is not False, 60)
                self.heal_at = []
                since = time.monotonic()
                self.reread_expectations()
                self.converge("", since, "maintenance was cleared")
            else:
                self.converge("", since, "the faults stopped")
        finally:
            self.sampling = False
            sampler.join()
        return self.violations

    def converge(self, label, since, after, held=False):
        """Waits for problems(held) to be empty; records the time or reports what is left."""
        last = ["not checked yet"]

        def converged():
            self.supervise()
            last[:] = self.problems(held)
            return not last

        what = f"convergence {label}".strip()
        try:
            wait_until(what, converged, self.args.converge_seconds, interval=0.5)
            took = time.monotonic() - since
            self.stats.setdefault("converge_held" if held else "converge", []).append(took)
            log(f"seed {self.seed}: converged {label + ' ' if label else ''}{took:.1f}s after "
                f"{after}")
            if held:
                self.count_held()
        except TimeoutError:
            for p in last:
                self.violation(f"not converged {label + ' ' if label else ''}after "
                               f"{self.args.converge_seconds}s: {p}")
            self.remember_orphans(last)
            self.dump_state()

    def count_held(self):
        """Figures: VMs that stayed on a Hypervisor in maintenance, blocked or stopped there."""
        try:
            hvs = [hv for hv in self.c.list_hypervisors() if in_maintenance(hv)]
            vms = self.c.list_vms()
        except (OSError, urllib.error.URLError):
            return
        names = {hv["metadata"]["name"] for hv in hvs}
        held = self.stats.setdefault("held", {"phases": 0, "vms": 0, "blocked": 0})
        held["phases"] += 1
        held["vms"] += sum(1 for vm in vms if vm.get("status", {}).get("hypervisor") in names)
        held["blocked"] += sum(len((hv.get("status", {}).get("evacuation") or {})
                                   .get("blocked", []) or []) for hv in hvs)

    def cleanup(self):
        """Deletes this schedule's VMs and migrations; waits until their domains are gone."""
        for mig in self.migrations:
            try:
                self.c.api("DELETE", f"{GROUP}/namespaces/{NS}/vmmigrations/{mig}")
            except (OSError, urllib.error.URLError):
                pass
        for name in [n for n, d in self.vms.items() if d != "deleted"]:
            try:
                self.c.api("DELETE", f"{GROUP}/namespaces/{NS}/virtualmachines/{name}")
            except (OSError, urllib.error.URLError):
                pass
            self.vms[name] = "deleted"
        def clean():
            self.supervise()
            return not self.problems()

        try:
            wait_until("cleanup", clean, self.args.converge_seconds, 0.5)
        except TimeoutError:
            left = self.problems()
            self.violation(f"cleanup: not converged: {left}")
            self.remember_orphans(left)


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.environ.get("NOVACRON_BINARY_DIR",
                                                          os.path.join(ROOT, "build")))
    ap.add_argument("--seed", type=int, default=None, help="first seed (default: random)")
    ap.add_argument("--schedules", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--max-vms", type=int, default=6)
    ap.add_argument("--fault-rate", type=float, default=0.4)
    ap.add_argument("--converge-seconds", type=int, default=90)
    ap.add_argument("--fence-seconds", type=int, default=45,
                    help="bound for a fenced node's VMs to be placed elsewhere")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    missing = [b for b in ("etcd", "etcdctl", "kubectl") if shutil.which(b) is None]
    missing += [p for p in (os.path.join(args.build_dir, "dev-apiserver", "novacron-dev-apiserver"),
                            os.path.join(args.build_dir, "controller", "novacron-controller"),
                            os.path.join(args.build_dir, "node-daemon", "novacron-node-daemon"))
                if not os.access(p, os.X_OK)]
    if missing:
        print(f"SKIPPED: missing {', '.join(missing)}")
        return 77

    def terminate(signum, _frame):
        # ctest's timeout, a kill, or ^C in a shell that ignores SIGINT for background jobs: the
        # processes and the tmpfs mount are cleaned up by the `finally` below.
        raise SystemExit(f"fault_suite: signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)

    first = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    workdir = tempfile.mkdtemp(prefix="novacron-faults-")
    log(f"work directory {workdir}; first seed {first}")
    cluster = Cluster(args.build_dir, workdir, args.nodes)
    stats = {}
    failed_seeds = []
    started = time.monotonic()
    try:
        cluster.start()
        for seed in range(first, first + args.schedules):
            schedule = Schedule(cluster, seed, args, stats)
            violations = schedule.run()
            schedule.cleanup()
            violations = schedule.violations
            stats["schedules"] = stats.get("schedules", 0) + 1
            if violations:
                failed_seeds.append(seed)
                log(f"seed {seed} FAILED; reproduce with: {sys.argv[0]} --build-dir "
                    f"{args.build_dir} --seed {seed} --schedules 1 --steps {args.steps} "
                    f"--nodes {args.nodes} --max-vms {args.max_vms} --fault-rate "
                    f"{args.fault_rate} --keep")
    finally:
        cluster.stop()
        conv = stats.get("converge", [])
        print("=== fault suite figures ===")
        print(f"schedules run: {stats.get('schedules', 0)} (seeds {first}.."
              f"{first + args.schedules - 1}, {args.steps} steps, {args.nodes} node-daemons, "
              f"wall {time.monotonic() - started:.0f}s)")
        print(f"operations: {json.dumps(stats.get('ops', {}), sort_keys=True)}, "
              f"failed calls: {stats.get('ops_failed', 0)}")
        print(f"faults injected: {json.dumps(stats.get('faults', {}), sort_keys=True)}")
        full = 0
        for name in ("node-0",):
            try:
                with open(os.path.join(workdir, f"{name}.log"), errors="replace") as f:
                    full = sum(1 for line in f if "No space left" in line)
            except OSError:
                pass
        print(f"disk-full errors reported by node-0 (log lines): {full}; migrations refused at "
              f"admission: {stats.get('ops_refused', 0)}")
        try:
            with open(cluster.controller.logpath, errors="replace") as f:
                evacuations = evacuation_figures(f)
        except OSError:
            evacuations = {}
        print(f"evacuation actions (controller log): {json.dumps(evacuations, sort_keys=True)}")
        print(f"known orphans (disk folders left on a fenced node after failover): "
              f"{len(cluster.known_orphans)}")
        print(f"components that exited on their own (restarted): "
              f"{json.dumps(stats.get('self_exits', {}), sort_keys=True)}")
        print(f"invariant violations: {len(failed_seeds)} schedule(s) {failed_seeds}")
        print(f"time to converge after faults stop: p50 {percentile(conv, 50):.1f}s "
              f"p99 {percentile(conv, 99):.1f}s max {max(conv) if conv else float('nan'):.1f}s "
              f"(n={len(conv)}; after maintenance was cleared where it was held)")
        held = stats.get("converge_held", [])
        print(f"time to settle with maintenance held (evacuation): p50 "
              f"{percentile(held, 50):.1f}s p99 {percentile(held, 99):.1f}s max "
              f"{max(held) if held else float('nan'):.1f}s (n={len(held)}; "
              f"{json.dumps(stats.get('held', {}), sort_keys=True)}: VMs left on a node in "
              f"maintenance, of them reported blocked)")
        if failed_seeds or args.keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed_seeds else 0


if __name__ == "__main__":
    sys.exit(main())
