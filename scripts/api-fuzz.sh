#!/usr/bin/env bash
# API fuzzing: docs/openapi.yaml driven through schemathesis (PyPI) against a real
# `ballot-server serve` on loopback, with a bounded number of generated requests.
# Fails on any 5xx, any answer whose status, content type, headers or body the spec does
# not allow, any schema-invalid request the server accepts, and a server that dies.
#
# It fuzzes two servers in turn: one whose election is open (so the voters' and trustees'
# POST routes reach their deepest checks) and one whose election is closed and tallied (so
# GET /v1/tally, /v1/status and /v1/record answer with real results). Rate limits are off
# on both so every generated request reaches the handlers (RateLimitTests cover the limits).
#
#   usage: scripts/api-fuzz.sh            (FUZZ_EXAMPLES=150 per operation: a few thousand requests, 2-3 min)
#          FUZZ_EXAMPLES=1000 scripts/api-fuzz.sh     (deeper, locally)
# Phases: examples and fuzzing. Schemathesis's coverage phase is left out: on these deeply
# nested schemas it spends many minutes of its own CPU per operation without a request bound.
#   env:   BALLOT_SERVER (default .build/debug/ballot-server), FUZZ_SEED (default: 7 under CI=true, else random)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
examples="${FUZZ_EXAMPLES:-150}"
server="${BALLOT_SERVER:-$root/.build/debug/ballot-server}"
schemathesis_version="4.32.5"
[ -x "$server" ] || { echo "api-fuzz: $server not found; run \`swift build\` first (or set BALLOT_SERVER)" >&2; exit 2; }

# schemathesis in a virtualenv of our own; where python3 has no venv module (Debian's python3
# without python3-venv), in a --target folder on PYTHONPATH instead.
venv="$root/.build-fuzz/venv"
site="$root/.build-fuzz/site"
st() {
  if [ -x "$venv/bin/schemathesis" ]; then "$venv/bin/schemathesis" "$@"
  else PYTHONPATH="$site" python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; sys.exit(schemathesis())' "$@"
  fi
}
if ! st --version 2>/dev/null | grep -q "$schemathesis_version"; then
  echo "api-fuzz: installing schemathesis $schemathesis_version from PyPI into .build-fuzz"
  if python3 -m venv "$venv" 2>/dev/null; then
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis_version"
  else
    rm -rf "$venv"
    python3 -m pip install -q --disable-pip-version-check --target "$site" "schemathesis==$schemathesis_version"
  fi
  st --version | grep -q "$schemathesis_version" || { echo "api-fuzz: schemathesis did not install" >&2; exit 2; }
fi

work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
run_cmd() { "$server" "$@" --json >>"$work/setup.log" 2>&1 || { echo "api-fuzz: ballot-server $* failed:" >&2; tail -5 "$work/setup.log" >&2; exit 2; }; }

url=""
start_server() { # data dir
  "$server" serve --data "$1" --port 0 --json --log-level error \
    --rate-per-ip 0 --refusals-per-ip 0 --attempts-per-voter 0 >"$1.out" 2>"$1.err" &
  pid=$!
  for _ in $(seq 1 100); do
    url="$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$1.out" 2>/dev/null | head -1)"
    [ -n "$url" ] && return
    sleep 0.1
  done
  echo "api-fuzz: the server did not start: $(cat "$1.err")" >&2
  exit 2
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

# An election of 2 districts, 5 voters each, 5 trustees (quorum 3), keyed and opened.
run_cmd example --manifest-out "$work/m.json" --roll-out "$work/roll.csv" --districts 2 --voters-per-district 5
run_cmd init --data "$work/open" --manifest "$work/m.json"
run_cmd roll import --data "$work/open" --roll "$work/roll.csv" --codes-out "$work/codes.csv"
for i in 1 2 3 4 5; do
  run_cmd trustee keygen --index "$i" --name "Trustee $i" --out "$work/t$i.key" --public-out "$work/t$i.pub"
  run_cmd trustee add --data "$work/open" --public "$work/t$i.pub"
done
start_server "$work/open"
for i in 1 2 3 4 5; do run_cmd trustee share --server "$url" --key "$work/t$i.key"; done
for i in 1 2 3 4 5; do run_cmd trustee verify-shares --server "$url" --key "$work/t$i.key"; done
run_cmd open --server "$url" --commission-key "$work/open/commission.key"
stop_server
# The closed copy: the same election, closed and decrypted by trustees 1-3.
cp -a "$work/open" "$work/closed"
start_server "$work/closed"
run_cmd close --server "$url" --commission-key "$work/closed/commission.key"
for i in 1 2 3; do run_cmd trustee decrypt --server "$url" --key "$work/t$i.key"; done
stop_server

checks="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection"
# CI replays one fixed seed (a red CI must be reproducible); local runs draw a new one.
if [ -n "${FUZZ_SEED:-}" ]; then seed="$FUZZ_SEED"; elif [ "${CI:-}" = true ]; then seed=7; else seed=$RANDOM; fi
# Reports stay after the run (gitignored): the full text output and every request as NDJSON.
reports="$root/.build-fuzz/reports"
mkdir -p "$reports"
total_requests=0
status=0
for election in open closed; do
  start_server "$work/$election"
  echo "api-fuzz: $election election at $url, $examples examples per operation, seed $seed"
  started=$(date +%s)
  set +e
  # Run from the scratch directory: schemathesis and hypothesis keep caches in the working directory.
  (cd "$work" && st run "$root/docs/openapi.yaml" --url "$url" \
    --checks "$checks" --max-examples "$examples" --seed "$seed" \
    --phases examples,fuzzing --generation-database none --workers 2 \
    --request-timeout 30 --no-color --suppress-health-check all \
    --report ndjson --report-ndjson-path "$reports/$election.ndjson") >"$reports/$election.txt" 2>&1
  code=$?
  set -e
  alive=yes
  kill -0 "$pid" 2>/dev/null || alive=no
  cases="$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$reports/$election.txt" | head -1)"
  total_requests=$(( total_requests + ${cases:-0} ))
  outcome="$(sed -n 's/^ *\([0-9][0-9]* generated.*\)/\1/p' "$reports/$election.txt" | head -1)"
  operations="$(sed -n 's/^ *Tested: *\([0-9]*\).*/\1/p' "$reports/$election.txt" | head -1)"
  echo "api-fuzz: $election: ${operations:-?} operations, test cases: ${outcome:-none}; schemathesis exit $code; server alive: $alive; $(( $(date +%s) - started )) s"
  if [ "$code" -ne 0 ] || [ "$alive" != yes ]; then
    status=1
    tail -80 "$reports/$election.txt"
    [ "$alive" = yes ] || { echo "api-fuzz: the server died; its last output:"; tail -20 "$work/$election.err"; }
  fi
  stop_server
done
[ "$status" -eq 0 ] && echo "api-fuzz: passed: $total_requests generated requests, no 5xx, every answer within docs/openapi.yaml, the server stayed up (reports in .build-fuzz/reports)"
exit "$status"
