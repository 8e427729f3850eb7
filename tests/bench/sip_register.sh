#!/bin/sh
# Registrar benchmark: sipp registers (REGISTER -> 401 -> REGISTER with
# digest -> 200) over UDP at a fixed rate against junction, and this prints
# the rate reached and junction's CPU time per SIP request, read from
# /proc/PID/stat (utime + stime) before and after the run.
#   tests/bench/sip_register.sh BUILDDIR [RATE] [COUNT]
# Runs itself inside a private network namespace (tests/lib/netns.sh).
# Use a build without sanitizers for figures that mean something.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: sip_register.sh BUILDDIR [RATE] [COUNT]}" && pwd)
rate=${2:-2000}
count=${3:-20000}
if [ "${JN_NETNS:-}" != 1 ]; then
  exec "$src/tests/lib/netns.sh" sh "$0" "$build" "$rate" "$count"
fi
work=$(mktemp -d /tmp/jn-bench-sipreg.XXXXXX)
cd "$work" || exit 1
cat >jn.conf <<CONF
[general]
log_level = warn
[api]
http_listen = 127.0.0.1:18480
[websocket]
listen =
[sip]
udp_listen = 127.0.0.1:15460
tcp_listen =
auth_algorithms = MD5
[user:alice]
password = bench-pw
CONF
"$build/junction" --config jn.conf >jn.log 2>&1 &
pid=$!
i=0
while ! curl -sf http://127.0.0.1:18480/api/v1/health >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt 100 ] && { echo "junction did not start" >&2; cat jn.log >&2; exit 1; }
  sleep 0.1
done
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
timeout 300 sipp 127.0.0.1:15460 -sf "$src/tests/integration/sipp/register_auth.xml" -s alice \
  -au alice -ap bench-pw -i 127.0.0.1 -p 15461 -r "$rate" -m "$count" -l 2000 -nostdin \
  -timeout 240s -trace_stat -stf stat.csv >sipp.out 2>&1
src_rc=$?
t1=$(date +%s.%N); c1=$(cpu)
kill -TERM $pid; wait $pid
ok=$(grep -a 'Successful call' sipp.out | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
failed=$(grep -a 'Failed call' sipp.out | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
awk -v ok="${ok:-0}" -v failed="${failed:-0}" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v hz="$ticks" 'BEGIN {
  secs = t1 - t0; reqs = ok * 2;
  printf "bench: sip_register_rate %.0f registrations/s\n", ok / secs;
  printf "bench: sip_register_failed %d calls\n", failed;
  if (reqs > 0) {
    per_req = (c1 - c0) / hz * 1e6 / reqs;
    printf "bench: sip_register_cpu_per_request %.1f us\n", per_req;
    # One registration is two REGISTERs (challenged, then answered).
    if (per_req > 0) {
      printf "bench: sip_register_per_core %.0f registrations/s (from CPU time)\n", 1e6 / (2 * per_req);
      printf "ratio: sip_register_per_core_vs_goal %.2f (goal >= 1.0)\n", 1e6 / (2 * per_req) / 20000;
    }
  }
}'
[ "$src_rc" -eq 0 ] || { echo "# sipp exited $src_rc; output in $work" >&2; exit 1; }
rm -rf "$work"
