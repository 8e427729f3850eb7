#!/bin/sh
# Runs every integration test (tests/integration/*.test.sh) and browser test
# (tests/e2e/*.test.mjs), each in its own private network namespace with only
# loopback, each under a time limit. Test files print TAP; this prints their
# lines and a summary line "integration: N passed, N failed".
#   tests/integration/run.sh BUILDDIR [TEST...]
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILDDIR [TEST...]}" && pwd); shift
export JN_SRCDIR="$src" JN_BUILDDIR="$build" JUNCTION="$build/junction"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tests/lib/lsan.supp:print_suppressions=0}
if [ $# -eq 0 ]; then set -- "$src"/tests/integration/*.test.sh "$src"/tests/e2e/*.test.mjs; fi
pass=0; fail=0
for t in "$@"; do
  case "$t" in /*) ;; *) t="$PWD/$t" ;; esac
  [ -e "$t" ] || continue
  name=$(basename "$t")
  work=$(mktemp -d "/tmp/jn-it-$name.XXXXXX")
  case "$t" in
    *.mjs) cmd="node $t" ;;
    *) cmd="sh $t" ;;
  esac
  echo "# --- $name"
  start=$(date +%s)
  (cd "$work" && JN_WORK="$work" timeout -k 10 "${JN_TEST_TIMEOUT:-300}" "$src/tests/lib/netns.sh" $cmd) >"$work/tap.out" 2>"$work/stderr.log"
  rc=$?
  sed -n '/^\(ok\|not ok\|#\|1\.\.\)/p' "$work/tap.out"
  p=$(grep -c '^ok ' "$work/tap.out"); f=$(grep -c '^not ok ' "$work/tap.out")
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1; echo "not ok - $name exited with status $rc"
  fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name ran no check"; fi
  if [ "$f" -ne 0 ]; then
    echo "# stderr of $name (last 40 lines; all in $work):"; tail -40 "$work/stderr.log" | sed 's/^/#   /'
  else
    rm -rf "$work"
  fi
  echo "# $name: $p passed, $f failed in $(( $(date +%s) - start )) s"
  pass=$((pass + p)); fail=$((fail + f))
done
echo "integration: $pass passed, $fail failed"
[ $fail -eq 0 ]
