#!/bin/sh
# The whole test suite, from a fresh clone:
#   1. installs what the tests need (Debian packages, npm packages from the lockfile),
#   2. builds with ASan + UBSan and -Werror, runs `make check` (unit tests, fuzz-corpus replays),
#   3. builds the libFuzzer targets with clang and fuzzes each for FUZZ_SECONDS (default 15),
#   4. runs the integration and browser tests, each in a private network namespace (only lo),
# and ends with one line "N passed, N failed". Exit status is non-zero on any failure.
# Options (environment): FUZZ_SECONDS=N, JN_SKIP_FUZZ=1 (local runs only), JN_TESTS="files..."
set -u
cd "$(dirname "$0")"
src=$(pwd)
pass=0; fail=0
step() { echo; echo "=== $*"; }
count_automake() { # $1 = test-suite.log: adds its PASS to pass, FAIL+ERROR+XPASS to fail
  p=$(sed -n 's/^# PASS: *//p' "$1" | head -1); f=$(sed -n 's/^# FAIL: *//p' "$1" | head -1)
  e=$(sed -n 's/^# ERROR: *//p' "$1" | head -1); x=$(sed -n 's/^# XPASS: *//p' "$1" | head -1)
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0} + ${e:-0} + ${x:-0}))
}

step "dependencies"
if ! tools/install-deps.sh test; then
  echo "test.sh: installing dependencies failed"; echo "0 passed, 1 failed"; exit 1
fi

step "build (ASan + UBSan, -Werror)"
[ -x configure ] && [ configure -nt configure.ac ] || ./autogen.sh >/dev/null
mkdir -p build-asan
( cd build-asan && { [ -f Makefile ] || ../configure -q --enable-sanitizers --enable-werror; } &&
  make -j"$(nproc)" >make.log 2>&1 ) || { tail -50 build-asan/make.log; echo "1 build failed"; fail=$((fail + 1)); }

if [ -x build-asan/junction ]; then
  step "unit tests and fuzz-corpus replays (make check)"
  # Unit tests open sockets too: they also run in a namespace with only lo.
  (cd build-asan && ../tests/lib/netns.sh make -j"$(nproc)" check >check.log 2>&1)
  grep -E '^(FAIL|ERROR|XPASS):' build-asan/check.log
  if [ -f build-asan/test-suite.log ]; then
    count_automake build-asan/test-suite.log
    grep -E '^# (TOTAL|PASS|FAIL|ERROR):' build-asan/test-suite.log
    grep -q '^# \(FAIL\|ERROR\): *[1-9]' build-asan/test-suite.log && cat build-asan/test-suite.log | tail -80
  else
    tail -40 build-asan/check.log; fail=$((fail + 1))
  fi
fi

if [ "${JN_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzzing (libFuzzer, ${FUZZ_SECONDS:-15} s per target)"
  mkdir -p build-fuzz
  if ( cd build-fuzz && { [ -f Makefile ] || CC=clang ../configure -q --enable-fuzzing; } &&
       make -j"$(nproc)" fuzz-build >make.log 2>&1 ); then
    (cd build-fuzz && JN_SRCDIR="$src" FUZZ_SECONDS=${FUZZ_SECONDS:-15} make -s fuzz) >build-fuzz/fuzz.out 2>&1
    cat build-fuzz/fuzz.out
    pass=$((pass + $(grep -c '^ok ' build-fuzz/fuzz.out))); fail=$((fail + $(grep -c '^not ok ' build-fuzz/fuzz.out)))
  else
    tail -30 build-fuzz/make.log; echo "not ok - fuzz build"; fail=$((fail + 1))
  fi
fi

if [ -x build-asan/junction ]; then
  step "integration and browser tests (private network namespaces)"
  # shellcheck disable=SC2086
  tests/integration/run.sh build-asan ${JN_TESTS:-} | tee build-asan/integration.out
  p=$(sed -n 's/^integration: \([0-9]*\) passed.*/\1/p' build-asan/integration.out)
  f=$(sed -n 's/^integration: [0-9]* passed, \([0-9]*\) failed.*/\1/p' build-asan/integration.out)
  [ -n "$p" ] || { p=0; f=1; }
  pass=$((pass + p)); fail=$((fail + f))
fi

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
