#!/usr/bin/env bash
# The cost of a /metrics scrape (docs/BENCHMARKS.md, "Metrics: scrape cost"): a release camd on the test
# pattern, optionally under camload viewers, answers SCRAPES sequential GET /metrics on one keep-alive
# connection (one curl). Reports the body size, curl's time per scrape (p50 / p99 / max) and camd's CPU per
# scrape: CPU ticks over the scrapes minus camd's CPU over an equally long stretch without them.
#   bench/metrics.sh [VIEWERS] [SCRAPES]      (defaults 1000 and 1000; needs .build/release/camd and camload)
set -euo pipefail
cd "$(dirname "$0")/.."
viewers="${1:-1000}"
scrapes="${2:-1000}"
native=19980 http=19981
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
camd=.build/release/camd
camload="${CAMLOAD:-.build/release/camload}"
[ -x "$camd" ] && [ -x "$camload" ] || { echo "error: build first: swift build -c release --product camd --product camload" >&2; exit 1; }

"$camd" --fps 30 --width 640 --height 480 --max-clients 2000 --listen 127.0.0.1:$native --http-listen 127.0.0.1:$http --rtsp-listen off \
    --control-socket "" --stats-interval 0 --log-level warning &
camd_pid=$!
load_pid=""
cleanup() { [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null; kill "$camd_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
url="http://127.0.0.1:$http${SCRAPE_PATH:-/metrics}"   # SCRAPE_PATH=/state: the same for /state, to compare
for _ in $(seq 1 100); do curl -sf -o /dev/null "$url" && break; sleep 0.1; done

if [ "$viewers" -gt 0 ]; then
    "$camload" --target 127.0.0.1:$native --clients "$viewers" --connect-rate 500 --warmup 1 --duration 60 >/dev/null &
    load_pid=$!
    for _ in $(seq 1 200); do
        [ "$(curl -s "http://127.0.0.1:$http/metrics" | awk '/^camd_viewers\{protocol="native"\}/ { print $2 }')" = "$viewers" ] && break
        sleep 0.1
    done
fi

ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$camd_pid/stat"; }
hz=$(getconf CLK_TCK)
size=$(curl -s "$url" | wc -c)
before=$(ticks); start=$(date +%s.%N)
# One curl, one keep-alive connection; -o applies to one URL, so each URL has its own.
curl -s -w '%{time_total}\n' $(for _ in $(seq 1 "$scrapes"); do printf -- '-o /dev/null %s ' "$url"; done) > /tmp/camd-metrics-times.$$
end=$(date +%s.%N); after=$(ticks)
wall=$(echo "$end - $start" | bc -l)
# The same stretch without scrapes: what camd spends on the viewers alone.
base_before=$(ticks); sleep "$wall"; base_after=$(ticks)
sort -n /tmp/camd-metrics-times.$$ | awk -v n="$scrapes" -v size="$size" -v wall="$wall" -v hz="$hz" -v viewers="$viewers" \
    -v scr=$((after - before)) -v base=$((base_after - base_before)) '
    { t[NR] = $1 }
    END {
        printf "viewers %d, %d scrapes in %.2f s, body %d bytes\n", viewers, n, wall, size
        printf "curl time per scrape: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", t[int(n*0.5)]*1000, t[int(n*0.99)]*1000, t[n]*1000
        printf "camd CPU: %d ticks with scrapes, %d without, %.3f ms per scrape\n", scr, base, (scr - base) * 1000 / hz / n
    }'
rm -f /tmp/camd-metrics-times.$$
