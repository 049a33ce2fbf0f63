#!/usr/bin/env bash
# The soak's drain, round by round: runs `soak -quick` (10 s of load, the
# settling, then SIGTERM under load) for each build in turn, rounds
# interleaved, and prints each drain's figures from its soak.json: exit
# status, time from the signal to the exit, errors, exchanges turned away
# by how, and how many requests written before the signal got nothing
# back (with the earliest of those that got nothing back).
#
#   bash bench/scripts/drain.sh [rounds=5] [builds...]
#
# builds are soak (the working tree's bench/cmd/soak, the default),
# soak@REV (as of a git revision, built from a temporary worktree; its
# soak.json must have the fields read here, 2026-12-05 or later), or the
# path of a soak binary built otherwise, e.g. with a change to the server
# undone by hand:
#
#   go build -o /tmp/soak-nolook ./bench/cmd/soak   # after editing
#   bash bench/scripts/drain.sh 5 /tmp/soak-nolook soak
#
# Needs python3 to read the JSON.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/scripts/revs.sh
rounds=${1:-5}
shift || true
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=(soak)
dir=$(mktemp -d)
trap 'remove_revs "$dir"; rm -rf "$dir"' EXIT
revs=()
for b in "${builds[@]}"; do
  case $b in soak@*) revs+=("$b") ;; esac
done
build_revs "$dir" soak "${revs[@]}"
ulimit -n 20000 2>/dev/null || true

for r in $(seq "$rounds"); do
  for b in "${builds[@]}"; do
    case $b in
    soak) bin="$dir/soak" ;;
    soak@*) bin="$dir/soak-${b#*@}" ;;
    *) bin=$b ;;
    esac
    out="$dir/out-$r-$(basename "$b")"
    rc=0
    "$bin" -quick -out "$out" >"$out.log" 2>&1 || rc=$?
    python3 - "$out/soak.json" "$b" "$r" "$rc" <<'PY'
import json, sys
path, build, rnd, rc = sys.argv[1:]
d = json.load(open(path)).get("drain")
if d is None:
    print(f"{build} round {rnd}: rc={rc}, no drain")
    sys.exit()
how, errors = {}, 0
for k in d["kinds"]:
    for h, n in (k.get("turned_away") or {}).items():
        how[h] = how.get(h, 0) + n
    errors += sum((k.get("errors") or {}).values())
earliest = d["earliest_closed_ns"] / 1e6
print(f"{build} round {rnd}: rc={rc} exit {d['exit_code']} after {d['drain_time_ns'] / 1e9:.2f} s, "
      f"{errors} errors, turned away {dict(sorted(how.items()))}, "
      f"{d['closed_early']} got nothing back though written before the signal "
      f"(earliest of those with nothing back: {earliest:.2f} ms before it)")
PY
  done
done
