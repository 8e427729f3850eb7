#!/bin/sh
# In-call features between a SIP phone and a trunk, both sipp (issue #6):
# the phone (user alice, digest) calls through junction to a trunk, then
#  - re-INVITE a=sendonly -> the trunk gets a re-INVITE with a=sendonly and
#    the phone's 200 says a=recvonly; UPDATE a=inactive -> the trunk gets a
#    re-INVITE a=inactive, the phone's 200 says a=inactive; re-INVITE
#    a=sendrecv -> the same back;
#  - the trunk holds and resumes the same way -> the phone gets junction's
#    re-INVITEs (a=sendonly, then a=sendrecv); the trunk's 200s say
#    a=recvonly, a=sendrecv and carry a usable Contact;
#  - INFO application/dtmf-relay "5" -> the trunk's media port receives
#    RFC 4733 packets (PT 101, event 5; counted by a small UDP listener);
#  - toward a trunk with dtmf = info: the phone's INFO 5 and its RFC 4733
#    key 7 both reach the trunk as one INFO each;
#  - a trunk that answers 302 -> junction follows the Contact to a second
#    sipp, which answers;
#  - a trunk that answers 486 -> the phone gets 486, CDR busy;
#  - CANCEL while the trunk rings -> 487 to the phone, the trunk gets CANCEL,
#    CDR cancelled.
# Scenarios: tests/integration/sipp/feat_*.xml (call_auth.xml for the 486).
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 23
cd "$JN_WORK"
SIPP_DIR="$JN_SRCDIR/tests/integration/sipp"
# Ports of this test only: 191xx signalling, 277xx-278xx media (sipp binds
# -mp and the next three ports: its media ports are 10 apart).
J=127.0.0.1:19160
HTTP=19180
DTMF_PORT=27800

cat >jn.conf <<CONF
[general]
cdr_file = $JN_WORK/cdr.jsonl
[api]
http_listen = 127.0.0.1:$HTTP
[websocket]
listen = 127.0.0.1:19181
[sip]
udp_listen = $J
tcp_listen = $J
auth_algorithms = MD5
[media]
rtp_address = 127.0.0.1
rtp_port_min = 27700
rtp_port_max = 27799
[user:alice]
password = secret-a
[trunk:hold]
host = 127.0.0.1
port = 19170
codecs = pcmu
[trunk:redir]
host = 127.0.0.1
port = 19172
codecs = pcmu
[trunk:busy]
host = 127.0.0.1
port = 19176
codecs = pcmu
[trunk:ring]
host = 127.0.0.1
port = 19178
codecs = pcmu
[trunk:info]
host = 127.0.0.1
port = 19184
codecs = pcmu
dtmf = info
[route:info]
match = ^dtmfinfo$
target = trunk:info
[route:hold]
match = ^feat$
target = trunk:hold
[route:redir]
match = ^redir$
target = trunk:redir
[route:busy]
match = ^busy$
target = trunk:busy
[route:ring]
match = ^ring$
target = trunk:ring
CONF

# The trunk's media port: counts RTP packets and those with PT 101 (RFC
# 4733), notes the events; writes a JSON summary when told to stop.
cat >dtmf_listen.py <<'PY'
import json, signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
st = {"rtp": 0, "te": 0, "events": [], "ends": 0}
def stop(*_):
    with open(sys.argv[2], "w") as f:
        json.dump(st, f)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[2] + ".ready", "w").close()
while True:
    b = s.recv(2048)
    if len(b) < 12 or b[0] >> 6 != 2:
        continue
    st["rtp"] += 1
    if b[1] & 0x7f == 101 and len(b) >= 16:
        st["te"] += 1
        if b[12] not in st["events"]:
            st["events"].append(b[12])
        if b[13] & 0x80:
            st["ends"] += 1
PY

