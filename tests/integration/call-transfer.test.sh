#!/bin/sh
# Blind transfer (REFER, RFC 3515) through junction's B2BUA with three sipp
# trunks: A (trunk:pstn) calls 200, routed to B (trunk:b), which answers and
# then REFERs its dialog to 300, which trunk:b may dial (-> trunk:c, sipp C).
# Cases:
#  ok:      202, NOTIFY "100 Trying", C answers, NOTIFY "200 OK" terminated,
#           junction's BYE to B; A (playing PCMA) is then connected to C
#           (RTP echo): A's BYE reaches C; one CDR line shows C's media.
#  refused: REFER to 250 (no route from trunk:b) -> 404/403; the call goes
#           on and A's BYE reaches B.
#  busy:    C answers 486 -> NOTIFY "486 Busy Here" terminated; the call
#           A <-> B goes on and A's BYE reaches B.
#  leave:   B hangs up right after the 202 (C answers 1 s later): the
#           transfer still completes, and A's BYE reaches C.
#  gone-busy: B leaves after the 202 and C then answers 486: nobody is
#           left to tell, so junction hangs A up (CDR failed, 486).
#  hold:    B holds A first (re-INVITE sendonly, passed on to A), then
#           REFERs: after the transfer junction resumes A (re-INVITE
#           sendrecv), and A's BYE reaches C.
#  twice:   B's REFER without Refer-To -> 400; a second REFER while its
#           transfer is pending (C answers in 1 s) -> 491; the first still
#           completes.
#  caller:  the caller A REFERs its dialog to 301 (trunk:pstn may dial 3xx
#           too): NOTIFY 100/200 and BYE to A; B is then connected to C,
#           and C's BYE reaches B.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 27
cd "$JN_WORK"
J=127.0.0.1:15960
A=15970
B=15972
C=15974
S=$JN_SRCDIR/tests/integration/sipp
pcap=/usr/share/sip-tester/g711a.pcap

cat >jn.conf <<CONF
[general]
cdr_file = $JN_WORK/cdr.jsonl
[api]
http_listen = 127.0.0.1:18960
[websocket]
listen =
[sip]
udp_listen = $J
tcp_listen =
[media]
codecs = pcma
[trunk:pstn]
host = 127.0.0.1
port = $A
[trunk:b]
host = 127.0.0.1
port = $B
[trunk:c]
host = 127.0.0.1
port = $C
[route:to-b]
match = ^2[0-9]+\$
from = trunk:pstn
target = trunk:b
[route:b-to-c]
match = ^3[0-9]+\$
from = trunk:b
target = trunk:c
[route:pstn-to-c]
match = ^3[0-9]+\$
from = trunk:pstn
target = trunk:c
CONF
play="<nop><action><exec play_pcap_audio=\"$pcap\"/></action></nop>"
sed "s/@PT@/8/g; s/@CODEC@/PCMA/g; s|@MEDIA@|$play|" "$S/b2bua_uac.xml" >a.xml

if ! jn_start jn.conf jn.log 18960; then
  tap_not_ok "junction starts"; tap_done; exit 1
fi

