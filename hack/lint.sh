#!/usr/bin/env bash
# Static checks of the tree. Runs each selected check, reports every finding, exits 1 if any failed:
#   - format: clang-format (.clang-format) on every C++ file;
#   - shell:  ShellCheck (.shellcheckrc) on every shell script, that is *.sh and files whose #! line
#             runs sh or bash (hack/, tests/, .ci/run, ...);
#   - tidy:   clang-tidy (.clang-tidy) on the C++ files changed against a base revision; warnings
#             count as failures. Needs BUILD_DIR/compile_commands.json (written by configuring:
#             `cmake -S . -B build -G Ninja`); without it tidy is skipped with a message.
#
#   hack/lint.sh                   all three
#   hack/lint.sh --no-tidy         format + shellcheck: fast and deterministic, the ctest `lint_format`
#   hack/lint.sh --tidy-base REV   tidy what changed between REV and the working tree (default base:
#                                  `git merge-base HEAD origin/main` if origin/main exists, else HEAD~1)
#   hack/lint.sh FILE...           check only these files (tidy: these instead of the changed ones)
#   hack/lint.sh --fix             rewrite instead of report: clang-format -i, clang-tidy --fix
#                                  (shellcheck has no fixer; its findings are reported as usual)
# Other flags: --no-format, --no-shellcheck, --build-dir DIR (default: $BUILD_DIR, else build).
# Files are those git knows about plus new files not ignored by .gitignore.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
# shellcheck source=lib/common.sh
source "$ROOT/hack/lib/common.sh"
LOG_NAME=lint

usage() {  # EXIT_STATUS: prints the header comment above
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit "$1"
}

fix=0
run_format=1
run_shellcheck=1
run_tidy=1
tidy_base=""
build_dir="${BUILD_DIR:-build}"
given=()
while (($#)); do
  case "$1" in
    --fix) fix=1 ;;
    --no-format) run_format=0 ;;
    --no-shellcheck) run_shellcheck=0 ;;
    --no-tidy) run_tidy=0 ;;
    --tidy-base)
      (($# >= 2)) || usage 2
      tidy_base="$2"
      shift
      ;;
    --build-dir)
      (($# >= 2)) || usage 2
      build_dir="$2"
      shift
      ;;
    -h | --help) usage 0 ;;
    --) shift; given+=("$@"); break ;;
    -*) log "unknown flag $1"; usage 2 ;;
    *) given+=("$1") ;;
  esac
  shift
