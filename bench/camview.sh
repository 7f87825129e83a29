#!/usr/bin/env bash
# bench/camview.sh — what watching costs: camview's CPU and memory per display mode (see docs/BENCHMARKS.md).
#
# camd (release) serves 30 fps of (a) its 640x480 test pattern and (b) 1280x720 JPEGs from bench/data (made
# here with ffmpeg testsrc2 if bench/run.sh has not made them); camview (release) watches each for DURATION
# seconds in four ways: --stats (receive only), the terminal (tmux pane 160x50, half-blocks), the terminal with
# --tty=sixel, and the window (Xvfb 1280x800, SDL's software renderer). Reported: CPU % of one core
# (user + system, from getrusage of camview alone), max RSS, and the frames received.
# Loopback only; every run ends by itself (--duration) and every server is stopped on exit.
#
# Environment (optional): DURATION (10), PORT (19980; +1 HTTP), DISPLAY_NUMBER (97).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-10}
PORT=${PORT:-19980}
DISPLAY_NUMBER=${DISPLAY_NUMBER:-97}
DATA=$ROOT/bench/data
WORK=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    tmux -L camview-bench kill-server 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

swift build -c release --product camd >&2
swift build -c release --product camview >&2
BIN=$(swift build -c release --show-bin-path)
source "$ROOT/bench/frames.sh"
bench_make_frames "$DATA" 150 30

Xvfb ":$DISPLAY_NUMBER" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)

# measure LABEL ARGS… — runs camview under a getrusage wrapper; prints "cpu% maxrss_kib".
measure() {
    local out=$WORK/usage
    rm -f "$out"
    python3 - "$out" "$@" <<'PY'
import resource, subprocess, sys
out, argv = sys.argv[1], sys.argv[2:]
subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(out, "w").write(f"{r.ru_utime + r.ru_stime} {r.ru_maxrss}\n")
PY
}

# in_tmux ARGS… — the same, inside a 160x50 tmux pane (the terminal modes need a terminal).
in_tmux() {
    local out=$WORK/usage
    rm -f "$out"
    local command="python3 -c 'import resource,subprocess,sys; subprocess.run(sys.argv[2:]); r=resource.getrusage(resource.RUSAGE_CHILDREN); open(sys.argv[1],\"w\").write(f\"{r.ru_utime+r.ru_stime} {r.ru_maxrss}\\n\")' $out $*"
    tmux -L camview-bench -f /dev/null new-session -d -x 160 -y 50 "$command"
    local waited=0
    while [ ! -s "$out" ] && [ "$waited" -lt $((DURATION * 10 + 150)) ]; do sleep 0.1; waited=$((waited + 1)); done
    tmux -L camview-bench kill-server 2>/dev/null || true
}

report() {  # LABEL SOURCE
    if [ -s "$WORK/usage" ]; then
        read -r cpu rss <"$WORK/usage"
        awk -v l="$1" -v s="$2" -v c="$cpu" -v r="$rss" -v d="$DURATION" \
            'BEGIN { printf "| %s | %s | %.1f %% | %.1f MB |\n", s, l, 100 * c / d, r / 1024 }'
    else
        echo "| $2 | $1 | (no result) | |"
    fi
}

echo "| source | camview mode | CPU (one core) | max RSS |"
echo "|---|---|---|---|"
for source in testpattern "file:$DATA"; do
    if [ "$source" = testpattern ]; then label="test pattern 640x480"; args=(--width 640 --height 480); else label="file 1280x720 (~100 KB)"; args=(); fi
    "$BIN/camd" --source "$source" "${args[@]}" --fps 30 --listen "127.0.0.1:$PORT" --http-listen "127.0.0.1:$((PORT + 1))" --rtsp-listen off \
        --control-socket "$WORK/control" --stats-interval 0 2>"$WORK/camd.log" &
    camd_pid=$!
    pids+=("$camd_pid")
    sleep 1
    url="tcp://127.0.0.1:$PORT"
    measure env -u DISPLAY "$BIN/camview" "$url" --stats --duration "$DURATION"; report "--stats (headless)" "$label"
    in_tmux env -u DISPLAY "$BIN/camview" "$url" --tty=blocks --duration "$DURATION"; report "terminal, half-blocks 160x50" "$label"
    in_tmux env -u DISPLAY "$BIN/camview" "$url" --tty=sixel --duration "$DURATION"; report "terminal, sixel 160x50" "$label"
    measure env DISPLAY=":$DISPLAY_NUMBER" "$BIN/camview" "$url" --duration "$DURATION"; report "window (Xvfb, software renderer)" "$label"
    kill "$camd_pid"
    wait "$camd_pid" 2>/dev/null || true
done
