#!/usr/bin/env bash
# camd on a real driver's HDMI input: boots tests/vm/camvm.sh's VM once with vivid's one input an HDMI input
# (input_types=0x3), where tests/vm/hdmi-guest.py sets the source to 640x480p59.94 and starts camd. From the host,
# a native viewer and an HTTP /stream viewer stay connected while the source switches to 720x576p50 (v4l2-ctl inside
# the VM changes vivid's "DV Timings" controls, which raise V4L2_EVENT_SOURCE_CHANGE): both get decodable frames of
# the new size; then the source goes away (No Signal) and camd shows NO SIGNAL with "no HDMI signal", and recovers
# when it returns. Needs qemu-system-x86, kmod, cpio, v4l-utils, curl and libjpeg-turbo-progs (scripts/deps.sh test).
# Exit: 0 passed (or skipped with CAMD_SKIP_VM=1); 1 a check failed, or the VM did not start camd.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${CAMD_SKIP_VM:-}" = 1 ]; then echo "vm-hdmi: skipped (CAMD_SKIP_VM=1)"; exit 0; fi
bin="$(swift build --show-bin-path)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port) http=$(free_port) trigger=$(free_port)
out="$(mktemp -d)"
echo "==> vm-hdmi: booting a VM with vivid's HDMI input and running camd in it (about 30-60 s under TCG)"
tests/vm/camvm.sh run -t 300 -o "n_devs=1 node_types=0x1 num_inputs=1 input_types=0x3" \
    -p "$port:9999" -p "$http:8080" -p "$trigger:7000" -- \
    python3 tests/vm/hdmi-guest.py "$bin/camd" --source v4l2:/dev/video0 --idle-after 0 --control-socket '' \
    --stats-interval 0 > "$out/vm.log" 2>&1 &
vm=$!
viewers=()
trap 'kill ${viewers[*]} 2>/dev/null; kill -TERM $vm 2>/dev/null; wait $vm 2>/dev/null; rm -rf "$out"' EXIT

passed=0 failed=0
pass() { echo "vm-hdmi: $*"; passed=$((passed + 1)); }
fail() { echo "vm-hdmi: FAILED: $*"; failed=$((failed + 1)); }
state() { curl -s --max-time 3 "http://127.0.0.1:$http/state" | python3 -c "import json, sys; print(json.load(sys.stdin).get('$1'))" 2>/dev/null; }
# wait_for SECONDS COMMAND...: polls the command (every 0.25 s) until it succeeds or the time is up.
wait_for() {
    local end=$(( $(date +%s) + $1 )); shift
    until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.25; done
}
# source COMMAND: tells hdmi-guest.py in the VM what the HDMI source sends now.
source_sends() {
    python3 - "$trigger" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(sys.argv[2].encode() + b"\n")
answer = s.makefile().readline().strip()
print(answer)
sys.exit(0 if answer.startswith("ok") else 1)
EOF
}
# decodes FILE W H: djpeg decodes the JPEG to a W x H picture.
decodes() { djpeg "$1" > "$1.ppm" 2> /dev/null && head -c 20 "$1.ppm" | tr '\n' ' ' | grep -q "^P6 $2 $3 "; }
streaming() { [ "$(state source_state)" = streaming ]; }

if ! wait_for 200 streaming; then
    if kill -0 "$vm" 2>/dev/null; then fail "camd in the VM never streamed (last /state: $(curl -s --max-time 3 "http://127.0.0.1:$http/state"))"
    else fail "the VM did not start camd (camvm.sh ended)"; fi
    tail -40 "$out/vm.log"; echo "$passed passed, 1 failed"; exit 1
fi

