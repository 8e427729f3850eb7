# TAP helpers for shell integration tests: . "$JN_SRCDIR/tests/lib/tap.sh"
# Each test file prints a plan, then one line per check, then tap_done.
TAP_N=0; TAP_FAIL=0
tap_plan() { echo "1..$1"; }
tap_ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
tap_not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAIL=$((TAP_FAIL + 1)); echo "not ok $TAP_N - $*"; }
# tap_check "description" CMD...: ok when CMD exits 0.
tap_check() { d=$1; shift; if "$@"; then tap_ok "$d"; else tap_not_ok "$d"; fi; }
tap_diag() { echo "$*" | sed 's/^/# /'; }
tap_done() { [ "$TAP_FAIL" -eq 0 ]; }

# Starts junction with config FILE in the background, logging to $2;
# sets JN_PID and waits until /api/v1/health answers (port from $3, default 8080).
jn_start() {
  "$JUNCTION" --config "$1" >"$2" 2>&1 &
  JN_PID=$!
  i=0
  while [ $i -lt 100 ]; do
    curl -sf "http://127.0.0.1:${3:-8080}/api/v1/health" >/dev/null 2>&1 && return 0
    kill -0 "$JN_PID" 2>/dev/null || { tap_diag "junction exited early:"; tap_diag "$(tail -20 "$2")"; return 1; }
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
jn_stop() {
  [ -n "${JN_PID:-}" ] || return 0
  kill -TERM "$JN_PID" 2>/dev/null
  i=0; while kill -0 "$JN_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$JN_PID" 2>/dev/null
  wait "$JN_PID"; rc=$?
  JN_PID=
  return $rc
}
