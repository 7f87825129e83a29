#!/usr/bin/env bash
# Quick start: install what camd needs, build it, and run it on the built-in test pattern.
# Stop it with Ctrl-C. Extra arguments go to camd (e.g. scripts/quickstart.sh --fps 15).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

echo "==> building camd, camctl and camview (release)"
swift build -c release --product camd
swift build -c release --product camctl
swift build -c release --product camview
bin="$(swift build -c release --show-bin-path)"

cat <<BANNER

camd is starting on the test pattern (moving colour bars, frame number and time; no camera needed).
Open http://127.0.0.1:8080/ in a browser (live page), or point VLC/ffplay/OpenCV at
http://127.0.0.1:8080/stream; snapshot: http://127.0.0.1:8080/snapshot; state: http://127.0.0.1:8080/state.
Native stream: tcp://127.0.0.1:9999 (docs/PROTOCOL.md). In another terminal:

  $bin/camview                                         # the live picture: a window, or right here in the terminal
  $bin/camview tcp://127.0.0.1:9999 --stats            # live fps, latency, drops
  $bin/camview tcp://127.0.0.1:9999 --snapshot now.jpg # one frame to look at
  python3 examples/camd_client.py 127.0.0.1 9999 10    # OpenCV client (pip install opencv-python-headless)
  $bin/camctl status                                   # what camd is doing (control socket /run/camd/control)
  $bin/camctl set fps 10                               # change it live; kill -HUP reloads config/camd.toml

BANNER
exec "$bin/camd" --config config/camd.toml "$@"
