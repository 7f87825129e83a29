// UpstreamFuzz: an upstream MJPEG server's bytes as camd's network sources read them (http:// and
// http+snapshot://) — the response parser in both modes, with small limits so every bound is reached, fed the
// whole input at once and in random chunks: both must agree, and nothing emitted may exceed the input or a limit.
// (camd:// reads with the native stream parser: the native target.)
import Wire

enum UpstreamFuzz {
    struct Run: Equatable {
        var parts: [UpstreamPart] = []
        var failure: String?
        var done = false
    }

    static let limits: UpstreamLimits = {
        var limits = UpstreamLimits()
        limits.maxLine = 256
        limits.maxHeaders = 16
        limits.maxPart = 1024
        limits.maxBoundary = 40
        limits.maxSkipped = 2048
        return limits
    }()

    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        for mode in [UpstreamResponseParser.Mode.stream, .snapshot] {
            let whole = try run(bytes, mode: mode, chunks: [0..<bytes.count])
            var random = FuzzRandom(seed: FuzzRandom.seed(bytes) ^ (mode == .stream ? 3 : 4))
            let chunked = try run(bytes, mode: mode, chunks: random.chunks(bytes.count, pieces: 1 + random.next(16)))
            try require(whole == chunked, "upstream-chunking", "\(mode): whole \(whole.parts.count) parts, \(whole.failure ?? "no failure"); "
                        + "in chunks \(chunked.parts.count) parts, \(chunked.failure ?? "no failure")")
        }
    }

    static func run(_ bytes: [UInt8], mode: UpstreamResponseParser.Mode, chunks: [Range<Int>]) throws(FuzzFailure) -> Run {
        var parser = UpstreamResponseParser(mode: mode, limits: limits)
        var result = Run()
        var total = 0
        let collect = { (part: UpstreamPart) in
            total += part.payload.count
            result.parts.append(part)
        }
        do throws(UpstreamFailure) {
            for range in chunks { try parser.consume(bytes[range], collect) }
            try parser.finish(collect)
        } catch {
            result.failure = error.description
        }
        result.done = parser.isDone
        try require(total <= bytes.count, "upstream-payload-bound", "\(total) payload bytes from \(bytes.count) input bytes")
        for part in result.parts {
            try require(part.payload.count <= limits.maxPart, "upstream-part-bound", "a part of \(part.payload.count) bytes")
        }
        try require(result.parts.count <= bytes.count / 2 + 1, "upstream-part-count", "\(result.parts.count) parts from \(bytes.count) bytes")
        try require(mode == .stream || result.parts.count <= 1, "upstream-snapshot-one-image", "\(result.parts.count) images")
        // These reach camd's log, /state and the NO SIGNAL picture.
        for text in [result.failure, parser.statusLine, parser.contentType].compactMap({ $0 }) {
            try require(!hasControlCharacter(text), "upstream-text-control-character", text.debugDescription)
        }
        return result
    }
}