# The viewers, connected for the whole run: a native one (each frame's header logged, the latest picture of each size
# kept) and an HTTP /stream one (curl, everything kept).
python3 - "$port" "$out" > /dev/null 2>&1 <<'EOF' &
import os, socket, struct, sys
port, out = int(sys.argv[1]), sys.argv[2]
log = open(out + "/native.log", "a", buffering=1)
s = socket.create_connection(("127.0.0.1", port), timeout=30)
def take(n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("camd closed the connection")
        data += chunk
    return data
try:
    while True:
        magic, _, _, flags, sequence, _, width, height, length = struct.unpack(">4sBBHQQHHI", take(32))
        if magic != b"CAMF":
            raise ValueError("bad magic %r" % magic)
        payload = take(length)
        if not flags & 1:
            with open(out + "/part.jpg", "wb") as f:
                f.write(payload)
            os.replace(out + "/part.jpg", "%s/native-%dx%d.jpg" % (out, width, height))
        log.write("%d %d %d %d\n" % (sequence, width, height, flags & 1))
except Exception as e:
    log.write("CLOSED %s\n" % e)
EOF
viewers+=($!)
curl -sN --max-time 250 "http://127.0.0.1:$http/stream" -o "$out/stream.bin" &
curl_pid=$!
viewers+=($curl_pid)
native_saw() { grep -q "^[0-9]* $1 $2 $3\$" "$out/native.log" 2>/dev/null; }
# http_has W H: the HTTP stream holds a part of W x H (its SOF says so) that djpeg decodes to that size.
http_has() {
    python3 - "$out/stream.bin" "$1" "$2" <<'EOF'
import re, subprocess, sys
data, want = open(sys.argv[1], "rb").read(), (int(sys.argv[2]), int(sys.argv[3]))
for m in re.finditer(rb"Content-Length: (\d+)\r\n(?:[^\r\n]*\r\n)*?\r\n", data):
    jpeg = data[m.end():m.end() + int(m.group(1))]
    sof = re.search(rb"\xff[\xc0-\xc2]..\x08(..)(..)", jpeg, re.S)
    if len(jpeg) < int(m.group(1)) or not sof:
        continue
    if (int.from_bytes(sof.group(2), "big"), int.from_bytes(sof.group(1), "big")) == want:
        ppm = subprocess.run(["djpeg"], input=jpeg, capture_output=True).stdout
        sys.exit(0 if ppm.split(b"\n")[1:2] == [b"%d %d" % want] else 1)
sys.exit(1)
EOF
}

if wait_for 60 native_saw 640 480 0 && decodes "$out/native-640x480.jpg" 640 480 \
    && [[ "$(state dv_timings)" == 640x480p59.9* ]]; then
    pass "vivid's HDMI input at 640x480p59.94: camd streams 640x480 frames (dv_timings $(state dv_timings)); the host decoded one"
else
    fail "no 640x480 frames from the 640x480p59.94 source (dv_timings $(state dv_timings))"
fi

echo "vm-hdmi: source: $(source_sends "mode 720x576p")"
if wait_for 60 native_saw 720 576 0 && decodes "$out/native-720x576.jpg" 720 576 \
    && [[ "$(state dv_timings)" == 720x576p50 ]]; then
    pass "the source switched to 720x576p50 while watched: the native viewer got decodable 720x576 frames"
else
    fail "no 720x576 frame after the switch (dv_timings $(state dv_timings)); native viewer: $(tail -3 "$out/native.log")"
fi
if wait_for 30 http_has 720 576; then
    pass "the HTTP /stream viewer, connected since 640x480, got decodable 720x576 parts"
else
    fail "the HTTP /stream viewer got no 720x576 part"
fi
if grep -q "HDMI source changed: 640x480p59.9[0-9]* → 720x576p50" "$out/vm.log"; then
    pass "logged: $(grep -o "HDMI source changed: [^(]*" "$out/vm.log" | head -1)"
else
    fail "no 'HDMI source changed: 640x480p59.94 → 720x576p50' line in camd's log"
fi

echo "vm-hdmi: source: $(source_sends nosignal)"
if wait_for 30 native_saw 720 576 1 && [ "$(state source_error)" = "no HDMI signal" ] && [ "$(state source_state)" = no_signal ]; then
    pass "no signal: NO SIGNAL placeholders at 720x576 to the same viewer, /state says \"no HDMI signal\""
else
    fail "no NO SIGNAL with 'no HDMI signal' (source_state $(state source_state), source_error $(state source_error))"
fi

echo "vm-hdmi: source: $(source_sends "mode 640x480p")"
recovered() { [ "$(tail -1 "$out/native.log" | cut -d' ' -f2-)" = "640 480 0" ]; }
if wait_for 60 recovered && streaming; then
    pass "the signal returned as 640x480p59.94: live 640x480 frames again, to the same viewer"
else
    fail "no recovery after the signal returned (source_state $(state source_state)); native viewer: $(tail -3 "$out/native.log")"
fi
if grep -q CLOSED "$out/native.log" || ! kill -0 "$curl_pid" 2>/dev/null; then
    fail "a viewer was disconnected: $(grep CLOSED "$out/native.log")"
else
    pass "both viewers stayed connected throughout ($(wc -l < "$out/native.log") native frames)"
fi
[ "$failed" = 0 ] || tail -40 "$out/vm.log"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
