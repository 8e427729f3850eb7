#!/bin/sh
# SIP over secure WebSocket (RFC 7118 WSS): a small Python client does the
# TLS + WebSocket handshake with subprotocol "sip", sends OPTIONS with a
# "SIP/2.0/WSS" Via and must get 200 back over the same connection.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 3
cd "$JN_WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=127.0.0.1 -keyout key.pem -out cert.pem >openssl.log 2>&1
cat >jn.conf <<CONF
[general]
log_level = debug
[api]
http_listen = 127.0.0.1:18880
[websocket]
listen = 127.0.0.1:18881
tls_listen = 127.0.0.1:18882
[sip]
udp_listen = 127.0.0.1:15860
tcp_listen = 127.0.0.1:15860
tls_certificate = $JN_WORK/cert.pem
tls_private_key = $JN_WORK/key.pem
CONF
if ! jn_start jn.conf jn.log 18880; then
  tap_not_ok "junction starts with WSS"; tap_done; exit 1
fi
cat >wss.py <<'PY'
import base64, os, socket, ssl, struct, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 18882), timeout=5))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:18882\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
print(head.decode().split("\r\n")[0])
msg = ("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKwss1\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:w@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: wss1\r\n"
       "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
mask = os.urandom(4)
frame = bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(msg)) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg))
s.sendall(frame)
def exact(n):
    b = b""
    while len(b) < n:
        b += s.recv(n - len(b))
    return b
h = exact(2)
n = h[1] & 0x7f
if n == 126: n = struct.unpack("!H", exact(2))[0]
elif n == 127: n = struct.unpack("!Q", exact(8))[0]
sys.stdout.write(exact(n).decode())
PY
timeout 10 python3 wss.py >reply.txt 2>py.err
tap_check "the WSS handshake with subprotocol sip succeeds" grep -q '^HTTP/1.1 101' reply.txt
tap_check "OPTIONS over WSS: 200 back over the connection" grep -q '^SIP/2.0 200 OK' reply.txt
jn_stop; rc=$?
tap_check "junction logs a WSS flow and exits 0" sh -c "test $rc -eq 0 && grep -q 'SIP WSS flow' jn.log"
tap_done
