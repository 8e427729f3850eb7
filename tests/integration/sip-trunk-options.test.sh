#!/bin/sh
# OPTIONS keepalive to a trunk: sipp answers two pings (one a second), then
# goes away; junction reports the trunk reachable, then unreachable once a
# ping times out (T1 = 50 ms, so Timer F is 3.2 s).
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 4
cd "$JN_WORK"
cat >jn.conf <<CONF
[api]
http_listen = 127.0.0.1:18780
[websocket]
listen =
[sip]
udp_listen = 127.0.0.1:15760
tcp_listen = 127.0.0.1:15760
t1 = 50
[trunk:carrier]
host = 127.0.0.1
port = 15770
options_interval = 1
CONF
timeout 30 sipp -sf "$JN_SRCDIR/tests/integration/sipp/options_uas.xml" -i 127.0.0.1 -p 15770 \
  -m 2 -nostdin -timeout 20s -timeout_error -trace_msg -message_file ping.msg >sipp.out 2>&1 &
SIPP=$!
sleep 0.3
if ! jn_start jn.conf jn.log 18780; then
  tap_not_ok "junction starts"; kill $SIPP; tap_done; exit 1
fi
wait $SIPP; rc=$?
tap_check "the trunk got and answered two OPTIONS pings (sipp exit $rc)" test $rc -eq 0
tap_check "junction logs the trunk reachable" grep -q 'trunk carrier: reachable (200)' jn.log
i=0; while [ $i -lt 100 ] && ! grep -q 'trunk carrier: unreachable (408)' jn.log; do sleep 0.1; i=$((i + 1)); done
tap_check "... and unreachable once a ping times out" grep -q 'trunk carrier: unreachable (408)' jn.log
jn_stop; rc=$?
tap_check "junction exits 0" test $rc -eq 0
tap_done
