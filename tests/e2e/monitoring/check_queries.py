#!/usr/bin/env python3
"""The Prometheus HTTP API checks of monitoring_e2e_test.sh.

Usage: check_queries.py PROMETHEUS_URL DASHBOARD_JSON ALERTS_YAML
       check_queries.py PROMETHEUS_URL --pending ALERT...   (waits until each ALERT is pending
                                                             or firing)
Every dashboard target must return at least one sample (Grafana's variables substituted: every
hypervisor and namespace, $__rate_interval as 30s), every template variable's metric must have
series, every alert expression must evaluate, all rule groups must evaluate without error, and
no alert may be pending or firing. Waits up to DEADLINE seconds for data to appear (scrapes start
when Prometheus does; the node-daemon reads VM statistics every 15 s).
"""
import json
import re
import sys
import time
import urllib.parse
import urllib.request

import yaml

DEADLINE = 120
URL = sys.argv[1]


def api(path, **params):
    query = urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(f"{URL}/api/v1/{path}?{query}", timeout=10) as r:
        return json.load(r)


def query(expr):
    try:
        return api("query", query=expr)
    except urllib.error.HTTPError as e:  # 400 for a parse error, with the reason in the body
        return json.load(e)


def substitute(expr):
    expr = expr.replace("$__rate_interval", "30s")
    return re.sub(r"\$\{?(hypervisor|namespace)\}?", ".*", expr)


def dashboard_exprs(path):
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    exprs = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                exprs.append((p["title"], t["expr"]))

    walk(dash["panels"])
    variables = []
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.match(r"label_values\((\w+),\s*(\w+)\)", q)
            variables.append((v["name"], m.group(1), m.group(2)) if m else (v["name"], None, q))
    return exprs, variables


def alert_exprs(path):
    with open(path, encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    return [(r.get("alert") or r.get("record"), r["expr"]) for g in groups for r in g["rules"]]


def wait(what, fn):
    """fn() -> None when satisfied, else the reason; retried until DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    while True:
        reason = fn()
        if reason is None:
            return None
        if time.monotonic() > deadline:
            return f"{what}: {reason}"
        time.sleep(1)


def expect_pending(names):
    def active():
        r = query('ALERTS{alertstate=~"pending|firing"}')
        now = {a["metric"]["alertname"] for a in r.get("data", {}).get("result", [])}
        missing = set(names) - now
        return f"not active: {sorted(missing)} (active: {sorted(now)})" if missing else None

    p = wait("alerts", active)
    if p:
        print("FAIL: " + p)
        return 1
    print(f"PASS: alerts active: {', '.join(names)}")
    return 0


def main():
    if sys.argv[2] == "--pending":
        return expect_pending(sys.argv[3:])
    problems = []
    exprs, variables = dashboard_exprs(sys.argv[2])
    alerts = alert_exprs(sys.argv[3])

    def targets_up():
        r = query("up")
        up = {s["metric"]["job"]: s["value"][1] for s in r.get("data", {}).get("result", [])}
        if up.get("novacron-controller") == "1" and up.get("novacron-node-daemon") == "1":
            return None
        return f"targets {up}"

    p = wait("scrape targets up", targets_up)
    if p:
        print("FAIL: " + p)
        return 1

    for title, expr in exprs:
        e = substitute(expr)

        def has_data(e=e):
            r = query(e)
            if r.get("status") != "success":
                return f"error {r.get('errorType')}: {r.get('error')}"
            if not r["data"]["result"]:
                return "no data"
            return None

        p = wait(f"dashboard panel '{title}': {e}", has_data)
        if p:
            problems.append(p)
        else:
            print(f"PASS: panel '{title}': {e}")
    for name, metric, label in variables:
        if metric is None:
            problems.append(f"variable {name}: unsupported query {label!r}")
            continue
        r = api("series", **{"match[]": metric})
        values = sorted({s.get(label) for s in r["data"] if s.get(label)})
        if values:
            print(f"PASS: variable ${name} = {values}")
        else:
            problems.append(f"variable {name}: no {label} values on {metric}")
    for name, expr in alerts:
        r = query(expr)
        if r.get("status") != "success":
            problems.append(f"alert {name}: {r.get('errorType')}: {r.get('error')}")
        else:
            print(f"PASS: alert {name} evaluates ({len(r['data']['result'])} series now)")

    def rules_evaluated():
        groups = api("rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        if len(rules) != len(alerts):
            return f"{len(rules)} rules loaded, want {len(alerts)}"
        for r in rules:
            if r.get("health") != "ok":
                return f"rule {r['name']}: health {r.get('health')} {r.get('lastError', '')}"
        return None

    p = wait("rule groups", rules_evaluated)
    if p:
        problems.append(p)
    else:
        print(f"PASS: {len(alerts)} rules loaded and evaluated without error")
    active = query('ALERTS{alertstate=~"pending|firing"}')["data"]["result"]
    if active:
        problems.append("alerts active on a healthy cluster: "
                        + ", ".join(a["metric"]["alertname"] for a in active))
    else:
        print("PASS: no alert pending or firing on the healthy demo cluster")
    # The numbers are the cluster's: one Ready hypervisor, one Running VM.
    for expr in ('novacron_hypervisor_ready{hypervisor="demo-node"} == 1',
                 'novacron_vms{phase="Running"} == 1',
                 'novacron_vm_vcpus{namespace="default",name="tiny"} == 1'):
        r = query(expr)
        if r.get("status") != "success" or not r["data"]["result"]:
            problems.append(f"expected {expr}")
        else:
            print(f"PASS: {expr}")
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
