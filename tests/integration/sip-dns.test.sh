#!/bin/sh
# RFC 3263 resolution of trunk hosts against a real DNS server: dnsmasq
# serves the zone "test" on 127.0.0.1:53 inside this test's private network
# namespace, and a temporary resolv.conf pointing at it is bind-mounted over
# /etc/resolv.conf inside this test's own mount namespace only (the real
# file is never touched). Checks: SRV then A through GLib's resolver, a
# trunk named by DNS gets its REGISTER to the address the name resolves to,
# and a name that does not resolve gives a clear log line and a retry.
. "$JN_SRCDIR/tests/lib/tap.sh"
if [ "${JN_DNS_MNTNS:-}" != 1 ]; then
  # Re-run in a private mount namespace (propagation private: the bind
  # mount below is invisible outside).
  JN_DNS_MNTNS=1 exec unshare --mount --propagation private sh "$0" "$@"
fi
tap_plan 10
cd "$JN_WORK"
echo "nameserver 127.0.0.1" >resolv.conf
mount --bind "$JN_WORK/resolv.conf" /etc/resolv.conf
dnsmasq --conf-file=/dev/null --no-daemon --no-resolv --no-hosts --user=root \
  --listen-address=127.0.0.1 --bind-interfaces --port=53 --local=/test/ \
  --log-queries --log-facility="$JN_WORK/dnsmasq.log" \
  --host-record=trunk.test,127.0.0.1 --host-record=sipsrv.test,127.0.0.1 \
  --srv-host=_sip._udp.srv.test,sipsrv.test,15671,10,60 \
  --srv-host=_sip._udp.srv.test,sipsrv.test,15672,20,0 \
  >dnsmasq.out 2>&1 &
DNS=$!
i=0; while [ $i -lt 50 ] && ! grep -q started dnsmasq.log 2>/dev/null; do sleep 0.1; i=$((i + 1)); done

# 1. The resolver itself: SRV (priority 10 before 20), then A of the target.
"$JN_BUILDDIR/tests/unit/test-sip-resolve" --resolve srv.test >srv.out 2>&1
tap_diag "$(cat srv.out)"
tap_check "SRV _sip._udp.srv.test resolves to the priority-10 target first" \
  sh -c 'sed -n 2p srv.out | grep -qx "udp 127.0.0.1:15671" && sed -n 3p srv.out | grep -qx "udp 127.0.0.1:15672"'
tap_check "GLib asked our dnsmasq on 127.0.0.1 (SRV, then A of the SRV target)" \
  sh -c 'grep -q "query\[SRV\] _sip._udp.srv.test from 127.0.0.1" dnsmasq.log && grep -q "query\[A\] sipsrv.test from 127.0.0.1" dnsmasq.log'

# 2. A trunk named by DNS (explicit port: A/AAAA only) registers there.
cat >reg200.xml <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="registrar-200">
  <recv request="REGISTER"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=dnsreg
[last_Call-ID:]
[last_CSeq:]
[last_Contact:];expires=300
Content-Length: 0

    ]]>
  </send>
</scenario>
XML
sed -e 's/registrar-200/options-200/' -e 's/request="REGISTER"/request="OPTIONS"/' \
  -e '/last_Contact/d' reg200.xml >opt200.xml
cat >jn.conf <<CONF
[api]
http_listen = 127.0.0.1:18780
[websocket]
listen =
[sip]
udp_listen = 127.0.0.1:15760
tcp_listen = 127.0.0.1:15760
[trunk:named]
host = trunk.test
port = 15770
register = true
username = dnsuser
password = dns-pw
[trunk:pinged]
host = trunk.test
port = 15772
options_interval = 30
[trunk:viasrv]
host = srv.test
register = true
username = srvuser
password = srv-pw
[trunk:nowhere]
host = nowhere.test
port = 15771
register = true
username = u
password = p
CONF
timeout 30 sipp -sf reg200.xml -i 127.0.0.1 -p 15770 -m 1 -nostdin -timeout 20s -timeout_error \
  -trace_msg -message_file reg.msg >sipp.out 2>&1 &
SIPP=$!
timeout 30 sipp -sf opt200.xml -i 127.0.0.1 -p 15772 -m 1 -nostdin -timeout 20s -timeout_error \
  >sipp-opt.out 2>&1 &
SIPP_OPT=$!
# No port on trunk viasrv: junction asks SRV _sip._udp.srv.test, whose
# priority-10 target is sipsrv.test:15671.
timeout 30 sipp -sf reg200.xml -i 127.0.0.1 -p 15671 -m 1 -nostdin -timeout 20s -timeout_error \
  -trace_msg -message_file regsrv.msg >sipp-srv.out 2>&1 &
SIPP_SRV=$!
sleep 0.3
if ! jn_start jn.conf jn.log 18780; then
  tap_not_ok "junction starts"; kill $SIPP $SIPP_OPT $SIPP_SRV $DNS; tap_done; exit 1
fi
wait $SIPP; rc=$?
tap_check "sipp, reached through trunk.test, received the REGISTER and answered (exit $rc)" test $rc -eq 0
tap_check "... for the trunk's AOR" grep -q '^REGISTER sip:trunk.test SIP/2.0' reg.msg
wait $SIPP_OPT; rc=$?
tap_check "OPTIONS pings to trunk.test reach sipp, and junction marks it reachable (sipp exit $rc)" \
  sh -c "test $rc -eq 0 && grep -q 'trunk pinged: reachable (200)' jn.log"
wait $SIPP_SRV; rc=$?
tap_check "a trunk with no port registers at its SRV target (sipsrv.test:15671, sipp exit $rc)" \
  sh -c "test $rc -eq 0 && grep -q '^REGISTER sip:srv.test SIP/2.0' regsrv.msg"
tap_check "... after GLib asked dnsmasq for _sip._udp.srv.test" \
  sh -c "test \$(grep -c 'query\\[SRV\\] _sip._udp.srv.test from 127.0.0.1' dnsmasq.log) -ge 2"
i=0; while [ $i -lt 50 ] && ! grep -q 'trunk named: registered' jn.log; do sleep 0.1; i=$((i + 1)); done
tap_check "junction logs the named trunk as registered" grep -q 'trunk named: registered (200)' jn.log
tap_check "a name that does not resolve says so" \
  grep -q 'trunk nowhere: cannot resolve "nowhere.test": no address for that name' jn.log
tap_check "... and the trunk is failed, retrying later (junction still runs)" \
  sh -c "grep -q 'trunk nowhere: failed (503)' jn.log && kill -0 $JN_PID"
jn_stop
kill $DNS 2>/dev/null; wait $DNS 2>/dev/null
umount /etc/resolv.conf
tap_done
