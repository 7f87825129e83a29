#!/usr/bin/env bash
# bench/compare.sh — is a change to camd's serving path within run-to-run noise? Runs two camd binaries
# (A = before, B = after) against the same frames, alternately, at N = 100 and 500 native viewers (and
# N = 100 and 500 HTTP /stream viewers), ROUNDS times each, and prints CPU ms per delivered frame per run
# and the mean per binary. Alternating A, B, A, B… spreads the machine's drift over both.
#
#   bench/compare.sh OLD_CAMD NEW_CAMD [CAMLOAD]      # e.g. a saved .build/release/camd and the current one
#
# Environment: CASES (which of native-100 native-500 multipart-100 multipart-500 to run; all), ROUNDS (3), DURATION (15), WARMUP (3), CONNECT_RATE (200), PORT (19980), OUT (bench/out/compare-<time>).
# The frames are bench/data (bench/run.sh makes them). Everything listens on 127.0.0.1 and is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ $# -ge 2 ] || { echo "usage: bench/compare.sh OLD_CAMD NEW_CAMD [CAMLOAD]" >&2; exit 2; }
A=$1 B=$2 LOAD=${3:-$(swift build -c release --show-bin-path)/camload}
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-15} WARMUP=${WARMUP:-3} CONNECT_RATE=${CONNECT_RATE:-200}
PORT=${PORT:-19980} HTTP_PORT=$(( ${PORT:-19980} + 1 ))
OUT=${OUT:-$ROOT/bench/out/compare-$(date +%Y%m%d-%H%M%S)}
for f in "$A" "$B" "$LOAD"; do [ -x "$f" ] || { echo "not executable: $f" >&2; exit 2; }; done
[ -n "$(ls bench/data/*.jpg 2>/dev/null | head -1)" ] || { echo "no frames in bench/data: run bench/run.sh once" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is required" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT"

SERVER=""
cleanup() { [ -z "$SERVER" ] || { kill -KILL "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }; }
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_listen() {
    for _ in $(seq 1 100); do
        kill -0 "$SERVER" 2>/dev/null || return 1
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q LISTEN && return 0
        sleep 0.1
    done
    return 1
}

# one LABEL CAMD PROTOCOL N
one() {
    local label=$1 camd=$2 proto=$3 n=$4 port=$PORT
    [ "$proto" = multipart ] && port=$HTTP_PORT
    "$camd" --source "file:$ROOT/bench/data" --fps 30 --max-clients 2000 --listen "127.0.0.1:$PORT" \
        --http-listen "127.0.0.1:$HTTP_PORT" --rtsp-listen off --stats-interval 0 --log-level warning 2>"$OUT/$label.server.log" &
    SERVER=$!
    wait_listen "$port" || { cat "$OUT/$label.server.log" >&2; exit 1; }
    local limit=$(( n / CONNECT_RATE + 1 + WARMUP + DURATION + 30 ))
    timeout "$limit" "$LOAD" --target "127.0.0.1:$port" --protocol "$proto" --path /stream --clients "$n" --slow 0 \
        --connect-rate "$CONNECT_RATE" --warmup "$WARMUP" --duration "$DURATION" --pid "$SERVER" \
        --source-fps 30 --label "$label" --json >"$OUT/$label.json" 2>"$OUT/$label.txt" || true
    kill -TERM "$SERVER" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
    printf '%-22s %s\n' "$label" "$(jq -r '"cpu ms/frame \(.cpu_ms_per_frame // "?")  server cpu \(.server_cpu_pct // "?") %  fps \(.fast_fps_median // "?") / \(.fast_fps_p5 // "?")  latency p50 \(.latency_p50_ms // "?") ms"' "$OUT/$label.json" 2>/dev/null)"
}

CASES=${CASES:-native-100 native-500 multipart-100 multipart-500}
for proto in native multipart; do
    for n in 100 500; do
        case " $CASES " in *" $proto-$n "*) ;; *) continue ;; esac
        for round in $(seq 1 "$ROUNDS"); do
            one "$proto-$n-A-$round" "$A" "$proto" "$n"
            one "$proto-$n-B-$round" "$B" "$proto" "$n"
        done
    done
done
echo
echo "mean CPU ms per delivered frame (A = $A, B = $B):"
for proto in native multipart; do
    for n in 100 500; do
        case " $CASES " in *" $proto-$n "*) ;; *) continue ;; esac
        for side in A B; do
            printf '%-9s N=%-4s %s  %s\n' "$proto" "$n" "$side" "$(cat "$OUT/$proto-$n-$side-"*.json | jq -s '[.[].cpu_ms_per_frame | select(. != null)] | if length > 0 then "\(add / length * 10000 | round / 10000) (runs: \(map(tostring) | join(", ")))" else "no data" end' -r)"
        done
    done
done
echo "results: $OUT"
