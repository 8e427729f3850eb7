#!/bin/sh
# make check's LOG_COMPILER: runs a test program asking for TAP output
# (GLib's g_test and our fuzz replays both accept --tap).
prog=$1; shift
exec "$prog" --tap "$@"
