#!/usr/bin/env bash
# drop_same_frames, measured: bandwidth per viewer for a static HDMI-like source — one 1280x720 JPEG replayed at
# 30 fps (a desktop that does not change) — with drop_same_frames 0 (off) and N (default 30). One HTTP /stream
# viewer (curl) per run; prints a markdown table (bytes and frames the viewer got, capture rate from /state).
#
#   bench/same_frames.sh [SECONDS] [N]       # default 20 s per run, N = 30; release build
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
limit="${2:-30}"
swift build -c release --product camd >/dev/null
camd="$(swift build -c release --show-bin-path)/camd"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
# A busy, detailed picture (testsrc2) at the quality a capture card's MJPEG would have.
ffmpeg -loglevel error -f lavfi -i testsrc2=size=1280x720 -frames:v 1 -q:v 3 -pix_fmt yuvj422p "$work/static.jpg"
size=$(stat -c %s "$work/static.jpg")
echo "| drop_same_frames | viewer KB/s | viewer fps | capture fps (/state) | frames unchanged | JPEG bytes |"
echo "|---|---|---|---|---|---|"
for n in 0 "$limit"; do
    port=19987
    "$camd" --source "file:$work/static.jpg" --fps 30 --drop-same-frames "$n" --listen 127.0.0.1:19988 \
        --http-listen 127.0.0.1:$port --rtsp-listen off --control-socket "" --stats-interval 0 --idle-after 0 --log-level warning &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/state" >/dev/null && break; sleep 0.1; done
    bytes=$(curl -s --max-time "$seconds" -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/stream" || true)
    state=$(curl -sf "http://127.0.0.1:$port/state")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    python3 - "$n" "$bytes" "$seconds" "$size" "$state" <<'PY'
import json, sys
n, got, seconds, size, state = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
print(f"| {n} | {got / seconds / 1000:.1f} | {state['frames_sent'] / seconds:.2f} | {state['capture_fps']} | "
      f"{state['frames_unchanged']} | {size} |")
PY
done
