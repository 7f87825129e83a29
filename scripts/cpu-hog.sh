#!/usr/bin/env bash
# A bounded CPU hog: keeps every core busy with a plain busy loop for SECONDS (default 600), then stops by
# itself. Used to check that the test suite waits for conditions, not for time (scripts/test-under-load.sh).
#   scripts/cpu-hog.sh [SECONDS]
set -euo pipefail
seconds="${1:-600}"
pids=()
for _ in $(seq 1 "$(nproc)"); do
    timeout "$seconds" bash -c 'while :; do :; done' &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
wait
