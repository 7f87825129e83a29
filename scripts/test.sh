#!/usr/bin/env bash
# The whole test suite: unit tests and integration tests that start the built camd and camview
# and talk to them over real sockets (plus the Python/OpenCV example client, a fake UVC camera
# LD_PRELOADed under the real capture code, and — where ../shared/vmcam exists — camd inside a VM
# against the kernel's vivid camera driver).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh test

swift build --build-tests
scripts/vmcam-test.sh
swift test
