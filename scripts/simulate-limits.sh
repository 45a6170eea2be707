#!/usr/bin/env bash
# Do the default rate limits slow a legitimate load from one host? Builds in release, sets
# up the example election (30 districts, 5 trustees, quorum 3) with VOTERS voters, and runs
# `voter simulate` from this one host twice on fresh copies of the same opened election:
# once with serve's default limits and once with every limit off (--rate-per-ip 0
# --refusals-per-ip 0 --attempts-per-voter 0). Prints ballots/s of both runs, their ratio,
# and the number of 429 rate-limited answers the limited server gave (from /metrics).
#   usage: scripts/simulate-limits.sh [VOTERS (default 10000)] [CONCURRENCY (default 32)]
set -euo pipefail
cd "$(dirname "$0")/.."
voters="${1:-10000}"
concurrency="${2:-32}"
swift build -c release >/dev/null 2>&1
bin="$(swift build -c release --show-bin-path)"
server="$bin/ballot-server"
voter="$bin/voter"
work="$(mktemp -d)"
pid=""
url=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

per_district=$(( (voters + 29) / 30 ))
"$server" example --manifest-out "$work/m.json" --roll-out "$work/roll.csv" --voters-per-district "$per_district" --json >/dev/null
"$server" init --data "$work/e" --manifest "$work/m.json" --json >/dev/null
"$server" roll import --data "$work/e" --roll "$work/roll.csv" --codes-out "$work/codes.csv" --json >/dev/null
for i in 1 2 3 4 5; do
  "$server" trustee keygen --index "$i" --name "Trustee $i" --out "$work/t$i.key" --public-out "$work/t$i.pub" --json >/dev/null
  "$server" trustee add --data "$work/e" --public "$work/t$i.pub" --json >/dev/null
done

start_server() { # data dir, extra flags...; sets pid and url
  local data="$1"; shift
  "$server" serve --data "$data" --port 0 --json --log-level error "$@" >"$data.out" 2>"$data.err" &
  pid=$!
  for _ in $(seq 1 100); do
    url="$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$data.out" 2>/dev/null | head -1)"
    [ -n "$url" ] && return
    sleep 0.1
  done
  echo "server did not start: $(cat "$data.err")" >&2
  exit 1
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

start_server "$work/e"
for i in 1 2 3 4 5; do "$server" trustee share --server "$url" --key "$work/t$i.key" --json >/dev/null; done
for i in 1 2 3 4 5; do "$server" trustee verify-shares --server "$url" --key "$work/t$i.key" --json >/dev/null; done
"$server" open --server "$url" --commission-key "$work/e/commission.key" --json >/dev/null
stop_server
cp -a "$work/e" "$work/limited"
cp -a "$work/e" "$work/unlimited"

run() { # label, data dir, serve flags...
  local label="$1" data="$2"; shift 2
  start_server "$data" "$@"
  local result; result="$("$voter" simulate --server "$url" --codes "$work/codes.csv" --voters "$voters" --concurrency "$concurrency" --json)"
  local limited; limited="$(curl -s "$url/metrics" | sed -n 's/^evote_rejections_total{code="rate-limited"} \([0-9]*\).*/\1/p')"
  stop_server
  python3 - "$label" "$result" "${limited:-0}" <<'EOF'
import json, sys
label, result, limited = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
print(f"{label}: {result['succeeded']}/{result['voters']} voters, {result['ballots_per_second']:.0f} ballots/s, "
      f"p50 {result['latency_ms']['p50']:.0f} ms, p99 {result['latency_ms']['p99']:.0f} ms, rate-limited answers {limited}", file=sys.stderr)
print(f"RATE {label} {result['ballots_per_second']}")
EOF
}

out_limited="$(run "default limits" "$work/limited")"
out_unlimited="$(run "no limits" "$work/unlimited" --rate-per-ip 0 --refusals-per-ip 0 --attempts-per-voter 0)"
python3 - "$(echo "$out_limited" | sed -n 's/^RATE default limits //p')" "$(echo "$out_unlimited" | sed -n 's/^RATE no limits //p')" <<'EOF'
import sys
a, b = float(sys.argv[1]), float(sys.argv[2])
print(f"ratio default/unlimited: {a / b:.3f}")
EOF
