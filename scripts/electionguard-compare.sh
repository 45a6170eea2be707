#!/usr/bin/env bash
# Runs `ballot-server bench` and electionguard-python 1.4.0 on the same 11-option ballot on this
# machine and prints the encrypt and verify ratios (issue 13; docs/performance.md).
#   scripts/electionguard-compare.sh [--voters N] [--iterations N]
# Needs Python 3.10 (electionguard 1.4.0 does not import on 3.11): python3.10 on PATH or in
# pyenv. The virtual environment is kept in $EG_VENV (default /tmp/evote-egvenv).
set -euo pipefail
cd "$(dirname "$0")/.."
voters=1000
iterations=10
while [ $# -gt 0 ]; do
  case "$1" in
    --voters) voters="$2"; shift 2 ;;
    --iterations) iterations="$2"; shift 2 ;;
    *) echo "usage: $0 [--voters N] [--iterations N]" >&2; exit 2 ;;
  esac
done
python=""
for candidate in python3.10 "$HOME/.pyenv/versions/3.10"*/bin/python3.10; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "electionguard-compare: no Python 3.10 found (electionguard 1.4.0 needs it); install it, e.g. with pyenv" >&2
  exit 1
fi
venv="${EG_VENV:-/tmp/evote-egvenv}"
if ! "$venv/bin/python" -c 'import electionguard' 2>/dev/null; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet electionguard==1.4.0
fi
swift build -c release --product ballot-server >/dev/null
bench="$(mktemp)"
trap 'rm -f "$bench"' EXIT
"$(swift build -c release --show-bin-path)/ballot-server" bench --voters "$voters" --clients 32 --tally-ballots 0 --json > "$bench"
"$venv/bin/python" scripts/electionguard-compare.py --iterations "$iterations" --bench "$bench"
