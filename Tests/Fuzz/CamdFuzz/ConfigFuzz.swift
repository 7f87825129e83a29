// CamdFuzz: libFuzzer's entry point into camd's config loader — the whole path a config file's bytes take
// (UTF-8 check, TOML parser, every key's check) — so a crash anywhere in it is found, not only in the parser.
// Built as a shared library with -sanitize=fuzzer and linked with libFuzzer's main by scripts/fuzz.sh; in
// an ordinary build it is an unused library.
import Settings

@_cdecl("LLVMFuzzerTestOneInput")
public func camdFuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    // Either a configuration or a one-line error: both are fine; a trap is the bug.
    do {
        _ = try ConfigLoader.parse(bytes: bytes, origin: "fuzz.toml", overrides: [])
    } catch {
        let line = error.description
        // The error is one line and carries no control character out of the input.
        if line.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            fatalError("config error with a control character: \(line.debugDescription)")
        }
    }
    return 0
}
