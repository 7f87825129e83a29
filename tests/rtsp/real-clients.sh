#!/usr/bin/env bash
# Real RTSP clients against the protocol layer alone (before it is wired into camd): builds rtsp-harness, which
# serves a libx264 test clip through RTSPConnectionMachine + H264Packetizer on loopback, then checks
#   ffprobe  — codec h264, 320x240, 30/1 over RTP/AVP/TCP interleaved
#   ffmpeg   — decodes 60 frames without a warning or error line
#   GStreamer rtspsrc ! rtph264depay — 60 buffers (no H.264 decoder element is installed here)
#   three ffmpeg viewers at once — each decodes 90 frames of the shared packetisation without a warning
#   ffprobe, ffmpeg and GStreamer (rtpjpegdepay ! jpegdec) on /mjpeg — RFC 2435 JPEG (JPEGPacketizer) from an MJPEG
#   clip with the standard Huffman tables
# Prints one line per client and "N passed, M failed"; exit status 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
port=${RTSP_PORT:-18554}
swift build -j 1 --product rtsp-harness > "$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=30 -t 4 -c:v libx264 -bf 0 -g 30 -pix_fmt yuv420p "$work/clip.h264"
# RFC 2435 receivers assume the standard (Annex K) Huffman tables: ffmpeg's encoder must not optimise its own.
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=30 -t 2 -c:v mjpeg -huffman default -pix_fmt yuvj420p -f mjpeg "$work/clip.mjpeg"
.build/debug/rtsp-harness "$port" "$work/clip.h264" 30 "$work/requests.log" "$work/clip.mjpeg" > "$work/harness.log" 2>&1 &
harness=$!
trap 'kill $harness 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -qs listening "$work/harness.log" && break; sleep 0.1; done
url="rtsp://127.0.0.1:$port/stream"
passed=0 failed=0
check() { if [ "$2" = "$3" ]; then echo "ok   $1: $2"; passed=$((passed + 1)); else echo "FAIL $1: got '$2', want '$3'"; failed=$((failed + 1)); fi; }

probe=$(timeout 20 ffprobe -v error -rtsp_transport tcp -show_entries stream=codec_name,width,height,r_frame_rate -of compact=p=0 "$url" 2>&1)
check ffprobe "$probe" "codec_name=h264|width=320|height=240|r_frame_rate=30/1"

decoded=$(timeout 30 ffmpeg -v warning -rtsp_transport tcp -i "$url" -frames:v 60 -f null - 2>&1; echo "exit $?")
check "ffmpeg 60 frames" "$(echo "$decoded" | tr '\n' ' ' | sed 's/ $//')" "exit 0"

for i in 1 2 3; do
    (timeout 30 ffmpeg -v warning -rtsp_transport tcp -i "$url" -frames:v 90 -f null - > "$work/multi$i.log" 2>&1; echo "exit $?" >> "$work/multi$i.log") &
done
wait $(jobs -p | grep -v "^$harness\$")
check "3 ffmpeg viewers at once" "$(cat "$work"/multi*.log | tr '\n' ' ' | sed 's/ $//')" "exit 0 exit 0 exit 0"

gst=$(timeout 30 gst-launch-1.0 rtspsrc location="$url" protocols=tcp ! rtph264depay ! fakesink num-buffers=60 2>&1)
check "gstreamer rtph264depay" "$(echo "$gst" | grep -c 'Got EOS from element "pipeline0"')" "1"

mjpeg="rtsp://127.0.0.1:$port/mjpeg"
probe=$(timeout 20 ffprobe -v error -rtsp_transport tcp -show_entries stream=codec_name,width,height -of compact=p=0 "$mjpeg" 2>&1)
check "ffprobe /mjpeg" "$probe" "codec_name=mjpeg|width=320|height=240"
decoded=$(timeout 30 ffmpeg -v warning -rtsp_transport tcp -i "$mjpeg" -frames:v 60 -f null - 2>&1; echo "exit $?")
check "ffmpeg /mjpeg 60 frames" "$(echo "$decoded" | tr '\n' ' ' | sed 's/ $//')" "exit 0"
gst=$(timeout 30 gst-launch-1.0 rtspsrc location="$mjpeg" protocols=tcp ! rtpjpegdepay ! jpegdec ! fakesink num-buffers=60 2>&1)
check "gstreamer /mjpeg jpegdec" "$(echo "$gst" | grep -c 'Got EOS from element "pipeline0"')" "1"

# Access control as camd will apply it: Basic after a 401 challenge (ffmpeg retries with the URL's user:password),
# the token in the query, and a refusal without either.
kill $harness 2>/dev/null; wait $harness 2>/dev/null
port=$((port + 1))
RTSP_HARNESS_AUTH="Basic $(printf 'admin:s3cret' | base64)" RTSP_HARNESS_TOKEN=tok123 \
    .build/debug/rtsp-harness "$port" "$work/clip.h264" 30 "$work/requests-auth.log" > "$work/harness-auth.log" 2>&1 &
harness=$!
for _ in $(seq 100); do grep -qs listening "$work/harness-auth.log" && break; sleep 0.1; done
probe=$(timeout 20 ffprobe -v error -rtsp_transport tcp -show_entries stream=codec_name -of compact=p=0 "rtsp://admin:s3cret@127.0.0.1:$port/stream" 2>&1)
check "ffprobe Basic after 401" "$probe" "codec_name=h264"
probe=$(timeout 20 ffprobe -v error -rtsp_transport tcp -show_entries stream=codec_name -of compact=p=0 "rtsp://127.0.0.1:$port/stream?token=tok123" 2>&1)
check "ffprobe ?token=" "$probe" "codec_name=h264"
probe=$(timeout 20 ffprobe -v error -rtsp_transport tcp -show_entries stream=codec_name -of compact=p=0 "rtsp://admin:wrong@127.0.0.1:$port/stream" 2>&1)
check "ffprobe wrong password" "$(echo "$probe" | grep -q '401 Unauthorized' && echo refused)" "refused"

echo "$passed passed, $failed failed"
[ -n "${RTSP_KEEP_REQUESTS:-}" ] && cp "$work/requests.log" "$RTSP_KEEP_REQUESTS"
((failed == 0))
