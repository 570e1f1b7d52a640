#!/usr/bin/env bash
# link.sh: TCP goodput through an otkd link and through wireguard-go, on the
# same two-namespace topology, one after the other for the same duration
# (root; a measurement, not a test). bench/README.md says how to read it.
#
#   netns A  ── veth (MTU 17000) ──  netns B
#   otkd:         TAP otkd0 10.77.0.1  ⇄ UDP 10.78.0.1:7400 ⇄ 10.78.0.2:7401 ⇄ TAP otkd0 10.77.0.2
#   wireguard-go: TUN wg    10.80.0.1  ⇄ UDP 10.78.0.1:51820 ⇄ 10.78.0.2:51820 ⇄ TUN wg  10.80.0.2
#
# Both carry client frames of MTU 1500 (otkd's client_mtu, wireguard's
# interface MTU). iperf3 sends one TCP stream from A to B for DURATION
# seconds; the script prints the receiver's goodput, the CPU seconds the
# two daemons used per GB delivered, and ends with one line:
#   link: otkd X.XX Gbit/s, wireguard-go Y.YY Gbit/s, ratio R.RR
#
# Environment: DURATION (s, default 10), FRAME_RATE (otkd frames/s each
# way, default 10000; 0 = unpaced, which overruns the receiver on a small
# machine), RMEM_MAX (net.core.rmem_max and wmem_max while the script runs,
# default 67108864, restored at the end: otkd's UDP line asks for 8 MB
# socket buffers so that a receiver that loses the CPU for some
# milliseconds loses no frame, and the kernel caps the ask at rmem_max),
# BATCH (otkd's UDP line: frames per sendmmsg/recvmmsg, default 16; 1: one
# system call per frame).
# wireguard-go is built from the module proxy into a temporary directory
# (WG_VERSION pins it), never kept.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dur=${DURATION:-10}
rate=${FRAME_RATE:-10000}
batch=${BATCH:-16}
rmem=${RMEM_MAX:-67108864}
old_rmem= old_wmem=
wg_version=${WG_VERSION:-v0.0.0-20260522210424-ecfc5a8d5446}
tag=$$
nsa=otkb-a-$tag nsb=otkb-b-$tag
va=otkbva$tag vb=otkbvb$tag
wga=wga$tag wgb=wgb$tag
la=10.78.0.1 lb=10.78.0.2
tmp=
pids=()

die() { echo "link.sh: $*" >&2; exit 1; }

cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  ip netns del "$nsa" 2>/dev/null || true
  ip netns del "$nsb" 2>/dev/null || true
  rm -f "/var/run/wireguard/$wga.sock" "/var/run/wireguard/$wgb.sock"
  [ -n "$tmp" ] && rm -rf "$tmp"
  [ -n "$old_rmem" ] && sysctl -qw net.core.rmem_max="$old_rmem" net.core.wmem_max="$old_wmem"
  return 0
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || die "run me as root (network namespaces, TAP and TUN interfaces)"
command -v ip >/dev/null || die "needs ip(8) (iproute2)"
command -v go >/dev/null || die "needs the Go toolchain"
[ -e /dev/net/tun ] || die "needs /dev/net/tun"
if ! command -v iperf3 >/dev/null; then
  echo "installing iperf3"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iperf3; } >/dev/null 2>&1 \
    || die "needs iperf3 (apt-get install iperf3)"
fi
old_rmem=$(sysctl -n net.core.rmem_max) old_wmem=$(sysctl -n net.core.wmem_max)
[ "$old_rmem" -ge "$rmem" ] || sysctl -qw net.core.rmem_max="$rmem"
[ "$old_wmem" -ge "$rmem" ] || sysctl -qw net.core.wmem_max="$rmem"
tmp=$(mktemp -d /tmp/otkd-link.XXXXXX)
chmod 0700 "$tmp"

echo "# link.sh $(date -u +%FT%TZ) on $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); duration ${dur}s; otkd frame_rate $rate (0 = unpaced), batch $batch; rmem_max $(sysctl -n net.core.rmem_max)"

echo "building otkd and wireguard-go ($wg_version) in $tmp"
(cd "$root" && go build -o "$tmp/otkd" ./cmd/otkd && go build -o "$tmp/otkctl" ./cmd/otkctl)
mkdir "$tmp/wg"
cat >"$tmp/wg/main.go" <<'EOF'
// wgconf generates an X25519 key pair for each end and configures two
// wireguard-go devices over their UAPI sockets (hex keys, no wg(8)).
package main

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
)

