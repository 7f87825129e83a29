#!/usr/bin/env bash
# Every raw pixel format camd converts, against a real V4L2 driver: boots tests/vm/camvm.sh's VM once (vivid's webcam
# input, which offers all of them), and inside it runs the built camd on /dev/video0 in each format in turn. For each,
# the host waits until camd's /state says it streams that format, fetches a /snapshot through QEMU's port forward,
# decodes it with djpeg and compares the eight bars of vivid's "75% Colorbar" test pattern (its default; the OSD text
# is turned off with the osd_text_mode control) with the expected colours, within a tolerance. The guest moves on to
# the next format once camd has answered that snapshot (its /metrics count it). Also checks --list-formats on vivid:
# `format = auto` picks YU12 there, and each of these formats is listed as usable.
# Needs qemu-system-x86, kmod, cpio, curl, djpeg (libjpeg-turbo-progs) and python3 (scripts/deps.sh test installs them).
# Exit: 0 passed (or skipped with CAMD_SKIP_VM=1); 1 a format failed, or the VM did not start camd.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${CAMD_SKIP_VM:-}" = 1 ]; then echo "vm-formats: skipped (CAMD_SKIP_VM=1)"; exit 0; fi
bin="$(swift build --show-bin-path)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http=$(free_port)
out="$(mktemp -d)"
# name:fourcc, in the order the guest runs them.
formats=(yuyv:YUYV uyvy:UYVY yvyu:YVYU nv12:NV12 nv21:NV21 nv16:NV16 yu12:YU12 yv12:YV12 grey:GREY rgb24:RGB3
         bgr24:BGR3 rgb565:RGBP ba81:BA81 gbrg:GBRG grbg:GRBG rggb:RGGB
         # Turned during conversion (format@rotate@flip): 4:2:2 rotated (stored 4:2:0), 4:2:0 flipped and rotated
         # (a transpose), RGB upside down. Each follows a different fourcc, so a /state still showing the camd before
         # it can never pass for it.
         yuyv@90:YUYV nv12@270@horizontal:NV12 rgb24@180:RGB3)

# The guest, one python3 process (each process start costs about a second under TCG): --list-formats once, then one
# camd per format until the host has taken its snapshot (each bounded).
guest='
import subprocess, sys, time, urllib.request
bin, specs = sys.argv[1], sys.argv[2:]
listing = subprocess.run([bin + "/camd", "--list-formats", "/dev/video0"], capture_output=True, text=True).stdout
for line in listing.splitlines():
    if line.startswith("  [") or line.startswith("  camd would use"):
        print("list:" + line, flush=True)
for spec in specs:
    name = spec.split(":")[0]
    parts = name.split("@")
    fmt, rotate, flip = parts[0], (parts[1:2] or ["0"])[0], (parts[2:3] or ["none"])[0]
    log = open("/tmp/camd-" + name + ".log", "w")
    camd = subprocess.Popen([bin + "/camd", "--source", "v4l2:/dev/video0", "--format", fmt, "--rotate", rotate, "--flip", flip,
                             "--width", "320", "--height", "180",
                             "--fps", "10", "--control", "osd_text_mode=2", "--listen", "127.0.0.1:9999", "--http-listen", "0.0.0.0:8080", "--rtsp-listen", "off",
                             "--control-socket", "", "--stats-interval", "0"], stdout=log, stderr=log)
    served, deadline = False, time.monotonic() + 60
    while not served and time.monotonic() < deadline and camd.poll() is None:
        try:
            metrics = urllib.request.urlopen("http://127.0.0.1:8080/metrics", timeout=3).read().decode()
            served = any(l.startswith("camd_http_requests_total{route=\"/snapshot\",code=\"200\"}") for l in metrics.splitlines())
        except OSError:
            pass
        time.sleep(0.2)
    camd.terminate()
    try:
        camd.wait(10)
    except subprocess.TimeoutExpired:
        camd.kill()
        camd.wait()
    print("guest: %s snapshot served: %s" % (name, served), flush=True)
    if not served:
        for line in open("/tmp/camd-" + name + ".log").read().splitlines()[-5:]:
            print("camd[%s]: %s" % (name, line), flush=True)
'
echo "==> vm-formats: booting a VM with vivid; camd streams each of ${#formats[@]} formats in turn (about 2 min under TCG)"
started=$(date +%s)
tests/vm/camvm.sh run -t 400 -p "$http:8080" -- python3 -c "$guest" "$bin" "${formats[@]}" > "$out/vm.log" 2>&1 &
vm=$!
trap 'kill -TERM $vm 2>/dev/null; wait $vm 2>/dev/null; rm -rf "$out"' EXIT

state() {  # KEY…: fields of /state, space-separated ("" if camd does not answer)
    curl -s --max-time 3 "http://127.0.0.1:$http/state" | python3 -c '
import json, sys
try: s = json.load(sys.stdin)
except Exception: sys.exit(0)
print(" ".join(str(s.get(k)) for k in sys.argv[1:]))' "$@" 2>/dev/null
}

