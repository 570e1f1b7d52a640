#!/usr/bin/env bash
# up.sh: two otkd hosts on one machine, carrying IP between two TAP
# interfaces over an encrypted otkd link. Run as root from anywhere in the
# source tree; examples/netns/down.sh removes everything it made.
#
#   network namespace otkd-a                      network namespace otkd-b
#   otkd0 10.77.0.1/24 (TAP)                      otkd0 10.77.0.2/24 (TAP)
#      │  otkd run (end A)                           │  otkd run (end B)
#   otkd-va 10.78.0.1 ─── veth, MTU 17000, UDP ─── otkd-vb 10.78.0.2
#
# Afterwards:  ip netns exec otkd-a ping 10.77.0.2
#              otkctl links --socket /run/otkd-netns/a/otkd.sock
#
# Environment: OTKD_NETNS_DIR (default /run/otkd-netns: binaries, keys,
# configurations, stores, logs), FRAME_RATE (frames/s each way, default
# 10000: 1.2 Gbit/s of client payload; 82025 is OTU2's line rate, more than
# two daemons on a small machine sustain).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run=${OTKD_NETNS_DIR:-/run/otkd-netns}
rate=${FRAME_RATE:-10000}
ns=(otkd-a otkd-b)
veth=(otkd-va otkd-vb)
line_ip=(10.78.0.1 10.78.0.2)
tap_ip=(10.77.0.1/24 10.77.0.2/24)
ends=(a b)

die() { echo "up.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root (network namespaces, TAP interfaces)"
command -v ip >/dev/null || die "needs ip(8) (iproute2)"
command -v go >/dev/null || die "needs the Go toolchain to build otkd"
[ -e /dev/net/tun ] || die "needs /dev/net/tun (modprobe tun)"
for n in "${ns[@]}"; do
  ! ip netns list | grep -qw "$n" || die "network namespace $n exists: run examples/netns/down.sh first"
done
[ ! -e "$run" ] || die "$run exists: run examples/netns/down.sh first"

echo "building otkd and otkctl into $run/bin"
install -d -m 0700 "$run" "$run/bin" "$run/a" "$run/b"
(cd "$root" && go build -o "$run/bin/otkd" ./cmd/otkd && go build -o "$run/bin/otkctl" ./cmd/otkctl)
otkd=$run/bin/otkd

echo "namespaces ${ns[*]}, veth ${veth[0]} <-> ${veth[1]} (MTU 17000: one datagram per frame)"
for n in "${ns[@]}"; do
  ip netns add "$n"
  ip -n "$n" link set lo up
done
ip link add "${veth[0]}" netns "${ns[0]}" mtu 17000 type veth peer name "${veth[1]}" netns "${ns[1]}" mtu 17000
for i in 0 1; do
  ip -n "${ns[i]}" addr add "${line_ip[i]}/24" dev "${veth[i]}"
  ip -n "${ns[i]}" link set "${veth[i]}" up
done
# Permanent neighbour entries: no ARP between the two line addresses.
for i in 0 1; do
  j=$((1 - i))
  mac=$(cat "/sys/class/net/${veth[j]}/address" 2>/dev/null || ip netns exec "${ns[j]}" cat "/sys/class/net/${veth[j]}/address")
  ip -n "${ns[i]}" neigh replace "${line_ip[j]}" lladdr "$mac" dev "${veth[i]}" nud permanent
done

echo "keys and configurations in $run/a and $run/b"
"$otkd" keygen --name a --private "$run/a/node.key" --public "$run/b/peer.pub" >/dev/null
"$otkd" keygen --name b --private "$run/b/node.key" --public "$run/a/peer.pub" >/dev/null
for e in a b; do
  (umask 077 && head -c 16 /dev/urandom >"$run/$e/kek")
  # From the shipped examples: this run directory for every path, the veth
  # addresses for the line, the TAP client switched on.
  sed -e "s#/tmp/otkd-$e#$run/$e#g" \
      -e "s#\"/dev/shm/otkd-$e\"#\"$run/$e/keys.shm\"#" \
      -e "s#127.0.0.1:7400#${line_ip[0]}:7400#g" \
      -e "s#127.0.0.1:7401#${line_ip[1]}:7401#g" \
      -e "s#^\# client = \"tap:otkd0\"#client = \"tap:otkd0\"#" \
      -e "s#^frame_rate = .*#frame_rate = $rate#" \
      "$root/examples/otkd-$e.toml" >"$run/$e/otkd.toml"
  chmod 0600 "$run/$e/otkd.toml"
  grep -q '^client = "tap:otkd0"' "$run/$e/otkd.toml" || die "examples/otkd-$e.toml: no client line to switch on"
done

for i in 0 1; do
  e=${ends[i]}
  ip netns exec "${ns[i]}" "$otkd" run --config "$run/$e/otkd.toml" --check >/dev/null
  ip netns exec "${ns[i]}" "$otkd" run --config "$run/$e/otkd.toml" </dev/null >"$run/$e/otkd.log" 2>&1 &
  echo $! >"$run/$e/otkd.pid"
done

echo "waiting for the TAP interfaces"
for i in 0 1; do
  for _ in $(seq 100); do
    ip -n "${ns[i]}" link show otkd0 >/dev/null 2>&1 && break
    kill -0 "$(cat "$run/${ends[i]}/otkd.pid")" 2>/dev/null || die "otkd ${ends[i]} exited: $(tail -n 5 "$run/${ends[i]}/otkd.log")"
    sleep 0.1
  done
  ip -n "${ns[i]}" link show otkd0 >/dev/null 2>&1 || die "no otkd0 in ${ns[i]}: see $run/${ends[i]}/otkd.log"
  ip -n "${ns[i]}" addr add "${tap_ip[i]}" dev otkd0
done

echo "waiting for the link (handshake, first keys)"
ok=
for _ in $(seq 60); do
  if ip netns exec otkd-a ping -c 1 -W 1 -q 10.77.0.2 >/dev/null 2>&1; then ok=1; break; fi
done
[ -n "$ok" ] || die "no ping through the link after 60 s: see $run/a/otkd.log and $run/b/otkd.log"

cat <<EOF
up: otkd-a (10.77.0.1, otkd0) <-> otkd-b (10.77.0.2, otkd0) over UDP ${line_ip[0]}:7400 <-> ${line_ip[1]}:7401, $rate frames/s each way
  ip netns exec otkd-a ping 10.77.0.2
  $run/bin/otkctl links --socket $run/a/otkd.sock
  ip netns exec otkd-a curl -s 127.0.0.1:9464/metrics | grep otkd_client
logs: $run/a/otkd.log, $run/b/otkd.log; remove it all: examples/netns/down.sh
EOF
