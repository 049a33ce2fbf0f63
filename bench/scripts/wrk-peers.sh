#!/usr/bin/env bash
# Requests per second of the Hello servers in bench/peers under wrk, with
# the server pinned to CPU 0 and wrk to CPU 1, servers interleaved round by
# round so that drift on a shared machine hits all of them alike. Prints the
# median and range of each server at each connection count, and its ratio
# to net/http measured in the same run.
#
#   bash bench/scripts/wrk-peers.sh [rounds=5] [seconds=5] [servers...]
#
# A server named NAME@REV runs bench/cmd/hello as of git revision REV
# (built from a temporary worktree), beside the working tree's:
#
#   bash bench/scripts/wrk-peers.sh 5 5 nbio nbio@HEAD~1 net-http
#
# Needs wrk (apt-get install wrk) and two or more CPUs.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
secs=${2:-5}
shift $(( $# > 2 ? 2 : $# )) || true
servers=${*:-carhop net-http nbio fasthttp gnet-raw}
conns="50 1000"
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install wrk" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "need two CPUs to pin server and load apart" >&2; exit 1; }

dir=$(mktemp -d)
# shellcheck source=bench/scripts/revs.sh
. bench/scripts/revs.sh
trap 'pkill -f "$dir/" 2>/dev/null || true; remove_revs "$dir"; rm -rf "$dir"' EXIT
# shellcheck disable=SC2086 # servers is a list
build_revs "$dir" hello $servers
ulimit -n 65536 2>/dev/null || true
addr=127.0.0.1:18199
results=$(mktemp)

for round in $(seq 1 "$rounds"); do
  for s in $servers; do
    rev_server "$dir" hello "$s"
    taskset -c 0 "$bin" -server "$server" -addr "$addr" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://$addr/" && break; sleep 0.1; done
    for c in $conns; do
      taskset -c 1 wrk -t1 -c"$c" -d1s "http://$addr/" >/dev/null 2>&1 # warm-up
      rps=$(taskset -c 1 wrk -t1 -c"$c" -d"${secs}s" "http://$addr/" 2>/dev/null | awk '/Requests\/sec/ {print $2}')
      echo "$s $c $rps" >> "$results"
      echo "round $round: $s c=$c $rps req/s" >&2
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done

echo
echo "| server | conns | median req/s | min-max | vs net/http |"
echo "|---|---|---|---|---|"
for c in $conns; do
  base=$(awk -v c="$c" '$1=="net-http" && $2==c {print $3}' "$results" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  for s in $servers; do
    awk -v s="$s" -v c="$c" '$1==s && $2==c {print $3}' "$results" | sort -n |
      awk -v s="$s" -v c="$c" -v base="${base:-0}" '{a[NR]=$1} END {
        med=a[int((NR+1)/2)]; ratio = base > 0 ? sprintf("%.2fx", med/base) : "n/a";
        printf "| %s | %s | %.0f | %.0f-%.0f | %s |\n", s, c, med, a[1], a[NR], ratio }'
  done
done
rm -f "$results"
