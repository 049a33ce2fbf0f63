#!/usr/bin/env bash
# Server CPU time per request with the server free to use every CPU
# (GOMAXPROCS = all of them, as it is deployed), under five loads: 10 and
# 50 paced clients each sending a request every millisecond (a moderate
# rate, the server mostly waiting); 10 such clients with a handler that
# first fetches a page from a backend (a net/http server in a process of
# its own, whose CPU is not counted), as most real handlers wait on
# something; and wrk at 50 and 1,000 connections (saturation). The
# backend load needs servers that run peers.Hello (carhop, net-http,
# nbio); the others skip it. The clients share the CPUs with the server:
# on a small machine nothing else is possible, so compare servers within
# one run, never against cpu-per-request.sh's pinned figures. Servers
# interleave round by round; prints the medians of the rounds.
#
#   bash bench/scripts/unpinned.sh [rounds=3] [seconds=5] [servers...]
#
# servers are bench/cmd/hello's (carhop, net-http, nbio, ...) and
# carhop@REV for carhop as of a git revision (built from a temporary
# worktree). Needs wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
secs=${2:-5}
shift $(( $# > 2 ? 2 : $# )) || true
servers=${*:-carhop net-http}
loads="paced-10 paced-50 backend-10 wrk-50 wrk-1000"
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install wrk" >&2; exit 1; }

dir=$(mktemp -d)
# shellcheck source=bench/scripts/revs.sh
. bench/scripts/revs.sh
# shellcheck source=bench/scripts/measure.sh
. bench/scripts/measure.sh
trap 'pkill -f "$dir/" 2>/dev/null || true; remove_revs "$dir"; rm -rf "$dir"' EXIT
# shellcheck disable=SC2086 # servers is a list
build_revs "$dir" hello $servers
go build -o "$dir/paced" ./bench/cmd/paced
addr=127.0.0.1:18199
backend=127.0.0.1:18200
hz=$(getconf CLK_TCK)
results=$(mktemp)

# load kind-n secs: runs the load, prints "requests p99" (p99 "-" for wrk).
load() {
  local n=${1#*-} out
  case $1 in
  paced-* | backend-*)
    out=$("$dir/paced" -addr "$addr" -c "$n" -gap 1ms -d "${2}s")
    awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}; print v["requests"], v["p99"]}' <<<"$out"
    ;;
  wrk-*)
    out=$(timeout $(($2 + 30)) wrk -t1 -c"$n" -d"${2}s" "http://$addr/" 2>/dev/null || true)
    awk '/requests in/ {print $1, "-"}' <<<"$out"
    ;;
  esac
}

"$dir/hello" -server net-http -addr "$backend" >/dev/null 2>&1 &
for round in $(seq 1 "$rounds"); do
  for l in $loads; do
    for s in $servers; do
      rev_server "$dir" hello "$s"
      flags=()
      if [[ $l == backend-* ]]; then
        case $server in carhop | net-http | nbio) ;; *) continue ;; esac
        flags=(-upstream "http://$backend/")
      fi
      "$bin" -server "$server" -addr "$addr" "${flags[@]}" >/dev/null 2>&1 &
      pid=$!
      for _ in $(seq 1 50); do curl -s -o /dev/null "http://$addr/" && break; sleep 0.1; done
      load "$l" 1 >/dev/null # warm-up
      before=$(cpu_ticks "$pid")
      read -r reqs p99 < <(load "$l" "$secs")
      after=$(cpu_ticks "$pid")
      kill "$pid"; wait "$pid" 2>/dev/null || true
      [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || { echo "round $round: $s $l: no requests" >&2; continue; }
      us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
      rps=$(awk -v n="$reqs" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')
      echo "$s $l $us $rps" >> "$results"
      echo "round $round: $s $l ${us} us/request, $rps req/s, p99 $p99" >&2
    done
  done
done

echo
echo "| load | server | CPU µs per request (median) | req/s (median) | CPU per request vs first |"
echo "|---|---|---|---|---|"
first=${servers%% *}
for l in $loads; do
  base=$(awk -v s="$first" -v l="$l" '$1 == s && $2 == l {print $3}' "$results" | median)
  for s in $servers; do
    us=$(awk -v s="$s" -v l="$l" '$1 == s && $2 == l {print $3}' "$results" | median)
    rps=$(awk -v s="$s" -v l="$l" '$1 == s && $2 == l {print $4}' "$results" | median)
    ratio=$(awk -v a="$us" -v b="$base" 'BEGIN {if (b > 0) printf "%.2fx", a / b}')
    echo "| $l | $s | $us | $rps | $ratio |"
  done
done
rm -f "$results"
