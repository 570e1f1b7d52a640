#!/usr/bin/env bash
# compare.sh: the same benchmarks on an earlier revision and on the work tree, interleaved
# in one session, so that a before/after figure on a shared machine compares like with
# like. Prints, per benchmark and metric, the median and the range of N runs of each side.
#
# Usage: bash bench/compare.sh REV [N]
#   REV  the revision to compare against (e.g. a commit before a change)
#   N    rounds (default 3); each round runs REV's binaries, then the work tree's
#
# Benchmarks: BenchmarkClock, BenchmarkPort's model-only and W = 1 rows (UDP loopback batch
# 1 and 16, UDP over veth batch 16, AF_XDP over veth: the veth rows need root and skip
# without it), and the noise package's per-frame kernels. Environment: PORT_BENCH and
# NOISE_BENCH override the -test.bench patterns (a list separated by spaces for the port).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bash bench/compare.sh REV [N]}
n=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/base"
git archive "$rev" | tar -x -C "$tmp/base"
for side in base head; do
  dir=.
  [ "$side" = base ] && dir="$tmp/base"
  (cd "$dir" && go test -c -o "$tmp/bench.$side" ./bench && go test -c -o "$tmp/noise.$side" ./noise)
done
port=${PORT_BENCH:-'Clock Port/model-only Port/udp-lo/batch=1/W=1$ Port/udp-lo/batch=16/W=1$ Port/udp-veth/batch=16/W=1$ Port/xdp-veth/W=1$'}
noise=${NOISE_BENCH:-'Fibre1984|BitErrorsFrame|Modulate1984|AddAndDecideKernel1984/avx512|Keystream32K'}
for _ in $(seq "$n"); do
  for side in base head; do
    for p in $port; do
      (cd "$tmp" && "./bench.$side" -test.run '^$' -test.bench "$p" -test.benchtime 20000x) |
        grep '^Benchmark' | sed "s/^/$side /" || true
    done
    (cd "$tmp" && "./noise.$side" -test.run '^$' -test.bench "$noise" -test.benchtime 20000x) |
      grep '^Benchmark' | sed "s/^/$side /" || true
  done
done > "$tmp/out.txt"
awk '
{
  side = $1; name = $2; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
  key = name " " side
  if (!(key in seen)) { seen[key] = 1; order[++keys] = key }
  for (i = 4; i < NF; i++) if ($i ~ /^[0-9.e+-]+$/ && $(i+1) !~ /^[0-9.e+-]+$/) {
    m = $(i+1)
    if (!((key, m) in mseen)) { mseen[key, m] = 1; mlist[key] = mlist[key] " " m }
    v[key, m, ++c[key, m]] = $i + 0
  }
}
END {
  for (k = 1; k <= keys; k++) {
    key = order[k]; line = sprintf("%-40s", key)
    nm = split(mlist[key], ms, " ")
    for (j = 1; j <= nm; j++) {
      m = ms[j]; cnt = c[key, m]
      if (m == "B/op" || m == "allocs/op") continue
      for (i = 1; i <= cnt; i++) s[i] = v[key, m, i]
      for (i = 2; i <= cnt; i++) for (q = i; q > 1 && s[q-1] > s[q]; q--) { t = s[q]; s[q] = s[q-1]; s[q-1] = t }
      med = (cnt % 2) ? s[(cnt+1)/2] : (s[cnt/2] + s[cnt/2+1]) / 2
      line = line sprintf("  %s %.4g [%.3g–%.3g]", m, med, s[1], s[cnt])
    }
    print line
  }
}' "$tmp/out.txt" | sort
