#!/usr/bin/env bash
# RTSP fan-out benchmark (issue 16): camd's RTSP server against GStreamer's (gst-rtsp-server, one shared media), both
# encoding a 720p30 moving test pattern once with libx264 (ultrafast, zerolatency, 2 Mbit/s, GOP 30); viewers are
# camload --protocol rtsp (RTP over TCP interleaved, one epoll thread). bench/rtsp_bench.py does the work; results
# in bench/out/rtsp-<mode>-<date-time>/; docs/BENCHMARKS.md "RTSP fan-out (issue 16)" explains them.
#
#   bench/rtsp-bench.sh compare [ARGS]   # 100 and 500 viewers, camd then GStreamer, interleaved, 2 rounds (~4 min)
#   bench/rtsp-bench.sh latency [ARGS]   # 4 viewers, 20 s: capture-to-first-packet p50/p99, bitrate, /state encode time
#   bench/rtsp-bench.sh smoke [ARGS]     # CI: camd only, 20 viewers, 10 s; exit 1 unless every viewer got frames
#   bench/rtsp-bench.sh all              # compare, then latency
#   ARGS: --server harness (Tests/RTSPHarness on a pre-encoded file in camd's place), --clients 100,500, --rounds N,
#         --duration S, --warmup S, --connect-rate R, --encoder NAME (camd's h264_encoder) — see rtsp_bench.py --help.
#   RTSP_BENCH_BIN=DIR    prebuilt camd, camload (and rtsp-harness) instead of `swift build -c release` (CI: .build/debug)
#
# Needs (scripts/deps.sh bench): python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-ugly (x264enc), ffmpeg.
# Everything listens on 127.0.0.1 only; every run is bounded; every process started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-compare}"
shift || true
case "$mode" in compare|latency|smoke|all) ;; *) echo "usage: bench/rtsp-bench.sh compare|latency|smoke|all [ARGS]" >&2; exit 2 ;; esac

bin="${RTSP_BENCH_BIN:-}"
if [ -z "$bin" ]; then
    products="camd camload"
    case " $* " in *" harness "*|*"--server=harness"*) products="$products rtsp-harness" ;; esac
    for product in $products; do swift build -c release --product "$product" >/dev/null; done
    bin="$(swift build -c release --show-bin-path)"
fi
if [ "$mode" != smoke ] && ! /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" 2>/dev/null; then
    echo "rtsp-bench: no GstRtspServer for /usr/bin/python3: run scripts/deps.sh bench" >&2
    exit 1
fi

# rtsp_bench.py stops its servers itself; this catches anything left if it is killed hard.
trap 'pkill -P $$ 2>/dev/null || true' EXIT
ulimit -n 8192 2>/dev/null || true
if [ "$mode" = all ]; then
    python3 bench/rtsp_bench.py compare --bin "$bin" "$@"
    python3 bench/rtsp_bench.py latency --bin "$bin" "$@"
else
    python3 bench/rtsp_bench.py "$mode" --bin "$bin" "$@"
fi
