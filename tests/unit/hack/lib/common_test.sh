#!/usr/bin/env bash
# Unit test of hack/lib/common.sh, the helpers every script in hack/ sources: pid files, start and
# stop of background processes, polling with a deadline, messages. Local processes only; the one
# socket it opens listens on 127.0.0.1.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
# shellcheck source=../../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
WAIT_INTERVAL=0.05
# Safety net of every wait for something that must happen (a process starting, exiting, writing):
# waits end as soon as it happens, so this only bounds a hang. Process start-up on a loaded CI
# machine takes seconds (a Python start-up took more than 10 s at load 30).
HANG=60

TMP="$(mktemp -d /tmp/novacron-common-test.XXXXXX)"
BG_PIDS=()
cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

failures=0
check() {  # description, then a command that must succeed
  local what="$1"
  shift
  if "$@"; then
    echo "PASS: $what"
  else
    echo "FAIL: $what"
    failures=$((failures + 1))
  fi
}
not() { ! "$@"; }
gone() { ! proc_alive "$1"; }
elapsed_ms() { echo $((($(_now_us) - $1) / 1000)); }

# Started from a subshell, so the process is reparented and reaped when it dies, as the daemons of
# hack/demo.sh and hack/dev-cluster.sh are (they outlive the script that started them).
start_orphan() {  # PIDFILE LOGFILE CMD...
  (start_bg "$@")
  BG_PIDS+=("$(cat "$1")")
}

test_messages() {
  local out rc
  out="$( (LOG_NAME=unit; die "boom") 2>&1)"
  rc=$?
  check "die exits 1" test "$rc" -eq 1
  check "die prefixes LOG_NAME (got '$out')" test "$out" = "unit: boom"
  out="$(log "hello" 2>&1)"
  check "log defaults to the script name (got '$out')" test "$out" = "common_test: hello"
}

test_pid_alive() {
  check "pid_alive: no file" not pid_alive "$TMP/none"
  : >"$TMP/empty.pid"
  check "pid_alive: empty file" not pid_alive "$TMP/empty.pid"
  echo $$ >"$TMP/self.pid"
  check "pid_alive: running process" pid_alive "$TMP/self.pid"
}

test_start_and_stop() {
  local pid
  start_orphan "$TMP/sleeper.pid" "$TMP/sleeper.log" bash -c 'echo started; exec sleep 60'
  pid="$(cat "$TMP/sleeper.pid")"
  check "start_bg records a live pid" pid_alive "$TMP/sleeper.pid"
  check "start_bg appends output to the log" wait_until "$HANG" grep -q started "$TMP/sleeper.log"
  # The grace period is a safety net too: a starved process can take seconds to act on SIGTERM,
  # and stop_pidfile returns as soon as it is gone.
  stop_pidfile "$TMP/sleeper.pid" "$HANG" 2>"$TMP/sleeper.err"
  check "stop_pidfile stops the process" wait_until "$HANG" gone "$pid"
  check "stop_pidfile: SIGTERM sufficed, no SIGKILL" test ! -s "$TMP/sleeper.err"
  check "stop_pidfile removes the pid file" test ! -e "$TMP/sleeper.pid"
  check "stop_pidfile without a process is fine" stop_pidfile "$TMP/sleeper.pid" "$HANG"
}

test_waiting() {
  check "wait_until: immediate success" wait_until 1 true
  (sleep 0.2; touch "$TMP/later") &
  check "wait_until: condition that becomes true" wait_until "$HANG" test -e "$TMP/later"
  wait

  echo "phase: Pending" >"$TMP/status"
  (sleep 0.2; echo "phase: Running" >"$TMP/status") &
  check "wait_for_match: output that comes to match" \
    wait_for_match "$HANG" "^phase: Running$" cat "$TMP/status"
  wait
}

# The cases that must wait out a 1-second deadline run side by side, to keep the test short.
test_timeouts() {
  local pid start
  start_orphan "$TMP/stubborn.pid" "$TMP/stubborn.log" \
    bash -c 'trap "" TERM; echo ready; while :; do sleep 0.05; done'
  pid="$(cat "$TMP/stubborn.pid")"
  # "ready" comes after the trap: SIGTERM sent before it would kill the process and make the
  # grace-period checks below fail for the wrong reason.
  check "the SIGTERM-ignoring process is up" wait_until "$HANG" grep -q ready "$TMP/stubborn.log"
  echo "phase: Running" >"$TMP/status"
  start="$(_now_us)"
  {
    stop_pidfile "$TMP/stubborn.pid" 1 2>"$TMP/stubborn.err"
    elapsed_ms "$start" >"$TMP/stubborn.ms"
  } &
  {
    (LOG_NAME=unit; wait_for 1 "nothing" false) 2>"$TMP/wait_for.err"
    echo "$? $(elapsed_ms "$start")" >"$TMP/wait_for.res"
  } &
  {
    wait_for_match 1 "^never$" cat "$TMP/status" 2>"$TMP/match.err"
    echo "$?" >"$TMP/match.rc"
  } &
  wait

  check "stop_pidfile waits the grace period before SIGKILL ($(cat "$TMP/stubborn.ms") ms)" \
    test "$(cat "$TMP/stubborn.ms")" -ge 1000
  check "stop_pidfile SIGKILLs a process ignoring SIGTERM" wait_until "$HANG" gone "$pid"
  check "stop_pidfile says it sent SIGKILL" grep -q "ignored SIGTERM" "$TMP/stubborn.err"

  local rc ms err
  read -r rc ms <"$TMP/wait_for.res"
  err="$(cat "$TMP/wait_for.err")"
  check "wait_for/wait_until: fail on timeout" test "$rc" -ne 0
  check "wait_for/wait_until: not before the deadline ($ms ms)" test "$ms" -ge 1000
  check "wait_for logs what it waited for (got '$err')" \
    test "$err" = "unit: timed out after 1s waiting for nothing"

  err="$(cat "$TMP/match.err")"
  check "wait_for_match: fails on timeout" test "$(cat "$TMP/match.rc")" -ne 0
  check "wait_for_match: timeout prints the last output (got '$err')" test "$err" = "phase: Running"
}

test_port_open() {
  if ! command -v python3 >/dev/null; then
    echo "SKIP: port_open (no python3 to listen with)"
    return 0
  fi
  python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$TMP/port" &
  BG_PIDS+=($!)
  check "a Python listener is up" wait_until "$HANG" test -s "$TMP/port"
  local port
  port="$(cat "$TMP/port")"
  check "port_open: a listening port" port_open "$port"
  kill "${BG_PIDS[-1]}"
  wait "${BG_PIDS[-1]}" 2>/dev/null
  check "port_open: a closed port" not port_open "$port"
}

test_messages
test_pid_alive
test_start_and_stop
test_waiting
test_timeouts
test_port_open

if ((failures)); then
  echo "common_test: $failures check(s) failed"
  exit 1
fi
echo "common_test: all checks passed"
