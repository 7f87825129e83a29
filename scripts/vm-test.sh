#!/usr/bin/env bash
# camd against a real V4L2 driver: boots tests/vm/camvm.sh's VM (Debian's kernel with two vivid virtual
# cameras), runs the built camd inside it on /dev/video0, and checks from the host that camview receives
# frames that decode. Then idle mode on the real driver: that camd (idle_camera = "keep": its queue parked)
# and a second one on /dev/video1 (idle_camera = "stop": the camera closed) go idle with nobody watching, and
# each gives the next viewer live frames. Needs qemu-system-x86, kmod and cpio (scripts/deps.sh test installs them).
# Exit: 0 passed (or skipped with CAMD_SKIP_VM=1); 1 camd failed the check, or the VM did not start camd.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${CAMD_SKIP_VM:-}" = 1 ]; then echo "vm: skipped (CAMD_SKIP_VM=1)"; exit 0; fi
bin="$(swift build --show-bin-path)"
# Free loopback ports for qemu's forwards (a fixed one can be taken by another test or a running camd), all held
# open while they are picked so that no two are the same.
read -r port http port2 http2 rtsp < <(python3 -c 'import socket
held = [socket.socket() for _ in range(5)]
for s in held: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in held])')
out="$(mktemp -d)"
echo "==> vm: booting a VM with vivid and running camd in it (about 30 s under TCG)"
common=(--width 320 --height 180 --fps 30 --idle-after 2)
tests/vm/camvm.sh run -t 400 -o "n_devs=2 node_types=0x1,0x1 input_types=0x0,0x0" \
    -p "$port:9999" -p "$http:8080" -p "$port2:9998" -p "$http2:8081" -p "$rtsp:8554" -- bash -c \
    "$(printf '%q ' "$bin/camd" --source v4l2:/dev/video1 "${common[@]}" --idle-camera stop --listen 0.0.0.0:9998 \
        --http-listen 0.0.0.0:8081 --rtsp-listen off --control-socket '' --stats-interval 0) & exec $(printf '%q ' "$bin/camd" \
        --source v4l2:/dev/video0 "${common[@]}" --stats-interval 5)" > "$out/vm.log" 2>&1 &
vm=$!
trap 'kill -TERM $vm 2>/dev/null; wait $vm 2>/dev/null; rm -rf "$out"' EXIT

ok=0
for _ in $(seq 1 150); do
    if ! kill -0 "$vm" 2>/dev/null; then break; fi
    if "$bin/camview" "tcp://127.0.0.1:$port" --stats --frames 30 --timeout 10 > "$out/camview.log" 2>&1; then ok=1; break; fi
    sleep 1
done
if [ "$ok" != 1 ]; then
    if grep -q "native viewers" "$out/vm.log"; then
        echo "vm: FAILED: camd ran in the VM but camview received no frames"; cat "$out/vm.log" "$out/camview.log"
        echo "0 passed, 1 failed"; exit 1
    fi
    rc=0; wait "$vm" || rc=$?
    echo "vm: FAILED: the VM did not start camd (camvm.sh exit $rc; 3: no boot, 4: no result in time)"
    tail -30 "$out/vm.log"
    echo "0 passed, 1 failed"; exit 1
fi
passed=0 failed=0
decodes_320x180() { djpeg "$1" > "$1.ppm" 2> "$out/djpeg.log" && head -c 16 "$1.ppm" | tr '\n' ' ' | grep -q "P6 320 180"; }
"$bin/camview" "tcp://127.0.0.1:$port" --snapshot "$out/vivid.jpg" --timeout 10 > /dev/null
if decodes_320x180 "$out/vivid.jpg"; then
    cat "$out/camview.log"
    grep -E "opened camera|summary" "$out/vm.log" | head -3
    echo "vm: camd in the VM streamed vivid's /dev/video0; the host decoded a 320x180 frame"
    passed=$((passed + 1))
else
    echo "vm: FAILED: the snapshot did not decode to 320x180"; cat "$out/djpeg.log" "$out/vm.log"
    failed=$((failed + 1))
