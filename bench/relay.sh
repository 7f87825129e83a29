#!/usr/bin/env bash
# Relay tiers, measured (issue 15; docs/SCALING.md, docs/BENCHMARKS.md "Relay tiers"): a camera box (camd, the
# 1280x720 test pattern at 30 fps, quality 80) whose uplink is shaped to 30 Mbit/s with tc, 2 relays (camd with
# source = "camd://box:9999") and their viewers, each in its own network namespace (bench/relay.py draws it).
# Phases: 1, 2, 4, 6 and 8 viewers of the box directly (the uplink fills up); 2, 20 and 100 viewers split between
# the relays, plus one viewer whose link is shaped to 1.5 Mbit/s (the box's uplink bytes, per-viewer fps, relay
# CPU); then one direct viewer and one viewer of each relay at once, every frame logged: the relay hop's latency,
# frame by frame. Prints markdown tables; results in bench/out/relay-<date-time>/. Needs root.
#
#   bench/relay.sh [SECONDS]                 # each measured window (default 10); about 2 min + 11 × (SECONDS + 3)
#   RELAY_BUILD=debug bench/relay.sh 5       # the debug build of swift build --build-tests instead of release
#   RELAY_ARGS="--uplink 20mbit" bench/relay.sh   # more bench/relay.py options (see bench/relay.py --help)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench/relay.sh: needs root (network namespaces, tc)" >&2; exit 1; }
seconds="${1:-10}"
config="${RELAY_BUILD:-release}"
if [ "$config" = release ]; then
    swift build -c release --product camd >/dev/null
    swift build -c release --product camload >/dev/null
fi
bin="$(swift build -c "$config" --show-bin-path)"
out="bench/out/relay-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
prefix=rl$$
cleanup() {
    local ns
    # bench/relay.py deletes its namespaces itself; this catches a Python that was killed.
    for ns in $(ip netns list | awk -v p="$prefix-" 'index($1, p) == 1 {print $1}'); do
        ip netns pids "$ns" | xargs -r kill -KILL 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
{
    echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- 2>/dev/null || echo -dirty), $config build," \
        "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"
    echo
    # shellcheck disable=SC2086  # RELAY_ARGS is a list of options
    python3 bench/relay.py --bin "$bin" --out "$out" --prefix "$prefix" --direct 1,2,4,6,8 --viewers 2,20,100 \
        --seconds "$seconds" --warmup 3 ${RELAY_ARGS:-}
} | tee "$out/report.md"
exit "${PIPESTATUS[0]}"
