#!/usr/bin/env bash
# H.264 encode time per frame (issue 16): camd's encoder (bench/h264bench: H264Encoder, libx264 through libavcodec
# with camd's settings) against ffmpeg's libx264 CLI on the same raw frames, in the same run, runs interleaved.
#   ffmpeg -benchmark -f rawvideo -pix_fmt yuv420p -s WxH -framerate 30 -i frames.yuv -c:v libx264 -preset ultrafast \
#          -tune zerolatency -bf 0 -g 30 -b:v 2M -f null -
# Frames: ffmpeg's testsrc2 (moving), yuv420p, written once per size to bench/out/. Both sides report user CPU
# (utime) and wall time (rtime; ffmpeg prints its "bench:" line at -v info); h264bench times only the encode (its frames are in memory first), ffmpeg also reads
# and demuxes the file (page-cached after the first run). Prints a markdown table of medians; target: camd's utime
# per frame within 1.1x of ffmpeg's.
#
#   bench/h264-encode.sh [RUNS]          # default 5 runs per size, sizes "1280x720 1920x1080", 300 frames
#   H264_SIZES="640x360" H264_FRAMES=60 bench/h264-encode.sh 1   # a quick look
#   H264BENCH=path/to/h264bench          # a prebuilt binary instead of `swift build -c release --product h264bench`
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
sizes="${H264_SIZES:-1280x720 1920x1080}"
frames="${H264_FRAMES:-300}"
bench="${H264BENCH:-}"
if [ -z "$bench" ]; then
    swift build -c release --product h264bench >/dev/null
    bench="$(swift build -c release --show-bin-path)/h264bench"
fi
out="bench/out/h264-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| size | frames | camd utime ms/frame | ffmpeg utime ms/frame | ratio | camd wall ms/frame | ffmpeg wall ms/frame | camd bit/s | ffmpeg bit/s |"
echo "|---|---|---|---|---|---|---|---|---|"
for size in $sizes; do
    width="${size%x*}" height="${size#*x}"
    frames_file="$out/frames-$size.yuv"
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=$size:rate=30" -frames:v "$frames" -pix_fmt yuv420p "$frames_file"
    : > "$out/camd-$size.txt"; : > "$out/ffmpeg-$size.txt"
    for run in $(seq 1 "$runs"); do
        "$bench" "$frames_file" "$width" "$height" --fps 30 --bitrate 2000000 --gop 30 --out "$out/camd-$size.h264" \
            >> "$out/camd-$size.txt"
        ffmpeg -nostdin -benchmark -hide_banner -nostats -y -f rawvideo -pix_fmt yuv420p -s "$size" -framerate 30 -i "$frames_file" \
            -c:v libx264 -preset ultrafast -tune zerolatency -bf 0 -g 30 -b:v 2M -f h264 "$out/ffmpeg-$size.h264" \
            2>&1 | grep '^bench: utime=' >> "$out/ffmpeg-$size.txt"
    done
    # Both outputs must be whole, decodable streams of every frame.
    for side in camd ffmpeg; do
        decoded=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$out/$side-$size.h264")
        errors=$(ffmpeg -nostdin -v error -i "$out/$side-$size.h264" -f null - 2>&1 | wc -l)
        [ "$decoded" = "$frames" ] && [ "$errors" = 0 ] || { echo "$side $size: $decoded frames decoded, $errors error lines" >&2; exit 1; }
    done
    camd_u=$(sed -E 's/.* utime=([0-9.]+).*/\1/' "$out/camd-$size.txt" | median)
    camd_r=$(sed -E 's/.* rtime=([0-9.]+).*/\1/' "$out/camd-$size.txt" | median)
    ff_u=$(sed -E 's/.*utime=([0-9.]+)s.*/\1/' "$out/ffmpeg-$size.txt" | median)
    ff_r=$(sed -E 's/.*rtime=([0-9.]+)s.*/\1/' "$out/ffmpeg-$size.txt" | median)
    camd_bytes=$(stat -c %s "$out/camd-$size.h264") ff_bytes=$(stat -c %s "$out/ffmpeg-$size.h264")
    awk -v s="$size" -v n="$frames" -v cu="$camd_u" -v fu="$ff_u" -v cr="$camd_r" -v fr="$ff_r" -v cb="$camd_bytes" -v fb="$ff_bytes" \
        'BEGIN { printf "| %s | %d | %.2f | %.2f | %.2fx | %.2f | %.2f | %d | %d |\n", s, n, cu * 1000 / n, fu * 1000 / n,
                 cu / fu, cr * 1000 / n, fr * 1000 / n, cb * 8 * 30 / n, fb * 8 * 30 / n }'
    rm -f "$frames_file"
done