# send4733.py PORT: the key 7 as RFC 4733 (after a few PCMU packets) to
# junction's media port for the phone's leg (run by sipp's exec).
cat >send4733.py <<'PY'
import random, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = ("127.0.0.1", int(sys.argv[1]))
ssrc, seq, ts = random.getrandbits(32), random.getrandbits(16), random.getrandbits(32)
def send(pt, marker, stamp, payload):
    global seq
    s.sendto(struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq, stamp, ssrc) + payload, dst)
    seq = (seq + 1) & 0xffff
for i in range(10):
    send(0, i == 0, ts, b"\xff" * 160); ts = (ts + 160) & 0xffffffff; time.sleep(0.02)
for i in range(8):  # key 7, 160 ms, then the end packet three times
    end = i >= 5
    send(101, i == 0, ts, struct.pack("!BBH", 7, (0x80 if end else 0) | 10, 160 * min(i + 1, 6)))
    time.sleep(0.02)
ts = (ts + 960) & 0xffffffff
for i in range(10):
    send(0, False, ts, b"\xff" * 160); ts = (ts + 160) & 0xffffffff; time.sleep(0.02)
PY

# uas NAME PORT MPORT SCENARIO [SED]: a sipp trunk in the background (pid in
# the variable NAME_pid); @MPORT@ in its SDP is MPORT unless SED sets it.
uas() {
  name=$1; port=$2; mport=$3; sf=$4; ex=${5:-}
  sed "$ex; s/@MPORT@/$mport/g" "$SIPP_DIR/$sf" >"uas-$name.xml"
  timeout 40 sipp -sf "uas-$name.xml" -i 127.0.0.1 -p "$port" -mp "$mport" -m 1 -nostdin -timeout 30s \
    -timeout_error -trace_msg -message_file "uas-$name.msg" -trace_err -error_file "uas-$name.err" \
    >"uas-$name.out" 2>&1 &
  eval "${name}_pid=\$!"
}
# uac NAME TARGET PORT MPORT SCENARIO WAIT [SIPP ARGS...]: alice's call (foreground).
uac() {
  name=$1; target=$2; port=$3; mport=$4; sf=$5; wait=$6; shift 6
  sed "s/@TARGET@/$target/g; s/@WAIT@/$wait/g; s/@CODE@/${CODE:-200}/g; s/@V@/0/g; s/@PT@/0/g; s/@SEND4733@/python3 send4733.py/g" \
    "$SIPP_DIR/$sf" >"uac-$name.xml"
  timeout 40 sipp "$J" -sf "uac-$name.xml" -i 127.0.0.1 -p "$port" -mp "$mport" -m 1 -nostdin -timeout 30s \
    -timeout_error -max_recv_loops 100 -trace_msg -message_file "uac-$name.msg" -trace_err \
    -error_file "uac-$name.err" -s alice -au alice -ap secret-a -auth_uri "$target@$J" "$@" >"uac-$name.out" 2>&1
}
# waitpid PID: its exit code (sipp: 0 = every call succeeded).
waitpid() { wait "$1"; }
# received FILE METHOD: the SIP requests of that method sipp received, one
# message per paragraph (from its -trace_msg file).
received() {
  python3 - "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
for block in re.split(r"\n-{20,}[^\n]*\n", text):
    head, _, msg = block.partition("\n\n")
    if "message received" in head and msg.startswith(sys.argv[2] + " "):
        print(msg.strip() + "\n")
PY
}
cdr_field() { # N FIELD: field of the Nth CDR line (1-based)
  python3 -c "
import json, sys
rs = [json.loads(l) for l in open('cdr.jsonl')]
r = rs[$1 - 1] if len(rs) >= $1 else {}
print(r.get('$2'))" 2>/dev/null
}
wait_cdr() { # N: until the CDR file has N lines (3 s at most)
  i=0; while [ "$(wc -l <cdr.jsonl 2>/dev/null || echo 0)" -lt "$1" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
}

if ! jn_start jn.conf jn.log $HTTP; then
  tap_not_ok "junction starts"; tap_done; exit 1
fi

# ---- hold, resume and DTMF ----
python3 dtmf_listen.py $DTMF_PORT dtmf.json &
DL_PID=$!
i=0; while [ ! -e dtmf.json.ready ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
uas hold 19170 27820 feat_trunk.xml "s/@MPORT@/$DTMF_PORT/g"
sleep 0.3
uac hold feat 19161 27810 feat_caller.xml 1500
rc=$?
tap_check "the phone's call: answered, hold (200 a=recvonly), UPDATE inactive (200 a=inactive), resume (200 a=sendrecv), the trunk's hold and resume passed on, INFO 200, BYE (sipp exit $rc)" \
  test $rc -eq 0
waitpid "$hold_pid"; trc=$?
tap_check "the trunk's side: answered, re-INVITEs sendonly, inactive, sendrecv, its own hold (200 a=recvonly) and resume, BYE (sipp exit $trc)" test $trc -eq 0
python3 - uac-hold.msg >hold-answers.txt <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
for block in re.split(r"\n-{20,}[^\n]*\n", text):
    head, _, msg = block.partition("\n\n")
    if "message received" in head and msg.startswith("SIP/2.0 200") and re.search(r"^CSeq:\s*\d+ (INVITE|UPDATE)", msg, re.M):
        cseq = msg.split("CSeq:", 1)[1].split()[0]
        d = re.findall(r"^a=(sendrecv|sendonly|recvonly|inactive)", msg, re.M)
        print(cseq, d[0] if d else "sendrecv")
PY
tap_check "the phone's 200s to INVITE 2, INVITE 3, UPDATE 4, INVITE 5 say sendrecv, recvonly, inactive, sendrecv ($(sort -u hold-answers.txt | tr '\n' ' '))" \
  test "$(sort -u hold-answers.txt | tr '\n' ' ')" = "2 sendrecv 3 recvonly 4 inactive 5 sendrecv "
received uac-hold.msg INVITE >phone-invites.txt
tap_check "the trunk's hold and resume reach the phone as junction's re-INVITEs a=sendonly, then a=sendrecv" \
  test "$(grep -o '^a=\(sendonly\|sendrecv\|recvonly\|inactive\)' phone-invites.txt | tr '\n' ' ')" = "a=sendonly a=sendrecv "
# junction's 200s to the trunk's own re-INVITEs (CSeq 1 and 2): their Contact is
# the trunk's next remote target (RFC 3261 12.2.1.2) and must be an address.
python3 - uas-hold.msg >trunk-200-contacts.txt <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
for block in re.split(r"\n-{20,}[^\n]*\n", text):
    head, _, msg = block.partition("\n\n")
    m = re.search(r"^CSeq:\s*(\d+) INVITE", msg, re.M)
    if "message received" in head and msg.startswith("SIP/2.0 200") and m and int(m.group(1)) <= 2:
        c = re.search(r"^Contact:\s*(.*)$", msg, re.M)
        print(c.group(1).strip() if c else "(no Contact)")
PY
tap_check "... junction's 200s to the trunk's re-INVITEs carry a usable Contact ($(sort -u trunk-200-contacts.txt | tr '\n' ' '))" \
  sh -c '[ -s trunk-200-contacts.txt ] && ! grep -qv "^<sip:junction@127.0.0.1:19160>$" trunk-200-contacts.txt'
received uas-hold.msg INVITE >trunk-invites.txt
tap_check "the trunk gets four INVITEs: the call, then a=sendonly, a=inactive, a=sendrecv" \
  test "$(grep -o '^a=\(sendonly\|sendrecv\|recvonly\|inactive\)' trunk-invites.txt | tr '\n' ' ')" = "a=sendrecv a=sendonly a=inactive a=sendrecv "
sleep 0.5
kill -TERM $DL_PID 2>/dev/null; wait $DL_PID
tap_diag "trunk media port: $(cat dtmf.json 2>/dev/null)"
tap_check "INFO 5 -> RFC 4733 packets (PT 101, event 5, with an end bit) at the trunk's media port" python3 -c "
import json
s = json.load(open('dtmf.json'))
assert s['te'] >= 3 and s['events'] == [5] and s['ends'] >= 1, s"
received uas-hold.msg INFO >trunk-info.txt
tap_check "... and no INFO to the trunk (its dtmf is rfc4733)" test ! -s trunk-info.txt
wait_cdr 1
tap_check "CDR 1: normal, relay (PCMU both sides)" test "$(cdr_field 1 cause) $(cdr_field 1 media)" = "normal relay"

# ---- DTMF toward a trunk that wants INFO ----
uas info 19184 27900 feat_info_trunk.xml
sleep 0.3
uac info dtmfinfo 19165 27910 feat_info_caller.xml 1000
rc=$?
waitpid "$info_pid"; irc=$?
tap_check "dtmf = info trunk: the phone's INFO 5 and its RFC 4733 key 7 reach the trunk as INFO Signal=5, Signal=7 (sipp exits $rc, $irc)" \
  test $rc -eq 0 -a $irc -eq 0
received uas-info.msg INFO >info-infos.txt
tap_check "... one INFO per key ($(grep -c '^INFO ' info-infos.txt))" test "$(grep -c '^INFO ' info-infos.txt)" -eq 2
wait_cdr 2
tap_check "CDR 2: normal, relay" test "$(cdr_field 2 cause) $(cdr_field 2 media)" = "normal relay"

# ---- 302 followed to a second trunk contact ----
uas second 19174 27830 b2bua_uas.xml 's/@PT@/0/g; s/@CODEC@/PCMU/g'
uas redir 19172 27840 feat_redirect.xml 's/@CONTACT@/sip:second@127.0.0.1:19174/g'
sleep 0.3
uac redir redir 19162 27850 feat_call.xml 1000
rc=$?
tap_check "a call to a trunk that answers 302: answered by the Contact it names (sipp exit $rc)" test $rc -eq 0
waitpid "$redir_pid"; r1=$?
tap_check "... the first contact got its ACK for the 302 (sipp exit $r1)" test $r1 -eq 0
received uas-second.msg INVITE >second-invites.txt
tap_check "... the second got the INVITE to sip:second@127.0.0.1:19174" grep -q '^INVITE sip:second@127.0.0.1:19174 SIP/2.0' second-invites.txt
waitpid "$second_pid"; r2=$?
tap_check "... and the BYE (sipp exit $r2)" test $r2 -eq 0
wait_cdr 3
tap_check "CDR 3: normal, target trunk:redir" test "$(cdr_field 3 cause) $(cdr_field 3 target)" = "normal trunk:redir"

# ---- 486 from the trunk ----
uas busy 19176 27860 feat_busy.xml
sleep 0.3
CODE=486 uac busy busy 19163 27870 call_auth.xml 0
rc=$?
tap_check "a trunk that answers 486: the phone gets 486 (sipp exit $rc)" test $rc -eq 0
waitpid "$busy_pid"
wait_cdr 4
tap_check "CDR 4: busy, 486" test "$(cdr_field 4 cause) $(cdr_field 4 sip_code)" = "busy 486"

# ---- CANCEL while the trunk rings ----
uas ring 19178 27880 feat_ring.xml
sleep 0.3
uac cancel ring 19164 27890 feat_cancel.xml 1000
rc=$?
tap_check "the phone cancels while the trunk rings: 200 for the CANCEL, 487 (sipp exit $rc)" test $rc -eq 0
waitpid "$ring_pid"; r3=$?
tap_check "... the trunk gets CANCEL, answers 487 and gets the ACK (sipp exit $r3)" test $r3 -eq 0
wait_cdr 5
tap_check "CDR 5: cancelled" test "$(cdr_field 5 cause)" = "cancelled"

for f in uac-*.err uas-*.err; do [ -s "$f" ] && tap_diag "$f: $(tail -5 "$f")"; done
jn_stop; rc=$?
tap_check "junction exits 0 (no leak or crash under ASan)" test $rc -eq 0
[ "$TAP_FAIL" -eq 0 ] || { tap_diag "junction log:"; tap_diag "$(tail -60 jn.log)"; }
tap_done
