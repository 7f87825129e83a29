#!/usr/bin/env bash
# bench/soak.sh [SECONDS] — camd's soak test (see docs/RELIABILITY.md, "Soak"; bench/README.md).
#
# For SECONDS (default 3600) one release camd, its camera the fake UVC camera (Tests/FakeV4L2, LD_PRELOADed,
# MJPEG 640x480 at 30 fps), serves:
#   - 200 viewers (150 native, 50 HTTP /stream) that reconnect 1 s after camd closes them, plus 10 slow
#     native viewers (200 KB/s each) and 5 trickle HTTP viewers (1 KB/s each, tiny receive buffer)
#   - 50 connects/s of churn (25 native, 25 HTTP), each viewer staying 0–2 s
#   - the hostile request mix (bench/soak_hostile.py), 4 connections/s
#   - a canary: one native viewer (camload --frame-log) whose every frame is logged
# while bench/soak.py reloads every 30 s (camctl reload and SIGHUP in turn, live keys changed), kicks a
# random viewer (never the canary) every 5 s, unplugs the fake camera for 10 s every 2 minutes, and
# samples camd's RSS, descriptors and CPU from /proc every 5 s. Then it stops the load, checks camd is
# back to idle (no viewers, the same descriptors as before the load), stops camd with SIGTERM, and prints
# the summary and the targets (also in bench/out/soak-<date-time>/summary.md). Exit status 1 if a target
# is missed or camd died.
#
# Everything listens on 127.0.0.1 only; every process ends by itself (bounded durations) and is stopped on
# exit, however the script exits (trap).
#
# Environment (all optional): SOAK_SECONDS (same as the argument), PORT_BASE (19970: native, +1 HTTP),
# OUT (results directory), SOAK_BUILD (release, or debug to reuse `swift build --build-tests`' binaries),
# SOAK_SCALE (multiplies the viewer and churn counts; 1), NO_BUILD=1 (use the binaries as they are).
# A run of 300 s or less is a smoke run: looser targets (see soak.py), no slope targets.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_TOTAL=${1:-${SOAK_SECONDS:-3600}}
[[ "$SECONDS_TOTAL" =~ ^[0-9]+$ ]] && [ "$SECONDS_TOTAL" -ge 30 ] && [ "$SECONDS_TOTAL" -le 86400 ] \
    || { echo "usage: bench/soak.sh [SECONDS]  (30 to 86400; default 3600)" >&2; exit 2; }
PORT_BASE=${PORT_BASE:-19970}
NATIVE_PORT=$PORT_BASE
HTTP_PORT=$((PORT_BASE + 1))
BUILD=${SOAK_BUILD:-release}
SCALE=${SOAK_SCALE:-1}
FPS=30
OUT=${OUT:-$ROOT/bench/out/soak-$(date +%Y%m%d-%H%M%S)}
SMOKE=0; [ "$SECONDS_TOTAL" -le 300 ] && SMOKE=1
# Samples after this many seconds enter the slopes (the 200 viewers and the churn settle first).
WARMUP=$(( SECONDS_TOTAL >= 600 ? 60 : SECONDS_TOTAL / 5 ))
SAMPLE_EVERY=$(( SMOKE ? 2 : 5 ))

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
for tool in swift python3 ffmpeg timeout; do command -v "$tool" >/dev/null || die "$tool is required"; done

