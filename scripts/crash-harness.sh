#!/usr/bin/env bash
# Crash harness: casts ballots with 16 concurrent clients (the `voter` code path) against a
# real server process, SIGKILLs the server at a random moment M times (default 10), restarts
# it on the same data directory each time, and checks that every receipt a client received
# is in the log at its index, that the log rebuilt from its entries matches every checkpoint,
# that re-sent ballots are stored once, and that the tally counts every voter exactly once.
# `swift test` runs the same test with M=2 (CRASH_KILLS).
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-10}"
CRASH_KILLS="$kills" exec swift test --filter CrashRecoveryTests
