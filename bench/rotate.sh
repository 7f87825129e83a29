#!/usr/bin/env bash
# rotate/flip, measured in the running daemon: camd's CPU (share of one core, from /proc/PID/stat over SECONDS)
# and RSS for the 1280x720 test pattern at 30 fps (never idle, no viewer needed), not turned and turned by each
# lossless transform. The difference is the transform's cost per second; divided by 30, per frame.
#
#   bench/rotate.sh [SECONDS]        # default 10 s per case; release build
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
swift build -c release --product camd >/dev/null
camd="$(swift build -c release --show-bin-path)/camd"
trap 'kill "${pid:-0}" 2>/dev/null || true' EXIT
echo "| rotate, flip | camd CPU (% of a core) | added per frame (ms) | RSS (MB) | published size |"
echo "|---|---|---|---|---|"
base=""
for turn in "0 none" "90 none" "180 none" "270 none" "0 horizontal" "0 vertical"; do
    set -- $turn
    "$camd" --width 1280 --height 720 --fps 30 --idle-after 0 --rotate "$1" --flip "$2" --listen 127.0.0.1:19961 \
        --http-listen 127.0.0.1:19962 --rtsp-listen off --control-socket "" --stats-interval 0 --log-level warning &
    pid=$!
    for _ in $(seq 100); do curl -sf http://127.0.0.1:19962/state >/dev/null && break; sleep 0.1; done
    sleep 2
    t0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); sleep "$seconds"; t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    size=$(curl -sf http://127.0.0.1:19962/state | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["width"], s["height"], sep="x")')
    kill "$pid"; wait "$pid" 2>/dev/null || true
    ticks=$(getconf CLK_TCK)
    python3 - "$1" "$2" "$t0" "$t1" "$seconds" "$ticks" "$rss" "$size" "$base" <<'PY'
import sys
rot, flip, t0, t1, seconds, tck, rss, size, base = sys.argv[1:]
cpu = (float(t1) - float(t0)) / float(tck) / float(seconds) * 100
added = "—" if not base else f"{(cpu - float(base)) / 100 / 30 * 1000:.2f}"
print(f"| {rot}, {flip} | {cpu:.1f} | {added} | {int(rss) / 1024:.1f} | {size} |")
open("/tmp/camd-rotate-base", "w").write(f"{cpu}") if not base else None
PY
    if [ -z "$base" ]; then base=$(cat /tmp/camd-rotate-base); fi
done
rm -f /tmp/camd-rotate-base
