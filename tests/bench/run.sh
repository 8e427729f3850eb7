#!/bin/sh
# make bench: runs every benchmark program; each prints "bench: NAME VALUE UNIT"
# and "ratio: NAME VALUE (goal <= X)" lines.
rc=0
for b in "$@"; do
  echo "# $b"
  ./"$b" || rc=1
done
exit $rc
