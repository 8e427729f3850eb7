#!/bin/sh
# The call layer's refusals against real sipp over UDP: every INVITE is
# digest-challenged (407), and after the credentials: an RTP/AVP offer with
# only G.729 (not supported) -> 488 with a reason, unparsable SDP -> 488 naming
# the SDP line, an unknown number -> 404, a route not for this user -> 403,
# a user with max_calls = 0 -> 486, a wrong password -> 403; each refused
# call (after auth) writes one CDR line. A drain answers new INVITEs 503.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 13
cd "$JN_WORK"
J=127.0.0.1:15560

cat >jn.conf <<CONF
[general]
cdr_file = $JN_WORK/cdr.jsonl
drain_timeout = 5
[api]
http_listen = 127.0.0.1:18580
[sip]
udp_listen = $J
tcp_listen = $J
auth_algorithms = MD5
[user:alice]
password = secret-a
[user:zed]
password = secret-z
max_calls = 0
[user:bob]
password = secret-b
[route:echo]
match = ^echo$
target = echo
[route:staff]
match = ^staff$
from = user:bob
target = echo
CONF

# call TARGET CODE V PORT [ARGS...]: one sipp call from the template.
call() {
  target=$1; code=$2; v=$3; port=$4; shift 4
  sed "s/@TARGET@/$target/g; s/@CODE@/$code/g; s/@V@/$v/g; s/@PT@/${PT:-0}/g" "$JN_SRCDIR/tests/integration/sipp/call_auth.xml" >"call-$port.xml"
  timeout 30 sipp "$J" -sf "call-$port.xml" -i 127.0.0.1 -p "$port" -m 1 -nostdin -timeout 20s \
    -timeout_error -max_recv_loops 100 -trace_msg -message_file "call-$port.msg" \
    -trace_err -error_file "call-$port.err" -auth_uri "$target@$J" "$@" >"call-$port.out" 2>&1
}

if ! jn_start jn.conf jn.log 18580; then
  tap_not_ok "junction starts"; tap_done; exit 1
fi

PT=18 call echo 488 0 15561 -s alice -au alice -ap secret-a
tap_check "G.729-only offer to echo: 407, then 488 after the credentials" test $? -eq 0
tap_check "... the 407 carries a Proxy-Authenticate MD5 challenge" \
  grep -q '^Proxy-Authenticate: Digest realm="junction", nonce="[^"]*", algorithm=MD5' call-15561.msg
tap_check "... the 488 says why" grep -q '^SIP/2.0 488 Not Acceptable Here (.\+)' call-15561.msg
call echo 488 x 15562 -s alice -au alice -ap secret-a
tap_check "unparsable SDP: 488 naming the SDP line" \
  sh -c "test $? -eq 0 && grep -q '^SIP/2.0 488 .*bad SDP: line 1: bad v= line' call-15562.msg"
call nobody 404 0 15563 -s alice -au alice -ap secret-a
tap_check "unknown number: 404" test $? -eq 0
call staff 403 0 15564 -s alice -au alice -ap secret-a
tap_check "a route that is not for this user: 403" test $? -eq 0
call echo 486 0 15565 -s zed -au zed -ap secret-z
tap_check "a user with max_calls = 0: 486" test $? -eq 0
call echo 403 0 15566 -s alice -au alice -ap wrong
tap_check "a wrong password: 403" test $? -eq 0

# Give the CDR writer its fsync.
i=0; while [ "$(wc -l <cdr.jsonl 2>/dev/null || echo 0)" -lt 5 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
tap_check "five CDR lines (the wrong password is no call)" test "$(wc -l <cdr.jsonl)" -eq 5
tap_check "... all rejected with their SIP codes 488 488 404 403 486 and the caller" \
  test "$(python3 -c '
import json,sys
rs=[json.loads(l) for l in open("cdr.jsonl")]
print(" ".join("%s:%s:%s" % (r["cause"], r["sip_code"], r["caller"]) for r in rs))')" = \
  "rejected:488:user:alice rejected:488:user:alice rejected:404:user:alice rejected:403:user:alice busy:486:user:zed"

tap_check "... each with its own call id" test "$(python3 -c '
import json
print(len({json.loads(l)["call_id"] or "" for l in open("cdr.jsonl")} - {""}))')" -eq 5

# Drain: junction exits at once with no call; a second daemon would be
# needed to see the 503 while a call holds the drain (the browser test does).
kill -TERM "$JN_PID"
i=0; while kill -0 "$JN_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
tap_check "SIGTERM with no call: junction exits at once" sh -c "! kill -0 $JN_PID 2>/dev/null"
jn_stop; rc=$?
tap_check "junction exits 0 (no leak or crash under ASan)" test $rc -eq 0
tap_done
