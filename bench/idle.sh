#!/usr/bin/env bash
# Idle mode, measured (bench/idle.py): camd's CPU with no viewer — idle_after off, then on — and the time from a
# viewer's connect to its first live frame, for the test pattern, a file replay and the fake UVC camera (MJPEG and
# YUYV, idle_camera keep and stop). Prints a markdown table; results in bench/out/idle-<date-time>/.
#
#   bench/idle.sh [SECONDS]          # each CPU window (default 10); the whole run takes about 12 × SECONDS + 1 min
#   bench/idle.sh --vivid [SECONDS]  # the camera cases on vivid, a real V4L2 driver, in the VM (tests/vm; TCG)
#   IDLE_BUILD=debug IDLE_TRIES=2 bench/idle.sh 2   # the smoke run in scripts/test.sh: debug build, short windows
set -euo pipefail
cd "$(dirname "$0")/.."
vivid=0
if [ "${1:-}" = --vivid ]; then vivid=1; shift; fi
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
if [ "$vivid" = 1 ]; then
    # The guest sees the host's tree (and this build) read-only; the table comes back on stdout.
    tests/vm/camvm.sh run -t 900 -- /usr/bin/python3 bench/idle.py --camera /dev/video0 --bin "$bin" --data "$data" \
        --seconds "$seconds" --tries "${IDLE_TRIES:-5}" --out /tmp | tee "$out/report.md"
    exit "${PIPESTATUS[0]}"
fi
python3 bench/idle.py --bin "$bin" --data "$data" --seconds "$seconds" --tries "${IDLE_TRIES:-5}" --out "$out" | tee "$out/report.md"
