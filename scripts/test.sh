#!/usr/bin/env bash
# The whole test suite: unit tests and integration tests that start the built camd and camview
# and talk to them over real sockets (plus the Python/OpenCV example client, a fake UVC camera
# LD_PRELOADed under the real capture code, and camd inside a VM (tests/vm/camvm.sh) against the kernel's
# vivid camera driver, and under systemd/camd.service with systemd as PID 1), a short
# fuzzing run of every parser of outside bytes, a one-minute soak, plus the unit files' checks (systemd-analyze
# verify and security, install.sh into a scratch root); then the whole suite again under ThreadSanitizer and
# under AddressSanitizer with LeakSanitizer (scripts/sanitize.sh, docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh test

# Each step says how long it took and how long the run has taken so far (CI's budget is about 45 minutes).
camd_test_start=$SECONDS
step() {
    local started=$SECONDS
    echo "==> [test.sh] $* (at $((SECONDS - camd_test_start)) s)"
    "$@"
    local name=$1
    while [ "$name" = env ] || [[ "$name" == *=* ]]; do shift; name=$1; done
    echo "==> [test.sh] passed in $((SECONDS - started)) s: $name (at $((SECONDS - camd_test_start)) s)"
}

step swift build --build-tests
# A 10-second run of each fuzz target (every parser of outside bytes) over its committed corpus, with ASan (what
# each checks and the long campaigns: docs/RELIABILITY.md).
step scripts/fuzz.sh all 10  # the corpus replays in under a second; 20 s each cost 220 s for 11 targets (docs/RELIABILITY.md, "What CI runs")
step scripts/systemd-check.sh
step scripts/proxy-test.sh  # nginx + TLS in front (examples/nginx/camd.conf): ffprobe, Chromium, curl over HTTPS; X-Forwarded-For only from trusted_proxies
step scripts/deb-test.sh  # the .deb: lintian, manuals, completions; install/upgrade/remove/purge in a clean Debian 12 (+ under systemd in the VM)
step scripts/vm-test.sh
step scripts/vm-hdmi-test.sh  # vivid's HDMI input: a timings change followed with viewers connected, no signal → NO SIGNAL
step scripts/vm-formats-test.sh  # every raw pixel format on vivid (one VM boot), bars compared on the host
step scripts/vm-systemd-test.sh
step scripts/relay-test.sh  # camera box → 2 relays → viewers in network namespaces, the box's uplink shaped with tc (about 40 s; docs/SCALING.md)
step scripts/rtsp-test.sh  # real RTSP clients against camd: ffprobe, ffmpeg, GStreamer, OpenCV over TCP and UDP, /mjpeg, auth, a 1 Mbit/s shaped viewer (netns + tc)
step env IDLE_BUILD=debug IDLE_TRIES=2 bench/idle.sh 2  # idle mode: CPU with no viewer and a live first frame for every source (docs/BENCHMARKS.md)
step env CAPTURE_BUILD=debug CAPTURE_SIZE=640x480 CAPTURE_FPS=30 CAPTURE_WARMUP=1 bench/capture-path.sh 2 yuyv  # encoder workers 1 and 2: frames delivered in order, latency reported (docs/BENCHMARKS.md)
step env SOAK_BUILD=debug SOAK_SCALE=0.25 bench/soak.sh 60  # a minute of the soak at a quarter of its viewers, loose targets (the hour-long run: docs/RELIABILITY.md)
step swift test
# The whole suite under TSan, then ASan + LSan, each in its own build folder (about 15 min from clean on 2 cores);
# any sanitizer report from the test runner or a camd, camview or camctl it started fails the run.
step scripts/sanitize.sh all
