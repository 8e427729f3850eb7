#!/bin/sh
# Runs a command inside a fresh private network namespace that has only a
# loopback interface (127.0.0.1, ::1), so no test packet can leave the
# machine and parallel runs never fight over ports. Needs root (CI is root).
#   tests/lib/netns.sh CMD [ARGS...]
# Inside, JN_NETNS=1 is set; a nested call runs the command directly.
if [ "${JN_NETNS:-}" = 1 ]; then exec "$@"; fi
if [ "$(id -u)" != 0 ]; then
  echo "netns.sh: needs root to create a network namespace" >&2; exit 1
fi
export JN_NETNS=1
exec unshare --net --fork sh -c 'ip link set lo up && exec "$@"' netns "$@"
