#!/usr/bin/env bash
# Real RTSP clients against the real camd (issue 16): camd serves its 640x480 test pattern at 30 fps on loopback
# ports of its own (native, HTTP and RTSP), and each check drives one real client:
#   1  ffprobe /stream over TCP and over UDP: codec h264, 640x480, frame rate 30 (±10 %)
#   2  ffmpeg decodes 60 frames over TCP and over UDP: exit 0, no error line (nor a "corrupt decoded frame"
#      warning), 60 frames of 640x480 4:2:0 (framecrc: one line per decoded frame, with its size)
#   3  GStreamer rtspsrc ! rtph264depay ! avdec_h264 ! fakesink (protocols=tcp and udp): 60 decoded buffers, caps
#      640x480, EOS, no ERROR/WARNING message
#   4  OpenCV cv2.VideoCapture("rtsp://…/stream") reads 30 frames of 480x640x3 (TCP and UDP, forced through
#      OPENCV_FFMPEG_CAPTURE_OPTIONS)
#   5  VLC (cvlc as a non-root user) — only where VLC has an RTSP client (its live555 module); Debian 12's VLC has
#      none (rtsp:// is tried by its SAT>IP and RealRTSP modules only), so there the check says SKIP, never PASS
#   6  /mjpeg: ffprobe (mjpeg, 640x480), ffmpeg decodes 30 frames without an error line, GStreamer rtpjpegdepay !
#      jpegdec decodes 30 buffers
#   7  access control (a second camd with http_auth and http_token): no credentials → 401; a wrong password → 401;
#      rtsp://user:pass@… and ?token=… → codec h264
#   8  a shaped viewer: a third camd (960x540, h264_bitrate 2 Mbit/s, GOP 10) in a network namespace; one viewer in another namespace
#      behind a 1 Mbit/s tbf on the veth between them, two unshaped viewers on the camd namespace's loopback, all
#      RTSP over TCP at once (tests/rtsp/viewers.py, one common window) — see the check for the criterion
# Only loopback addresses are network targets: the namespaces' 10.78.0.x addresses exist only inside two network
# namespaces made for this run (as scripts/relay-test.sh does), joined to nothing else.
# Prints one PASS/FAIL (or SKIP) line per check and a summary; exit status 1 if any failed. Needs root (namespaces,
# tc, a non-root user for VLC). Builds nothing: uses the debug build of `swift build --build-tests`.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "rtsp-test: needs root (network namespaces, tc)" >&2; exit 1; }
bin=${CAMD_BIN:-.build/debug}
[ -x "$bin/camd" ] || { echo "rtsp-test: $bin/camd is missing (swift build --build-tests first)" >&2; exit 1; }
camd=$(realpath "$bin/camd")
for tool in ffprobe ffmpeg gst-launch-1.0 python3 ip tc curl openssl; do
    command -v "$tool" >/dev/null || { echo "rtsp-test: $tool is missing (scripts/deps.sh test)" >&2; exit 1; }
done
gst-inspect-1.0 avdec_h264 >/dev/null 2>&1 || { echo "rtsp-test: GStreamer's avdec_h264 is missing (gstreamer1.0-libav)" >&2; exit 1; }

