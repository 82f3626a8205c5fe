#!/usr/bin/env python3
"""Checks of charts/novacron that need no Helm (tests/manifests/chart_test.sh runs them):

  static     Chart.yaml fields; values.schema.json is a valid JSON Schema that accepts values.yaml
             and rejects each bad value below; every .Values path a template reads exists in
             values.yaml; every include names a defined template; block keywords are balanced.
  config     writes the controller.yaml that templates/controller-configmap.yaml renders from the
             default values (same merge, same keys) to the given file, for the controller binary.
  rendered   (with a `helm template` output) RBAC rule-for-rule equal to config/rbac, labels,
             restricted controller pods, CRDs kept, the test hook, the node-daemon's sidecars.

Usage: chart_check.py static | config OUT | rendered RENDERED.yaml KUSTOMIZE_RENDERED.yaml
Prints one problem per line and exits 1 when there is any.
"""
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART = os.path.join(ROOT, "charts", "novacron")


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def values():
    return load_yaml(os.path.join(CHART, "values.yaml"))


# (description, dotted path, bad value): each must be rejected by values.schema.json.
BAD_VALUES = [
    ("unknown top-level key", "replicas", 2),
    ("unknown nested key (typo)", "controller.replicaCont", 2),
    ("zero controller replicas", "controller.replicaCount", 0),
    ("replicas as a string", "controller.replicaCount", "2"),
    ("unknown scheduler policy", "controller.config.scheduler.policy", "Packed"),
    ("duration without a unit", "controller.config.hypervisorHealth.heartbeatTimeout", "40"),
    ("unknown failover policy", "controller.config.hypervisorHealth.failover", "Always"),
    ("maxParallel out of range", "controller.config.migrations.maxParallel", 0),
    ("unknown rebalance mode", "controller.config.rebalance.mode", "Always"),
    ("bad quiet hours", "controller.config.rebalance.quietHours", ["25:00-01:00"]),
    ("unknown config key", "controller.config.scheduler.polcy", "Spread"),
    ("bad pull policy", "controller.image.pullPolicy", "Sometimes"),
    ("empty repository", "nodeDaemon.image.repository", ""),
    ("digest that is not sha256", "controller.image.digest", "latest"),
    ("port out of range", "controller.metricsPort", 70000),
    ("bad log level", "nodeDaemon.logLevel", "verbose"),
    ("relative data dir", "nodeDaemon.dataDir", "var/lib/novacron"),
    ("unknown domain type", "nodeDaemon.domainType", "xen"),
    ("sidecar toggle as a string", "nodeDaemon.libvirtSidecar.enabled", "yes"),
    ("negative reserved memory", "nodeDaemon.reservedMemory", "-1Gi"),
    ("bad resource quantity", "controller.resources.limits.memory", "lots"),
    ("crds.enabled as a string", "crds.enabled", "true"),
    ("extra arg without --", "controller.extraArgs", ["leader-elect=false"]),
    ("host path as test kernel", "tests.kernelImage", "/boot/vmlinuz"),
    ("PSA level other than privileged", "namespace.podSecurity.enforce", "restricted"),
]


def with_value(base, dotted, value):
    doc = json.loads(json.dumps(base))
    node = doc
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return doc


