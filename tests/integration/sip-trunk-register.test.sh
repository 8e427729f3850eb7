#!/bin/sh
# Outbound registration to a trunk: sipp plays the trunk's registrar
# (401 challenge, verifyauth, 200 with expires=4) and junction must answer
# the challenge and refresh before the 4 s run out, answering again.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 4
cd "$JN_WORK"
cat >jn.conf <<CONF
[api]
http_listen = 127.0.0.1:18680
[websocket]
listen =
[sip]
udp_listen = 127.0.0.1:15660
tcp_listen = 127.0.0.1:15660
[trunk:itsp]
host = 127.0.0.1
port = 15670
register = true
username = trunkuser
password = trunk-pw
expires = 300
CONF
# The registrar listens first; junction registers as soon as it starts.
timeout 30 sipp -sf "$JN_SRCDIR/tests/integration/sipp/trunk_registrar.xml" -i 127.0.0.1 -p 15670 \
  -m 1 -nostdin -timeout 20s -timeout_error -trace_msg -message_file reg.msg >sipp.out 2>&1 &
SIPP=$!
sleep 0.3
if ! jn_start jn.conf jn.log 18680; then
  tap_not_ok "junction starts"; kill $SIPP; tap_done; exit 1
fi
wait $SIPP; rc=$?
tap_check "the trunk's registrar saw two challenged rounds answered right (sipp exit $rc)" test $rc -eq 0
tap_check "... it never had to refuse the credentials" sh -c "! grep -q '^SIP/2.0 403' reg.msg"
tap_check "junction logs the trunk as registered" grep -q 'trunk itsp: registered (200)' jn.log
cseqs=$(grep '^CSeq: [0-9]* REGISTER' reg.msg | awk '{print $2}' | sort -un | tr '\n' ' ')
jn_stop
tap_check "CSeq grows across the REGISTERs of one Call-ID ($cseqs)" test "$cseqs" = "1 2 3 4 "
tap_done
