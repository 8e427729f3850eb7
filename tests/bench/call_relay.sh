#!/bin/sh
# Relayed calls benchmark (issue #6, Speed): K concurrent calls sipp uac ->
# junction -> sipp uas (trunk uac -> route -> trunk uas, PCMA both legs, so
# junction relays without decoding), RTP flowing both ways: the uac plays
# g711a.pcap (30 ms packets, ~33/s) twice, the uas echoes every packet
# (-rtp_echo). While all K calls are up, for a window of ~10 s:
#   junction's CPU time (utime + stime from /proc/PID/stat) per call and
#   second, and per relayed packet (packet rate from the calls' CDRs);
#   junction's VmRSS growth per call (idle after start -> K calls up);
#   and, as a diagnostic, junction's CPU per call and second with the same
#   K calls up but no RTP (timers and housekeeping alone).
# The floor, measured in the same run on the same traffic: the same sipp
# pair calling each other directly, the uas's answer pointing the RTP at
# bench-udpfloor (tests/bench/bench_udpfloor.c), a minimal UDP relay
# process that sends each packet on to the uas echo and back; its CPU time
# over the same window, per packet it counted. (sipp plays every call's pcap
# from its one media port, so the floor sees one caller and uses two
# sockets, where junction has two per call: with epoll that costs the floor
# nothing per packet, and it is the least a relay must do.)
#   tests/bench/call_relay.sh BUILDDIR [K...]      (default K: 50 200)
# Runs itself inside a private network namespace (tests/lib/netns.sh).
# Use a build without sanitizers for figures that mean something.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: call_relay.sh BUILDDIR [K...]}" && pwd)
shift
ks=${*:-50 200}
if [ "${JN_NETNS:-}" != 1 ]; then
  exec "$src/tests/lib/netns.sh" sh "$0" "$build" $ks
fi
floor_bin=$build/tests/bench/bench-udpfloor
[ -x "$floor_bin" ] || make -s -C "$build" tests/bench/bench-udpfloor >/dev/null || exit 1
work=$(mktemp -d /tmp/jn-bench-callrelay.XXXXXX)
cd "$work" || exit 1
J=15580       # junction
UAC=15590     # sipp uac (trunk:uac)
UAS=15592     # sipp uas (trunk:uas)
UAC_MP=16100  # uac media
ECHO=16000    # uas media: -rtp_echo answers here
FLOOR=17000   # bench-udpfloor
WINDOW=10     # seconds measured while every call is up
HOLD=7000     # ms after the second pcap play starts: calls last ~14 s
hz=$(getconf CLK_TCK)
pcap=/usr/share/sip-tester/g711a.pcap
[ -r "$pcap" ] || { echo "call_relay.sh: $pcap missing (package sip-tester)" >&2; exit 1; }
play="<nop><action><exec play_pcap_audio=\"$pcap\"/></action></nop>"
sed "s/@PT@/8/g; s/@CODEC@/PCMA/g; s|@MEDIA@|$play<pause milliseconds=\"7050\"/>$play|" \
  "$src/tests/integration/sipp/b2bua_uac.xml" >uac.xml
sed "s/@PT@/8/g; s/@CODEC@/PCMA/g; s|@MEDIA@|<pause milliseconds=\"7050\"/>|" \
  "$src/tests/integration/sipp/b2bua_uac.xml" >uac-quiet.xml
