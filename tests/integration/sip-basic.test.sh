#!/bin/sh
# The SIP stack against real sipp over UDP and TCP: OPTIONS, REGISTER with
# digest auth (right and wrong password), a malformed request, an INVITE
# without credentials (407), and the 407 retransmitted while no ACK comes.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 13
cd "$JN_WORK"
SC="$JN_SRCDIR/tests/integration/sipp"
J=127.0.0.1:15260

cat >jn.conf <<CONF
[api]
http_listen = 127.0.0.1:18280
[websocket]
listen = 127.0.0.1:18281
[sip]
udp_listen = $J
tcp_listen = $J
auth_algorithms = MD5
[user:alice]
password = secret-a
CONF

# sipp SCENARIO PORT [ARGS...]: one call, stops on the first failure;
# message trace in SCENARIO-PORT.msg.
run_sipp() {
  sf=$1; port=$2; shift 2
  timeout 30 sipp "$J" -sf "$SC/$sf" -i 127.0.0.1 -p "$port" -m 1 -nostdin -timeout 20s \
    -timeout_error -max_recv_loops 100 -trace_msg -message_file "$sf-$port.msg" \
    -trace_err -error_file "$sf-$port.err" "$@" >"$sf-$port.out" 2>&1
}

if ! jn_start jn.conf jn.log 18280; then
  tap_not_ok "junction starts"; tap_done; exit 1
fi

run_sipp options.xml 15301; tap_check "OPTIONS over UDP: 200 with Allow, Accept, received/rport" test $? -eq 0
run_sipp options.xml 15302 -t t1; tap_check "OPTIONS over TCP: 200" test $? -eq 0
run_sipp register_auth.xml 15303 -s alice -au alice -ap secret-a
tap_check "REGISTER over UDP: 401 then 200 with the binding's Contact" test $? -eq 0
tap_check "... the challenge is MD5 digest with qop=auth" \
  grep -q 'WWW-Authenticate: Digest realm="junction", nonce="[^"]*", algorithm=MD5, qop="auth"' register_auth.xml-15303.msg
run_sipp register_auth.xml 15304 -s alice -au alice -ap secret-a -t t1
tap_check "REGISTER over TCP: 401 then 200" test $? -eq 0
run_sipp register_badpass.xml 15305 -s alice -au alice -ap wrong
tap_check "REGISTER with a wrong password: 401 then 403" test $? -eq 0
run_sipp register_badpass.xml 15306 -s mallory -au mallory -ap x
tap_check "REGISTER for an unknown user: 401 then 403" test $? -eq 0
run_sipp bad_cseq.xml 15307
tap_check "a malformed CSeq gets 400 with a reason naming CSeq" test $? -eq 0
run_sipp invite.xml 15308
tap_check "INVITE without credentials: 100 then 407, ACK accepted" test $? -eq 0

run_sipp invite_noack.xml 15309; rc=$?
# The 407s sipp saw before it sent its ACK: the first plus Timer G resends
# (at 0.5, 1.5 and 3.5 s while sipp waits 4 s).
n407=$(awk '/message sent/ && /ACK/ {exit} /^SIP\/2.0 407/ {n++} END {print n+0}' invite_noack.xml-15309.msg)
ackline=$(grep -n '^ACK ' invite_noack.xml-15309.msg | head -1 | cut -d: -f1)
after=$(tail -n +"${ackline:-1}" invite_noack.xml-15309.msg | grep -c '^SIP/2.0 407')
tap_check "UDP: the 407 is retransmitted while no ACK comes (saw $n407 before the ACK)" \
  test $rc -eq 0 -a "$n407" -ge 3
tap_check "... and not after the ACK ($after seen)" test "${after:-1}" -eq 0

cat >busy.conf <<CONF
[api]
http_listen = 127.0.0.1:18282
[websocket]
listen =
[sip]
udp_listen = $J
tcp_listen = 127.0.0.1:15261
CONF
"$JUNCTION" --config busy.conf >busy.out 2>&1; rc=$?
tap_check "a SIP port in use: exit 1 and one line naming it" \
  sh -c "test $rc -eq 1 && grep -qx 'junction: cannot listen for SIP/UDP on $J: Address already in use' busy.out"

jn_stop; rc=$?
tap_check "junction exits 0 after the run (no leak or crash under ASan)" test $rc -eq 0
tap_diag "$(grep -c . jn.log) log lines; warnings: $(grep -c ' warn ' jn.log)"
tap_done