done
[[ "$build_dir" = /* ]] || build_dir="$ROOT/$build_dir"

is_cpp() { [[ "$1" == *.cc || "$1" == *.h ]]; }

is_shell() {
  [[ "$1" == *.sh || "$1" == *.bash ]] && return 0
  local first=""
  IFS= read -r first <"$1" 2>/dev/null || true
  [[ "$first" =~ ^#!.*[/\ ](ba)?sh([[:space:]]|$) ]]
}

# The files to check: the ones given, else every existing file git tracks or would track.
candidates() {
  if ((${#given[@]})); then
    realpath -m --relative-to="$ROOT" -- "${given[@]}"
  else
    git ls-files --cached --others --exclude-standard
  fi
}

cpp_files=()
shell_files=()
while IFS= read -r f; do
  if [[ ! -f "$f" ]]; then
    ((${#given[@]} == 0)) || die "$f: no such file"
    continue  # tracked but deleted in the working tree
  fi
  if is_cpp "$f"; then
    cpp_files+=("$f")
  elif is_shell "$f"; then
    shell_files+=("$f")
  fi
done < <(candidates | sort -u)

failed=()

check_format() {
  if ((${#cpp_files[@]} == 0)); then
    return 0
  fi
  if ((fix)); then
    clang-format -i "${cpp_files[@]}"
  elif ! clang-format --dry-run --Werror "${cpp_files[@]}"; then
    failed+=(format)
    return 0
  fi
  echo "lint: format ok (${#cpp_files[@]} files)"
}

check_shellcheck() {
  if ((${#shell_files[@]} == 0)); then
    return 0
  fi
  if ! command -v shellcheck >/dev/null; then
    log "shellcheck not found (apt-get install shellcheck; hack/install-deps.sh installs it)"
    failed+=(shellcheck)
    return 0
  fi
  if ! shellcheck "${shell_files[@]}"; then
    failed+=(shellcheck)
    return 0
  fi
  echo "lint: shellcheck ok (${#shell_files[@]} scripts)"
}

default_tidy_base() {
  if git rev-parse -q --verify origin/main >/dev/null; then
    git merge-base HEAD origin/main
  elif git rev-parse -q --verify HEAD~1 >/dev/null; then
    echo HEAD~1
  fi
}

# The C++ files changed between the base and the working tree (committed or not), and new ones.
changed_cpp_files() {
  local base="$1" f
  {
    git diff --name-only --diff-filter=d "$base" --
    git ls-files --others --exclude-standard
  } | sort -u | while IFS= read -r f; do
    if [[ -f "$f" ]] && is_cpp "$f"; then
      echo "$f"
    fi
  done
}

in_compile_db() { grep -qF "\"$ROOT/$1\"" "$build_dir/compile_commands.json"; }

regex_escape() { sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"; }

check_tidy() {
  local db="$build_dir/compile_commands.json" files=() f
  if [[ ! -f "$db" ]]; then
    echo "lint: tidy SKIPPED: $db not found (configure first: cmake -S . -B build -G Ninja)"
    return 0
  fi
  if ! command -v clang-tidy >/dev/null; then
    log "clang-tidy not found (apt-get install clang-tidy; hack/install-deps.sh installs it)"
    failed+=(tidy)
    return 0
  fi
  if ((${#given[@]})); then
    files=("${cpp_files[@]}")
  else
    local base="$tidy_base"
    [[ -n "$base" ]] || base="$(default_tidy_base)"
    if [[ -z "$base" ]]; then
      echo "lint: tidy SKIPPED: no base revision (no origin/main, no HEAD~1); use --tidy-base REV"
      return 0
    fi
    git rev-parse -q --verify "$base^{commit}" >/dev/null || die "--tidy-base: unknown revision $base"
    mapfile -t files < <(changed_cpp_files "$base")
    echo "lint: tidy: C++ files changed against $base: ${#files[@]}"
  fi

  # clang-tidy checks translation units: a .cc in the compile database. A header is checked
  # through the .cc beside it, with its own diagnostics let through by --header-filter.
  local units=() headers=() unit
  for f in "${files[@]}"; do
    unit="$f"
    if [[ "$f" == *.h ]]; then
      headers+=("$(regex_escape "$ROOT/$f")")
      unit="${f%.h}.cc"
      if [[ ! -f "$unit" ]]; then
        echo "lint: tidy: $f has no $unit beside it; its diagnostics show only via other files"
        continue
      fi
    fi
    if ! in_compile_db "$unit"; then
      echo "lint: tidy: $unit is not in $db (a new file? re-run cmake); skipped"
      continue
    fi
    if [[ " ${units[*]} " != *" $unit "* ]]; then
      units+=("$unit")  # once, even when both foo.h and foo.cc changed
    fi
  done
  if ((${#units[@]} == 0)); then
    echo "lint: tidy ok (nothing to check)"
    return 0
  fi

  # -Wno-unknown-warning-option: the build's flags are GCC's (e.g. -Wshadow=local).
  local args=(-p "$build_dir" --quiet --extra-arg=-Wno-unknown-warning-option)
  if ((${#headers[@]})); then
    args+=("--header-filter=^($(IFS='|'; echo "${headers[*]}"))\$")
  fi
  if ((fix)); then
    args+=(--fix)  # what has no fix is still printed; run again without --fix to check
  else
    args+=(--warnings-as-errors='*')
  fi
  local bad=0 i=0 out
  for unit in "${units[@]}"; do
    i=$((i + 1))
    echo "lint: tidy [$i/${#units[@]}] $unit"
    if ! out="$(clang-tidy "${args[@]}" "$unit" 2>&1)"; then
      bad=1
    fi
    # Drop clang-tidy's counts of suppressed diagnostics from system and library headers.
    if [[ -n "$out" ]]; then
      grep -vE '^[0-9]+ (warnings?|errors?)( and [0-9]+ errors?)? generated\.$' <<<"$out" || true
    fi
  done
  if ((bad)); then
    failed+=(tidy)
    return 0
  fi
  if ((fix)); then
    echo "lint: tidy --fix done (${#units[@]} files)"
  else
    echo "lint: tidy ok (${#units[@]} files)"
  fi
}

if ((run_format)); then
  check_format
fi
if ((run_shellcheck)); then
  check_shellcheck
fi
if ((run_tidy)); then
  check_tidy
fi
if ((${#failed[@]})); then
  log "FAILED: ${failed[*]}"
  exit 1
fi