def check_schema(problems):
    try:
        import jsonschema
    except ImportError:
        problems.append("python3-jsonschema is missing (hack/install-deps.sh installs it)")
        return
    with open(os.path.join(CHART, "values.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        problems.append(f"values.schema.json is not a valid JSON Schema: {e.message}")
        return
    validator = validator_cls(schema)
    base = values()
    for error in validator.iter_errors(base):
        problems.append(f"values.yaml fails its own schema at {list(error.path)}: {error.message}")
    for what, path, bad in BAD_VALUES:
        if validator.is_valid(with_value(base, path, bad)):
            problems.append(f"values.schema.json accepts {what} ({path}={bad!r})")


def check_chart_yaml(problems):
    chart = load_yaml(os.path.join(CHART, "Chart.yaml"))
    semver = r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
    if chart.get("apiVersion") != "v2":
        problems.append("Chart.yaml: apiVersion must be v2 (Helm 3)")
    if chart.get("name") != "novacron" or os.path.basename(CHART) != chart.get("name"):
        problems.append("Chart.yaml: name must be novacron, as its directory")
    if not re.match(semver, str(chart.get("version", ""))):
        problems.append(f"Chart.yaml: version {chart.get('version')!r} is not SemVer 2")
    if not isinstance(chart.get("appVersion"), str) or not chart["appVersion"]:
        problems.append("Chart.yaml: appVersion must be a quoted string")
    if chart.get("type") != "application":
        problems.append("Chart.yaml: type must be application")
    if "kubeVersion" not in chart:
        problems.append("Chart.yaml: kubeVersion must state the supported Kubernetes versions")
    for f in ("values.yaml", "values.schema.json", "templates/NOTES.txt", ".helmignore"):
        if not os.path.exists(os.path.join(CHART, f)):
            problems.append(f"chart lacks {f}")


def template_files():
    for dirpath, _, files in os.walk(os.path.join(CHART, "templates")):
        for name in sorted(files):
            yield os.path.join(dirpath, name)


def has_path(doc, parts):
    node = doc
    for p in parts:
        if not isinstance(node, dict) or p not in node:
            return False
        node = node[p]
    return True


def check_templates(problems):
    vals = values()
    defined = set()
    texts = {}
    for path in template_files():
        with open(path, encoding="utf-8") as f:
            texts[path] = f.read()
        defined.update(re.findall(r'{{-?\s*define\s+"([^"]+)"', texts[path]))
    for path, text in texts.items():
        rel = os.path.relpath(path, CHART)
        actions = re.findall(r"{{-?(.*?)-?}}", text, flags=re.S)
        if text.count("{{") != text.count("}}") or len(actions) != text.count("{{"):
            problems.append(f"{rel}: unbalanced {{{{ }}}}")
        opened = sum(1 for a in actions if re.match(r"\s*(if|range|with|define)\b", a))
        closed = sum(1 for a in actions if re.match(r"\s*end\b", a))
        if opened != closed:
            problems.append(f"{rel}: {opened} if/range/with/define but {closed} end")
        for name in re.findall(r'(?:include|template)\s+"([^"]+)"', text):
            if name not in defined:
                problems.append(f"{rel}: includes undefined template {name!r}")
        # Variables bound to a values subtree: {{- $nd := .Values.nodeDaemon }}.
        aliases = dict(re.findall(r"(\$[a-zA-Z]+)\s*:=\s*\.Values\.([a-zA-Z0-9_.]+)\s*}}", text))
        for ref in re.findall(r"\.Values\.([a-zA-Z0-9_.]+)", text):
            if not has_path(vals, ref.split(".")):
                problems.append(f"{rel}: .Values.{ref} is not in values.yaml")
        for var, base in aliases.items():
            for ref in re.findall(re.escape(var) + r"\.([a-zA-Z0-9_.]+)", text):
                if not has_path(vals, (base + "." + ref).split(".")):
                    problems.append(f"{rel}: {var}.{ref} (.Values.{base}.{ref}) is not in values.yaml")


def controller_config(vals, release_namespace="novacron-system", fullname="novacron"):
    """What templates/controller-configmap.yaml renders (keep the two in step)."""
    cfg = json.loads(json.dumps(vals["controller"]["config"]))
    le = vals["controller"]["leaderElection"]
    cfg["leaderElection"] = {
        "enabled": le["enabled"], "namespace": release_namespace,
        "leaseName": fullname + "-controller", "leaseDuration": le["leaseDuration"],
        "renewDeadline": le["renewDeadline"], "retryPeriod": le["retryPeriod"],
    }
    cfg["server"] = {"bindAddress": f"0.0.0.0:{int(vals['controller']['metricsPort'])}"}
    return cfg


def check_configmap_template(problems):
    """The Python model above and the template must set the same keys."""
    with open(os.path.join(CHART, "templates", "controller-configmap.yaml"), encoding="utf-8") as f:
        text = f.read()
    for key in ("leaderElection", "server", "enabled", "namespace", "leaseName", "leaseDuration",
                "renewDeadline", "retryPeriod", "bindAddress"):
        if f'"{key}"' not in text:
            problems.append(f"controller-configmap.yaml no longer sets {key}: update chart_check.py")


# ---- checks of a rendered chart (helm template) ----

def docs_of(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def rules_by_role(docs, rename=lambda n: n):
    out = {}
    for d in docs:
        if d["kind"] in ("Role", "ClusterRole") and "helm.sh/hook" not in (
                d["metadata"].get("annotations") or {}):
            key = (d["kind"], rename(d["metadata"]["name"]))
            out[key] = sorted(json.dumps(r, sort_keys=True) for r in d.get("rules") or [])
    return out


def check_rendered(rendered, kustomized, problems):
    docs = docs_of(rendered)
    base = docs_of(kustomized)
    chart_rules = rules_by_role(docs)
    config_rules = rules_by_role(base)
    if chart_rules != config_rules:
        for key in sorted(set(chart_rules) | set(config_rules)):
            if chart_rules.get(key) != config_rules.get(key):
                problems.append(f"RBAC {key}: chart {chart_rules.get(key)} != config/rbac "
                                f"{config_rules.get(key)}")
    kinds = {}
    for d in docs:
        kinds.setdefault(d["kind"], []).append(d)
        labels = d["metadata"].get("labels") or {}
        for label in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                      "app.kubernetes.io/managed-by", "app.kubernetes.io/version"):
            if label not in labels:
                problems.append(f"{d['kind']} {d['metadata']['name']} lacks label {label}")
    for want in ("CustomResourceDefinition", "Deployment", "DaemonSet", "ConfigMap", "Service",
                 "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                 "Pod", "Namespace"):
        if want not in kinds:
            problems.append(f"rendered chart has no {want}")
    for crd in kinds.get("CustomResourceDefinition", []):
        ann = crd["metadata"].get("annotations") or {}
        if ann.get("helm.sh/resource-policy") != "keep":
            problems.append(f"CRD {crd['metadata']['name']} is not kept on uninstall")
    for dep in kinds.get("Deployment", []):
        spec = dep["spec"]
        pod = spec["template"]["spec"]
        if spec.get("replicas") != 2:
            problems.append("controller Deployment: replicas must default to 2")
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            problems.append("controller: runAsNonRoot missing")
        for c in pod["containers"]:
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False or sc.get("capabilities", {}).get(
                    "drop") != ["ALL"]:
                problems.append(f"controller container {c['name']} is not restricted")
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in c:
                    problems.append(f"controller container {c['name']} lacks {probe}")
            if "--leader-elect=true" not in c.get("args", []):
                problems.append("controller: leader election is not on")
            if not c.get("resources", {}).get("limits"):
                problems.append("controller: no resource limits")
    for ds in kinds.get("DaemonSet", []):
        names = [c["name"] for c in ds["spec"]["template"]["spec"]["containers"]]
        if names != ["node-daemon", "virtlogd", "libvirtd"]:
            problems.append(f"node-daemon DaemonSet containers {names}: expected the sidecars")
    hooks = [p for p in kinds.get("Pod", [])
             if (p["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"]
    if len(hooks) != 1:
        problems.append("expected one helm test Pod")
    elif "--for=condition=Ready" not in json.dumps(hooks[0]):
        problems.append("the helm test Pod does not wait for Ready")


def main():
    problems = []
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "static":
        check_chart_yaml(problems)
        check_schema(problems)
        check_templates(problems)
        check_configmap_template(problems)
    elif mode == "config" and len(sys.argv) == 3:
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            yaml.safe_dump(controller_config(values()), f, default_flow_style=False)
    elif mode == "rendered" and len(sys.argv) == 4:
        check_rendered(sys.argv[2], sys.argv[3], problems)
    else:
        sys.exit(__doc__)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
