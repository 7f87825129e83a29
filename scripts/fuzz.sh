#!/usr/bin/env bash
# Fuzzes camd's parsers of outside bytes with libFuzzer (the Swift toolchain's -sanitize=fuzzer) and AddressSanitizer.
# The checks of every target live in fuzz/ (the test-only library CamdFuzz); SwiftPM builds it once, instrumented,
# in .build-fuzz/spm-SANITIZER, and the toolchain's clang links one executable per target, .build-fuzz/TARGET-fuzz,
# from fuzz/driver.c (libFuzzer's main calls that target's entry in libCamdFuzz.so).
# Each run starts from the committed corpus fuzz/corpus/TARGET/; new inputs go to a scratch corpus in .build-fuzz/,
# and with --grow the ones that add edge coverage are merged back into the committed corpus (-merge=1).
# A crash, trap, failed check, ASan report or timeout fails the run; the input is kept as
# .build-fuzz/artifacts/TARGET-crash-… (replay: .build-fuzz/TARGET-fuzz FILE).
#
#   scripts/fuzz.sh TARGET|all [SECONDS] [--runs N] [--grow]
#
# Targets: http (request parser + connection machine), multipart, native, jpeg (scanner + MJPEG repair), control,
# config (the whole config loader), toml (the TOML parser alone), upstream (network sources' HTTP response and
# multipart parser), rtsp (RTSP request parser + RTSPConnectionMachine), h264 (Annex-B splitting, NAL types,
# SPS/PPS to SDP attributes); all runs each in turn. SECONDS (default 30) is libFuzzer's -max_total_time; --runs N
# stops after N executions instead (the long campaigns; with SECONDS as well, whichever comes first).
# Environment: FUZZ_SANITIZE=address (default) or none (coverage only, about twice as fast); FUZZ_CONFIGURATION
# (release, the default: Swift's bounds, overflow and precondition checks stay on; debug adds assertions);
# FUZZ_IGNORE=check,… lets named checks fail without stopping the run (a known bug owned elsewhere).
# Prints, per target, "1 passed, 0 failed" (or "0 passed, 1 failed"), then "fuzz TARGET: N runs, C crashes" — for
# all, the last line sums them. Exit status: 0 no crash, 1 a crash (or the build failed), 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(http multipart native jpeg control config toml pixels upstream rtsp h264)
usage() { echo "usage: scripts/fuzz.sh http|multipart|native|jpeg|control|config|toml|pixels|upstream|rtsp|h264|all [SECONDS] [--runs N] [--grow]" >&2; exit 2; }
target="" seconds="" runs="" grow=0
while (($#)); do
    case "$1" in
        --grow) grow=1 ;;
        --runs) [[ "${2:-}" =~ ^[0-9]+$ ]] || usage; runs="$2"; shift ;;
        all|http|multipart|native|jpeg|control|config|toml|pixels|upstream|rtsp|h264) target="$1" ;;
        *[!0-9]* | "") usage ;;
        *) seconds="$1" ;;
    esac
    shift
done
[ -n "$target" ] || usage
[ "$target" = all ] || targets=("$target")

sanitize="${FUZZ_SANITIZE:-address}"
configuration="${FUZZ_CONFIGURATION:-release}"
case "$sanitize" in
    address) spm_sanitize=(--sanitize=address) clang_sanitize=fuzzer,address ;;
    none) spm_sanitize=() clang_sanitize=fuzzer ;;
    *) echo "FUZZ_SANITIZE is address or none" >&2; exit 2 ;;
esac
spm=".build-fuzz/spm-$sanitize"
mkdir -p .build-fuzz/artifacts

# camd's modules with coverage instrumentation (and ASan), in their own build folder (a few minutes the first time).
if ! swift build -c "$configuration" --build-path "$spm" "${spm_sanitize[@]}" -Xswiftc -sanitize=fuzzer --product CamdFuzz \
        > .build-fuzz/spm.log 2>&1; then
    tail -20 .build-fuzz/spm.log
    for t in "${targets[@]}"; do echo "0 passed, 1 failed"; echo "fuzz $t: 0 runs, build failed"; done
    exit 1
