#!/bin/sh
# Runs each libFuzzer target for FUZZ_SECONDS (default 20) on a copy of its
# seed corpus. Prints one TAP line per target. Needs a --enable-fuzzing build.
secs=${FUZZ_SECONDS:-20}
src=${JN_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0; fail=0
echo "1..$#"
for t in "$@"; do
  n=$((n + 1))
  name=$(basename "$t"); name=${name#fuzz-}
  work=$(mktemp -d)
  [ -d "$src/tests/fuzz/corpus/$name" ] && cp -r "$src/tests/fuzz/corpus/$name/." "$work/"
  dict=""; [ -f "$src/tests/fuzz/$name.dict" ] && dict="-dict=$src/tests/fuzz/$name.dict"
  if ./"$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$work/crash-" $dict "$work" >"$work.log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work.log" | grep -o '[0-9]*$')
    [ -z "$execs" ] && execs=$(grep -o '#[0-9]*' "$work.log" | tail -1 | tr -d '#')
    echo "ok $n - fuzz $name ${secs}s (${execs:-?} runs)"
  else
    fail=$((fail + 1))
    echo "not ok $n - fuzz $name: crash; reproducer under $work (copy it into tests/fuzz/corpus/$name/)"
    tail -40 "$work.log" | sed 's/^/# /'
  fi
  rm -f "$work.log"
done
[ $fail -eq 0 ]
