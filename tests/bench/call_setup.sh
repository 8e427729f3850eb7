#!/bin/sh
# Call setup benchmark (issue #6, Speed): sipp uac -> SERVER -> sipp uas over
# UDP, calls of length 0 (INVITE/100/180/200/ACK/BYE/200, the INVITE with an
# RTP/AVP PCMU offer), for two servers in the same run:
#   kamailio: a transaction-stateful proxy (tests/bench/kamailio-proxy.cfg,
#             tm + sl + rr + maxfwd, one worker, `-x tlsf -m 1024`); ACK and
#             BYE follow its Record-Route, so it sees all 7 messages twice;
#   junction: the B2BUA, trunk:uac -> route -> trunk:uas, RTP ports
#             allocated on both legs, a CDR line written per call.
# Each server runs REPEAT times (default 3), alternating, each run with a
# fresh server and uas: calls per second reached, CPU time per call from
# /proc/PID/stat (utime + stime; every kamailio process summed) before and
# after, failed calls (sipp's count). Printed: the median run of each, the
# ratio of the medians, then a rate ramp against junction (RATE * 3 calls a
# step, fresh junction each) up to the first step with a failure.
#   tests/bench/call_setup.sh BUILDDIR [RATE] [COUNT] [RAMP...]
#   defaults: 1000 calls/s, 5000 calls, ramp 500 1000 1500 2000 2500 3000;
#   REPEAT=N in the environment changes the repetitions.
# Runs itself inside a private network namespace (tests/lib/netns.sh).
# Use a build without sanitizers for figures that mean something.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: call_setup.sh BUILDDIR [RATE] [COUNT] [RAMP...]}" && pwd)
rate=${2:-1000}
count=${3:-5000}
[ $# -ge 3 ] && shift 3 || shift $#
ramp=${*:-500 1000 1500 2000 2500 3000}
repeat=${REPEAT:-3}
if [ "${JN_NETNS:-}" != 1 ]; then
  exec env REPEAT="$repeat" "$src/tests/lib/netns.sh" sh "$0" "$build" "$rate" "$count" $ramp
fi
work=$(mktemp -d /tmp/jn-bench-callsetup.XXXXXX)
cd "$work" || exit 1
K=15470      # kamailio
J=15480      # junction
UAC=15490    # sipp uac (trunk:uac)
UAS=15492    # sipp uas (trunk:uas)
hz=$(getconf CLK_TCK)
sed "s/@PT@/0/g; s/@CODEC@/PCMU/g; s/@MEDIA@//" "$src/tests/integration/sipp/b2bua_uac.xml" >uac.xml
sed "s/@PT@/0/g; s/@CODEC@/PCMU/g; s/@MPORT@/[media_port]/" "$src/tests/integration/sipp/b2bua_uas.xml" >uas.xml

# cpu PID...: utime + stime in clock ticks, summed over the processes.
cpu() {
  t=0
  for p in "$@"; do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo $t
}
# sipp_count FILE "Successful call"|"Failed call": the last total of that line.
sipp_count() {
  v=$(grep -a "$2" "$1" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
  echo "${v:-0}"
}
uas_start() { # $1 = name
  sipp -sf uas.xml -i 127.0.0.1 -p $UAS -mi 127.0.0.1 -mp 16000 -nostdin -bg \
    -trace_err -error_file "uas-$1.err" >"uas-$1.out" 2>&1
  UAS_PID=$(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "uas-$1.out")
}
uas_stop() { [ -n "${UAS_PID:-}" ] && kill "$UAS_PID" 2>/dev/null; UAS_PID=; sleep 0.2; }
# load NAME TARGET RATE COUNT PID...: one sipp uac load against TARGET,
# measuring the CPU time of PID...; prints "ok failed secs ticks sipp_rc".
load() {
  name=$1; target=$2; r=$3; calls=$4; shift 4
  # An overloaded server leaves calls hanging: bound the run by its length.
  tmo=$((calls / r + 30))
  c0=$(cpu "$@"); t0=$(date +%s.%N)
  timeout $((tmo + 10)) sipp "$target" -sf uac.xml -s 5551000 -i 127.0.0.1 -p $UAC -mi 127.0.0.1 \
    -mp 16100 -r "$r" -m "$calls" -l 3000 -nostdin -timeout ${tmo}s -max_recv_loops 100000 \
    -trace_err -error_file "uac-$name.err" >"uac-$name.out" 2>&1
  src_rc=$?
  t1=$(date +%s.%N); c1=$(cpu "$@")
  echo "$(sipp_count "uac-$name.out" 'Successful call') $(sipp_count "uac-$name.out" 'Failed call')" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $((c1 - c0)) $src_rc"
}

# kamailio_run NAME RATE COUNT: a fresh kamailio and uas, one load.
kamailio_run() {
  mkdir -p krun
  kamailio -x tlsf -m 1024 -M 16 -f "$src/tests/bench/kamailio-proxy.cfg" -A KPORT=$K \
    -A "UAS=\"127.0.0.1:$UAS\"" -DD -E -Y "$work/krun" >>kamailio.log 2>&1 &
  kpid=$!
  i=0
  while ! ss -Hlun "sport = :$K" | grep -q .; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "kamailio did not start" >&2; cat kamailio.log >&2; exit 1; }
    sleep 0.1
  done
  sleep 0.5
  uas_start "$1"
  load "$1" 127.0.0.1:$K "$2" "$3" $kpid $(pgrep -P $kpid)
  uas_stop
  kill -TERM $kpid; wait $kpid 2>/dev/null
}

# junction: trunk:uac is sipp's caller (recognised by its source port),
# trunk:uas the callee; every number from trunk:uac goes to trunk:uas.
cat >jn.conf <<CONF
[general]
log_level = warn
cdr_file = $work/cdr.jsonl
[api]
http_listen = 127.0.0.1:18490
[websocket]
listen =
[sip]
udp_listen = 127.0.0.1:$J
tcp_listen =
[media]
rtp_port_min = 30000
rtp_port_max = 59999
[trunk:uac]
host = 127.0.0.1
port = $UAC
max_calls = 100000
[trunk:uas]
host = 127.0.0.1
port = $UAS
max_calls = 100000
[route:b2bua]
match = ^.*\$
from = trunk:uac
target = trunk:uas
CONF
# junction_run NAME RATE COUNT: a fresh junction and uas, one load.
junction_run() {
  "$build/junction" --config jn.conf >>jn.log 2>&1 &
  jpid=$!
  i=0
  while ! curl -sf http://127.0.0.1:18490/api/v1/health >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "junction did not start" >&2; cat jn.log >&2; exit 1; }
    sleep 0.1
  done
  uas_start "$1"
  load "$1" 127.0.0.1:$J "$2" "$3" $jpid
  uas_stop
  if kill -TERM $jpid 2>/dev/null; then
    wait $jpid; st=$?
  else
    wait $jpid; st=$?; echo "# junction died during $1 (status $st); see $work/jn.log" >&2
  fi
  [ $st -eq 0 ] || { echo "# junction exit status $st after $1" >&2; echo "$1 $st" >>jn-bad; }
}


# --- kamailio and junction, alternating ------------------------------------
: >k.runs; : >j.runs
rep=1
while [ $rep -le "$repeat" ]; do
  kamailio_run "kamailio$rep" "$rate" "$count" >>k.runs
  junction_run "junction$rep" "$rate" "$count" >>j.runs
  rep=$((rep + 1))
done
# report NAME FILE: one line per run (ok failed secs ticks rc) -> figures of
# the median run by CPU per call; prints its CPU per call last, for the ratio.
report() {
  awk -v name="$1" -v hz="$hz" '{
      us = $1 > 0 ? $4 / hz * 1e6 / $1 : 1e12
      printf "%s %s %s %s %s %s\n", us, $1, $2, $3, $4, $5
    }' "$2" | sort -g >"$2.sorted"
  awk -v name="$1" -v hz="$hz" '{ all = all sprintf(" %.0f", $1); fail += $3; line[NR] = $0 }
    END {
      split(line[int((NR + 1) / 2)], m, " ")
      printf "bench: call_setup_%s_cps %.0f calls/s\n", name, m[2] / m[4]
      printf "bench: call_setup_%s_failed %d calls (all %d runs)\n", name, fail, NR
      printf "bench: call_setup_%s_cpu_us_per_call %.1f us (median; runs:%s)\n", name, m[1], all
    }' "$2.sorted"
}
report kamailio k.runs
report junction j.runs
k_us=$(awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' k.runs.sorted)
j_us=$(awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' j.runs.sorted)
awk -v k="$k_us" -v j="$j_us" 'BEGIN {
  if (k > 0 && k < 1e12 && j < 1e12) printf "ratio: call_setup_cpu_vs_kamailio %.2f (goal <= 2)\n", j / k }'

# --- ramp: the highest rate junction holds with 0 failures -----------------
best=0
for r in $ramp; do
  set -- $(junction_run "ramp$r" "$r" $((r * 3)))
  echo "# ramp: $r calls/s asked: $1 ok, $2 failed, $(awk -v n="$1" -v s="$3" 'BEGIN { printf "%.0f", n / s }') calls/s reached"
  [ "$2" -eq 0 ] && [ "$1" -eq $((r * 3)) ] || break
  best=$r
done
echo "bench: call_setup_junction_max_cps_0fail $best calls/s"
sipp_rc=$(awk '$5 != 0 { bad = 1 } END { print bad + 0 }' k.runs j.runs)
echo "# work dir $work"
[ "$sipp_rc" -eq 0 ] || { echo "# a sipp run exited non-zero (uac-*.out, uac-*.err)" >&2; exit 1; }
[ ! -e jn-bad ] || { echo "# junction did not exit 0 every time (jn.log)" >&2; exit 1; }
[ -n "${JN_BENCH_KEEP:-}" ] || rm -rf "$work"