# sipp_run NAME ARGS...: one sipp, traces in NAME.msg / NAME.err / NAME.out.
sipp_run() {
  sn=$1; shift
  timeout 40 sipp "$@" -i 127.0.0.1 -m 1 -nostdin -timeout 30s -timeout_error -trace_msg -message_file "$sn.msg" \
    -trace_err -error_file "$sn.err" >"$sn.out" 2>&1
}
# xfer CASE B_SCENARIO REFER_TO C_SCENARIO|- C_DELAY_MS A_MS [A_SCENARIO]:
# one transfer case; sets a_rc, b_rc, c_rc (c_rc 0 when no C runs).
xfer() {
  k=$1
  sed "s|@REFER_TO@|$3|" "$S/$2" >"b-$k.xml"
  c_rc=0; cpid=
  if [ "$4" != - ]; then
    sed "s/@DELAY@/$5/" "$S/$4" >"c-$k.xml"
    sipp_run "c-$k" -sf "c-$k.xml" -p $C -mp 16240 -rtp_echo &
    cpid=$!
  fi
  sipp_run "b-$k" -sf "b-$k.xml" -p $B -mp 16220 &
  bpid=$!
  sleep 0.3
  sipp_run "a-$k" "$J" -sf "${7:-a.xml}" -s 200 -p $A -mp 16200 -d "$6"
  a_rc=$?
  wait $bpid; b_rc=$?
  if [ -n "$cpid" ]; then wait $cpid; c_rc=$?; fi
}
cdr_lines() { wc -l <cdr.jsonl 2>/dev/null || echo 0; }
# cdr_wait N: until the CDR file has N lines (the writer fsyncs first).
cdr_wait() { i=0; while [ "$(cdr_lines)" -lt "$1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done; }
# cdr_last PYTHON_CONDITION: true when the last CDR line r satisfies it.
cdr_last() {
  python3 -c '
import json, sys
r = json.loads(open("cdr.jsonl").readlines()[-1])
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}

# recvd NAME.msg: what sipp received, in order, one word each: a request's
# method (NOTIFY:CODE with its sipfrag's status) or a response's status.
recvd() {
  python3 -c '
import re, sys
out = []
for m in open(sys.argv[1], errors="replace", newline="").read().split("-" * 47)[1:]:
    if "message received" not in m:
        continue
    msg = m.split("\n\n", 1)[1] if "\n\n" in m else ""
    first = msg.split("\r\n", 1)[0].split(" ")
    if first[0] == "SIP/2.0":
        out.append(first[1])
    elif first[0] == "NOTIFY":
        frag = re.search(r"\r\n\r\nSIP/2.0 (\d+)", msg)
        out.append("NOTIFY:" + (frag.group(1) if frag else "?"))
    else:
        out.append(first[0])
print(" ".join(out))' "$1"
}
# first_ruri NAME.msg: the Request-URI of the first INVITE received.
first_ruri() { sed -n 's/^INVITE \([^ ]*\) SIP\/2.0.*/\1/p' "$1" | head -1; }
n=0

# ---- ok: B transfers A to C (300) and is hung up; A then talks to C.
xfer ok xfer_b_ok.xml '<sip:300@127.0.0.1>' xfer_c.xml 0 3000
tap_check "ok: A answered and hung up (sipp exit $a_rc); B got its NOTIFYs and BYE (exit $b_rc); C answered and got the BYE (exit $c_rc)" \
  test "$a_rc" -eq 0 -a "$b_rc" -eq 0 -a "$c_rc" -eq 0
r=$(recvd b-ok.msg)
tap_check "ok: B received: $r" test "$r" = "INVITE ACK 202 NOTIFY:100 NOTIFY:200 BYE"
r=$(recvd c-ok.msg); u=$(first_ruri c-ok.msg)
tap_check "ok: C (trunk:c) was called at $u by junction and received: $r" \
  test "$u" = "sip:300@127.0.0.1:$C" -a "$r" = "INVITE ACK BYE"
n=$((n + 1)); cdr_wait $n
tap_check "ok: one CDR line, trunk:pstn -> 200 (route to-b), normal, PCMA relayed, transfer \"blind by trunk:b to 300 (trunk:c)\"" \
  cdr_last 'r["caller"] == "trunk:pstn" and r["callee"] == "200" and r["route"] == "to-b" and r["cause"] == "normal" and r["media"] == "relay" and r.get("transfer") == "blind by trunk:b to 300 (trunk:c)"'
# B sends no RTP; only C (echoing A) does: any packet junction sent A and
# any the final b leg received came through C after the transfer.
tap_check "ok: ... its legs are A and C: A was sent C's echo, C's leg received it" \
  cdr_last 'r["legs"][0]["packets_sent"] >= 20 and r["legs"][1]["packets_received"] >= 20'
tap_diag "$(tail -1 cdr.jsonl)"

# ---- refused: 250 is a number trunk:b may not dial.
xfer refused xfer_b_refused.xml '<sip:250@127.0.0.1>' - 0 2000
r=$(recvd b-refused.msg)
tap_check "refused: A's call went on and A hung up (exit $a_rc); B received: $r (exit $b_rc)" \
  sh -c "test $a_rc -eq 0 -a $b_rc -eq 0 && echo '$r' | grep -qx 'INVITE ACK 40[34] BYE'"
n=$((n + 1)); cdr_wait $n
tap_check "refused: CDR line normal, caller hung up, B was the callee to the end, no transfer" \
  cdr_last 'r["cause"] == "normal" and r["reason"] == "caller hung up" and r["target"] == "trunk:b" and "transfer" not in r'

# ---- busy: C answers 486; the call A <-> B goes on.
xfer busy xfer_b_busy.xml '<sip:300@127.0.0.1>' xfer_c_busy.xml 0 2000
r=$(recvd b-busy.msg); rc_=$(recvd c-busy.msg)
tap_check "busy: A hung up normally (exit $a_rc); C said 486 (exit $c_rc, received: $rc_); B received: $r (exit $b_rc)" \
  test "$a_rc" -eq 0 -a "$b_rc" -eq 0 -a "$c_rc" -eq 0 -a "$r" = "INVITE ACK 202 NOTIFY:100 NOTIFY:486 BYE" -a "$rc_" = "INVITE ACK"
tap_check "busy: the failure NOTIFY says \"SIP/2.0 486 Busy Here\", Subscription-State terminated" \
  sh -c "grep -q '^SIP/2.0 486 Busy Here' b-busy.msg && grep -q '^Subscription-State: terminated' b-busy.msg"
n=$((n + 1)); cdr_wait $n
tap_check "busy: CDR line normal, caller hung up, no transfer" cdr_last 'r["cause"] == "normal" and r["reason"] == "caller hung up" and "transfer" not in r'

# ---- leave: B hangs up after the 202 while C still rings (answers in 1 s).
xfer leave xfer_b_leave.xml '<sip:300@127.0.0.1>' xfer_c.xml 1000 4000
r=$(recvd b-leave.msg); rc_=$(recvd c-leave.msg)
tap_check "leave: B left after the 202 (exit $b_rc, received: $r)" \
  test "$b_rc" -eq 0 -a "$r" = "INVITE ACK 202 NOTIFY:100 200"
tap_check "leave: the transfer completed: C answered and got A's BYE (exit $c_rc, received: $rc_); A hung up normally (exit $a_rc)" \
  test "$c_rc" -eq 0 -a "$rc_" = "INVITE ACK BYE" -a "$a_rc" -eq 0
n=$((n + 1)); cdr_wait $n
tap_check "leave: CDR line normal, transfer blind by trunk:b, C's leg received A's audio" \
  cdr_last 'r["cause"] == "normal" and r.get("transfer") == "blind by trunk:b to 300 (trunk:c)" and r["legs"][0]["packets_sent"] >= 20 and r["legs"][1]["packets_received"] >= 20'
tap_diag "$(tail -1 cdr.jsonl)"

# ---- gone-busy: B leaves, then C (ringing 1 s) says 486: A is hung up.
xfer gone xfer_b_leave.xml '<sip:300@127.0.0.1>' xfer_c_busy.xml 1000 0 "$S/xfer_a_hungup.xml"
r=$(recvd b-gone.msg); ra=$(recvd a-gone.msg)
tap_check "gone-busy: B left after the 202 (exit $b_rc, received: $r), C said 486 (exit $c_rc)" \
  test "$b_rc" -eq 0 -a "$r" = "INVITE ACK 202 NOTIFY:100 200" -a "$c_rc" -eq 0
tap_check "gone-busy: junction hangs A up (exit $a_rc, received: $ra)" sh -c "test $a_rc -eq 0 && echo '$ra' | grep -q ' BYE\$'"
n=$((n + 1)); cdr_wait $n
tap_check "gone-busy: CDR line failed, 486" cdr_last 'r["cause"] == "failed" and r["sip_code"] == 486'
tap_diag "$(tail -1 cdr.jsonl)"

# ---- hold: B holds, then transfers; A is resumed toward C.
xfer hold xfer_b_hold.xml '<sip:300@127.0.0.1>' xfer_c.xml 0 2000 "$S/xfer_a_held.xml"
r=$(recvd b-hold.msg); ra=$(recvd a-hold.msg); rc_=$(recvd c-hold.msg)
tap_check "hold: B held and transferred (exit $b_rc, received: $r)" \
  sh -c "test $b_rc -eq 0 && echo '$r' | grep -qxE 'INVITE ACK (100 )?200 202 NOTIFY:100 NOTIFY:200 BYE'"
tap_check "hold: A was held (sendonly), resumed (sendrecv) after the transfer, and hung up (exit $a_rc, received: $ra)" \
  sh -c "test $a_rc -eq 0 && echo '$ra' | grep -q ' 200 INVITE ACK INVITE ACK 200\$'"
tap_check "hold: C answered and got A's BYE (exit $c_rc, received: $rc_)" test "$c_rc" -eq 0 -a "$rc_" = "INVITE ACK BYE"
n=$((n + 1)); cdr_wait $n

# ---- twice: a REFER without Refer-To, then one during a pending transfer.
xfer twice xfer_b_twice.xml '<sip:300@127.0.0.1>' xfer_c.xml 1000 3000
r=$(recvd b-twice.msg)
tap_check "twice: B received: $r (exit $b_rc)" test "$b_rc" -eq 0 -a "$r" = "INVITE ACK 400 202 NOTIFY:100 491 NOTIFY:200 BYE"
tap_check "twice: the first transfer completed: C got A's BYE (exit $c_rc, A exit $a_rc)" test "$c_rc" -eq 0 -a "$a_rc" -eq 0
n=$((n + 1)); cdr_wait $n

# ---- caller: A transfers B to C (301); C hangs up 1.5 s after answering.
sed "s|@REFER_TO@|<sip:301@127.0.0.1>|" "$S/xfer_a_refer.xml" >a-caller.xml
sed "s/@HOLD@/1500/" "$S/xfer_c_hangup.xml" >c-caller.xml
sed "s/@PT@/8/g; s/@CODEC@/PCMA/g; s/@MPORT@/[media_port]/" "$S/b2bua_uas.xml" >b-caller.xml
sipp_run c-caller -sf c-caller.xml -p $C -mp 16240 &
cpid=$!
sipp_run b-caller -sf b-caller.xml -p $B -mp 16220 &
bpid=$!
sleep 0.3
sipp_run a-caller "$J" -sf a-caller.xml -s 200 -p $A -mp 16200
a_rc=$?; wait $bpid; b_rc=$?; wait $cpid; c_rc=$?
r=$(recvd a-caller.msg)
tap_check "caller: A's REFER: 202, NOTIFY 100 and 200, junction's BYE (exit $a_rc, received: $r)" \
  sh -c "test $a_rc -eq 0 && echo '$r' | grep -q '200 202 NOTIFY:100 NOTIFY:200 BYE\$'"
rb=$(recvd b-caller.msg); rc_=$(recvd c-caller.msg); u=$(first_ruri c-caller.msg)
tap_check "caller: B is connected to C ($u): C's BYE reaches B (B exit $b_rc, received: $rb; C exit $c_rc, received: $rc_)" \
  test "$b_rc" -eq 0 -a "$c_rc" -eq 0 -a "$rb" = "INVITE ACK BYE" -a "$rc_" = "INVITE ACK 200" -a "$u" = "sip:301@127.0.0.1:$C"
n=$((n + 1)); cdr_wait $n
tap_check "caller: CDR line normal, transfer \"blind by trunk:pstn to 301 (trunk:c)\"" \
  cdr_last 'r["cause"] == "normal" and r.get("transfer") == "blind by trunk:pstn to 301 (trunk:c)"'
tap_diag "$(tail -1 cdr.jsonl)"
tap_check "$n CDR lines in all (one per call)" test "$(cdr_lines)" -eq $n

jn_stop; rc=$?
tap_check "junction exits 0 (no leak or crash under ASan)" test $rc -eq 0
tap_check "no sanitizer report in the log" sh -c "! grep -q Sanitizer jn.log"
tap_done
