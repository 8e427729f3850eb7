#!/bin/sh
# Regenerates the build system: ./autogen.sh && ./configure && make
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf --install --force
# automake does not add the TAP driver by itself; the test harness uses it.
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
