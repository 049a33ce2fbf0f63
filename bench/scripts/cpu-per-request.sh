#!/usr/bin/env bash
# Server CPU time per request of the Hello servers in bench/peers under wrk:
# the server pinned to CPU 0, wrk to CPU 1, servers interleaved round by
# round. Prints, for each server and connection count, the median of the
# rounds' CPU microseconds per request (user + system time of the server
# process divided by the requests wrk completed) and of their req/s.
#
# Why this and not only req/s: one wrk thread on one CPU tops out near
# 60-80k req/s here, so the fastest servers all measure the client's
# limit. CPU per request is what a server costs whether or not the client
# saturates it: its inverse is the server's capacity on a core of its own.
#
#   bash bench/scripts/cpu-per-request.sh [rounds=3] [seconds=5] [servers...]
#
# servers are bench/peers' names, and carhop@REV for carhop as of a git
# revision (built from a temporary worktree), to measure a change against
# the code before it in the same run.
#
# Needs wrk, curl and two or more CPUs.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
secs=${2:-5}
shift $(( $# > 2 ? 2 : $# )) || true
servers=${*:-carhop net-http nbio fasthttp gnet-raw}
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install wrk" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "need two CPUs to pin server and load apart" >&2; exit 1; }

dir=$(mktemp -d)
# shellcheck source=bench/scripts/revs.sh
. bench/scripts/revs.sh
# shellcheck source=bench/scripts/measure.sh
. bench/scripts/measure.sh
trap 'pkill -f "$dir/" 2>/dev/null || true; remove_revs "$dir"; rm -rf "$dir"' EXIT
# shellcheck disable=SC2086 # servers is a list
build_revs "$dir" hello $servers
addr=127.0.0.1:18198
hz=$(getconf CLK_TCK)
results=$(mktemp)


for round in $(seq 1 "$rounds"); do
  for s in $servers; do
    for c in 50 1000; do
      rev_server "$dir" hello "$s"
      taskset -c 0 "$bin" -server "$server" -addr "$addr" >/dev/null 2>&1 &
      pid=$!
      for _ in $(seq 1 50); do curl -s -o /dev/null "http://$addr/" && break; sleep 0.1; done
      timeout 30 taskset -c 1 wrk -t1 -c"$c" -d1s "http://$addr/" >/dev/null 2>&1 || true # warm-up
      before=$(cpu_ticks "$pid")
      out=$(timeout $((secs + 30)) taskset -c 1 wrk -t1 -c"$c" -d"${secs}s" "http://$addr/" 2>/dev/null || true)
      after=$(cpu_ticks "$pid")
      kill "$pid"; wait "$pid" 2>/dev/null || true
      reqs=$(awk '/requests in/ {print $1}' <<<"$out")
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || { echo "round $round: $s c=$c: no requests" >&2; continue; }
      us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
      echo "$s $c $us $rps" >> "$results"
      echo "round $round: $s c=$c ${us} us/request, $rps req/s" >&2
    done
  done
done

echo
echo "| server | conns | CPU µs per request (median) | req/s (median) | CPU per request vs carhop |"
echo "|---|---|---|---|---|"
for c in 50 1000; do
  base=$(awk -v c="$c" '$1 == "carhop" && $2 == c {print $3}' "$results" | median)
  for s in $servers; do
    us=$(awk -v s="$s" -v c="$c" '$1 == s && $2 == c {print $3}' "$results" | median)
    rps=$(awk -v s="$s" -v c="$c" '$1 == s && $2 == c {print $4}' "$results" | median)
    ratio=$(awk -v a="$us" -v b="$base" 'BEGIN {if (b > 0) printf "%.2fx", a / b}')
    echo "| $s | $c | $us | $rps | $ratio |"
  done
done
rm -f "$results"
