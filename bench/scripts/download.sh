#!/usr/bin/env bash
# Bulk download throughput and server CPU per GiB: curl fetches mb MiB
# from bench/cmd/download, whose handler writes 64 KiB at a time with a
# Content-Length, servers interleaved round by round. Prints the median
# and range of each server's throughput and the medians of its CPU time
# (user + system, from /proc) and curl's per GiB sent.
#
#   bash bench/scripts/download.sh [rounds=3] [mb=1024] [servers...]
#
# servers are carhop and net-http (the default), and carhop@REV for carhop
# as of a git revision (built from a temporary worktree), so that a change
# can be measured against the code before it in the same run:
#
#   bash bench/scripts/download.sh 5 1024 carhop carhop@HEAD~1 net-http
#
# CURL_OPTS adds options to the measured curl, e.g. CURL_OPTS="--limit-rate 100M"
# for a client slower than the server, whose socket stays full.
#
# FILE=1 downloads a file of mb MiB served with http.ServeContent instead
# (made before the server starts, so its writing is not counted), and
# allows the server carhop-copy: carhop with the file copied through
# Write rather than sent from the file (carhop@REV needs a revision whose
# bench/cmd/download has -file-mb).
#
# Needs curl. The server and curl are not pinned: a download is one
# connection, and the kernel's loopback work falls on both CPUs.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
mb=${2:-1024}
shift $(( $# > 2 ? 2 : $# )) || true
servers=${*:-carhop net-http}
command -v curl >/dev/null || { echo "curl not installed: apt-get install curl" >&2; exit 1; }

tmp=$(mktemp -d)
# shellcheck source=bench/scripts/revs.sh
. bench/scripts/revs.sh
# shellcheck source=bench/scripts/measure.sh
. bench/scripts/measure.sh
trap 'pkill -f "$tmp/" 2>/dev/null || true; remove_revs "$tmp"; rm -rf "$tmp"' EXIT
for s in $servers; do
  case $s in
  carhop@* | carhop | net-http | carhop-copy) ;;
  *) echo "unknown server $s: carhop, carhop@REV, carhop-copy or net-http" >&2; exit 1 ;;
  esac
done
# shellcheck disable=SC2086 # servers is a list
build_revs "$tmp" download $servers

addr=127.0.0.1:18199
path=/ file_flags=()
if [ -n "${FILE:-}" ]; then path=/file file_flags=(-file-mb "$mb"); fi
hz=$(getconf CLK_TCK)
results="$tmp/results"

for round in $(seq 1 "$rounds"); do
  for s in $servers; do
    rev_server "$tmp" download "$s"
    "$bin" -server "$server" -addr "$addr" "${file_flags[@]}" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do curl -sf -I -o /dev/null "http://$addr$path?mb=0" && break; sleep 0.1; done
    curl -s -o /dev/null -r 0-67108863 "http://$addr$path?mb=64" # warm-up: 64 MiB
    before=$(cpu_ticks "$pid")
    # The client's CPU too (bash's time: user and system seconds): on
    # loopback the kernel's work of carrying the bytes falls on whichever
    # side's system call or acknowledgement sets it off, so a server can
    # shift it to the client or take it on without doing more in all.
    # shellcheck disable=SC2086 # CURL_OPTS is a list of options
    speed=$( { TIMEFORMAT='%U %S'; time curl -s ${CURL_OPTS:-} -o /dev/null -w '%{speed_download}' "http://$addr$path?mb=$mb"; } 2>"$tmp/client")
    after=$(cpu_ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    gbs=$(awk -v b="$speed" 'BEGIN {printf "%.2f", b / 1e9}')
    cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v mb="$mb" 'BEGIN {printf "%.2f", t / hz / (mb / 1024)}')
    client=$(awk -v mb="$mb" '{printf "%.2f", ($1 + $2) / (mb / 1024)}' "$tmp/client")
    echo "$s $gbs $cpu $client" >> "$results"
    echo "round $round: $s $gbs GB/s, $cpu s CPU per GiB, client $client s" >&2
  done
done

echo
echo "| server | throughput (median) | min–max | server CPU per GiB (median) | client (curl) CPU per GiB (median) |"
echo "|---|---|---|---|---|"
for s in $servers; do
  gbs=$(awk -v s="$s" '$1 == s {print $2}' "$results" | median)
  range=$(awk -v s="$s" '$1 == s {print $2}' "$results" | sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "–" hi}')
  cpu=$(awk -v s="$s" '$1 == s {print $3}' "$results" | median)
  client=$(awk -v s="$s" '$1 == s {print $4}' "$results" | median)
  echo "| $s | $gbs GB/s | $range | $cpu s | $client s |"
done