# The load's sizes, scaled once here (not between the starts of the load's processes, which a busy machine
# would spread over seconds).
read -r N_NATIVE N_SLOW N_HTTP N_TRICKLE N_CHURN < <(awk -v s="$SCALE" '
    function n(x) { v = int(x * s + 0.5); return v < 1 ? 1 : v }
    BEGIN { if (s + 0 <= 0) exit 1; print n(150), n(10), n(50), n(5), n(25) }') \
    || { echo "SOAK_SCALE must be a positive number" >&2; exit 2; }

# --- cleanup: every process this script starts is in PIDS -------------------------------------------
PIDS=()
CAMD_PID=""
RUNDIR=""
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
    if [ -n "$RUNDIR" ] && [ -d "$RUNDIR" ]; then rm -rf "$RUNDIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ---------------------------------------------------------------------------------------------
if [ "${NO_BUILD:-0}" != 1 ]; then
    log "building ($BUILD)"
    if [ "$BUILD" = release ]; then
        swift build -c release --product camd >/dev/null
        swift build -c release --product camctl >/dev/null
        swift build -c release --product camload >/dev/null
        swift build -c release --product FakeV4L2 >/dev/null
    else
        swift build --build-tests >/dev/null
    fi
fi
BIN=$(swift build -c "$BUILD" --show-bin-path)
for f in camd camctl camload libFakeV4L2.so; do [ -e "$BIN/$f" ] || die "$BIN/$f is missing (build first)"; done

mkdir -p "$OUT"
# The control socket's path must fit sockaddr_un (108 bytes): it lives in /tmp, not in OUT.
RUNDIR=$(mktemp -d /tmp/camd-soak.XXXXXX)
CONTROL=$RUNDIR/control
CAMERA=$OUT/camera
log "results in $OUT"

# --- the fake camera's picture: one 640x480 JPEG (~25 KB), served as every MJPEG frame ------------------
ffmpeg -loglevel error -f lavfi -i testsrc2=size=640x480 -frames:v 1 -q:v 3 -y "$OUT/frame.jpg"
echo ok >"$CAMERA"

# --- camd's configuration: every setting in the file, so a reload can change the live ones ---------------
cat >"$OUT/camd.toml.in" <<EOF
# Written by bench/soak.sh; bench/soak.py rewrites camd.toml from this before each reload.
listen = ["127.0.0.1:$NATIVE_PORT"]
http_listen = ["127.0.0.1:$HTTP_PORT"]
rtsp_listen = []
source = "v4l2:/dev/video-fake"
width = 640
height = 480
fps = $FPS
max_clients = @MAX_CLIENTS@
client_timeout = @CLIENT_TIMEOUT@
stats_interval = @STATS_INTERVAL@
device_retry_max = 1
control_socket = "$CONTROL"
log_level = "info"
EOF
sed -e 's/@MAX_CLIENTS@/1000/' -e 's/@CLIENT_TIMEOUT@/10/' -e 's/@STATS_INTERVAL@/60/' "$OUT/camd.toml.in" >"$OUT/camd.toml"

# Descriptors: 300 viewers at once and the churn need more than a default soft limit of 1024.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

cat >"$OUT/run.env" <<EOF
SECONDS=$SECONDS_TOTAL
SMOKE=$SMOKE
FPS=$FPS
WARMUP=$WARMUP
UNPLUG_GRACE=3
BUILD=$BUILD
SCALE=$SCALE
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo ?)$(git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
UPTIME_BEFORE=$(uptime | sed 's/.*load average/load average/')
NPROC=$(nproc)
EOF

# --- camd -------------------------------------------------------------------------------------------------
for port in "$NATIVE_PORT" "$HTTP_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "127.0.0.1:$port is in use (set PORT_BASE)"; fi
done
log "starting camd (fake camera, 640x480 MJPEG at $FPS fps) on 127.0.0.1:$NATIVE_PORT and :$HTTP_PORT"
env LD_PRELOAD="$BIN/libFakeV4L2.so" FAKE_V4L2_DEVICE=/dev/video-fake FAKE_V4L2_CONTROL="$CAMERA" \
    FAKE_V4L2_JPEG="$OUT/frame.jpg" "$BIN/camd" --config "$OUT/camd.toml" 2>"$OUT/camd.log" &
CAMD_PID=$!
PIDS+=("$CAMD_PID")
state() { python3 -c "
import json, sys, urllib.request
try:
    print(json.load(urllib.request.urlopen('http://127.0.0.1:$HTTP_PORT/state', timeout=3))[sys.argv[1]])
except Exception as e:
    print('?')" "$1"; }
for _ in $(seq 1 100); do
    [ "$(state source_state)" = streaming ] && break
    kill -0 "$CAMD_PID" 2>/dev/null || die "camd exited at start: $(tail -5 "$OUT/camd.log")"
    sleep 0.1
done
[ "$(state source_state)" = streaming ] || die "camd is not streaming after 10 s: $(tail -5 "$OUT/camd.log")"
sleep 1
fds() { ls "/proc/$CAMD_PID/fd" | wc -l; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$CAMD_PID/status"; }
FDS_IDLE_BEFORE=$(fds)
RSS_IDLE_BEFORE=$(rss_kib)
log "camd pid $CAMD_PID idle: $FDS_IDLE_BEFORE descriptors, RSS $RSS_IDLE_BEFORE KiB"

# --- the load (each ends by itself after SECONDS_TOTAL, plus its short ramp) --------------------------------
LOADERS=()
start_load() { # name, then camload arguments
    local name=$1; shift
    nice -n 5 "$BIN/camload" --duration "$SECONDS_TOTAL" --warmup 2 --pid "$CAMD_PID" --json --label "$name" "$@" \
        >"$OUT/$name.json" 2>"$OUT/$name.err" &
    PIDS+=("$!"); LOADERS+=("$!")
}
# The canary runs at normal priority, the load generators at nice 5: the canary measures camd, not its own
# place in the run queue behind 300 simulated viewers (remote viewers would not share camd's cores at all).
"$BIN/camload" --target "127.0.0.1:$NATIVE_PORT" --clients 1 --duration "$SECONDS_TOTAL" --warmup 1 --reconnect 1 \
    --frame-log "$OUT/canary.log" --pid "$CAMD_PID" --json --label canary >"$OUT/canary.json" 2>"$OUT/canary.err" &
CANARY_PID=$!
PIDS+=("$!"); LOADERS+=("$!")
start_load native --target "127.0.0.1:$NATIVE_PORT" --clients "$N_NATIVE" --slow "$N_SLOW" --slow-rate 200000 \
    --connect-rate 100 --reconnect 1 --churn "$N_CHURN" --churn-life 1
start_load http --target "127.0.0.1:$HTTP_PORT" --protocol multipart --path /stream --clients "$N_HTTP" \
    --slow "$N_TRICKLE" --slow-rate 1000 --slow-rcvbuf 4096 --connect-rate 100 --reconnect 1 --churn "$N_CHURN" --churn-life 1
nice -n 5 python3 "$ROOT/bench/soak_hostile.py" --http "127.0.0.1:$HTTP_PORT" --native "127.0.0.1:$NATIVE_PORT" \
    --duration "$SECONDS_TOTAL" --rate 4 --out "$OUT/hostile.json" --log "$OUT/hostile.csv" 2>"$OUT/hostile.err" &
PIDS+=("$!"); LOADERS+=("$!")

log "load running for $SECONDS_TOTAL s: $((N_NATIVE + N_HTTP)) viewers + $N_SLOW slow + $N_TRICKLE trickle + canary, $((2 * N_CHURN)) connects/s churn, hostile mix 4/s"
UNPLUG_EVERY=120
# In the background and waited for: bash runs a signal's trap only once a foreground command has finished,
# but interrupts `wait` at once.
python3 "$ROOT/bench/soak.py" drive "$OUT" --seconds "$SECONDS_TOTAL" --pid "$CAMD_PID" --http "$HTTP_PORT" \
    --control "$CONTROL" --camctl "$BIN/camctl" --camera-control "$CAMERA" --canary-pid "$CANARY_PID" --sample-every "$SAMPLE_EVERY" \
    --reload-every 30 --kick-every 5 --unplug-every "$UNPLUG_EVERY" --unplug-for 10 2>"$OUT/drive.err" &
DRIVER_PID=$!
PIDS+=("$DRIVER_PID")
wait "$DRIVER_PID" || log "warning: the driver failed: $(tail -3 "$OUT/drive.err")"

# --- the end: loaders finish on their own within a few seconds; wait, bounded -----------------------------
for pid in "${LOADERS[@]}"; do
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$pid" 2>/dev/null && log "warning: a load generator (pid $pid) was still running 30 s after the end"
    wait "$pid" 2>/dev/null || true
done
CAMD_ALIVE=0; kill -0 "$CAMD_PID" 2>/dev/null && CAMD_ALIVE=1
VIEWERS_AFTER=?
FDS_IDLE_AFTER=-1
RSS_IDLE_AFTER=?
if [ "$CAMD_ALIVE" = 1 ]; then
    # Every viewer's socket is closed now; camd should see each go within a moment (client_timeout at most).
    for _ in $(seq 1 150); do
        kill -0 "$CAMD_PID" 2>/dev/null || break
        VIEWERS_AFTER=$(state viewers)
        [ "$VIEWERS_AFTER" = 0 ] && break
        sleep 0.1
    done
    sleep 1
    FDS_IDLE_AFTER=$(fds)
    RSS_IDLE_AFTER=$(rss_kib)
    ls -l "/proc/$CAMD_PID/fd" >"$OUT/fds-after.txt" 2>/dev/null || true
    log "camd idle again: $VIEWERS_AFTER viewers, $FDS_IDLE_AFTER descriptors (before: $FDS_IDLE_BEFORE), RSS $RSS_IDLE_AFTER KiB"
fi
CAMD_EXIT=?
if [ "$CAMD_ALIVE" = 1 ]; then
    kill -TERM "$CAMD_PID"
    for _ in $(seq 1 100); do kill -0 "$CAMD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CAMD_PID" 2>/dev/null && log "warning: camd ignored SIGTERM for 10 s"
fi
set +e; wait "$CAMD_PID"; CAMD_EXIT=$?; set -e
cat >"$OUT/after.env" <<EOF
CAMD_ALIVE_AT_END=$CAMD_ALIVE
CAMD_EXIT=$CAMD_EXIT
VIEWERS_AFTER=$VIEWERS_AFTER
FDS_IDLE_BEFORE=$FDS_IDLE_BEFORE
FDS_IDLE_AFTER=$FDS_IDLE_AFTER
RSS_IDLE_BEFORE_KIB=$RSS_IDLE_BEFORE
RSS_IDLE_AFTER_KIB=$RSS_IDLE_AFTER
UPTIME_AFTER=$(uptime | sed 's/.*load average/load average/')
EOF
grep -ciE ' (warning|error|critical):' "$OUT/camd.log" >"$OUT/camd-log-problems.count" || true
python3 "$ROOT/bench/soak.py" report "$OUT"
