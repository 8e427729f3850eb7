#!/bin/sh
# Trunk to trunk through the B2BUA: sipp (trunk:uac, recognised by its
# source address and port) places 20 calls to junction; the route sends
# every number from trunk:uac to trunk:uas, another sipp that answers with
# PCMA and echoes RTP. The caller plays g711a.pcap (PCMA) for 3 s per call.
# Checks: every call answered and hung up (0 failures on both sides), the
# callee saw junction's own dialog (not the caller's Call-ID, one Via), one
# CDR line per call naming trunk:uac -> trunk:uas, media relayed without
# decoding, RTP counted both ways on both legs, and a clean exit under the
# sanitizers.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 10
cd "$JN_WORK"
J=127.0.0.1:15760
UAC=15770
UAS=15772
N=20
pcap=/usr/share/sip-tester/g711a.pcap

cat >jn.conf <<CONF
[general]
log_level = warn
cdr_file = $JN_WORK/cdr.jsonl
[api]
http_listen = 127.0.0.1:18760
[websocket]
listen =
[sip]
udp_listen = $J
tcp_listen =
[trunk:uac]
host = 127.0.0.1
port = $UAC
[trunk:uas]
host = 127.0.0.1
port = $UAS
[route:b2bua]
match = ^[0-9]+\$
from = trunk:uac
target = trunk:uas
CONF
play="<nop><action><exec play_pcap_audio=\"$pcap\"/></action></nop>"
sed "s/@PT@/8/g; s/@CODEC@/PCMA/g; s|@MEDIA@|$play|" "$JN_SRCDIR/tests/integration/sipp/b2bua_uac.xml" >uac.xml
sed "s/@PT@/8/g; s/@CODEC@/PCMA/g; s/@MPORT@/[media_port]/" "$JN_SRCDIR/tests/integration/sipp/b2bua_uas.xml" >uas.xml

if ! jn_start jn.conf jn.log 18760; then
  tap_not_ok "junction starts"; tap_done; exit 1
fi
sipp_count() { # $1 = sipp output, $2 = "Successful call" or "Failed call"
  v=$(grep -a "$2" "$1" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
  echo "${v:-0}"
}

# The callee runs in the background and exits after its N calls (each
# ends 4 s after its BYE, sipp's timewait).
timeout 60 sipp -sf uas.xml -i 127.0.0.1 -p $UAS -mi 127.0.0.1 -mp 16000 -rtp_echo -m $N -nostdin \
  -timeout 50s -trace_msg -message_file uas.msg -trace_err -error_file uas.err >uas.out 2>&1 &
uas_pid=$!
sleep 0.3
timeout 60 sipp "$J" -sf uac.xml -s 5551000 -i 127.0.0.1 -p $UAC -mi 127.0.0.1 -mp 16100 \
  -r 10 -m $N -l $N -d 3000 -nostdin -timeout 40s -trace_msg -message_file uac.msg \
  -trace_err -error_file uac.err >uac.out 2>&1
uac_rc=$?
ok=$(sipp_count uac.out 'Successful call'); bad=$(sipp_count uac.out 'Failed call')
tap_check "$N calls trunk:uac -> junction -> trunk:uas: sipp exit $uac_rc, $ok answered and hung up, $bad failed" \
  test "$uac_rc" -eq 0 -a "$ok" -eq $N -a "$bad" -eq 0
wait $uas_pid; uas_rc=$?
uok=$(sipp_count uas.out 'Successful call'); ubad=$(sipp_count uas.out 'Failed call')
invites=$(grep -c '^INVITE ' uas.msg); byes=$(grep -c '^BYE ' uas.msg)
tap_check "the callee (sipp exit $uas_rc) got $invites INVITEs and $byes BYEs from junction: $uok answered, $ubad failed" \
  test "$uas_rc" -eq 0 -a "$invites" -eq $N -a "$byes" -eq $N -a "$uok" -eq $N -a "$ubad" -eq 0

# A B2BUA: the callee's dialog is junction's own, not the caller's.
tap_check "the callee's INVITEs carry junction's Call-IDs, not the caller's" sh -c '
  grep "^Call-ID:" uac.msg | sort -u >uac.ids
  grep "^Call-ID:" uas.msg | sort -u >uas.ids
  test "$(wc -l <uas.ids)" -eq '$N' && test -z "$(comm -12 uac.ids uas.ids)"'
tap_check "... and junction's Via alone (the caller's Via is not passed on)" \
  sh -c "grep -q '^Via:.*:15760' uas.msg && ! grep -q '^Via:.*:$UAC' uas.msg"

# Give the CDR writer its fsync.
i=0; while [ "$(wc -l <cdr.jsonl 2>/dev/null || echo 0)" -lt $N ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
tap_check "$N CDR lines" test "$(wc -l <cdr.jsonl)" -eq $N
cdr_all() { # python condition on r (one CDR record), true for every line
  python3 -c '
import json, sys
rs = [json.loads(l) for l in open("cdr.jsonl")]
sys.exit(0 if rs and all(eval(sys.argv[1]) for r in rs) else 1)' "$1"
}
tap_check "... each trunk:uac -> trunk:uas by route b2bua, ended normally" \
  cdr_all 'r["caller"] == "trunk:uac" and r["target"] == "trunk:uas" and r["route"] == "b2bua" and r["cause"] == "normal" and r["number"] == "5551000"'
tap_check "... each relayed without decoding, PCMA on both legs" \
  cdr_all 'r["media"] == "relay" and [g["codec"] for g in r["legs"]] == ["PCMA", "PCMA"]'
# 3 s of 30 ms packets is ~100 each way; ask for half to allow the ramp.
tap_check "... each with RTP both ways on both legs (>= 50 packets received and sent per leg)" \
  cdr_all 'all(g["packets_received"] >= 50 and g["packets_sent"] >= 50 for g in r["legs"])'
tap_diag "$(python3 -c '
import json
rs = [json.loads(l) for l in open("cdr.jsonl")]
print("packets received on legs a/b, first call: %s" % [g["packets_received"] for g in rs[0]["legs"]])' 2>&1)"

jn_stop; rc=$?
tap_check "junction exits 0 (no leak or crash under ASan)" test $rc -eq 0
tap_check "no sanitizer report in the log" sh -c "! grep -q 'Sanitizer' jn.log"
tap_done
