#!/usr/bin/env python3
"""YAML -> Lua 5.1 for tests/manifests/argocd_health_test.sh.

  yaml_to_lua.py cases OUTDIR DIR...
      for each test of each DIR/health_test.yaml (Argo CD's format), writes
      OUTDIR/<basename of DIR>/<n>.lua (n = 1, 2, ...), which returns the test's input
      (DIR/inputPath) as a Lua table constructor (maps -> keyed tables, lists -> 1-based arrays,
      null -> absent), the way Argo CD hands `obj` to a health script; prints one line per test:
      basename of DIR TAB n TAB inputPath TAB status TAB message

One interpreter converts every fixture: a Python start-up costs about half a CPU-second on these
machines, and one per fixture made the test run into its timeout on a loaded machine.
"""
import os
import sys

import yaml


def lua(value):
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return '"' + escaped.replace("\r", "\\r").replace("\0", "\\0") + '"'
    if isinstance(value, list):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    if isinstance(value, dict):
        items = [f"[{lua(str(k))}] = {lua(v)}" for k, v in value.items() if v is not None]
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"cannot convert {type(value).__name__}")


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def cases(outdir, directory):
    kind = os.path.basename(os.path.normpath(directory))
    os.makedirs(os.path.join(outdir, kind))
    path = os.path.join(directory, "health_test.yaml")
    for n, t in enumerate(load(path)["tests"], start=1):
        hs = t["healthStatus"]
        fields = (t["inputPath"], hs["status"], hs.get("message", ""))
        for field in fields:
            if "\t" in field or "\n" in field:
                sys.exit(f"{path}: tabs and newlines are not supported in {field!r}")
        obj = lua(load(os.path.join(directory, t["inputPath"])))
        with open(os.path.join(outdir, kind, f"{n}.lua"), "w", encoding="utf-8") as f:
            f.write(f"return {obj}\n")
        print("\t".join((kind, str(n)) + fields))


def main():
    if len(sys.argv) < 4 or sys.argv[1] != "cases":
        sys.exit(__doc__)
    for directory in sys.argv[3:]:
        cases(sys.argv[2], directory)


if __name__ == "__main__":
    main()
