#!/usr/bin/env bash
# Memory per idle keep-alive connection, read twice: soon after 10,000
# connections have each sent one request, and again once the Go runtime
# has collected the idle heap (it does at least every two minutes) and
# its scavenger has returned the pages the first requests' garbage took.
# Each reading is a fresh server process pinned to CPU 0; idleconns runs
# on CPU 1; servers interleave round by round.
#
#   bash bench/scripts/idle-settle.sh [rounds=2] [late=150s] [servers...]
#
# late=0 takes the first reading only (the issue's figure). A server named
# carhop@REV is carhop as of that git revision (revs.sh), to measure a
# change against the code before it. Takes about (late + 10 s) per server
# and round. Needs a file-descriptor limit above 10,000 and two or more
# CPUs.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
late=${2:-150s}
shift $(( $# > 2 ? 2 : $# )) || true
servers=${*:-carhop nbio net-http}
[ "$(nproc)" -ge 2 ] || { echo "need two CPUs to pin server and client apart" >&2; exit 1; }
[ "$(ulimit -n)" -gt 10100 ] || ulimit -n 20000 || { echo "need a file-descriptor limit above 10,000" >&2; exit 1; }

dir=$(mktemp -d)
# shellcheck source=bench/scripts/revs.sh
. bench/scripts/revs.sh
trap 'pkill -f "$dir/" 2>/dev/null || true; remove_revs "$dir"; rm -rf "$dir"' EXIT
# shellcheck disable=SC2086 # servers is a list
build_revs "$dir" hello $servers
go build -o "$dir/idleconns" ./bench/cmd/idleconns
addr=127.0.0.1:18197
settles="2s $late"
[ "$late" != 0 ] || settles=2s

for round in $(seq 1 "$rounds"); do
  for s in $servers; do
    rev_server "$dir" hello "$s"
    for settle in $settles; do
      taskset -c 0 "$bin" -server "$server" -addr "$addr" >/dev/null 2>&1 &
      pid=$!
      sleep 1
      out=$(taskset -c 1 "$dir/idleconns" -addr "$addr" -pid "$pid" -n 10000 -settle "$settle" 2>&1 || true)
      kill "$pid"; wait "$pid" 2>/dev/null || true
      echo "round $round: $s settle=$settle $out"
      sleep 2
    done
  done
done
