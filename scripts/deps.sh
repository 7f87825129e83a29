# Sourced by quickstart.sh and test.sh: installs the Debian packages camd builds against (and, with
# "test", the real clients the tests drive). Installs only what is missing, so repeated runs are quick.
set -euo pipefail

camd_apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "==> installing Debian packages: ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# Build dependencies: libturbojpeg (JPEG), libv4l2 (cameras), libsystemd (notify/journal), libcrypt (http_auth),
# SDL2 (camview's window), pkg-config, libavcodec + libavutil (the H.264 encoder; Debian's libavcodec links libx264).
camd_apt_install libturbojpeg0-dev libv4l-dev libsystemd-dev libcrypt-dev libsdl2-dev pkg-config libavcodec-dev libavutil-dev

if [ "${1:-}" = "test" ]; then
    # Real outside clients used by the tests: Python + OpenCV for examples/camd_client.py, djpeg, curl,
    # ffmpeg (and its ffprobe: also the H.264 encoder tests), GStreamer and headless Chromium for HTTP;
    # systemd-journald and journalctl for the journal test;
    # qemu, kmod and cpio for tests/vm/camvm.sh, the VM with a real V4L2 driver (vivid).
    # tmux, Xvfb, xwd (x11-apps), xdotool and ImageMagick for camview's terminal and window tests.
    # systemd for systemd-analyze (verify, security) in scripts/systemd-check.sh: a fresh Debian 12
    # container has no systemd package.
    # prometheus for promtool (check metrics) and a real Prometheus scraping /metrics (MetricsTests).
    # The Debian package (scripts/deb-test.sh): debhelper, dpkg-dev and fakeroot build it, lintian checks it,
    # man-db renders its manuals, zsh and fish run its completions, debootstrap makes the clean root it is
    # installed into.
    camd_apt_install python3 python3-pip libjpeg-turbo-progs curl ffmpeg gstreamer1.0-tools \
        gstreamer1.0-plugins-base gstreamer1.0-plugins-good chromium systemd \
        tmux xvfb x11-apps xdotool imagemagick prometheus \
        debhelper dpkg-dev fakeroot lintian man-db zsh fish debootstrap
    # ustreamer: a real MJPEG upstream for network sources (its NO SIGNAL stream needs no camera; NetworkSourceTests).
    camd_apt_install ustreamer
    camd_apt_install qemu-system-x86 kmod cpio
    # v4l-utils: v4l2-ctl inside the VM (its root is this machine's) switches vivid's HDMI source (vm-hdmi-test.sh).
    camd_apt_install v4l-utils
    # nginx and openssl for scripts/proxy-test.sh (examples/nginx/camd.conf with TLS). The test runs its own nginx in
    # the foreground on a free loopback port; the package's own service is not wanted, so while nginx is installed
    # a policy-rc.d (unless the machine has one, as Docker images do) keeps it from being started on port 80.
    if ! dpkg-query -W -f='${Status}' nginx 2>/dev/null | grep -q "install ok installed"; then
        camd_policy=""
        if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
            camd_policy=/usr/sbin/policy-rc.d
            printf '#!/bin/sh\n# camd scripts/deps.sh: nginx is installed for a test, not as a service.\nfor a; do [ "$a" = nginx ] && exit 101; done\nexit 0\n' > "$camd_policy"
            chmod 755 "$camd_policy"
        fi
        camd_status=0
        camd_apt_install nginx openssl || camd_status=$?
        [ -z "$camd_policy" ] || rm -f "$camd_policy"
        [ "$camd_status" -eq 0 ] || exit "$camd_status"
    fi
    camd_apt_install openssl
    # iproute2: ip (network namespaces, veths, a bridge) and tc (a shaped uplink) for scripts/relay-test.sh.
    camd_apt_install iproute2
    # gstreamer1.0-libav: avdec_h264, GStreamer's H.264 decoder, for scripts/rtsp-test.sh (rtspsrc ! rtph264depay !
    # avdec_h264). VLC is not installed: Debian 12's VLC has no RTSP client (no live555), so rtsp-test.sh would skip it.
    camd_apt_install gstreamer1.0-libav
    if ! python3 -c "import cv2, numpy" 2>/dev/null; then
        echo "==> installing opencv-python-headless from PyPI"
        python3 -m pip install -q opencv-python-headless 2>/dev/null \
            || python3 -m pip install -q --break-system-packages opencv-python-headless
    fi
fi

if [ "${1:-}" = "bench" ]; then
    # bench/rtsp-bench.sh (issue 16's RTSP fan-out): GStreamer's RTSP server from Python (python3-gi in Debian's
    # /usr/bin/python3, gir1.2-gst-rtsp-server-1.0) encoding with x264enc (plugins-ugly), ffmpeg for the harness's file;
    # --source h264 plays an .mp4 through qtdemux (plugins-good) and h264parse (plugins-bad).
    camd_apt_install python3 python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
        gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly ffmpeg
fi

if ! command -v swift >/dev/null; then
    [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v swift >/dev/null || { echo "error: no Swift 6 toolchain on PATH (see https://swift.org/install)" >&2; exit 1; }
