#!/usr/bin/env bash
# The whole test suite: unit tests and integration tests that start the built camd and camview
# and talk to them over real sockets (plus the Python/OpenCV example client, a fake UVC camera
# LD_PRELOADed under the real capture code, and — where ../shared/vmcam exists — camd inside a VM
# against the kernel's vivid camera driver, and under systemd/camd.service with systemd as PID 1), a short
# fuzzing run of every parser of outside bytes, plus the unit files' checks (systemd-analyze verify and
# security, install.sh into a scratch root).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh test

swift build --build-tests
# A 30-second run of each fuzz target (every parser of outside bytes) over its committed corpus, with ASan (what
# each checks and the long campaigns: docs/RELIABILITY.md).
scripts/fuzz.sh all 30
scripts/systemd-check.sh
scripts/vmcam-test.sh
scripts/vmcam-systemd-test.sh
SOAK_BUILD=debug SOAK_SCALE=0.25 bench/soak.sh 60  # a minute of the soak at a quarter of its viewers, loose targets (the hour-long run: docs/RELIABILITY.md)
swift test
