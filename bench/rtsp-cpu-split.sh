#!/usr/bin/env bash
# Where an RTSP server's CPU goes at 500 viewers of the same pre-encoded H.264: user vs system time of camd (fake
# camera, format = "H264", pictures paused) or GStreamer's RTSP server (the MP4 remux), from /proc/PID/stat over
# 10 s of a 25 s camload run. docs/BENCHMARKS.md "Pass-through" uses it.
#
#   bench/rtsp-cpu-split.sh camd|gst DIR   # DIR: a `rtsp-bench.sh compare --source h264` output directory (its
#                                          # h264-720p30-120s.h264 and .mp4); RTSP_BENCH_BIN as for rtsp-bench.sh
# Loopback only; everything it starts is bounded by `timeout`.
set -euo pipefail
kind="${1:?camd or gst}"
dir="${2:?the compare --source h264 output directory}"
cd "$(dirname "$0")/.."
bin="${RTSP_BENCH_BIN:-$(swift build -c release --show-bin-path)}"
work=$(mktemp -d /tmp/rtsp-cpu-split.XXXXXX)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n 8192
if [ "$kind" = camd ]; then
    cat > "$work/camd.toml" <<CONF
listen = ["127.0.0.1:19500"]
http_listen = ["127.0.0.1:19501"]
rtsp_listen = ["127.0.0.1:19502"]
source = "v4l2:/dev/video-fake"
format = "H264"
idle_after = 2
width = 1280
height = 720
fps = 30
max_clients = 2000
max_clients_per_ip = 0
log_level = "warning"
CONF
    timeout 60 env LD_PRELOAD="$bin/libFakeV4L2.so" FAKE_V4L2_DEVICE=/dev/video-fake FAKE_V4L2_H264="$dir/h264-720p30-120s.h264" \
        "$bin/camd" --config "$work/camd.toml" > "$work/server.log" 2>&1 &
    port=19502
else
    timeout 60 /usr/bin/python3 bench/rtsp_gst_server.py 19512 --seconds 58 --not-seekable \
        --launch "( filesrc location=$dir/h264-720p30-120s.mp4 ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )" \
        > "$work/server.log" 2>&1 &
    port=19512
fi
outer=$!
sleep 2
pid=$(awk '{print $1}' "/proc/$outer/task/$outer/children")
timeout 50 "$bin/camload" --target "127.0.0.1:$port" --protocol rtsp --path /stream --clients 500 --connect-rate 200 \
    --warmup 3 --duration 25 --play-timeout 30 --source-fps 30 --json > "$work/camload.json" 2> "$work/camload.err" &
load=$!
sleep 12
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
sleep 10
read -r u2 s2 < <(awk '{print $14, $15}' "/proc/$pid/stat")
hz=$(getconf CLK_TCK)
wait "$load" || true
frames=$(python3 -c "import json; r = json.load(open('$work/camload.json')); print(r.get('fast_fps_median', 0) * 500)")
echo "$kind: utime $(( (u2 - u1) * 100 / hz / 10 )).$(( (u2 - u1) * 1000 / hz / 10 % 10 )) % stime $(( (s2 - s1) * 100 / hz / 10 )).$(( (s2 - s1) * 1000 / hz / 10 % 10 )) % of a core over 10 s; about $frames access units delivered per second"
tail -1 "$work/camload.err" | cut -c1-160