func main() {
	// args: sockA sockB endpointA endpointB allowedA allowedB
	a := os.Args[1:]
	var priv [2]*ecdh.PrivateKey
	for i := range priv {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		priv[i] = k
	}
	for i := range 2 {
		j := 1 - i
		cfg := fmt.Sprintf("set=1\nprivate_key=%s\nlisten_port=51820\nreplace_peers=true\npublic_key=%s\nendpoint=%s\nallowed_ip=%s\n\n",
			hex.EncodeToString(priv[i].Bytes()), hex.EncodeToString(priv[j].PublicKey().Bytes()), a[2+j], a[4+j])
		c, err := net.Dial("unix", a[i])
		if err != nil {
			panic(err)
		}
		c.Write([]byte(cfg))
		buf := make([]byte, 256)
		n, _ := c.Read(buf)
		c.Close()
		if !strings.Contains(string(buf[:n]), "errno=0") {
			fmt.Fprintf(os.Stderr, "wgconf: %s: %q\n", a[i], buf[:n])
			os.Exit(1)
		}
	}
}
EOF
(
  cd "$tmp/wg"
  export GOFLAGS=-mod=mod
  go mod init wgbench >/dev/null 2>&1
  go get "golang.zx2c4.com/wireguard@$wg_version" >/dev/null 2>&1 || die "cannot get golang.zx2c4.com/wireguard@$wg_version from the module proxy"
  go build -o "$tmp/wireguard-go" golang.zx2c4.com/wireguard
  go build -o "$tmp/wgconf" .
)

# The topology: two namespaces, a veth pair, permanent neighbour entries.
for n in "$nsa" "$nsb"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add "$va" netns "$nsa" mtu 17000 type veth peer name "$vb" netns "$nsb" mtu 17000
ip -n "$nsa" addr add "$la/24" dev "$va"; ip -n "$nsa" link set "$va" up
ip -n "$nsb" addr add "$lb/24" dev "$vb"; ip -n "$nsb" link set "$vb" up
maca=$(ip netns exec "$nsa" cat "/sys/class/net/$va/address")
macb=$(ip netns exec "$nsb" cat "/sys/class/net/$vb/address")
ip -n "$nsa" neigh replace "$lb" lladdr "$macb" dev "$va" nud permanent
ip -n "$nsb" neigh replace "$la" lladdr "$maca" dev "$vb" nud permanent

tick=$(getconf CLK_TCK)
# cpu PID...: CPU seconds (user + system) the processes used so far.
cpu() {
  local t=0 p
  for p in "$@"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t $tick" | awk '{printf "%.3f", $1 / $2}'
}

# measure NAME SERVER_IP PID_A PID_B: one iperf3 TCP stream A→B.
measure() {
  local name=$1 ip=$2 pa=$3 pb=$4 out c0 c1 mbits gb cpus
  ip netns exec "$nsb" iperf3 -s -1 -B "$ip" >/dev/null 2>&1 &
  local srv=$!
  sleep 0.5
  c0=$(cpu "$pa" "$pb")
  out=$(ip netns exec "$nsa" iperf3 -c "$ip" -t "$dur" -f m 2>&1) || { echo "$out" >&2; die "$name: iperf3 failed"; }
  c1=$(cpu "$pa" "$pb")
  wait "$srv" 2>/dev/null || true
  mbits=$(echo "$out" | awk '/receiver/ {print $(NF-2)}')
  [ -n "$mbits" ] || { echo "$out" >&2; die "$name: no receiver figure in iperf3's output"; }
  retr=$(echo "$out" | awk '/sender/ {print $(NF-1)}')
  gb=$(echo "$mbits $dur" | awk '{printf "%.4f", $1 * $2 / 8 / 1000}')
  cpus=$(echo "$c0 $c1 $gb" | awk '{ if ($3 > 0) printf "%.2f", ($2 - $1) / $3; else print "n/a" }')
  echo "$name: $(echo "$mbits" | awk '{printf "%.2f", $1 / 1000}') Gbit/s goodput, $gb GB in ${dur}s, TCP retransmits $retr, $(echo "$c0 $c1 $dur" | awk '{printf "%.2f", ($2 - $1) / $3}') CPUs busy in the two daemons, $cpus CPU s/GB"
  eval "${name//-/_}_mbits=$mbits"
}

# ---- otkd ----
for e in a b; do
  mkdir -m 0700 "$tmp/$e"
  head -c 16 /dev/urandom >"$tmp/$e/kek"; chmod 0600 "$tmp/$e/kek"
