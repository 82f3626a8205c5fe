#!/usr/bin/env python3
"""YAML -> Lua 5.1 for tests/manifests/argocd_health_test.sh.

  yaml_to_lua.py table FILE   the document as a Lua table constructor (maps -> keyed tables,
                              lists -> 1-based arrays, null -> absent), as Argo CD hands `obj` to
                              a health script
  yaml_to_lua.py cases FILE   a health_test.yaml's tests, one per line: inputPath TAB status TAB
                              message
"""
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


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if mode == "table":
        print(lua(doc))
    elif mode == "cases":
        for t in doc["tests"]:
            hs = t["healthStatus"]
            for field in (t["inputPath"], hs["status"], hs.get("message", "")):
                if "\t" in field or "\n" in field:
                    sys.exit(f"{path}: tabs and newlines are not supported in {field!r}")
            print(f"{t['inputPath']}\t{hs['status']}\t{hs.get('message', '')}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