fi

# RTSP H.264 from vivid's raw frames (the encoder reads the converted picture, no JPEG decode): ffmpeg decodes 30
# frames of 320x180 over RTP/TCP without an error line, and /state says the encoder took raw pictures. The frames
# captured before the encoder's demand for raw pictures reached the capture thread (the ring's latest when the
# first viewer came, one or two) carry only their JPEG and are decoded: that is the designed start, so at most
# two decoded frames pass, and the raw ones must outnumber them.
ffmpeg -nostdin -v error -rtsp_transport tcp -i "rtsp://127.0.0.1:$rtsp/stream" -frames:v 30 -f framecrc - \
    > "$out/rtsp.crc" 2> "$out/rtsp.err"
frames=$(grep -c "^0," "$out/rtsp.crc"); sizes=$(grep "^0," "$out/rtsp.crc" | awk -F', *' '{print $5}' | sort -u)
raw=$(curl -s --max-time 3 "http://127.0.0.1:$http/state" | python3 -c "import json, sys; h = json.load(sys.stdin).get('h264') or {}; print(h.get('encoder'), h.get('units_out', 0), h.get('frames_from_raw', 0), h.get('frames_decoded', 0))" 2>/dev/null)
read -r _ _ from_raw decoded <<< "$raw"
if [ "$frames" = 30 ] && [ "$sizes" = 86400 ] && [ ! -s "$out/rtsp.err" ] && [ "${from_raw:-0}" -gt 2 ] && [ "${decoded:-3}" -le 2 ]; then
    echo "vm: RTSP /stream from vivid: 30 H.264 frames of 320x180 decoded, no error line (encoder, units, from raw, JPEG-decoded: $raw)"
    passed=$((passed + 1))
else
    echo "vm: FAILED: RTSP /stream from vivid: $frames frames, sizes '$sizes', encoder $raw"; head -5 "$out/rtsp.err"
    failed=$((failed + 1))
fi

# Idle mode on the real driver. state PORT KEY: one field of /state.
state() { curl -s --max-time 3 "http://127.0.0.1:$1/state" | python3 -c "import json, sys; print(json.load(sys.stdin).get('$2'))" 2>/dev/null; }
idle_check() {  # NAME NATIVE_PORT HTTP_PORT SOURCE_STATE_WHILE_IDLE DEVICE
    local name=$1 native=$2 hport=$3 want=$4 device=$5 seen=""
    for _ in $(seq 1 240); do
        seen="idle=$(state "$hport" idle) source_state=$(state "$hport" source_state)"
        [ "$seen" = "idle=True source_state=$want" ] && break
        sleep 0.25
    done
    if [ "$seen" != "idle=True source_state=$want" ]; then
        echo "vm: FAILED: $name: camd on $device did not go idle with source_state $want (last: $seen)"
        failed=$((failed + 1)); return
    fi
    local t0; t0=$(date +%s%N)
    if "$bin/camview" "tcp://127.0.0.1:$native" --stats --frames 10 --timeout 15 > "$out/$name.log" 2>&1 \
        && grep -q "no-signal 0" "$out/$name.log" \
        && "$bin/camview" "tcp://127.0.0.1:$native" --snapshot "$out/$name.jpg" --timeout 10 > /dev/null \
        && decodes_320x180 "$out/$name.jpg"; then
        echo "vm: $name: camd on $device idled ($seen), then the next viewer got 10 live frames in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
        passed=$((passed + 1))
    else
        echo "vm: FAILED: $name: no live frames from $device after idling"; cat "$out/$name.log"
        failed=$((failed + 1))
    fi
}
idle_check idle-keep "$port" "$http" streaming /dev/video0
idle_check idle-stop "$port2" "$http2" stopped /dev/video1
if ! grep -q "restarted camera /dev/video1" "$out/vm.log"; then
    echo "vm: FAILED: idle-stop: no 'restarted camera /dev/video1' in camd's log"; failed=$((failed + 1))
fi
[ "$failed" = 0 ] || tail -40 "$out/vm.log"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
