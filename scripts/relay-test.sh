#!/usr/bin/env bash
# Relay tiers, short (issue 15): a camera box (camd, the 720p30 test pattern) → 2 relays (camd with
# source = "camd://box:9999") → viewers, each in its own network namespace on one bridge, the box's uplink
# shaped to 30 Mbit/s with tc (bench/relay.py draws the topology and lists every check). Fails unless, with 2
# and with 40 relay viewers: the box's uplink carries 1–3.5 streams (counted on its veth against the frames it
# made), not growing with the viewers, while they receive ≥ N/4 times the uplink's bytes; each relay receives
# ≥ 50 % of the box's frames and each of its viewers ≥ 80 % of the relay's; one viewer whose link is shaped to
# 1.5 Mbit/s alone drops frames, getting about what its link allows. And the relay hop adds < 50 ms at p99 with
# the uplink unshaped, < 100 ms through the shaped one (a relay viewer's latency p99 − a direct viewer's, or the
# p99 of the same frames' arrival differences, whichever is smaller), and under 10 ms (unshaped; 25 ms shaped) at
# the median, frame by frame. About 40 s; needs root. Uses the debug build of
# `swift build --build-tests`; the precise numbers: bench/relay.sh, docs/BENCHMARKS.md ("Relay tiers").
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "relay-test: needs root (network namespaces, tc)" >&2; exit 1; }
bin=$(swift build --show-bin-path)
for f in camd camload; do
    [ -x "$bin/$f" ] || { echo "relay-test: $bin/$f is missing (swift build --build-tests first)" >&2; exit 1; }
done
prefix=rl$$  # every namespace is $prefix-<host>; interfaces exist only inside them
out=$(mktemp -d /tmp/camd-relay-test.XXXXXX)
cleanup() {
    local rc=$? ns
    # bench/relay.py deletes its namespaces itself; this catches a Python that was killed.
    for ns in $(ip netns list | awk -v p="$prefix-" 'index($1, p) == 1 {print $1}'); do
        ip netns pids "$ns" | xargs -r kill -KILL 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    if [ "$rc" -eq 0 ]; then rm -rf "$out"; else echo "relay-test: failed; logs and results in $out" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
python3 bench/relay.py --test --bin "$bin" --out "$out" --prefix "$prefix" \
    --direct 1 --viewers 2,40 --seconds 4 --hop-seconds 5 --warmup 2
