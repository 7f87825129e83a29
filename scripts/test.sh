#!/usr/bin/env bash
# The whole test suite: unit tests and integration tests that start the built camd and camview
# and talk to them over real sockets (plus the Python/OpenCV example client).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh test

swift build --build-tests
swift test
