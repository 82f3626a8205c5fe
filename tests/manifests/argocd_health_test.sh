#!/usr/bin/env bash
# Runs the Argo CD health checks in resource_customizations/<group>/<Kind>/health.lua against
# their health_test.yaml fixtures (Argo CD's layout and format) with a real Lua 5.1 interpreter,
# the language version Argo CD embeds: each fixture becomes the global `obj` (YAML -> Lua table
# by tests/manifests/yaml_to_lua.py, run by tests/manifests/health_runner.lua), the script's
# returned status and message must equal the fixture's healthStatus. Also: every fixture file is used, every CRD kind has a check.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LUA="${LUA:-lua5.1}"
command -v "$LUA" >/dev/null || { echo "FAIL: $LUA not found (hack/install-deps.sh installs lua5.1)"; exit 1; }
failures=0
passed=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

dirs=()
for kind in VirtualMachine VMMigration Hypervisor; do
  dir="$ROOT/resource_customizations/novacron.io/$kind"
  if [[ -f "$dir/health.lua" && -f "$dir/health_test.yaml" ]]; then
    dirs+=("$dir")
  else
    fail "$kind: no health.lua/health_test.yaml"
  fi
done
cases=$(python3 "$ROOT/tests/manifests/yaml_to_lua.py" cases "$tmp" "${dirs[@]}") ||
  fail "cannot read a health_test.yaml or its fixtures"

for dir in "${dirs[@]}"; do
  kind=$(basename "$dir")
  used=()
  want=()
  fixtures=()
  while IFS=$'\t' read -r k n input status message; do
    [[ "$k" == "$kind" ]] || continue
    used+=("$input")
    want+=("$status"$'\t'"$message")
    fixtures+=("$tmp/$kind/$n.lua")
  done <<<"$cases"
  # One interpreter per kind (each case still in an environment of its own): process start-ups
  # are what made this test slow on a loaded machine.
  if ! out=$("$LUA" "$ROOT/tests/manifests/health_runner.lua" "$dir/health.lua" \
    "${fixtures[@]}" 2>&1); then
    fail "$kind: lua failed: $out"
    continue
  fi
  mapfile -t got <<<"$out"
  for i in "${!want[@]}"; do
    if [[ "${got[i]-}" == "lua error: "* ]]; then
      fail "$kind ${used[i]}: ${got[i]}"
    elif [[ "${got[i]-}" != "${want[i]}" ]]; then
      g="${got[i]-(no result)}"
      fail "$kind ${used[i]}: got '${g/$'\t'/ | }', want '${want[i]/$'\t'/ | }'"
    else
      passed=$((passed + 1))
    fi
  done
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
