#!/bin/sh
# SIP over TLS: junction with a self-signed certificate answers OPTIONS sent
# through openssl s_client; a missing key file is one clear startup error.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 4
cd "$JN_WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=127.0.0.1 -keyout key.pem -out cert.pem >openssl.log 2>&1
cat >jn.conf <<CONF
[api]
http_listen = 127.0.0.1:18580
[websocket]
listen =
[sip]
udp_listen = 127.0.0.1:15560
tcp_listen = 127.0.0.1:15560
tls_listen = 127.0.0.1:15561
tls_certificate = $JN_WORK/cert.pem
tls_private_key = $JN_WORK/key.pem
CONF
if ! jn_start jn.conf jn.log 18580; then
  tap_not_ok "junction starts with TLS"; tap_done; exit 1
fi
opts() {
  printf 'OPTIONS sip:127.0.0.1:15561;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tls-%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' "$1" "$1"
}
{ opts a; opts b; sleep 1; } | timeout 10 openssl s_client -connect 127.0.0.1:15561 -quiet -no_ign_eof -verify_quiet >reply.txt 2>s_client.log
tap_check "OPTIONS over TLS: 200" grep -q '^SIP/2.0 200 OK' reply.txt
tap_check "... two requests on one connection, two answers" test "$(grep -c '^SIP/2.0 200' reply.txt)" -eq 2
jn_stop; rc=$?
tap_check "junction exits 0" test $rc -eq 0

sed "s|^tls_private_key = .*|tls_private_key = $JN_WORK/missing.pem|" jn.conf >bad.conf
"$JUNCTION" --config bad.conf >bad.out 2>&1; rc=$?
tap_check "a missing TLS key: exit 1, one line naming it" \
  sh -c "test $rc -eq 1 && grep -q 'SIP TLS: cannot load private key $JN_WORK/missing.pem' bad.out"
tap_done
