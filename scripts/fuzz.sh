#!/usr/bin/env bash
# Fuzzes a parser with libFuzzer (the Swift toolchain's -sanitize=fuzzer): builds the harness from
# Tests/Fuzz into .build-fuzz/ and runs it over the committed corpus, Tests/Fuzz/corpus/TARGET/.
# Targets: toml (the TOML parser alone, Tests/Fuzz/TOMLFuzz.swift built with swiftc) and config (the whole
# config loader in camd's own modules: the CamdFuzz library built by SwiftPM with -sanitize=fuzzer, linked
# with libFuzzer's main by the toolchain's clang).
# New inputs go to a scratch corpus in .build-fuzz/; with --grow, the ones that add edge coverage are
# merged back into the committed corpus (-merge=1). A crash, trap or timeout fails the run; the input is
# kept as .build-fuzz/artifacts/TARGET-crash-… (replay: .build-fuzz/TARGET-fuzz FILE).
#
#   scripts/fuzz.sh toml|config [RUNS] [--grow]   # RUNS: executions, default 20000 (a CI smoke run)
#
# FUZZ_SANITIZE (default fuzzer,address) picks the sanitizers of the toml target; FUZZ_SANITIZE=fuzzer is
# about twice as fast for long runs (the parser is safe Swift: bounds and overflow are checked without
# ASan). The config target is a debug build (Swift's checks and assertions on) with the fuzzer's coverage only.
# Prints "1 passed, 0 failed" (or "0 passed, 1 failed"), then a last line "fuzz TARGET: N runs, C crashes".
# Exit status: 0 no crash, 1 a crash (or the build failed), 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/fuzz.sh toml|config [RUNS] [--grow]" >&2; exit 2; }
target="" runs=20000 grow=0
for argument in "$@"; do
    case "$argument" in
        --grow) grow=1 ;;
        toml|config) target="$argument" ;;
        *[!0-9]* | "") usage ;;
        *) runs="$argument" ;;
    esac
done
[ -n "$target" ] || usage

corpus="Tests/Fuzz/corpus/$target"
work=".build-fuzz/corpus-$target"
binary=".build-fuzz/$target-fuzz"
log=".build-fuzz/$target-fuzz.log"
mkdir -p "$work" .build-fuzz/artifacts

case "$target" in
    toml)
        swiftc -sanitize="${FUZZ_SANITIZE:-fuzzer,address}" -use-ld=lld -parse-as-library -O -module-name TOMLFuzz \
            Sources/TOML/*.swift Tests/Fuzz/TOMLFuzz.swift -o "$binary"
        ;;
    config)
        # camd's modules with coverage instrumentation, in their own build folder (about a minute the first time).
        swift build --build-path .build-fuzz/spm -Xswiftc -sanitize=fuzzer --product CamdFuzz > .build-fuzz/spm.log 2>&1 \
            || { tail -20 .build-fuzz/spm.log; echo "0 passed, 1 failed"; echo "fuzz $target: 0 runs, build failed"; exit 1; }
        lib="$(swift build --build-path .build-fuzz/spm --show-bin-path)"
        # libFuzzer's main, from the toolchain's clang; LLVMFuzzerTestOneInput comes from libCamdFuzz.so.
        printf '/* libFuzzer supplies main; the entry point is in libCamdFuzz.so. */\n' > .build-fuzz/driver.c
        "$(dirname "$(readlink -f "$(command -v swiftc)")")/clang" -fsanitize=fuzzer .build-fuzz/driver.c \
            -L"$lib" -lCamdFuzz -Wl,-rpath,"$lib" -o "$binary"
        ;;
esac

options=(-max_len=4096 -timeout=5 -print_final_stats=1)
status=0
"$binary" "${options[@]}" -runs="$runs" -artifact_prefix=".build-fuzz/artifacts/$target-" "$work" "$corpus" > "$log" 2>&1 \
    || status=$?

executed=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
[ -n "$executed" ] || executed=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+INITED|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|Done)' "$log" || true

if ((status != 0)); then
    tail -40 "$log"
    echo "0 passed, 1 failed"
    echo "fuzz $target: ${executed:-0} runs, 1 crashes"
    exit 1
fi
if ((grow)); then
    before=$(find "$corpus" -type f | wc -l)
    # Edges only (-use_counters=0): hit-count buckets would keep several times more files for little gain.
    "$binary" "${options[@]}" -merge=1 -use_counters=0 "$corpus" "$work" >> "$log" 2>&1
    echo "corpus $corpus: $before -> $(find "$corpus" -type f | wc -l) files, $(find "$corpus" -type f -exec cat {} + | wc -c) bytes"
fi
echo "1 passed, 0 failed"
echo "fuzz $target: $executed runs, 0 crashes"
