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
#         --duration S, --warmup S, --connect-rate R, --encoder NAME (camd's h264_encoder), --source pattern|h264
#         — see rtsp_bench.py --help.
#   --source h264: "same H.264, passed through" — no encoder on either side: camd and GStreamer serve the SAME
#         pre-encoded 720p30 H.264 (made once per run in the out dir with ffmpeg: a 120 s .h264 and its -c copy .mp4);
#         camd takes it from the fake camera (Tests/FakeV4L2, LD_PRELOADed, format = "H264"), GStreamer from the .mp4
#         (filesrc ! qtdemux ! h264parse ! rtph264pay). Results in bench/out/rtsp-<mode>-h264-<date-time>/. E.g.
#           bench/rtsp-bench.sh compare --source h264          # 100 and 500 viewers, 2 rounds
#           bench/rtsp-bench.sh compare --source h264 --clients 5 --rounds 1 --duration 5 --warmup 2   # a quick look
#   RTSP_BENCH_BIN=DIR    prebuilt camd, camload, libFakeV4L2.so (and rtsp-harness) instead of `swift build -c release`
#                         (CI: .build/debug)
#
# Needs (scripts/deps.sh bench): python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-ugly (x264enc), ffmpeg;
# --source h264 also gstreamer1.0-plugins-good (qtdemux) and gstreamer1.0-plugins-bad (h264parse).
# Everything listens on 127.0.0.1 only; every run is bounded; every process started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-compare}"
shift || true
case "$mode" in compare|latency|smoke|all) ;; *) echo "usage: bench/rtsp-bench.sh compare|latency|smoke|all [ARGS]" >&2; exit 2 ;; esac

bin="${RTSP_BENCH_BIN:-}"
if [ -z "$bin" ]; then
    products="camd camload FakeV4L2"  # FakeV4L2 (libFakeV4L2.so): the camera of --source h264; quick to build
    case " $* " in *" harness "*|*"--server=harness"*) products="$products rtsp-harness" ;; esac
    for product in $products; do swift build -c release --product "$product" >/dev/null; done
    bin="$(swift build -c release --show-bin-path)"
fi
if [ "$mode" != smoke ] && ! /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" 2>/dev/null; then
    echo "rtsp-bench: no GstRtspServer for /usr/bin/python3: run scripts/deps.sh bench" >&2
    exit 1
fi
case " $* " in
    *" --source h264 "*|*" --source=h264 "*)
        if [ "$mode" != smoke ] && ! /usr/bin/python3 -c "import sys, gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst
Gst.init(None); sys.exit(0 if Gst.ElementFactory.find('qtdemux') and Gst.ElementFactory.find('h264parse') else 1)" 2>/dev/null; then
            echo "rtsp-bench: --source h264 needs GStreamer's qtdemux and h264parse: run scripts/deps.sh bench" >&2
            exit 1
        fi ;;
esac

# rtsp_bench.py stops its servers itself; this catches anything left if it is killed hard.
trap 'pkill -P $$ 2>/dev/null || true' EXIT
ulimit -n 8192 2>/dev/null || true
if [ "$mode" = all ]; then
    python3 bench/rtsp_bench.py compare --bin "$bin" "$@"
    python3 bench/rtsp_bench.py latency --bin "$bin" "$@"
else
    python3 bench/rtsp_bench.py "$mode" --bin "$bin" "$@"
fi
