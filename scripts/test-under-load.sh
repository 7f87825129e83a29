#!/usr/bin/env bash
# The whole suite (scripts/test.sh) RUNS times in a row while scripts/cpu-hog.sh keeps every core busy: a
# test that waits for time instead of a condition fails here. Prints one line per run and a closing count.
#   scripts/test-under-load.sh [RUNS]      # default 5; logs in $TMPDIR/camd-load-N.log
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
# Bounded: the hog stops by itself after 6 hours even if this script is killed.
scripts/cpu-hog.sh 21600 &
hog=$!
trap 'kill $hog 2>/dev/null; wait $hog 2>/dev/null' EXIT
# A signal ends the whole campaign (a trap that only cleaned up would let the loop go on to the next run).
trap 'exit 130' INT TERM
passed=0 failed=0
for n in $(seq 1 "$runs"); do
    log="${TMPDIR:-/tmp}/camd-load-$n.log"
    start=$(date +%s)
    if scripts/test.sh > "$log" 2>&1; then passed=$((passed + 1)); verdict=passed; else failed=$((failed + 1)); verdict=FAILED; fi
    echo "run $n: $verdict in $(( $(date +%s) - start )) s ($(grep -E '^(✔|✘) Test run with' "$log" | tail -1)) — $log"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
