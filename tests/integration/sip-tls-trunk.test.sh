#!/bin/sh
# SIP over TLS toward a trunk, with the trunk's certificate checked: a
# second junction plays the trunk's registrar over TLS (digest user
# trunkuser). A throwaway CA signs a certificate for trunk.test/127.0.0.1
# and one for other.test only. Junction registers with the right one, is
# refused with the verify error logged for the wrong one, and registers
# to the wrong one when the trunk says tls_verify = false. The trunk is
# named by address (checked against the IP SAN) and by name (trunk.test,
# from a hosts file bind-mounted over /etc/hosts in this test's own mount
# namespace only; checked against the DNS SAN).
. "$JN_SRCDIR/tests/lib/tap.sh"
if [ "${JN_HOSTS_MNTNS:-}" != 1 ]; then
  JN_HOSTS_MNTNS=1 exec unshare --mount --propagation private sh "$0" "$@"
fi
tap_plan 14
cd "$JN_WORK"
printf '127.0.0.1 localhost trunk.test other.test\n::1 localhost\n' >hosts
mount --bind "$JN_WORK/hosts" /etc/hosts

# --- certificates -----------------------------------------------------------
mkcert() { # NAME SAN
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" >>openssl.log 2>&1
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$2" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem" >>openssl.log 2>&1
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=Junction test CA" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.pem >openssl.log 2>&1
mkcert trunk.test "DNS:trunk.test,IP:127.0.0.1"
mkcert other.test "DNS:other.test"

# --- the trunk's registrar: junction over TLS ----------------------------------
# registrar CERT LOG: starts it with that certificate; sets REG_PID.
registrar() {
  cat >reg.conf <<CONF
[api]
http_listen = 127.0.0.1:18790
[websocket]
listen =
[sip]
udp_listen =
tcp_listen =
tls_listen = 127.0.0.1:15791
tls_certificate = $JN_WORK/$1.pem
tls_private_key = $JN_WORK/$1.key
[user:trunkuser]
password = trunk-pw
CONF
  jn_start reg.conf "$2" 18790 || return 1
  REG_PID=$JN_PID; JN_PID=
}
BAD=
stop_registrar() { JN_PID=$REG_PID; jn_stop || BAD="$BAD registrar:$?"; REG_PID=; }
stop_client() { jn_stop || BAD="$BAD client:$?"; }

# client VERIFY LOG [HOST [CA_FILE]]: junction registering to the trunk
# over TLS (host 127.0.0.1 and our CA unless given).
client() {
  cat >jn.conf <<CONF
[api]
http_listen = 127.0.0.1:18780
[websocket]
listen =
[sip]
udp_listen =
tcp_listen =
tls_listen = 127.0.0.1:15781
tls_certificate = $JN_WORK/trunk.test.pem
tls_private_key = $JN_WORK/trunk.test.key
tls_ca_file = ${4-$JN_WORK/ca.pem}
t1 = 50
[trunk:itsp]
host = ${3:-127.0.0.1}
port = 15791
transport = tls
register = true
username = trunkuser
password = trunk-pw
tls_verify = $1
CONF
  jn_start jn.conf "$2" 18780
}

# wait_log FILE PATTERN: polls up to 20 s for the line (an outcome, not a delay).
wait_log() {
  i=0
  while [ $i -lt 200 ]; do
    grep -q "$2" "$1" && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}

# 1. The right certificate, our CA configured: registered.
if ! registrar trunk.test reg1.log; then
  tap_not_ok "the registrar starts"; tap_done; exit 1
fi
client true jn1.log || { tap_not_ok "junction starts"; stop_registrar; tap_done; exit 1; }
tap_check "valid certificate: trunk registered over TLS" wait_log jn1.log 'trunk itsp: registered (200)'
tap_check "... and no certificate complaint" sh -c "! grep -q 'certificate verify failed' jn1.log"
stop_client

# 2. The same by name: now the DNS SAN is what has to match.
client true jn4.log trunk.test || { tap_not_ok "junction starts"; stop_registrar; tap_done; exit 1; }
tap_check "valid certificate, trunk named trunk.test: registered" wait_log jn4.log 'trunk itsp: registered (200)'
stop_client

# 3. No CA file: the system store does not know our throwaway CA.
client true jn5.log 127.0.0.1 "" || { tap_not_ok "junction starts"; stop_registrar; tap_done; exit 1; }
tap_check "no tls_ca_file: the system store refuses our private CA" \
  wait_log jn5.log 'trunk itsp: TLS to 127.0.0.1 (127.0.0.1:15791) refused: certificate verify failed: unable to get local issuer certificate'
tap_check "... and is not registered" sh -c "! grep -q 'trunk itsp: registered' jn5.log"
stop_client
stop_registrar

# 4. A certificate for other.test: refused, not registered.
registrar other.test reg2.log || { tap_not_ok "the registrar restarts"; tap_done; exit 1; }
client true jn2.log || { tap_not_ok "junction starts"; stop_registrar; tap_done; exit 1; }
tap_check "wrong name: the verify error is logged with trunk, host and reason" \
  wait_log jn2.log 'trunk itsp: TLS to 127.0.0.1 (127.0.0.1:15791) refused: certificate verify failed: IP address mismatch'
# The REGISTER waiting on that connection fails as soon as the handshake
# does, with 503 (transport error), not 408 after Timer F: the
# registration is failed, and retries later.
tap_check "... the registration fails at once (503, not a 408 timeout)" wait_log jn2.log 'trunk itsp: failed (503)'
tap_check "... and never waited for Timer F" sh -c "! grep -q 'trunk itsp: failed (408)' jn2.log"
tap_check "... and is never registered" sh -c "! grep -q 'trunk itsp: registered' jn2.log"
stop_client

# 5. The wrong certificate for a trunk named trunk.test: name mismatch.
client true jn6.log trunk.test || { tap_not_ok "junction starts"; stop_registrar; tap_done; exit 1; }
tap_check "trunk.test against a certificate for other.test: refused" \
  wait_log jn6.log 'trunk itsp: TLS to trunk.test (127.0.0.1:15791) refused: certificate verify failed: hostname mismatch'
tap_check "... and is not registered" sh -c "! grep -q 'trunk itsp: registered' jn6.log"
stop_client

# 6. The same wrong certificate with tls_verify = false: registered, warned once.
client false jn3.log || { tap_not_ok "junction starts"; stop_registrar; tap_done; exit 1; }
tap_check "tls_verify = false: registered to the wrong name" wait_log jn3.log 'trunk itsp: registered (200)'
tap_check "... with one warning that the certificate is not checked" \
  test "$(grep -c 'TLS certificate of 127.0.0.1 is not checked' jn3.log)" -eq 1
stop_client
stop_registrar
tap_check "every junction exited 0 (no sanitizer report)${BAD:+:$BAD}" test -z "$BAD"
tap_done
