#!/bin/sh
# Installs what Junction needs from Debian (and npm for the tests).
#   tools/install-deps.sh build   # compiler, autotools, libraries
#   tools/install-deps.sh test    # build + test peers + npm packages for browser tests
# Installs only what is missing; needs root or sudo for apt-get.
set -eu
what=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)

BUILD_PKGS="gcc make autoconf automake libtool pkg-config curl ca-certificates
 libglib2.0-dev libnice-dev libssl-dev libsrtp2-dev libwebsockets-dev libwebsockets-evlib-glib
 libmicrohttpd-dev libjansson-dev libopus-dev libspeexdsp-dev libspandsp-dev nodejs npm"
TEST_PKGS="clang libclang-rt-14-dev iproute2 util-linux mount procps valgrind openssl
 sip-tester baresip kamailio kamailio-websocket-modules sipsak sox espeak-ng
 chromium python3 python3-aiortc python3-websockets dnsmasq-base"

pkgs=$BUILD_PKGS
[ "$what" = test ] && pkgs="$pkgs $TEST_PKGS"

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js may come from elsewhere than Debian (it does on some images): keep it.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  missing=$(echo "$missing" | tr ' ' '\n' | grep -vx 'nodejs' | grep -vx 'npm' | tr '\n' ' ')
fi
if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "install-deps: installing:$missing"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The softphone page's JsSIP bundle (web/dist/jssip.min.js), from the lockfile.
if [ ! -f "$here/web/dist/jssip.min.js" ] || [ "$here/web/package-lock.json" -nt "$here/web/dist/jssip.min.js" ]; then
  (cd "$here/web" && npm ci --no-audit --no-fund --loglevel=error && npm run -s build)
fi

if [ "$what" = test ]; then
  # Browser-test packages, exactly as pinned by the committed lockfile.
  if [ ! -d "$here/tests/e2e/node_modules/playwright-core" ] || \
     [ "$here/tests/e2e/package-lock.json" -nt "$here/tests/e2e/node_modules/.package-lock.json" ]; then
    (cd "$here/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
