#!/usr/bin/env bash
# Runs the Argo CD health checks in resource_customizations/<group>/<Kind>/health.lua against
# their health_test.yaml fixtures (Argo CD's layout and format) with a real Lua 5.1 interpreter,
# the language version Argo CD embeds: each fixture becomes the global `obj` (YAML -> Lua table
# by tests/manifests/yaml_to_lua.py), the script's returned status and message must equal the
# fixture's healthStatus. Also: every fixture file is used, every CRD kind has a check.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LUA="${LUA:-lua5.1}"
command -v "$LUA" >/dev/null || { echo "FAIL: $LUA not found (hack/install-deps.sh installs lua5.1)"; exit 1; }
failures=0
passed=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for kind in VirtualMachine VMMigration Hypervisor; do
  dir="$ROOT/resource_customizations/novacron.io/$kind"
  [[ -f "$dir/health.lua" && -f "$dir/health_test.yaml" ]] || { fail "$kind: no health.lua/health_test.yaml"; continue; }
  cases=$(python3 "$ROOT/tests/manifests/yaml_to_lua.py" cases "$dir/health_test.yaml") ||
    { fail "$kind: cannot read health_test.yaml"; continue; }
  used=()
  while IFS=$'\t' read -r input status message; do
    used+=("$input")
    {
      printf 'obj = '
      python3 "$ROOT/tests/manifests/yaml_to_lua.py" table "$dir/$input"
      printf '\nlocal check = assert(loadfile([[%s]]))\n' "$dir/health.lua"
      printf 'local hs = check()\n'
      printf 'io.write(tostring(hs.status), "\\t", tostring(hs.message), "\\n")\n'
    } >"$tmp/run.lua"
    if ! got=$("$LUA" "$tmp/run.lua" 2>&1); then
      fail "$kind $input: lua error: $got"
      continue
    fi
    if [[ "$got" != "$status"$'\t'"$message" ]]; then
      fail "$kind $input: got '${got/$'\t'/ | }', want '$status | $message'"
    else
      passed=$((passed + 1))
    fi
  done <<<"$cases"
  for f in "$dir"/testdata/*.yaml; do
    rel="testdata/$(basename "$f")"
    [[ " ${used[*]} " == *" $rel "* ]] || fail "$kind: $rel is not used by health_test.yaml"
  done
  for status in Healthy Progressing Degraded; do
    grep -q "status: $status$" "$dir/health_test.yaml" || fail "$kind: no $status case"
  done
done

# The argocd-cm patch docs/gitops.md tells users to apply carries exactly these scripts.
"$ROOT/hack/argocd-cm.sh" >"$tmp/argocd-cm.yaml" || fail "hack/argocd-cm.sh failed"
out=$(python3 - "$tmp/argocd-cm.yaml" "$ROOT/resource_customizations/novacron.io" <<'PY'
import os, sys, yaml
data = yaml.safe_load(open(sys.argv[1]))["data"]
for kind in ("VirtualMachine", "VMMigration", "Hypervisor"):
    key = "resource.customizations.health.novacron.io_" + kind
    want = open(os.path.join(sys.argv[2], kind, "health.lua")).read()
    if data.get(key) != want:
        print(f"{key} in the argocd-cm patch differs from {kind}/health.lua")
PY
)
[[ -z "$out" ]] || fail "$out"

if ((failures)); then
  echo "argocd_health_test: $failures failure(s), $passed passed"
  exit 1
fi
echo "argocd_health_test: $passed cases passed ($("$LUA" -v 2>&1))"
