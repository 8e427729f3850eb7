#!/bin/sh
# Load under the sanitizers: 10,000 registrations with digest auth and
# 10,000 calls (INVITE -> 407 -> ACK -> INVITE with credentials -> 488 ->
# ACK) from sipp over UDP against the ASan+UBSan daemon, then a graceful
# stop. Every transaction must complete (sipp: 0 failed), and the daemon
# must exit 0: LeakSanitizer fails the exit if anything was left behind,
# and any ASan/UBSan report fails the log check. T1 is 50 ms so finished
# transactions also time out (Timers J/H/K) and are freed during the run.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 5
cd "$JN_WORK"
J=127.0.0.1:15860
cat >jn.conf <<CONF
[general]
log_level = warn
cdr_file = $JN_WORK/cdr.jsonl
[api]
http_listen = 127.0.0.1:18880
[websocket]
listen =
[sip]
udp_listen = $J
tcp_listen = $J
auth_algorithms = MD5
t1 = 50
[user:alice]
password = load-pw
max_calls = 10000
[route:echo]
match = ^echo$
target = echo
CONF
if ! jn_start jn.conf jn.log 18880; then
  tap_not_ok "junction starts"; tap_done; exit 1
fi
sipp_count() { # $1 = sipp output, $2 = "Successful call" or "Failed call"
  grep -a "$2" "$1" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}'
}
timeout 120 sipp "$J" -sf "$JN_SRCDIR/tests/integration/sipp/register_auth.xml" -s alice \
  -au alice -ap load-pw -i 127.0.0.1 -p 15861 -r 1000 -m 10000 -l 500 -nostdin -timeout 100s \
  >reg.out 2>&1
rc=$?; ok=$(sipp_count reg.out 'Successful call'); bad=$(sipp_count reg.out 'Failed call')
tap_check "10,000 REGISTERs with digest: sipp exit $rc, ${ok:-0} done, ${bad:-?} failed" \
  test "$rc" -eq 0 -a "${ok:-0}" = 10000

sed "s/@TARGET@/echo/g; s/@CODE@/488/g; s/@V@/0/g" "$JN_SRCDIR/tests/integration/sipp/call_auth.xml" >calls.xml
timeout 120 sipp "$J" -sf calls.xml -s alice -au alice -ap load-pw -auth_uri "echo@$J" \
  -i 127.0.0.1 -p 15862 -r 1000 -m 10000 -l 500 -nostdin -timeout 100s >calls.out 2>&1
rc=$?; ok=$(sipp_count calls.out 'Successful call'); bad=$(sipp_count calls.out 'Failed call')
tap_check "10,000 authenticated calls refused 488 end to end: sipp exit $rc, ${ok:-0} done, ${bad:-?} failed" \
  test "$rc" -eq 0 -a "${ok:-0}" = 10000
tap_check "junction still answers /api/v1/health after the load" \
  curl -sf http://127.0.0.1:18880/api/v1/health -o /dev/null
jn_stop; rc=$?
tap_check "graceful stop exits 0 (LeakSanitizer found nothing left behind)" test $rc -eq 0
tap_check "no sanitizer report in the log" sh -c "! grep -q 'Sanitizer' jn.log"
tap_done
