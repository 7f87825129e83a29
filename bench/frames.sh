# Sourced by bench/run.sh and bench/camview.sh: the benchmark's input, COUNT 1280x720 JPEGs of ffmpeg's
# testsrc2 in DIR (kept between runs, remade when the set is incomplete).
# yuvj422p at -q:v 1 (with -qmin 1; the encoder's default qmin of 2 would cap it) gives ~100 KB frames
# of testsrc2 at 1280x720; yuvj420p tops out near 85 KB.
bench_make_frames() {  # DIR COUNT FPS
    local dir=$1 count=$2 fps=$3
    local last
    last=$(printf '%s/%05d.jpg' "$dir" "$count")
    if [ ! -s "$last" ] || [ "$(find "$dir" -maxdepth 1 -name '*.jpg' | wc -l)" -ne "$count" ]; then
        echo "[bench] making $count 1280x720 JPEGs in $dir" >&2
        rm -rf "$dir"
        mkdir -p "$dir"
        timeout 300 ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=$fps" \
            -frames:v "$count" -qmin 1 -q:v 1 -pix_fmt yuvj422p "$dir/%05d.jpg"
    fi
}