# The shaped check's picture: 960x540 with three keyframes a second. h264_bitrate is a VBV cap, and the test pattern
# needs less than it: at 640x480 GOP 30 ~1 Mbit/s (no more than the link), at 960x540 GOP 10 ~1.6 Mbit/s even
# when a loaded machine makes only 24 fps (measured under scripts/cpu-hog.sh); 1280x720 needs more CPU than a
# loaded 2-core machine has (14 fps, 0.7 Mbit/s there).
RTSP_SHAPED_SIZE=${RTSP_SHAPED_SIZE:-960x540}
RTSP_SHAPED_GOP=${RTSP_SHAPED_GOP:-10}
started=$SECONDS
work=$(mktemp -d /tmp/camd-rtsp-test.XXXXXX)
chmod 755 "$work"
prefix=rt$$  # network namespaces $prefix-cam and $prefix-vs
pids=()
cleanup() {
    local rc=$? pid ns
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    for ns in "$prefix-cam" "$prefix-vs"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    if [ "$rc" -eq 0 ] && [ -z "${RTSP_TEST_KEEP:-}" ]; then rm -rf "$work"; else echo "rtsp-test: logs in $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0 failed=0 skipped=0
last=$SECONDS  # each line says how long its check took
report() { echo "$1 $2 ($((SECONDS - last)) s): $3" | cut -c1-400; last=$SECONDS; }
pass() { report PASS "$@"; passed=$((passed + 1)); }
fail() { report FAIL "$@"; failed=$((failed + 1)); }
skip() { report SKIP "$@"; skipped=$((skipped + 1)); }
# Free TCP ports on loopback (the kernel's choice; UDP RTP ports are camd's and the clients' own choice).
free_ports() {
    python3 -c 'import socket,sys
s=[socket.socket() for _ in range(int(sys.argv[1]))]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}
# start_camd NAME NETNS-OR-EMPTY CONFIG-BODY [WIDTH HEIGHT]: writes $work/NAME.toml, starts camd (inside NETNS when given), logs to
# $work/NAME.log; the pid goes into $camd_pid.
start_camd() {
    local name=$1 ns=$2 body=$3 width=${4:-640} height=${5:-480}
    printf '# Written by scripts/rtsp-test.sh.\nsource = "testpattern"\nwidth = %s\nheight = %s\nfps = 30\nstats_interval = 0\ncontrol_socket = "%s"\n%s\n' \
        "$width" "$height" "$work/$name.control" "$body" > "$work/$name.toml"
    if [ -n "$ns" ]; then
        ip netns exec "$ns" "$camd" --config "$work/$name.toml" > "$work/$name.log" 2>&1 &
    else
        "$camd" --config "$work/$name.toml" > "$work/$name.log" 2>&1 &
    fi
    camd_pid=$!
    pids+=("$camd_pid")
}
# wait_rtsp PID HOST PORT [NETNS]: until an RTSP OPTIONS on HOST:PORT is answered "RTSP/1.0 200" (30 s at most).
wait_rtsp() {
    local pid=$1 host=$2 port=$3 ns=${4:-} i
    local probe=(python3 -c 'import socket,sys
try:
    s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2)
    s.sendall(b"OPTIONS rtsp://%s:%s/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n" % (sys.argv[1].encode(), sys.argv[2].encode()))
    sys.exit(0 if s.recv(4096).startswith(b"RTSP/1.0 ") else 1)
except OSError:
    sys.exit(1)' "$host" "$port")
    [ -z "$ns" ] || probe=(ip netns exec "$ns" "${probe[@]}")
    local deadline=$((SECONDS + 30))
    for i in $(seq 300); do
        ((SECONDS < deadline)) || return 1
        kill -0 "$pid" 2>/dev/null || return 1
        "${probe[@]}" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
# in_range VALUE LOW HIGH (decimals allowed)
in_range() { python3 -c 'import sys; v,l,h=map(float,sys.argv[1:]); sys.exit(0 if l<=v<=h else 1)' "$@" 2>/dev/null; }
# fraction "30/1" or "2997/100" → decimal
fraction() { python3 -c 'import sys; n,_,d=sys.argv[1].partition("/"); print(float(n)/float(d or 1) if float(d or 1) else 0)' "$1" 2>/dev/null || echo 0; }

read -r P_NATIVE P_HTTP P_RTSP P_NATIVE2 P_HTTP2 P_RTSP2 <<< "$(free_ports 6)"
start_camd main "" "listen = [\"127.0.0.1:$P_NATIVE\"]
http_listen = [\"127.0.0.1:$P_HTTP\"]
rtsp_listen = [\"127.0.0.1:$P_RTSP\"]"
main_pid=$camd_pid
if ! wait_rtsp "$main_pid" 127.0.0.1 "$P_RTSP"; then
    echo "rtsp-test: camd did not answer RTSP on 127.0.0.1:$P_RTSP within 30 s:" >&2
    cut -c1-250 "$work/main.log" | tail -20 >&2
    exit 1
fi
echo "rtsp-test: camd is up ($((SECONDS - started)) s)"
last=$SECONDS
url="rtsp://127.0.0.1:$P_RTSP/stream"
mjpeg="rtsp://127.0.0.1:$P_RTSP/mjpeg"

# --- 1. ffprobe ------------------------------------------------------------------------------------------------
for t in tcp udp; do
    out=$(timeout 30 ffprobe -v error -rtsp_transport "$t" -select_streams v:0 \
        -show_entries stream=codec_name,width,height,r_frame_rate,avg_frame_rate -of compact=p=0 "$url" 2>&1)
    rate=$(fraction "$(echo "$out" | sed -n 's/.*r_frame_rate=\([0-9/]*\).*/\1/p' | head -1)")
    avg=$(fraction "$(echo "$out" | sed -n 's/.*avg_frame_rate=\([0-9/]*\).*/\1/p' | head -1)")
    shape=$(echo "$out" | head -1 | cut -d'|' -f1-3)
    if [ "$(echo "$out" | wc -l)" -eq 1 ] && [ "$shape" = "codec_name=h264|width=640|height=480" ] \
        && { in_range "$rate" 27 33 || in_range "$avg" 27 33; }; then
        pass "ffprobe /stream $t" "$out"
    else
        fail "ffprobe /stream $t" "$(echo "$out" | head -5 | tr '\n' ' ')"
    fi
done

# --- 2. ffmpeg, 60 frames ---------------------------------------------------------------------------------------
for t in tcp udp; do
    # -v error's lines, plus the one warning that means a damaged picture ("corrupt decoded frame": the decoder
    # concealed it), told apart by ffmpeg's own level tag; other warnings are kept in the log, not judged.
    timeout 40 ffmpeg -nostdin -loglevel level+warning -rtsp_transport "$t" -i "$url" -frames:v 60 \
        -f framecrc -y "$work/ffmpeg-$t.crc" > "$work/ffmpeg-$t.log" 2>&1
    rc=$?
    grep -E '\[(error|fatal)\]|corrupt' "$work/ffmpeg-$t.log" > "$work/ffmpeg-$t.err"
    frames=$(grep -vc '^#' "$work/ffmpeg-$t.crc" 2>/dev/null)
    sizes=$(grep -v '^#' "$work/ffmpeg-$t.crc" 2>/dev/null | cut -d, -f5 | tr -d ' ' | sort -u | tr '\n' ' ')
    errs=$(wc -l < "$work/ffmpeg-$t.err")
    if [ "$rc" -eq 0 ] && [ "$errs" -eq 0 ] && [ "$frames" = 60 ] && [ "$sizes" = "460800 " ]; then
        pass "ffmpeg /stream $t" "60 frames of 640x480 decoded, no error line"
    else
        fail "ffmpeg /stream $t" "exit $rc, $frames frames, sizes $sizes, $errs error lines: $(head -3 "$work/ffmpeg-$t.err" | tr '\n' ' ')"
    fi
done

# --- 3. GStreamer -----------------------------------------------------------------------------------------------
for t in tcp udp; do
    timeout 40 gst-launch-1.0 -v rtspsrc location="$url" protocols="$t" ! rtph264depay ! avdec_h264 \
        ! fakesink num-buffers=60 silent=false > "$work/gst-$t.out" 2>&1
    rc=$?
    buffers=$(grep -c 'fakesink0: last-message = chain' "$work/gst-$t.out")
    caps=$(grep -c 'avdec_h264.*src: caps = video/x-raw.*width=(int)640, height=(int)480' "$work/gst-$t.out")
    eos=$(grep -c 'Got EOS from element "pipeline0"' "$work/gst-$t.out")
    bad=$(grep -E '^(ERROR|WARNING)' "$work/gst-$t.out" | head -3 | tr '\n' ' ')
    if [ "$rc" -eq 0 ] && [ "$buffers" = 60 ] && [ "$caps" -ge 1 ] && [ "$eos" = 1 ] && [ -z "$bad" ]; then
        pass "gstreamer avdec_h264 $t" "60 decoded buffers, 640x480, EOS"
    else
        fail "gstreamer avdec_h264 $t" "exit $rc, $buffers buffers, caps 640x480 seen $caps, EOS $eos; $bad"
    fi
done

# --- 4. OpenCV --------------------------------------------------------------------------------------------------
for t in tcp udp; do
    out=$(OPENCV_FFMPEG_CAPTURE_OPTIONS="rtsp_transport;$t" timeout 60 python3 tests/rtsp/opencv_read.py "$url" 30 640 480 40 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ "$(echo "$out" | tail -1)" = "frames=30 shape=480x640x3" ]; then
        pass "opencv /stream $t" "$(echo "$out" | tail -1)"
    else
        fail "opencv /stream $t" "exit $rc: $(echo "$out" | tail -3 | tr '\n' ' ')"
    fi
done

# --- 5. VLC -----------------------------------------------------------------------------------------------------
vlc_user=camdtest
if ! command -v cvlc >/dev/null; then
    skip "vlc" "cvlc is not installed"
else
    id "$vlc_user" >/dev/null 2>&1 || useradd -m "$vlc_user"
    if ! su "$vlc_user" -s /bin/sh -c 'cvlc --list 2>/dev/null' | grep -qw live555; then
        skip "vlc" "this VLC has no RTSP client (no live555 module; Debian 12 does not package live555)"
    else
        timeout 40 su "$vlc_user" -s /bin/sh -c "cvlc -q --play-and-exit --run-time 4 --no-audio \
            --sout '#std{access=file,mux=ts,dst=$work/vlc.ts}' '$url'" > "$work/vlc.log" 2>&1
        rc=$?
        out=$(ffprobe -v error -count_frames -select_streams v:0 \
            -show_entries stream=codec_name,width,height,nb_read_frames -of compact=p=0 "$work/vlc.ts" 2>&1)
        n=$(echo "$out" | sed -n 's/.*nb_read_frames=\([0-9]*\).*/\1/p')
        if [ "$(echo "$out" | cut -d'|' -f1-3)" = "codec_name=h264|width=640|height=480" ] && [ "${n:-0}" -ge 30 ]; then
            pass "vlc" "cvlc as $vlc_user recorded $n h264 640x480 frames"
        else
            fail "vlc" "cvlc exit $rc; recording: $out"
        fi
    fi
fi

# --- 6. /mjpeg --------------------------------------------------------------------------------------------------
out=$(timeout 30 ffprobe -v error -rtsp_transport tcp -select_streams v:0 \
    -show_entries stream=codec_name,width,height -of compact=p=0 "$mjpeg" 2>&1)
if [ "$out" = "codec_name=mjpeg|width=640|height=480" ]; then pass "ffprobe /mjpeg tcp" "$out"; else fail "ffprobe /mjpeg tcp" "$out"; fi
timeout 40 ffmpeg -nostdin -loglevel level+warning -rtsp_transport tcp -i "$mjpeg" -frames:v 30 \
    -f framecrc -y "$work/mjpeg.crc" > "$work/mjpeg.log" 2>&1
rc=$?
grep -E '\[(error|fatal)\]|corrupt' "$work/mjpeg.log" > "$work/mjpeg.err"
frames=$(grep -vc '^#' "$work/mjpeg.crc" 2>/dev/null)
errs=$(wc -l < "$work/mjpeg.err")
if [ "$rc" -eq 0 ] && [ "$errs" -eq 0 ] && [ "$frames" = 30 ]; then
    pass "ffmpeg /mjpeg tcp" "30 frames decoded, no error line"
else
    fail "ffmpeg /mjpeg tcp" "exit $rc, $frames frames, $errs error lines: $(head -3 "$work/mjpeg.err" | tr '\n' ' ')"
fi
timeout 40 gst-launch-1.0 -v rtspsrc location="$mjpeg" protocols=tcp ! rtpjpegdepay ! jpegdec \
    ! fakesink num-buffers=30 silent=false > "$work/gst-mjpeg.out" 2>&1
rc=$?
buffers=$(grep -c 'fakesink0: last-message = chain' "$work/gst-mjpeg.out")
caps=$(grep -c 'jpegdec.*src: caps = video/x-raw.*width=(int)640, height=(int)480' "$work/gst-mjpeg.out")
bad=$(grep -E '^(ERROR|WARNING)' "$work/gst-mjpeg.out" | head -3 | tr '\n' ' ')
if [ "$rc" -eq 0 ] && [ "$buffers" = 30 ] && [ "$caps" -ge 1 ] && [ -z "$bad" ]; then
    pass "gstreamer jpegdec /mjpeg tcp" "30 decoded buffers, 640x480"
else
    fail "gstreamer jpegdec /mjpeg tcp" "exit $rc, $buffers buffers, caps 640x480 seen $caps; $bad"
fi

# camd's own journal lines (stderr here) say which transport each viewer got: the UDP runs above must have been UDP.
udp=$(grep -c 'connected: 127.0.0.1:[0-9]* (rtsp /stream over UDP)' "$work/main.log")
tcp=$(grep -c 'connected: 127.0.0.1:[0-9]* (rtsp /stream over TCP)' "$work/main.log")
mj=$(grep -c 'connected: 127.0.0.1:[0-9]* (rtsp /mjpeg over TCP)' "$work/main.log")
if [ "$udp" -ge 4 ] && [ "$tcp" -ge 4 ] && [ "$mj" -ge 3 ]; then
    pass "journal: transports" "camd logged $udp /stream viewers over UDP, $tcp over TCP, $mj /mjpeg"
else
    fail "journal: transports" "camd logged $udp /stream viewers over UDP (want ≥ 4), $tcp over TCP (≥ 4), $mj /mjpeg (≥ 3)"
fi

# --- 7. Access control ------------------------------------------------------------------------------------------
token=rtspTestToken-0123456789
hash=$(openssl passwd -6 -salt rtsptestsalt s3cret)
start_camd auth "" "listen = [\"127.0.0.1:$P_NATIVE2\"]
http_listen = [\"127.0.0.1:$P_HTTP2\"]
rtsp_listen = [\"127.0.0.1:$P_RTSP2\"]
http_auth = \"admin:$hash\"
http_token = \"$token\""
auth_pid=$camd_pid
if ! wait_rtsp "$auth_pid" 127.0.0.1 "$P_RTSP2"; then
    fail "access control" "camd with http_auth did not answer RTSP: $(tail -3 "$work/auth.log" | cut -c1-200 | tr '\n' ' ')"
else
    aprobe() { timeout 30 ffprobe -v error -rtsp_transport tcp -select_streams v:0 -show_entries stream=codec_name -of compact=p=0 "$1" 2>&1; }
    none=$(aprobe "rtsp://127.0.0.1:$P_RTSP2/stream")
    wrong=$(aprobe "rtsp://admin:wrong@127.0.0.1:$P_RTSP2/stream")
    badtoken=$(aprobe "rtsp://127.0.0.1:$P_RTSP2/stream?token=not-the-token-0000")
    basic=$(aprobe "rtsp://admin:s3cret@127.0.0.1:$P_RTSP2/stream")
    tok=$(aprobe "rtsp://127.0.0.1:$P_RTSP2/stream?token=$token")
    if echo "$none" | grep -q '401 Unauthorized' && ! echo "$none" | grep -q codec_name; then
        pass "auth: no credentials refused" "$(echo "$none" | head -1)"
    else fail "auth: no credentials refused" "$none"; fi
    if echo "$wrong" | grep -q '401 Unauthorized' && echo "$badtoken" | grep -q '401 Unauthorized' \
        && ! echo "$wrong$badtoken" | grep -q codec_name; then
        pass "auth: wrong password / token refused" "401 both"
    else fail "auth: wrong password / token refused" "$wrong / $badtoken"; fi
    if [ "$basic" = "codec_name=h264" ]; then pass "auth: rtsp://user:pass@" "$basic"; else fail "auth: rtsp://user:pass@" "$basic"; fi
    if [ "$tok" = "codec_name=h264" ]; then pass "auth: ?token=" "$tok"; else fail "auth: ?token=" "$tok"; fi
fi
kill "$auth_pid" 2>/dev/null

# --- 8. A shaped viewer -----------------------------------------------------------------------------------------
# $prefix-cam (camd, 10.78.0.1) ──veth── $prefix-vs (the shaped viewer, 10.78.0.2); the tbf is on the camd side of
# the veth, so everything camd sends to the viewer leaves at 1 Mbit/s (less only on a machine too loaded to make
# a stream above that; the PASS/FAIL line says the rate). The two unshaped viewers run inside
# $prefix-cam on its own loopback.
ns_cam=$prefix-cam ns_vs=$prefix-vs
shaped_ok=1
{
    ip netns add "$ns_cam" && ip netns add "$ns_vs" \
    && ip link add up0 netns "$ns_vs" type veth peer name vs0 netns "$ns_cam" \
    && ip -n "$ns_cam" link set lo up && ip -n "$ns_vs" link set lo up \
    && ip -n "$ns_cam" addr add 10.78.0.1/24 dev vs0 && ip -n "$ns_vs" addr add 10.78.0.2/24 dev up0 \
    && ip -n "$ns_cam" link set vs0 up && ip -n "$ns_vs" link set up0 up
} > "$work/netns.log" 2>&1 || shaped_ok=0
if [ "$shaped_ok" = 0 ]; then
    fail "shaped viewer" "could not build the namespaces: $(head -3 "$work/netns.log" | tr '\n' ' ')"
else
    start_camd shaped "$ns_cam" "listen = [\"127.0.0.1:9999\"]
http_listen = [\"127.0.0.1:8080\"]
rtsp_listen = [\"127.0.0.1:8554\", \"10.78.0.1:8554\"]
h264_bitrate = 2000000
h264_gop = $RTSP_SHAPED_GOP" "${RTSP_SHAPED_SIZE%x*}" "${RTSP_SHAPED_SIZE#*x}"
    shaped_pid=$camd_pid
    if ! wait_rtsp "$shaped_pid" 10.78.0.1 8554 "$ns_vs"; then
        fail "shaped viewer" "camd in $ns_cam did not answer RTSP from $ns_vs: $(tail -3 "$work/shaped.log" | cut -c1-200 | tr '\n' ' ')"
    else
        # The link: 1 Mbit/s, as the issue says — unless this machine is so loaded that camd makes too few frames
        # for the stream to exceed it (the pattern at 960x540 is ~1.6 Mbit/s at 24-30 fps): then 70 % of the
        # stream's rate measured just before (one unshaped viewer, 3 s), so that the link still cannot carry it.
        timeout 30 ip netns exec "$ns_cam" python3 tests/rtsp/viewers.py --warmup 1 --window 3 \
            pre=rtsp://127.0.0.1:8554/stream > "$work/pre.json" 2>&1
        link=$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["viewers"]["pre"]["encoded_bps"]; print(min(1000, max(200, int(0.7 * b / 1000))))' \
            "$work/pre.json" 2>/dev/null || echo 1000)
        tc -n "$ns_cam" qdisc add dev vs0 root tbf rate "${link}kbit" burst 16kb latency 100ms
        timeout 60 ip netns exec "$ns_cam" python3 tests/rtsp/viewers.py --warmup 4 --window 10 \
            --state http://127.0.0.1:8080/state "shaped=@$ns_vs@rtsp://10.78.0.1:8554/stream" \
            a=rtsp://127.0.0.1:8554/stream b=rtsp://127.0.0.1:8554/stream > "$work/viewers.json" 2> "$work/viewers.err"
        most=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("state_viewers_rtsp_max", 0))' \
            "$work/viewers.json" 2>/dev/null || echo 0)
        tc -s -n "$ns_cam" qdisc show dev vs0 > "$work/tbf.txt" 2>&1
        # The criterion (tests/rtsp/viewers.py measures; this judges):
        #  - the stream is above the link: the unshaped viewers' encoded rate in the window ≥ 1.2 × the link (h264_bitrate
        #    is a VBV cap: the 960x540 test pattern needs ~1.6 of its 2 Mbit/s at GOP 10). That the link
        #    throttled the viewer is judged directly too:
        #    the shaped viewer's frames (below) and camd's own count of frames it skipped for it (the journal check);
        #  - each unshaped viewer decodes every frame the encoder made in the window ± 10 % (camd's /state
        #    h264.units_out at both ends of it, or /state's fps while units_out is not counted; the full rate is
        #    30 fps unless the machine cannot make frames that fast, which is not the fan-out's doing), no error line;
        #  - the shaped viewer keeps playing: frames in both halves of the window and in ≥ 4 of its 10 seconds,
        #    fewer frames than either unshaped viewer (≤ 90 %: its link cannot carry them all, so it must skip);
        #  - and no error line (ffmpeg's own level tag [error]/[fatal]) nor "corrupt decoded frame". Over TCP nothing is lost
        #    in transit, so a decoder error can only mean camd cut an access unit or resumed a viewer on a frame
        #    that is not an IDR — exactly the corrupted picture the keyframe-aware fan-out promises never to
        #    send. "Very few" would let that bug through once per skip, so the allowance is zero.
        verdict=$(python3 - "$work/viewers.json" "$link" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))['viewers']
except Exception as e:
    print(f'FAIL no result: {e}'); sys.exit()
a, b, s = r['a'], r['b'], r['shaped']
top = json.load(open(sys.argv[1]))
# The encoder's units in the window; where /state does not count them (0), the rate frames were published at.
enc, src = top.get('encoder_fps'), 'encoder'
if not enc: enc, src = top.get('published_fps'), 'published'
why = []
if not enc: why.append('no frame rate from /state'); enc = 30
bps = min(a['encoded_bps'], b['encoded_bps'])
link = int(sys.argv[2]) * 1000
if bps < 1.2 * link: why.append(f'stream only {bps/1e6:.2f} Mbit/s, not above the {link/1e6:.2f} Mbit/s link')
for n, v in (('a', a), ('b', b)):
    if not 0.9 * enc <= v['fps'] <= 1.1 * enc: why.append(f'unshaped {n} {v["fps"]} fps of {enc} {src}')
    if v['error_count']: why.append(f'unshaped {n} errors: {v["errors"][:2]}')
if s['frames'] == 0: why.append('shaped viewer decoded nothing')
if s['first_half'] == 0 or s['second_half'] == 0 or s['seconds_with_frames'] < 4:
    why.append(f'shaped viewer stalled (halves {s["first_half"]}/{s["second_half"]}, {s["seconds_with_frames"]} s with frames)')
if s['frames'] > 0.9 * min(a['frames'], b['frames']): why.append(f'shaped viewer not throttled ({s["frames"]} frames)')
if s['error_count']: why.append(f'shaped viewer {s["error_count"]} error lines: {s["errors"][:2]}')
summary = (f'link {link/1e6:.2f} Mbit/s: shaped {s["frames"]} frames ({s["fps"]} fps, {s["seconds_with_frames"]}/10 s with frames, '
           f'{s["error_count"]} errors), unshaped {a["fps"]} and {b["fps"]} fps of {enc} {src}, stream {bps/1e6:.2f} Mbit/s')
print(('FAIL ' + '; '.join(why) + ' — ' + summary) if why else ('PASS ' + summary))
EOF
)
        grep -q 'qdisc tbf' "$work/tbf.txt" || verdict="FAIL no tbf on the shaped link: $(head -2 "$work/tbf.txt")"
        case $verdict in
            PASS*) pass "shaped viewer + 2 unshaped" "${verdict#PASS }" ;;
            *) fail "shaped viewer + 2 unshaped" "${verdict#FAIL }" ;;
        esac
        if [ "$most" -eq 3 ]; then pass "/state viewers_rtsp" "3 while the three played"
        else fail "/state viewers_rtsp" "at most $most while the three played (want 3)"; fi
        # camd's journal: the shaped viewer's disconnect line counts skipped frames, the unshaped ones' none.
        for _ in $(seq 50); do
            [ "$(grep -c 'disconnected: .*(rtsp /stream over TCP)' "$work/shaped.log")" -ge 4 ] && break
            sleep 0.2
        done
        sd=$(sed -n 's/.*disconnected: 10\.78\.0\.2:[0-9]* (rtsp \/stream over TCP).* \([0-9]*\) dropped$/\1/p' "$work/shaped.log" | tail -1)
        ud=$(sed -n 's/.*disconnected: 127\.0\.0\.1:[0-9]* (rtsp \/stream over TCP).* \([0-9]*\) dropped$/\1/p' "$work/shaped.log" | tail -2 | tr '\n' ' ')
        # (The last two unshaped lines: the first is the rate probe's.) A viewer that joins mid-GOP waits for the next
        # keyframe, so an unshaped one may show up to GOP−1 skipped frames (its rate in the window is judged above);
        # the shaped one must show at least two GOPs' worth (measured: 80-210 of ~400).
        read -r ud1 ud2 <<< "$ud"
        gop=$RTSP_SHAPED_GOP
        if [ "${sd:-0}" -ge $((2 * gop)) ] && [ -n "${ud2:-}" ] && [ "$ud1" -lt "$gop" ] && [ "$ud2" -lt "$gop" ]; then
            pass "journal: shaped viewer skipped" "$sd frames dropped for it, $ud1 and $ud2 for the unshaped"
        else
            fail "journal: shaped viewer skipped" "dropped: shaped '${sd:-}', unshaped '$ud' (want ≥ $((2 * gop)) and < $gop each)"
        fi
    fi
fi

echo "rtsp-test: $passed passed, $failed failed, $skipped skipped in $((SECONDS - started)) s"
((failed == 0))
