#!/bin/sh
# Session timers toward a trunk (RFC 4028) with sipp on both sides: a trunk
# caller (sipp uac, 65 s call) reaches a trunk with session_timer = 90
# (sipp, tests/integration/sipp/timer_uas.xml) that answers 422 Min-SE: 120;
# junction asks again with 120 s, gets 200 with refresher=uac and sends its
# refresh re-INVITE after 60 s; the caller's BYE ends both sides. A caller
# asking for 30 s (below the 90 s floor) gets 422 with Min-SE: 90.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 6
cd "$JN_WORK"
J=127.0.0.1:15860

cat >jn.conf <<CONF
[general]
cdr_file = $JN_WORK/cdr.jsonl
[api]
http_listen = 127.0.0.1:18860
[sip]
udp_listen = $J
tcp_listen =
[websocket]
listen =
[media]
rtp_address = 127.0.0.1
rtp_port_min = 28000
rtp_port_max = 28099
[trunk:pstn]
host = 127.0.0.1
port = 15870
[trunk:itsp]
host = 127.0.0.1
port = 15880
codecs = pcmu
session_timer = 90
[route:out]
match = ^9\d+$
from = trunk:pstn
target = trunk:itsp
CONF

if ! jn_start jn.conf jn.log 18860; then
  tap_not_ok "junction starts"; tap_done; exit 1
fi
timeout 100 sipp -sf "$JN_SRCDIR/tests/integration/sipp/timer_uas.xml" -i 127.0.0.1 -p 15880 -m 1 -nostdin \
  -timeout 95s -trace_msg -message_file uas.msg -trace_err -error_file uas.err >uas.out 2>&1 &
UAS=$!
sleep 0.3
timeout 100 sipp "$J" -sn uac -s 9001 -i 127.0.0.1 -p 15870 -m 1 -d 65000 -nostdin -timeout 95s \
  -trace_err -error_file uac.err >uac.out 2>&1
UACRC=$?
wait $UAS
UASRC=$?
tap_check "the caller's 65 s call completes (sipp uac exit 0)" test $UACRC -eq 0
tap_check "the trunk saw 422 retried with 120 s, a refresh re-INVITE, then BYE (sipp uas exit 0)" test $UASRC -eq 0
tap_check "... the refresh came as an INVITE with Session-Expires: 120" \
  sh -c "grep -c '^INVITE ' uas.msg | grep -qx 3"
tap_check "junction logged the session timer" grep -q "session timer 120 s, refresher junction" jn.log

# A caller asking for 30 s: 422 with our Min-SE.
cat >short.xml <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="short-se">
  <send retrans="500"><![CDATA[
INVITE sip:9002@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:pstn@[local_ip]>;tag=[pid]S[call_number]
To: <sip:9002@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:pstn@[local_ip]:[local_port]>
Supported: timer
Session-Expires: 30
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=- 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000

]]></send>
  <recv response="100" optional="true"/>
  <recv response="422">
    <action>
      <ereg regexp="90" search_in="hdr" header="Min-SE:" check_it="true" assign_to="m"/>
    </action>
  </recv>
  <send><![CDATA[
ACK sip:9002@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:pstn@[local_ip]>;tag=[pid]S[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <Reference variables="m"/>
</scenario>
XML
timeout 30 sipp "$J" -sf short.xml -i 127.0.0.1 -p 15870 -m 1 -nostdin -timeout 20s >short.out 2>&1
tap_check "Session-Expires: 30 from a caller: 422 with Min-SE: 90" test $? -eq 0
i=0; while [ "$(wc -l <cdr.jsonl 2>/dev/null || echo 0)" -lt 2 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
tap_check "CDR: the long call normal, the short one rejected 422" test "$(python3 -c '
import json
rs=[json.loads(l) for l in open("cdr.jsonl")]
print(" ".join("%s:%s" % (r["cause"], r["sip_code"]) for r in rs))')" = "normal:None rejected:422"
jn_stop
tap_done
