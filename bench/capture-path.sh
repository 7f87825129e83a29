#!/usr/bin/env bash
# The capture path at 1080p60, measured (bench/capture_path.py): the real camd on the fake camera in a raw format,
# with 1 and 2 encoder workers — delivered fps, capture-to-publish latency p50/p99, drops, CPU. Prints a markdown
# table; results in bench/out/capture-<date-time>/.
#
#   bench/capture-path.sh [SECONDS] [FORMATS]     # default 10 s windows, formats "yuyv,uyvy" (uyvy needs a build
#                                                 # whose camd and fake camera have it)
#   bench/capture-path.sh --hold [SECONDS] [BEFORE_CAMD]   # how long camd holds a driver buffer at 720p YUYV, this
#                                                 # build and optionally an older camd binary
#   CAPTURE_BUILD=debug CAPTURE_SIZE=640x480 CAPTURE_FPS=30 bench/capture-path.sh 2 yuyv   # the smoke run in
#                                                 # scripts/test.sh: debug build, a short window
set -euo pipefail
cd "$(dirname "$0")/.."
hold=0
if [ "${1:-}" = --hold ]; then hold=1; shift; fi
seconds="${1:-10}"
config="${CAPTURE_BUILD:-release}"
if [ "$config" = release ]; then
    swift build -c release --product camd >/dev/null
    swift build -c release --product FakeV4L2 >/dev/null
fi
bin="$(swift build -c "$config" --show-bin-path)"
out="bench/out/capture-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
if [ "$hold" = 1 ]; then
    before=()
    if [ -n "${2:-}" ]; then before=(--before "$2"); fi
    python3 bench/capture_path.py --hold --bin "$bin" --seconds "$seconds" --out "$out" "${before[@]}" | tee "$out/report.md"
    exit "${PIPESTATUS[0]}"
fi
python3 bench/capture_path.py --bin "$bin" --formats "${2:-yuyv,uyvy}" --size "${CAPTURE_SIZE:-1920x1080}" \
    --fps "${CAPTURE_FPS:-60}" --seconds "$seconds" --warmup "${CAPTURE_WARMUP:-3}" --out "$out" | tee "$out/report.md"
exit "${PIPESTATUS[0]}"