# compare FILE.jpg FOURCC NAME: decodes with djpeg and checks the eight bars (centres, a third and two thirds down),
# where NAME's rotate and flip (format@rotate@flip) put them.
compare() {
    djpeg "$1" > "$1.ppm" 2> "$out/djpeg.log" || { echo "djpeg failed: $(cat "$out/djpeg.log")"; return 1; }
    python3 - "$1.ppm" "$2" "$3" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
fields, pos = [], 0
while len(fields) < 4:  # P6 width height maxval, whitespace-separated
    while data[pos:pos + 1].isspace(): pos += 1
    start = pos
    while not data[pos:pos + 1].isspace(): pos += 1
    fields.append(data[start:pos])
w, h, pixels = int(fields[1]), int(fields[2]), data[pos + 1:]
parts = sys.argv[3].split("@")
rotate, flip = int((parts[1:2] or ["0"])[0]), (parts[2:3] or ["none"])[0]
sw, sh = 320, 180  # the camera's picture, before camd turns it
want_size = (sh, sw) if rotate in (90, 270) else (sw, sh)
if (w, h) != want_size: sys.exit(f"decoded {w}x{h}, expected {want_size[0]}x{want_size[1]}")
def turned(x, y):  # where camd puts the camera's pixel (x, y): the flip first, then the rotation clockwise
    if flip == "horizontal": x = sw - 1 - x
    if flip == "vertical": y = sh - 1 - y
    return {0: (x, y), 90: (sh - 1 - y, x), 180: (sw - 1 - x, sh - 1 - y), 270: (y, sw - 1 - x)}[rotate]
# vivid's 75% colour bars (sRGB, 191 = 75%): white, yellow, cyan, green, magenta, red, blue, and black.
bars = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191), (0, 0, 0)]
# camd's JPEG carries limited-range (16-235) YUV, which a decoder shows as is: v -> 16 + v * 219 / 255.
limited = lambda v: 16 + v * 219 / 255
grey = sys.argv[2] == "GREY"
problems = []
for k, (r, g, b) in enumerate(bars):
    if grey:
        y = limited(0.299 * r + 0.587 * g + 0.114 * b)
        want = (y, y, y)
    else:
        want = (limited(r), limited(g), limited(b))
    for source_row in (sh // 3, 2 * sh // 3):
        x, row = turned((2 * k + 1) * sw // 16, source_row)
        i = (row * w + x) * 3
        got = tuple(pixels[i:i + 3])
        if any(abs(a - e) > 30 for a, e in zip(got, want)):
            problems.append(f"bar {k} at ({x},{row}) is {got}, expected about {tuple(round(v) for v in want)}")
if problems: sys.exit("; ".join(problems))
print("8 bars match")
EOF
}

passed=0 failed=0 booted=0
for spec in "${formats[@]}"; do
    name=${spec%%:*} fourcc=${spec#*:} seen="" ok=0
    # Up to 90 s for the first format (the VM boots), 40 s for each next one.
    limit=$([ "$booted" = 1 ] && echo 160 || echo 360)
    for _ in $(seq 1 "$limit"); do
        kill -0 "$vm" 2> /dev/null || break
        seen="$(state source_format source_state placeholder)"
        case "$seen" in *" $fourcc "*" streaming False") ok=1; break ;; esac
        sleep 0.25
    done
    if [ "$ok" != 1 ]; then
        echo "vm-formats: FAILED: $name: camd in the VM never streamed $fourcc (last /state: ${seen:-no answer})"
        failed=$((failed + 1))
        kill -0 "$vm" 2> /dev/null || break
        continue
    fi
    booted=1
    if ! curl -s --max-time 10 -o "$out/$name.jpg" "http://127.0.0.1:$http/snapshot"; then
        echo "vm-formats: FAILED: $name: GET /snapshot failed"; failed=$((failed + 1)); continue
    fi
    if verdict="$(compare "$out/$name.jpg" "$fourcc" "$name" 2>&1)"; then
        echo "vm-formats: $name ($fourcc): vivid's $verdict after conversion by camd ($(stat -c %s "$out/$name.jpg") bytes)"
        passed=$((passed + 1))
    else
        echo "vm-formats: FAILED: $name ($fourcc): $verdict"
        failed=$((failed + 1))
    fi
done
wait "$vm"; rc=$?
if [ "$rc" != 0 ]; then echo "vm-formats: FAILED: the VM run ended with status $rc (3: no boot, 4: no result in time)"; failed=$((failed + 1)); fi

# --list-formats on vivid: auto's choice, and every format above listed as one camd encodes.
if grep -q "^list:  camd would use: 'YU12' under format = \"auto\"" "$out/vm.log"; then
    passed=$((passed + 1))
else
    echo "vm-formats: FAILED: --list-formats on vivid did not choose YU12 under format = \"auto\""; failed=$((failed + 1))
fi
unlisted=""
for spec in "${formats[@]}"; do
    grep -q "^list:  \[[0-9]*\] '${spec#*:}' .* — encoded by camd" "$out/vm.log" || unlisted+=" ${spec#*:}"
done
if [ -z "$unlisted" ]; then passed=$((passed + 1)); else echo "vm-formats: FAILED: not listed as usable:$unlisted"; failed=$((failed + 1)); fi
[ "$failed" = 0 ] || grep -vE "^list:" "$out/vm.log" | tail -40
echo "vm-formats: $(( $(date +%s) - started )) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
