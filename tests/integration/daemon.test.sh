#!/bin/sh
# The daemon itself: health, flags, config errors, busy ports, graceful stop.
. "$JN_SRCDIR/tests/lib/tap.sh"
tap_plan 10
cd "$JN_WORK"

out=$("$JUNCTION" --version); tap_check "--version prints the version" test "${out#junction }" != "$out"
"$JUNCTION" --check-config "$JN_SRCDIR/conf/junction.conf" >check.out 2>&1
tap_check "--check-config accepts conf/junction.conf" grep -q ': OK$' check.out

sed 's/^# t1 = 500/t1 = 5/; s/^password = bob/pasword = bob/' "$JN_SRCDIR/conf/junction.conf" >broken.conf
"$JUNCTION" --check-config broken.conf >broken.out 2>&1; rc=$?
tap_check "--check-config rejects a broken copy (exit 1)" test $rc -eq 1
tl=$(grep -n '^t1 = 5' broken.conf | cut -d: -f1)
tap_check "... naming file:line: key for a range error" grep -q "^broken.conf:$tl: t1: 5 is out of range" broken.out
tap_check "... and the closest valid key for a typo" grep -q "pasword: unknown key in \[user:bob\] (did you mean password?)" broken.out

cat >t.conf <<CONF
[api]
http_listen = 127.0.0.1:18080
[websocket]
listen = 127.0.0.1:18081
CONF
if jn_start t.conf jn.log 18080; then
  body=$(curl -s http://127.0.0.1:18080/api/v1/health)
  tap_check "GET /api/v1/health answers status ok with version and uptime" \
    sh -c "echo '$body' | grep -q '\"status\":\"ok\"' && echo '$body' | grep -q '\"version\":\"' && echo '$body' | grep -q '\"uptime_s\":'"
  "$JUNCTION" --config t.conf >busy.out 2>&1; rc=$?
  tap_check "a port in use: exit 1 and one line naming it" \
    sh -c "test $rc -eq 1 && grep -q 'cannot listen for HTTP on 127.0.0.1:18080: Address already in use' busy.out"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:18080/api/v1/health)
  tap_check "wrong method gets 405" test "$code" = 405
  code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' 'http://127.0.0.1:18080/../../../etc/passwd')
  tap_check "paths outside the web root are not served" test "$code" = 404
  jn_stop; rc=$?
  tap_check "SIGTERM drains and exits 0" test $rc -eq 0
else
  tap_not_ok "junction starts"; tap_not_ok "busy port"; tap_not_ok "405"; tap_not_ok "traversal"; tap_not_ok "SIGTERM"
fi
tap_done
