#!/bin/sh
# Call setup benchmark (issue #6, Speed): sipp uac -> SERVER -> sipp uas over
# UDP, calls of length 0 (INVITE/100/180/200/ACK/BYE/200, the INVITE with an
# RTP/AVP PCMU offer), for two servers in the same run:
#   kamailio: a transaction-stateful proxy (tests/bench/kamailio-proxy.cfg,
#             tm + sl + rr + maxfwd, one worker, `-x tlsf -m 1024`);
#   junction: the B2BUA, trunk uac -> route -> trunk uas, media ports
#             allocated on both legs.
# For each: calls per second reached, CPU time per call from /proc/PID/stat
# (utime + stime, every kamailio process summed) before and after, failed
# calls (sipp's count). Then the CPU ratio, and a short rate ramp against
# junction that finds the highest rate with 0 failures.
#   tests/bench/call_setup.sh BUILDDIR [RATE] [COUNT] [RAMP...]
# Runs itself inside a private network namespace (tests/lib/netns.sh).
# Use a build without sanitizers for figures that mean something.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: call_setup.sh BUILDDIR [RATE] [COUNT] [RAMP...]}" && pwd)
rate=${2:-1000}
count=${3:-5000}
[ $# -ge 3 ] && shift 3 || shift $#
ramp=${*:-500 1000 1500 2000}
if [ "${JN_NETNS:-}" != 1 ]; then
  exec "$src/tests/lib/netns.sh" sh "$0" "$build" "$rate" "$count" $ramp
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
# run NAME TARGET RATE COUNT PID...: one sipp uac load against TARGET,
# measuring the CPU time of PID...; prints "ok failed secs ticks".
run() {
  name=$1; target=$2; r=$3; n=$4; shift 4
  c0=$(cpu "$@"); t0=$(date +%s.%N)
  timeout 300 sipp "$target" -sf uac.xml -s 5551000 -i 127.0.0.1 -p $UAC -mi 127.0.0.1 -mp 16100 \
    -r "$r" -m "$n" -l 3000 -nostdin -timeout 240s -max_recv_loops 100000 \
    -trace_err -error_file "uac-$name.err" >"uac-$name.out" 2>&1
  src_rc=$?
  t1=$(date +%s.%N); c1=$(cpu "$@")
  # sipp's timer: the last call may linger for its own timeout; wall time is sipp's.
  echo "$(sipp_count "uac-$name.out" 'Successful call') $(sipp_count "uac-$name.out" 'Failed call') \
    $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $((c1 - c0)) $src_rc"
}

# --- kamailio --------------------------------------------------------------
mkdir -p krun
kamailio -x tlsf -m 1024 -M 16 -f "$src/tests/bench/kamailio-proxy.cfg" -A KPORT=$K -A "UAS=\"127.0.0.1:$UAS\"" \
  -DD -E -Y "$work/krun" >kamailio.log 2>&1 &
kpid=$!
i=0
while ! grep -q "127.0.0.1:$K " /proc/net/udp 2>/dev/null && ! ss -Hlun "sport = :$K" | grep -q .; do
  i=$((i + 1)); [ $i -gt 100 ] && { echo "kamailio did not start" >&2; cat kamailio.log >&2; exit 1; }
  sleep 0.1
done
sleep 0.5
kpids="$kpid $(pgrep -P $kpid | tr '\n' ' ')"
uas_start kamailio
set -- $(run kamailio 127.0.0.1:$K "$rate" "$count" $kpids)
k_ok=$1 k_fail=$2 k_secs=$3 k_ticks=$4 k_rc=$5
uas_stop
kill -TERM $kpid; wait $kpid 2>/dev/null

awk -v ok="$k_ok" -v failed="$k_fail" -v secs="$k_secs" -v ticks="$k_ticks" -v hz="$hz" 'BEGIN {
  printf "bench: call_setup_kamailio_cps %.0f calls/s\n", ok / secs;
  printf "bench: call_setup_kamailio_failed %d calls\n", failed;
  if (ok > 0) printf "bench: call_setup_kamailio_cpu_us_per_call %.1f us\n", ticks / hz * 1e6 / ok;
}'

# --- junction --------------------------------------------------------------
# jn_conf: trunk:uac is sipp's caller (recognised by its source port),
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
jn_start() {
  "$build/junction" --config jn.conf >>jn.log 2>&1 &
  jpid=$!
  i=0
  while ! curl -sf http://127.0.0.1:18490/api/v1/health >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "junction did not start" >&2; cat jn.log >&2; exit 1; }
    sleep 0.1
  done
}
jn_stop() { kill -TERM $jpid; wait $jpid 2>/dev/null; }
jn_start
uas_start junction
set -- $(run junction 127.0.0.1:$J "$rate" "$count" $jpid)
j_ok=$1 j_fail=$2 j_secs=$3 j_ticks=$4 j_rc=$5
uas_stop
jn_stop

awk -v ok="$j_ok" -v failed="$j_fail" -v secs="$j_secs" -v ticks="$j_ticks" -v hz="$hz" \
    -v kok="$k_ok" -v kticks="$k_ticks" 'BEGIN {
  printf "bench: call_setup_junction_cps %.0f calls/s\n", ok / secs;
  printf "bench: call_setup_junction_failed %d calls\n", failed;
  if (ok > 0) {
    us = ticks / hz * 1e6 / ok;
    printf "bench: call_setup_junction_cpu_us_per_call %.1f us\n", us;
    if (kok > 0 && kticks > 0)
      printf "ratio: call_setup_cpu_vs_kamailio %.2f (goal <= 2)\n", us / (kticks / hz * 1e6 / kok);
  }
}'

# --- ramp: the highest rate junction holds with 0 failures -----------------
# Each step is a fresh junction and uas, RATE * 3 calls (about 3 s).
best=0
for r in $ramp; do
  jn_start
  uas_start "ramp$r"
  set -- $(run "ramp$r" 127.0.0.1:$J "$r" $((r * 3)) $jpid)
  uas_stop
  jn_stop
  echo "# ramp: $r calls/s asked: $1 ok, $2 failed, $(awk -v n="$1" -v s="$3" 'BEGIN { printf "%.0f", n / s }') calls/s reached"
  [ "$2" -eq 0 ] && [ "$1" -eq $((r * 3)) ] || break
  best=$r
done
echo "bench: call_setup_junction_max_cps_0fail $best calls/s"
echo "# kamailio: sipp exit $k_rc; junction: sipp exit $j_rc; work dir $work"
[ "$k_rc" -eq 0 ] && [ "$j_rc" -eq 0 ] || exit 1
[ -n "${JN_BENCH_KEEP:-}" ] || rm -rf "$work"
