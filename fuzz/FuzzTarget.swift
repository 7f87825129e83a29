// FuzzTarget: camd's fuzz targets — one per parser of outside bytes — and what they share: the failure a broken
// property reports, the check on text that reaches a log or a terminal, and libFuzzer's entry points.
// scripts/fuzz.sh builds this library with -sanitize=fuzzer,address and links one executable per target
// (fuzz/driver.c names the entry); Tests/FuzzTests replays every committed corpus through the same checks.
#if canImport(Glibc)
import Glibc
#endif

/// A property of a parser that an input broke. `check` names the property (FUZZ_IGNORE takes these names).
public struct FuzzFailure: Error, CustomStringConvertible {
    public let check: String
    public let detail: String
    public var description: String { "\(check): \(detail)" }

    init(_ check: String, _ detail: String) {
        self.check = check
        self.detail = detail
    }
}

public enum FuzzTarget: String, CaseIterable, Sendable {
    case http, multipart, native, jpeg, control, config, toml, pixels, upstream, rtsp, h264

    /// Runs the target's parser over `bytes` and checks its properties; a trap inside is a crash like any other.
    public func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        switch self {
        case .http: try HTTPFuzz.check(bytes)
        case .multipart: try MultipartFuzz.check(bytes)
        case .native: try NativeFuzz.check(bytes)
        case .jpeg: try JPEGFuzz.check(bytes)
        case .control: try ControlFuzz.check(bytes)
        case .config: try ConfigFuzz.check(bytes)
        case .toml: try TOMLFuzz.check(bytes)
        case .pixels: try PixelsFuzz.check(bytes)
        case .upstream: try UpstreamFuzz.check(bytes)
        case .rtsp: try RTSPFuzz.check(bytes)
        case .h264: try H264Fuzz.check(bytes)
        }
    }
}

/// Throws `check` with `detail` unless `condition` holds.
func require(_ condition: Bool, _ check: String, _ detail: @autoclosure () -> String) throws(FuzzFailure) {
    if !condition { throw FuzzFailure(check, detail()) }
}

/// True when `text` holds a C0 control character, DEL or a C1 control: what must never reach a log line or a
/// terminal raw (an ESC starts a terminal escape sequence; CR and LF forge log lines).
func hasControlCharacter(_ text: some StringProtocol) -> Bool {
    text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }
}

/// A short, printable rendering of input bytes for a failure message.
func shown(_ bytes: some Collection<UInt8>) -> String {
    let text = bytes.prefix(200).map { $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C ? String(UnicodeScalar($0)) : "\\x" + hex($0) }.joined()
    return "\"" + text + (bytes.count > 200 ? "…" : "") + "\""
}

private func hex(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16)
    return digits.count == 1 ? "0" + digits : digits
}

/// Checks named in FUZZ_IGNORE (comma-separated) do not fail a fuzzing run: a way to keep fuzzing the rest of a
/// parser while a bug someone else owns is open. Read once; unit tests never set it.
private let ignoredChecks: Set<Substring> = {
    guard let value = getenv("FUZZ_IGNORE") else { return [] }
    return Set(String(cString: value).split(separator: ","))
}()

/// libFuzzer's entry, shared by every target: a failed property aborts with its description (libFuzzer keeps
/// the input as a crash artifact).
private func fuzzEntry(_ target: FuzzTarget, _ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try target.check(bytes)
    } catch {
        if !ignoredChecks.contains(Substring(error.check)) { fatalError("fuzz \(target.rawValue): \(error)") }
    }
    return 0
}

// One entry point per target; fuzz/driver.c forwards LLVMFuzzerTestOneInput to the one it is built for.
@_cdecl("camdFuzzHTTP") public func camdFuzzHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.http, data, size) }
@_cdecl("camdFuzzMultipart") public func camdFuzzMultipart(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.multipart, data, size) }
@_cdecl("camdFuzzNative") public func camdFuzzNative(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.native, data, size) }
@_cdecl("camdFuzzJPEG") public func camdFuzzJPEG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.jpeg, data, size) }
@_cdecl("camdFuzzControl") public func camdFuzzControl(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.control, data, size) }
@_cdecl("camdFuzzConfig") public func camdFuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.config, data, size) }
@_cdecl("camdFuzzTOML") public func camdFuzzTOML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.toml, data, size) }
@_cdecl("camdFuzzPixels") public func camdFuzzPixels(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.pixels, data, size) }
@_cdecl("camdFuzzUpstream") public func camdFuzzUpstream(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.upstream, data, size) }
@_cdecl("camdFuzzRTSP") public func camdFuzzRTSP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.rtsp, data, size) }
@_cdecl("camdFuzzH264") public func camdFuzzH264(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzEntry(.h264, data, size) }