done
"$tmp/otkd" keygen --name a --private "$tmp/a/node.key" --public "$tmp/b/peer.pub" >/dev/null
"$tmp/otkd" keygen --name b --private "$tmp/b/node.key" --public "$tmp/a/peer.pub" >/dev/null
i=0
for e in a b; do
  if [ $e = a ]; then loc=$la:7400 peer=$lb:7401 role=A pn=b; else loc=$lb:7401 peer=$la:7400 role=B pn=a; fi
  cat >"$tmp/$e/otkd.toml" <<EOF
[node]
name = "$e"
private_key = "node.key"

[[port]]
name = "bench"
id = 1
role = "$role"
local = "$loc"
peer = "$peer"
peer_name = "$pn"
peer_public_key = "peer.pub"
frame_rate = $rate
batch = $batch
client = "tap:otkd0"
client_mtu = 1500

[shm]
path = "$tmp/$e/keys.shm"
slots = 64

[store]
path = "$tmp/$e/keys.db"
kek_file = "kek"

[controller]
store = "$tmp/$e/controller.db"

[api]
socket = "$tmp/$e/otkd.sock"
EOF
done
ip netns exec "$nsa" "$tmp/otkd" run --config "$tmp/a/otkd.toml" </dev/null >"$tmp/a/log" 2>&1 & pa=$!; pids+=("$pa")
ip netns exec "$nsb" "$tmp/otkd" run --config "$tmp/b/otkd.toml" </dev/null >"$tmp/b/log" 2>&1 & pb=$!; pids+=("$pb")
for n in "$nsa" "$nsb"; do
  for _ in $(seq 100); do ip -n "$n" link show otkd0 >/dev/null 2>&1 && break; sleep 0.1; done
done
ip -n "$nsa" addr add 10.77.0.1/24 dev otkd0 || { cat "$tmp/a/log" >&2; die "otkd A did not start"; }
ip -n "$nsb" addr add 10.77.0.2/24 dev otkd0 || { cat "$tmp/b/log" >&2; die "otkd B did not start"; }
ok=
for _ in $(seq 60); do ip netns exec "$nsa" ping -c 1 -W 1 -q 10.77.0.2 >/dev/null 2>&1 && { ok=1; break; }; done
[ -n "$ok" ] || { tail "$tmp/a/log" "$tmp/b/log" >&2; die "otkd: no ping through the link"; }
sleep 1
measure otkd 10.77.0.2 "$pa" "$pb"
"$tmp/otkctl" links --socket "$tmp/a/otkd.sock" | grep -E "frames|client|gfp|key switches" | sed 's/^ */  A: /' || true
"$tmp/otkctl" links --socket "$tmp/b/otkd.sock" | grep -E "frames|client|gfp" | sed 's/^ */  B: /' || true
for p in "$pa" "$pb"; do kill -TERM "$p"; done
for p in "$pa" "$pb"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done

# ---- wireguard-go ----
mkdir -p /var/run/wireguard
ip netns exec "$nsa" "$tmp/wireguard-go" -f "$wga" >"$tmp/wga.log" 2>&1 & wa=$!; pids+=("$wa")
ip netns exec "$nsb" "$tmp/wireguard-go" -f "$wgb" >"$tmp/wgb.log" 2>&1 & wb=$!; pids+=("$wb")
for s in "$wga" "$wgb"; do
  for _ in $(seq 100); do [ -S "/var/run/wireguard/$s.sock" ] && break; sleep 0.1; done
done
"$tmp/wgconf" "/var/run/wireguard/$wga.sock" "/var/run/wireguard/$wgb.sock" "$la:51820" "$lb:51820" 10.80.0.1/32 10.80.0.2/32
ip -n "$nsa" link set "$wga" mtu 1500 up; ip -n "$nsa" addr add 10.80.0.1/24 dev "$wga"
ip -n "$nsb" link set "$wgb" mtu 1500 up; ip -n "$nsb" addr add 10.80.0.2/24 dev "$wgb"
ok=
for _ in $(seq 30); do ip netns exec "$nsa" ping -c 1 -W 1 -q 10.80.0.2 >/dev/null 2>&1 && { ok=1; break; }; done
[ -n "$ok" ] || { cat "$tmp/wga.log" "$tmp/wgb.log" >&2; die "wireguard-go: no ping through the tunnel"; }
measure wireguard-go 10.80.0.2 "$wa" "$wb"

echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg); OTU2 payload bound 9.995 Gbit/s"
echo "$otkd_mbits $wireguard_go_mbits" | awk '{printf "link: otkd %.2f Gbit/s, wireguard-go %.2f Gbit/s, ratio %.2f\n", $1 / 1000, $2 / 1000, ($2 > 0 ? $1 / $2 : 0)}'
