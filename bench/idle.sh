#!/usr/bin/env bash
# Idle mode, measured (bench/idle.py): camd's CPU with no viewer — idle_after off, then on — and the time from a
# viewer's connect to its first live frame, for the test pattern, a file replay and the fake UVC camera (MJPEG and
# YUYV, idle_camera keep and stop). Prints a markdown table; results in bench/out/idle-<date-time>/.
#
#   bench/idle.sh [SECONDS]     # each CPU window (default 10); the whole run takes about 12 × SECONDS + 1 min
#   IDLE_BUILD=debug bench/idle.sh 2   # the smoke run in scripts/test.sh: a debug build, short windows
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
config="${IDLE_BUILD:-release}"
if [ "$config" = release ]; then
    swift build -c release --product camd >/dev/null
    swift build -c release --product FakeV4L2 >/dev/null
fi
bin="$(swift build -c "$config" --show-bin-path)"
out="bench/out/idle-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
data=bench/data
if ! compgen -G "$data/*.jpg" >/dev/null; then
    # The frames bench/run.sh makes (1280x720, ~106 KB each); 30 are enough here.
    data="$out/data"; mkdir -p "$data"
    ffmpeg -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30 -frames:v 30 -qmin 1 -q:v 1 -pix_fmt yuvj422p "$data/%05d.jpg"
fi
python3 bench/idle.py --bin "$bin" --data "$data" --seconds "$seconds" --tries "${IDLE_TRIES:-5}" --out "$out" | tee "$out/report.md"
