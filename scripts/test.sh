#!/usr/bin/env bash
# The whole test suite: unit tests and integration tests that start the built camd and camview
# and talk to them over real sockets (plus the Python/OpenCV example client, a fake UVC camera
# LD_PRELOADed under the real capture code, and — where ../shared/vmcam exists — camd inside a VM
# against the kernel's vivid camera driver, and under systemd/camd.service with systemd as PID 1), short
# fuzzing runs of the config parser and loader, plus the unit files' checks (systemd-analyze verify and
# security, install.sh into a scratch root).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh test

swift build --build-tests
# Short runs of the fuzzers of outside input over their committed corpora (the long campaigns: docs/FUZZING.md).
scripts/fuzz.sh toml
scripts/fuzz.sh config
scripts/systemd-check.sh
scripts/vmcam-test.sh
scripts/vmcam-systemd-test.sh
SOAK_BUILD=debug SOAK_SCALE=0.25 bench/soak.sh 60  # a minute of the soak at a quarter of its viewers, loose targets (the hour-long run: docs/RELIABILITY.md)
swift test