sed "s/@PT@/8/g; s/@CODEC@/PCMA/g; s/@MPORT@/[media_port]/" "$src/tests/integration/sipp/b2bua_uas.xml" >uas.xml
sed "s/@PT@/8/g; s/@CODEC@/PCMA/g; s/@MPORT@/$FLOOR/" "$src/tests/integration/sipp/b2bua_uas.xml" >uas-floor.xml

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
sipp_count() {
  v=$(grep -a "$2" "$1" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
  echo "${v:-0}"
}
now() { date +%s.%N; }
# uas_start SCENARIO NAME: a sipp uas in the background, echoing RTP.
uas_start() {
  sipp -sf "$1" -i 127.0.0.1 -p $UAS -mi 127.0.0.1 -mp $ECHO -rtp_echo -nostdin -bg \
    -trace_err -error_file "uas-$2.err" >"uas-$2.out" 2>&1
  UAS_PID=$(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "uas-$2.out")
}
uas_stop() { [ -n "${UAS_PID:-}" ] && kill "$UAS_PID" 2>/dev/null; UAS_PID=; }
# uac_start TARGET K NAME [SCENARIO]: K calls, ramped over ~2 s, each ~14 s.
uac_start() {
  r=$(( $2 / 2 )); [ $r -ge 1 ] || r=1
  timeout 120 sipp "$1" -sf "${4:-uac.xml}" -s 5551000 -i 127.0.0.1 -p $UAC -mi 127.0.0.1 -mp $UAC_MP \
    -r $r -m "$2" -l "$2" -d $HOLD -nostdin -timeout 60s \
    -trace_err -error_file "uac-$3.err" >"uac-$3.out" 2>&1 &
  UAC_PID=$!
}

cat >jn.conf <<CONF
[general]
log_level = warn
cdr_file = $work/cdr.jsonl
[api]
http_listen = 127.0.0.1:18590
[websocket]
listen =
[sip]
udp_listen = 127.0.0.1:$J
tcp_listen =
[media]
rtp_port_min = 30000
rtp_port_max = 39999
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

rc=0
last_ratio= last_rss=
for k in $ks; do
  # --- junction, with RTP; then the same calls without RTP -----------------
  # junction_phase SCENARIO NAME: fresh junction and uas, K calls; sets
  # jt (CPU ticks in the window), js/je (window), rss0/rss1, uac_rc.
  junction_phase() {
    rm -f cdr.jsonl
    "$build/junction" --config jn.conf >"jn-$2.log" 2>&1 &
    jpid=$!
    i=0
    while ! curl -sf http://127.0.0.1:18590/api/v1/health >/dev/null 2>&1; do
      i=$((i + 1)); [ $i -gt 100 ] && { echo "junction did not start" >&2; cat "jn-$2.log" >&2; exit 1; }
      sleep 0.1
    done
    sleep 0.5
    rss0=$(rss $jpid)
    uas_start uas.xml "$2"
    uac_start 127.0.0.1:$J "$k" "$2" "$1"
    sleep 3
    c0=$(cpu $jpid); js=$(now)
    sleep $WINDOW
    c1=$(cpu $jpid); je=$(now); rss1=$(rss $jpid)
    jt=$((c1 - c0))
    wait $UAC_PID; uac_rc=$?
    uas_stop
    kill -TERM $jpid; wait $jpid || echo "# junction exit status $? after $2" >&2
  }
  junction_phase uac-quiet.xml "quiet$k"
  q_us=$(awk -v t="$jt" -v s="$js" -v e="$je" -v k="$k" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz * 1e6 / (k * (e - s)) }')
  q_ok=$(sipp_count "uac-quiet$k.out" 'Successful call')
  junction_phase uac.xml "jn$k"
  t0=$js t1=$je
  j_ok=$(sipp_count "uac-jn$k.out" 'Successful call'); j_fail=$(sipp_count "uac-jn$k.out" 'Failed call')
  # Relayed packets per second of call, from the CDRs: what junction
  # received on both legs, over the calls' durations.
  pps=$(python3 -c '
import json, sys
pk = dur = 0; relay = 0
for l in open("cdr.jsonl"):
    r = json.loads(l)
    pk += sum(g["packets_received"] for g in r["legs"])
    dur += r["duration_ms"] / 1000
    relay += r["media"] == "relay"
print("%.2f %d" % (pk / dur if dur else 0, relay))')
  set -- $pps
  j_pps=$1 j_relay=$2

  # --- floor: the same sipp traffic through bench-udpfloor ------------------
  "$floor_bin" $FLOOR $ECHO >"floor-$k.out" 2>&1 &
  fpid=$!
  i=0
  while ! grep -q '^ready' "floor-$k.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 50 ] && { echo "bench-udpfloor did not start" >&2; exit 1; }
    sleep 0.1
  done
  uas_start uas-floor.xml "floor$k"
  uac_start 127.0.0.1:$UAS "$k" "floor$k"
  sleep 3
  kill -USR1 $fpid; f0=$(cpu $fpid); s0=$(now)
  sleep $WINDOW
  kill -USR1 $fpid; f1=$(cpu $fpid); s1=$(now)
  wait $UAC_PID; floor_uac_rc=$?
  uas_stop
  kill -TERM $fpid; wait $fpid
  f_ok=$(sipp_count "uac-floor$k.out" 'Successful call')
  set -- $(awk '/^packets/ {print $2}' "floor-$k.out")
  f_packets=$(( $2 - $1 ))

  out=$(awk -v k="$k" -v hz="$hz" -v js="$t0" -v je="$t1" -v pps="$j_pps" \
      -v ft="$((f1 - f0))" -v q="$q_us" -v qok="$q_ok" -v fs="$s0" -v fe="$s1" -v fp="$f_packets" -v r0="$rss0" -v r1="$rss1" \
      -v ok="$j_ok" -v failed="$j_fail" -v relay="$j_relay" -v jt="$jt" 'BEGIN {
    jw = je - js; fw = fe - fs;
    jcpu = jt / hz * 1e6; fcpu = ft / hz * 1e6;
    printf "bench: relay_k%d_junction_failed %d calls (%d ok, %d relayed without decoding)\n", k, failed, ok, relay;
    printf "bench: relay_k%d_junction_cpu_per_call %.1f us/s\n", k, jcpu / (k * jw);
    printf "bench: relay_k%d_floor_cpu_per_call %.1f us/s\n", k, fcpu / (k * fw);
    printf "bench: relay_k%d_junction_cpu_per_call_no_rtp %.1f us/s (the same calls up, no RTP; %d ok)\n", k, q, qok;
    jpk = pps * k * jw;
    if (jpk > 0) printf "bench: relay_k%d_junction_cpu_per_packet %.0f ns (%.0f packets/s)\n", k, jcpu * 1e3 / jpk, jpk / jw;
    if (fp > 0) printf "bench: relay_k%d_floor_cpu_per_packet %.0f ns (%.0f packets/s)\n", k, fcpu * 1e3 / fp, fp / fw;
    printf "bench: relay_k%d_rss_kib_per_call %.1f KiB (%d -> %d KiB)\n", k, (r1 - r0) / k, r0, r1;
    if (jpk > 0 && fp > 0 && fcpu > 0)
      printf "ratio: relay_k%d_cpu_vs_floor %.2f (goal <= 2)\n", k, (jcpu / jpk) / (fcpu / fp);
  }')
  echo "$out"
  last_ratio=$(echo "$out" | awk '/^ratio:/ {print $3}')
  last_rss=$(echo "$out" | awk '/rss_kib_per_call/ {print $3}')
  echo "# K=$k: junction sipp exit $uac_rc, floor sipp exit $floor_uac_rc ($f_ok ok)"
  [ "$uac_rc" -eq 0 ] && [ "$j_fail" -eq 0 ] && [ "$j_ok" -eq "$k" ] || rc=1
done
[ -n "$last_ratio" ] && echo "ratio: relay_cpu_vs_floor $last_ratio (goal <= 2)"
[ -n "$last_rss" ] && echo "bench: relay_rss_kib_per_call $last_rss KiB (goal <= 64)"
echo "# work dir $work"
[ $rc -eq 0 ] || exit 1
[ -n "${JN_BENCH_KEEP:-}" ] || rm -rf "$work"
