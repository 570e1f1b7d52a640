#!/usr/bin/env bash
# down.sh: removes what examples/netns/up.sh made: the two otkd processes,
# the network namespaces otkd-a and otkd-b (with their veth and TAP
# interfaces) and the run directory. Safe to run again, or after a failed
# up.sh.
set -uo pipefail

run=${OTKD_NETNS_DIR:-/run/otkd-netns}

[ "$(id -u)" = 0 ] || { echo "down.sh: run me as root" >&2; exit 1; }

# Stop the daemons up.sh started, by the pids it recorded, and only if that
# pid is still an otkd (a pid may have been reused since).
for e in a b; do
  f=$run/$e/otkd.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$run/bin/otkd run"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
  fi
done

# Deleting a namespace deletes its interfaces: the veth pair and the TAPs.
for n in otkd-a otkd-b; do
  if ip netns list 2>/dev/null | grep -qw "$n"; then
    ip netns del "$n" || echo "down.sh: could not delete network namespace $n" >&2
  fi
done

case "$run" in
  /|"") echo "down.sh: refusing to remove '$run'" >&2; exit 1 ;;
esac
rm -rf "$run"
echo "down: otkd-a and otkd-b removed"