fi
lib="$(swift build -c "$configuration" --build-path "$spm" --show-bin-path)"
clang="$(dirname "$(readlink -f "$(command -v swiftc)")")/clang"
# The Swift runtime's crash handler reads memory ASan calls the shadow gap and reports that instead of the crash.
export SWIFT_BACKTRACE=enable=no

total_runs=0 total_crashes=0
for t in "${targets[@]}"; do
    case "$t" in
        http) entry=camdFuzzHTTP max_len=9216 ;;   # past HTTPRequestParser.maxHeadBytes, for the 431 paths
        multipart) entry=camdFuzzMultipart max_len=4096 ;;
        native) entry=camdFuzzNative max_len=4096 ;;
        jpeg) entry=camdFuzzJPEG max_len=4096 ;;
        control) entry=camdFuzzControl max_len=1024 ;;  # one command line is a few words
        config) entry=camdFuzzConfig max_len=4096 ;;
        toml) entry=camdFuzzTOML max_len=4096 ;;
        pixels) entry=camdFuzzPixels max_len=16384 ;;  # a 64x64 RGB24 frame is 12 KB
        upstream) entry=camdFuzzUpstream max_len=4096 ;;
        rtsp) entry=camdFuzzRTSP max_len=9216 ;;       # past RTSPRequestParser.maxHeadBytes, for the 431 paths
        h264) entry=camdFuzzH264 max_len=8192 ;;  # a few small access units
    esac
    corpus="fuzz/corpus/$t" work=".build-fuzz/corpus-$t" binary=".build-fuzz/$t-fuzz" log=".build-fuzz/$t-fuzz.log"
    mkdir -p "$work"
    # lld: gold warns "Cannot export local symbol '__asan_…'" for every ASan check.
    "$clang" -fsanitize="$clang_sanitize" -fuse-ld=lld -DCAMD_FUZZ_ENTRY="$entry" fuzz/driver.c \
        -L"$lib" -lCamdFuzz -Wl,-rpath,"$lib" -o "$binary"

    options=(-max_len="$max_len" -timeout=5 -print_final_stats=1)
    # SECONDS and --runs together: whichever comes first.
    limit=(-max_total_time="${seconds:-$([ -n "$runs" ] && echo 0 || echo 30)}")
    [ -z "$runs" ] || limit+=(-runs="$runs")
    status=0
    "$binary" "${options[@]}" "${limit[@]}" -artifact_prefix=".build-fuzz/artifacts/$t-" "$work" "$corpus" > "$log" 2>&1 \
        || status=$?

    executed=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    [ -n "$executed" ] || executed=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    executed=${executed:-0}
    total_runs=$((total_runs + executed))
    echo "== $t ($binary, $sanitize, $configuration)"
    grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+(INITED|DONE)|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|Done)' "$log" || true

    if ((status != 0)); then
        grep -E 'Fatal error|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY|Test unit written|Base64' "$log" | head -8 || tail -40 "$log"
        echo "0 passed, 1 failed"
        echo "fuzz $t: $executed runs, 1 crashes"
        total_crashes=$((total_crashes + 1))
        continue
    fi
    if ((grow)); then
        before=$(find "$corpus" -type f | wc -l)
        # Edges only (-use_counters=0): hit-count buckets would keep several times more files for little gain.
        "$binary" "${options[@]}" -merge=1 -use_counters=0 "$corpus" "$work" >> "$log" 2>&1
        echo "corpus $corpus: $before -> $(find "$corpus" -type f | wc -l) files, $(find "$corpus" -type f -exec cat {} + | wc -c) bytes"
    fi
    echo "1 passed, 0 failed"
    echo "fuzz $t: $executed runs, 0 crashes"
done
[ "$target" = all ] && echo "fuzz all: $total_runs runs, $total_crashes crashes"
((total_crashes == 0)) || exit 1
