#!/usr/bin/env bash
# What an idle server costs in CPU: each server a fresh bench/cmd/hello
# process, its CPU time (user + system, from /proc) over secs seconds
# with no connection, then over secs seconds holding n idle keep-alive
# connections (each has sent one request; idleconns opens them, holds
# them and reads the CPU, -watch). Servers interleave round by round.
#
#   bash bench/scripts/idle-cpu.sh [rounds=2] [secs=30] [n=10000] [servers...]
#
# servers are hello's (carhop, net-http, nbio, ...) and carhop@REV for
# carhop as of a git revision (built from a temporary worktree).
# Needs a file-descriptor limit above n.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
secs=${2:-30}
n=${3:-10000}
shift $(( $# > 3 ? 3 : $# )) || true
servers=${*:-carhop net-http}
[ "$(ulimit -n)" -gt $((n + 100)) ] || ulimit -n $((n + 1000)) || { echo "need a file-descriptor limit above $n" >&2; exit 1; }

dir=$(mktemp -d)
# shellcheck source=bench/scripts/revs.sh
. bench/scripts/revs.sh
# shellcheck source=bench/scripts/measure.sh
. bench/scripts/measure.sh
trap 'pkill -f "$dir/" 2>/dev/null || true; remove_revs "$dir"; rm -rf "$dir"' EXIT
# shellcheck disable=SC2086 # servers is a list
build_revs "$dir" hello $servers
go build -o "$dir/idleconns" ./bench/cmd/idleconns
addr=127.0.0.1:18196
hz=$(getconf CLK_TCK)
pct() { awk -v t="$1" -v hz="$hz" -v s="$secs" 'BEGIN {printf "%.2f", 100 * t / hz / s}'; }

for round in $(seq 1 "$rounds"); do
  for s in $servers; do
    rev_server "$dir" hello "$s"
    "$bin" -server "$server" -addr "$addr" >/dev/null 2>&1 &
    pid=$!
    sleep 2
    before=$(cpu_ticks "$pid"); sleep "$secs"; alone=$(( $(cpu_ticks "$pid") - before ))
    # idleconns reads the CPU over -watch once the connections are open
    # and the server has had its quiet second (-settle).
    held=$("$dir/idleconns" -addr "$addr" -pid "$pid" -n "$n" -settle 2s -watch "${secs}s" 2>&1 | sed -n 's/.*cpu=\([0-9.]*\)%.*/\1/p')
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "round $round: $s: $(pct "$alone") % of a CPU alone, ${held:-?} % with $n idle connections"
    sleep 1
  done
done
