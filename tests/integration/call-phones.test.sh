#!/bin/sh
# Phone to phone through the B2BUA: two registered SIP users on UDP (sipp).
# alice calls bob before bob registered: 480. bob registers (digest) and
# waits; alice calls bob (407, then credentials): junction forks to bob's
# contact with its own INVITE (RTP offer, PCMA first because alice offered
# it), bob answers and echoes RTP, alice plays 3 s of G.711 A-law and hangs
# up. Checks: both sipp scenarios complete, one CDR line user:alice ->
# user:bob, relay, RTP counted both ways on both legs; bob sees alice's
# display_name.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 7
cd "$JN_WORK"
J=127.0.0.1:16360

cat >jn.conf <<CONF
[general]
cdr_file = $JN_WORK/cdr.jsonl
[api]
http_listen = 127.0.0.1:18360
[sip]
udp_listen = $J
tcp_listen =
auth_algorithms = MD5
[websocket]
listen =
[media]
rtp_address = 127.0.0.1
rtp_port_min = 31000
rtp_port_max = 31099
[user:alice]
password = a1ice
display_name = Alice "Al" Liddell
[user:bob]
password = b0b-pass
[route:users]
match = ^(alice|bob)\$
from = user:*
target = user:\$1
CONF

alice() { # alice CODE PORT
  sed "s/@TARGET@/bob/g; s/@CODE@/$1/g" "$JN_SRCDIR/tests/integration/sipp/phone_alice.xml" >"alice-$2.xml"
  [ "$1" = 200 ] || sed -i '/<!--MORE-->/,/<!--\/MORE-->/d' "alice-$2.xml"
  timeout 40 sipp "$J" -sf "alice-$2.xml" -i 127.0.0.1 -p "$2" -mi 127.0.0.1 -mp 31200 -m 1 -nostdin \
    -timeout 30s -s alice -au alice -ap a1ice -auth_uri "bob@$J" -trace_err -error_file "alice-$2.err" \
    >"alice-$2.out" 2>&1
}

if ! jn_start jn.conf jn.log 18360; then
  tap_not_ok "junction starts"; tap_done; exit 1
fi
alice 480 16371
tap_check "bob not registered: alice gets 480" test $? -eq 0

timeout 30 sipp "$J" -sf "$JN_SRCDIR/tests/integration/sipp/phone_bob_reg.xml" -i 127.0.0.1 -p 16380 -m 1 \
  -nostdin -timeout 20s -s bob -au bob -ap b0b-pass -trace_err -error_file bobreg.err >bobreg.out 2>&1
REGRC=$?
timeout 60 sipp -sf "$JN_SRCDIR/tests/integration/sipp/phone_bob.xml" -i 127.0.0.1 -p 16380 -mi 127.0.0.1 \
  -mp 31300 -rtp_echo -m 1 -nostdin -timeout 45s -trace_err -error_file bob.err \
  -trace_msg -message_file bob.msg >bob.out 2>&1 &
BOB=$!
sleep 0.3
alice 200 16372
tap_check "alice's call to bob: 407, answered, 3 s of audio, BYE (sipp exit 0)" test $? -eq 0
wait $BOB
BOBRC=$?
tap_check "bob registered, got junction's INVITE, answered, got the BYE (sipp exits 0)" \
  test $REGRC -eq 0 -a $BOBRC -eq 0
tap_check "... From carries alice's display_name (quotes made safe)" \
  grep -q '^From: "Alice  Al  Liddell" <sip:alice@' bob.msg
tap_check "junction's INVITE to bob offers PCMA first (alice's codec)" \
  sh -c "grep -m1 '^m=audio' bob.msg | grep -q 'RTP/AVP 8 '"

i=0; while [ "$(wc -l <cdr.jsonl 2>/dev/null || echo 0)" -lt 2 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
tap_check "CDR: the unregistered call no_answer/480, the call user:alice -> user:bob relay" test "$(python3 -c '
import json
rs=[json.loads(l) for l in open("cdr.jsonl")]
print(" ".join("%s:%s:%s:%s:%s" % (r["caller"], r["target"], r["cause"], r["sip_code"], r["media"]) for r in rs))')" = \
  "user:alice:user:bob:no_answer:480:none user:alice:user:bob:normal:None:relay"
tap_check "... RTP counted both ways on both legs" python3 -c '
import json, sys
r=[json.loads(l) for l in open("cdr.jsonl")][-1]
ok=all(l["kind"]=="rtp" and l["packets_received"]>50 and l["packets_sent"]>50 for l in r["legs"])
sys.exit(0 if ok else 1)'
jn_stop
tap_done
