#!/usr/bin/env bash
# camd behind nginx with TLS: runs real nginx in the foreground with examples/nginx/camd.conf itself (only its
# ports and certificate paths replaced) and a fresh self-signed certificate, then checks /stream over HTTPS with
# ffprobe and headless Chromium, /snapshot with curl --cacert, and that X-Forwarded-For names the viewer only when
# camd trusts the proxy (trusted_proxies) — tests/proxy/proxy_test.py has the list. About 20 s; run by test.sh.
#
#   scripts/proxy-test.sh [BINDIR]   BINDIR: where camd is (default: the debug build)
# Prints "N passed, M failed"; exit status 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
bin="${1:-$(swift build --show-bin-path)}"
[ -x "$bin/camd" ] || { echo "proxy-test: no camd in $bin (swift build first)" >&2; exit 1; }
exec python3 tests/proxy/proxy_test.py "$bin"
