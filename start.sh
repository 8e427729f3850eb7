#!/bin/sh
# Installs what is missing (Debian packages), builds Junction if needed, and
# runs it in the foreground on the embedded loopback demo config.
#   ./start.sh [junction options...]     e.g. ./start.sh --config conf/junction.conf
set -eu
cd "$(dirname "$0")"
tools/install-deps.sh build
[ -x configure ] && [ configure -nt configure.ac ] || ./autogen.sh >/dev/null
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
if ! make -j"$(nproc)" junction >make.log 2>&1; then
  tail -40 make.log; echo "start.sh: build failed (full log: build/make.log)"; exit 1
fi
cat <<MSG

Junction is starting on loopback (embedded demo config; Ctrl-C stops it):
  softphone page             http://127.0.0.1:8080/
  REST health                curl http://127.0.0.1:8080/api/v1/health
  SIP                        udp/tcp 127.0.0.1:5060 (users alice/alice, bob/bob)
  SIP over WebSocket         ws://127.0.0.1:8081/ (subprotocol sip)
The REST token for this run is printed in the log below.

MSG
exec ./junction "$@"
