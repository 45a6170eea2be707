#!/usr/bin/env bash
# Crash harness, two runs: (1) the real `voter simulate` binary (16 workers, 300 voters,
# every receipt it receives appended to a file with --receipts-out) against a real server
# process that is SIGKILLed at M random moments and restarted on the same port and data
# directory; then every receipt the simulation printed must be in the log at its index with
# the same bytes, the log rebuilt from its entries must match the latest checkpoint and every
# checkpoint a receipt carried, and no ballot or voter key may appear twice. (2) The same
# kills under 16 in-process clients, after which every voter re-sends its ballot: each is
# stored once and the 3-of-5 tally counts every voter exactly once.
# M defaults to 10 here; `swift test` runs both with M=2 (CRASH_KILLS).
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-10}"
CRASH_KILLS="$kills" exec swift test --filter CrashRecoveryTests
