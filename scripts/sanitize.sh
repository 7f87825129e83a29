#!/usr/bin/env bash
# Runs the test suite under ThreadSanitizer and/or AddressSanitizer (with LeakSanitizer): builds camd, its
# tools and the tests with --sanitize=thread|address into their own build folder (.build-tsan, .build-asan; the
# normal .build is untouched) and runs `swift test` there, so the integration tests start the sanitized camd,
# camview and camctl too (the fake camera, libFakeV4L2.so, is built with the same sanitizer and LD_PRELOADed
# into the sanitized camd as usual). Every sanitized process, the test runner and each child, writes its
# reports to <build folder>/sanitizer-reports/report.<pid>; the run fails if any report exists afterwards,
# whatever the tests said, and prints them. Coverage, wall times, skips and suppressions:
# docs/RELIABILITY.md (Sanitizers).
#
#   scripts/sanitize.sh thread|address|all [swift test arguments, e.g. --filter 'FramesTests|FanOut']
#
# CAMD_SANITIZER=thread|address is set for the tests: the few that cannot run under a sanitizer's slowdown
# are disabled by it (TestSupport's Sanitizer.active), each with its reason.
#
# Suites that one sanitizer cannot add to are skipped under it (swift test --skip; SANITIZE_EVERY_SUITE=1 runs them
# all; docs/RELIABILITY.md, "What CI runs"):
#  - under TSan, the single-threaded pure suites: parsers and sans-IO machines that start no thread and touch no
#    shared state (TOML, Settings, Wire, JPEG, H264, RTSP, FuzzTests). TSan reports races between threads; with
#    one thread it has nothing to see, and ASan (below) still runs them for memory errors.
#  - under both, FuzzTests: it replays every fuzz corpus through the fuzz targets' checks, which scripts/fuzz.sh
#    (in CI before this, `fuzz.sh all`) already runs over the same corpora with ASan, then mutates beyond them.
#    The plain `swift test` still replays them too.
# Exit status: 0 all passed and no report, 1 a test failed or a sanitizer reported, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/sanitize.sh thread|address|all [swift test arguments]" >&2; exit 2; }
[ $# -ge 1 ] || usage
which="$1"; shift
case "$which" in
    thread) sanitizers=(thread) ;;
    address) sanitizers=(address) ;;
    all) sanitizers=(thread address) ;;
    *) usage ;;
esac
suppressions="$PWD/scripts/sanitizers"
# The toolchain's own llvm-symbolizer, so reports name functions (and suppressions can match them) on a machine
# without a Debian llvm package; the runtimes would otherwise look for one on PATH.
symbolizer="$(dirname "$(readlink -f "$(command -v swift)")")/llvm-symbolizer"
[ -x "$symbolizer" ] && symbolizer="external_symbolizer_path=$symbolizer" || symbolizer=""

run() {
    local sanitizer="$1"; shift
    local short; short="$([ "$sanitizer" = thread ] && echo tsan || echo asan)"
    local build=".build-$short"
    local reports="$PWD/$build/sanitizer-reports"
    local start=$SECONDS
    echo "==> $sanitizer: building into $build"
    # ASan links with lld, as scripts/fuzz.sh does: gold prints "Cannot export local symbol '__asan_report_…'" for
    # every ASan check (over 800 lines). TSan draws no such warning and keeps the default linker.
    local linker=(); [ "$sanitizer" = address ] && linker=(-Xswiftc -use-ld=lld)
    swift build --build-tests --sanitize="$sanitizer" --build-path "$build" "${linker[@]}" || return 1
    local built=$SECONDS
    # World-writable: a test runs camctl as other users (setpriv), and a sanitizer that cannot write its report dies.
    rm -rf "$reports" && mkdir -p "$reports" && chmod 1777 "$reports"
    local status=0
    echo "==> $sanitizer: swift test $*"
    # halt_on_error=0 (TSan): a race is reported and the process goes on, so one run lists every race; the
    # process still exits 66 at the end, so a camd that raced fails its test too. ASan stops at the first error
    # (that is how Swift builds it); LSan checks each process at exit.
    # DBUS_SESSION_BUS_ADDRESS: with none set, SDL's libdbus (camview's window) forks a child to exec dbus-launch;
    # where that is not installed (CI) the child exits without exec, and TSan in that child reports the threads it
    # inherited from camview as leaked. An address that does not exist makes libdbus fail without forking.
    CAMD_SANITIZER="$sanitizer" DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent-camd-sanitize" \
    TSAN_OPTIONS="log_path=$reports/report $symbolizer halt_on_error=0 second_deadlock_stack=1 suppressions=$suppressions/tsan.supp" \
    ASAN_OPTIONS="log_path=$reports/report $symbolizer detect_leaks=1" \
    LSAN_OPTIONS="suppressions=$suppressions/lsan.supp print_suppressions=0" \
        swift test --skip-build --sanitize="$sanitizer" --build-path "$build" "$@" || status=$?
    local found=() report
    for report in "$reports"/report.*; do [ -e "$report" ] && found+=("$report"); done
    if ((${#found[@]})); then
        echo "==> $sanitizer: ${#found[@]} sanitizer report file(s):"
        for report in "${found[@]}"; do echo "--- $report"; cat "$report"; done
        status=1
    fi
    echo "==> $sanitizer: build $((built - start)) s, tests $((SECONDS - built)) s, ${#found[@]} report file(s), exit $status"
    [ "$status" -eq 0 ]
}

skip_for() {
    skip=()
    [ "${SANITIZE_EVERY_SUITE:-0}" != 1 ] || return 0
    case "$1" in
        thread) skip=(--skip '^(TOMLTests|SettingsTests|WireTests|JPEGTests|H264Tests|RTSPTests|FuzzTests)\.') ;;
        address) skip=(--skip '^FuzzTests\.') ;;
    esac
}

failed=()
for sanitizer in "${sanitizers[@]}"; do
    skip_for "$sanitizer"
    run "$sanitizer" "${skip[@]}" "$@" || failed+=("$sanitizer")
done
if ((${#failed[@]})); then
    echo "sanitize: FAILED under ${failed[*]}"
    exit 1
fi
echo "sanitize: ${sanitizers[*]}: no reports, all tests passed"
