// MultipartFuzz: a server's bytes as camview and camload read them — the multipart stream parser in both
// framings, fed the whole input at once (keeping payloads) and in chunks (counting only); both must agree.
import Wire

enum MultipartFuzz {
    /// MultipartStreamParser's bound on one part's Content-Length.
    static let maxPart = 64 << 20

    struct Run: Equatable {
        var parts: [Summary] = []
        var failure: String?
        var resyncs = 0
        var status: String?
    }

    struct Summary: Equatable {
        var length: Int
        var timestampNanos: UInt64?
        var sequence: UInt64?
        var isPlaceholder: Bool
    }

    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        for framing in [MultipartStreamParser.Framing.http, .raw] {
            let whole = try run(bytes, framing: framing, chunks: [0..<bytes.count], keepPayload: true)
            var random = FuzzRandom(seed: FuzzRandom.seed(bytes) ^ (framing == .http ? 1 : 2))
            let chunked = try run(bytes, framing: framing, chunks: random.chunks(bytes.count, pieces: 1 + random.next(16)), keepPayload: false)
            try require(whole == chunked, "multipart-chunking", "\(framing): whole \(whole) but in chunks \(chunked)")
        }
    }

    static func run(_ bytes: [UInt8], framing: MultipartStreamParser.Framing, chunks: [Range<Int>],
                    keepPayload: Bool) throws(FuzzFailure) -> Run {
        var parser = MultipartStreamParser(framing: framing, keepPayload: keepPayload)
        var result = Run()
        var broken: FuzzFailure?
        var total = 0
        bytes.withUnsafeBytes { raw in
            for range in chunks where result.failure == nil {
                do {
                    try parser.consume(UnsafeRawBufferPointer(rebasing: raw[range])) { part in
                        total += part.length
                        if part.length < 0 || part.length > maxPart || total > bytes.count {
                            broken = broken ?? FuzzFailure("multipart-part-bound", "a part of \(part.length) bytes from \(bytes.count) input bytes")
                        }
                        if keepPayload && part.payload?.count != part.length {
                            broken = broken ?? FuzzFailure("multipart-payload", "\(part.payload?.count ?? -1) payload bytes for length \(part.length)")
                        }
                        result.parts.append(Summary(length: part.length, timestampNanos: part.timestampNanos, sequence: part.sequence,
                                                    isPlaceholder: part.isPlaceholder))
                    }
                } catch {
                    result.failure = "\(error)"
                }
            }
        }
        if let broken { throw broken }
        result.resyncs = parser.resyncs
        result.status = parser.responseStatus
        // camview prints the failure and the response's status line ("… — camd's http_auth is on").
        for text in [result.failure, result.status].compactMap({ $0 }) {
            try require(!hasControlCharacter(text), "multipart-text-control-character", text.debugDescription)
        }
        try require(result.resyncs <= bytes.count, "multipart-resyncs", "\(result.resyncs) resyncs in \(bytes.count) bytes")
        return result
    }
}
