# shellcheck shell=bash
# Helpers shared by the scripts in hack/ and the script tests under tests/: logging, root check,
# background processes with pid files, polling with a deadline. Sourced, never run:
#
#   ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
#   # shellcheck source=lib/common.sh     (the path from the script's folder; see .shellcheckrc)
#   source "$ROOT/hack/lib/common.sh"
#
# It defines functions only and sets no shell options: each script keeps its `set -euo pipefail`.
# Knobs a script may set after sourcing:
#   LOG_NAME       prefix of log/die messages (default: the script's file name without .sh)
#   WAIT_INTERVAL  seconds between two attempts of wait_until/wait_for/wait_for_match (default 0.2)

# Microseconds since the epoch (bash 5's EPOCHREALTIME; its separator follows the locale). Deadlines
# use it rather than SECONDS, which counts whole seconds and can make "1 second" last almost none.
_now_us() {
  echo "${EPOCHREALTIME//[!0-9]/}"
}

# log MESSAGE...: prints "NAME: MESSAGE" on stderr.
log() {
  echo "${LOG_NAME:-$(basename "$0" .sh)}: $*" >&2
}

# die MESSAGE...: logs MESSAGE and exits 1.
die() {
  log "$@"
  exit 1
}

# require_root [WHY]: dies unless running as root.
require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    die "must run as root${1:+ ($1)}"
  fi
}

# proc_alive PID: succeeds if process PID runs. A zombie (exited, not yet reaped by its parent or
# by init, which can take a second in a container) does not count: it holds nothing any more.
proc_alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ "${stat##*) }" != Z* ]]  # "PID (COMM) STATE ...", and COMM may hold ") "
}

# pid_alive PIDFILE: succeeds if PIDFILE names a running process.
pid_alive() {
  [[ -s "$1" ]] && proc_alive "$(cat "$1")"
}

# start_bg PIDFILE LOGFILE CMD...: runs CMD in the background, immune to hangups, with stdout and
# stderr appended to LOGFILE, and records its pid in PIDFILE.
start_bg() {
  local pidfile="$1" logfile="$2"
  shift 2
  nohup "$@" >>"$logfile" 2>&1 &
  echo $! >"$pidfile"
}

# stop_pidfile PIDFILE [GRACE_SECONDS]: stops the process recorded in PIDFILE, if it runs: SIGTERM,
# then SIGKILL if it is still there after GRACE_SECONDS (default 10). Removes PIDFILE in any case.
stop_pidfile() {
  local pidfile="$1" grace="${2:-10}" pid deadline
  if pid_alive "$pidfile"; then
    pid="$(cat "$pidfile")"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(($(_now_us) + grace * 1000000))
    while proc_alive "$pid"; do
      if (($(_now_us) >= deadline)); then
        log "pid $pid ($pidfile) ignored SIGTERM for ${grace}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
  fi
  rm -f "$pidfile"
}

# wait_until SECONDS CMD...: runs CMD (output discarded) every WAIT_INTERVAL seconds until it
# succeeds; fails once SECONDS (a whole number) have passed without success. CMD runs at least once.
wait_until() {
  local deadline=$(($(_now_us) + $1 * 1000000))
  shift
  until "$@" >/dev/null 2>&1; do
    if (($(_now_us) >= deadline)); then
      return 1
    fi
    sleep "${WAIT_INTERVAL:-0.2}"
  done
}

# wait_for SECONDS WHAT CMD...: wait_until, and on timeout logs "timed out after SECONDSs waiting
# for WHAT" before failing.
wait_for() {
  local secs="$1" what="$2"
  shift 2
  if ! wait_until "$secs" "$@"; then
    log "timed out after ${secs}s waiting for $what"
    return 1
  fi
}

# check DESCRIPTION CMD...: a test's assertion: runs CMD, prints "PASS: ..." or "FAIL: ..." and
# counts failures in the caller's $failures.
check() {
  local what="$1"
  shift
  if "$@"; then
    echo "PASS: $what"
  else
    echo "FAIL: $what"
    failures=$((${failures:-0} + 1))
  fi
}

# wait_for_match SECONDS PATTERN CMD...: polls CMD until its output (stdout and stderr) matches the
# extended regular expression PATTERN; on timeout prints CMD's last output on stderr and fails.
wait_for_match() {
  local secs="$1"
  shift
  _wait_match_out=""
  if ! wait_until "$secs" _output_matches "$@"; then
    echo "$_wait_match_out" >&2
    return 1
  fi
}
_output_matches() {  # PATTERN CMD...
  local pattern="$1"
  shift
  _wait_match_out="$("$@" 2>&1 || true)"
  grep -qE -- "$pattern" <<<"$_wait_match_out"
}

# port_open PORT: succeeds if something accepts TCP connections on 127.0.0.1:PORT. Loopback only,
# on purpose: the project's scripts never probe other hosts.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
