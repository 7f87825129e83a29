// NativeFuzz: a camd server's bytes as camview and camload read them — the 32-byte frame header on its own, and the
// native stream parser fed the whole input at once (keeping payloads) and in chunks (counting only).
import Wire

enum NativeFuzz {
    struct Run: Equatable {
        var headers: [NativeFrameHeader] = []
        var failure: String?
        var atBoundary = false
    }

    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        if let header = try? NativeFrameHeader(decoding: bytes) {
            try require(Int(header.length) <= NativeFrameHeader.maxPayload, "native-length-bound", "length \(header.length)")
            try require(header.encoded() == Array(bytes.prefix(NativeFrameHeader.size)), "native-header-round-trip",
                        "\(header) encodes differently from \(shown(bytes.prefix(NativeFrameHeader.size)))")
        }
        let whole = try run(bytes, chunks: [0..<bytes.count], keepPayload: true)
        var random = FuzzRandom(seed: FuzzRandom.seed(bytes))
        let chunked = try run(bytes, chunks: random.chunks(bytes.count, pieces: 1 + random.next(16)), keepPayload: false)
        try require(whole == chunked, "native-chunking", "whole \(whole) but in chunks \(chunked)")
    }

    static func run(_ bytes: [UInt8], chunks: [Range<Int>], keepPayload: Bool) throws(FuzzFailure) -> Run {
        var parser = NativeStreamParser(keepPayload: keepPayload)
        var result = Run()
        var broken: FuzzFailure?
        var total = 0
        bytes.withUnsafeBytes { raw in
            for range in chunks where result.failure == nil {
                do {
                    try parser.consume(UnsafeRawBufferPointer(rebasing: raw[range])) { header, payload in
                        total += NativeFrameHeader.size + Int(header.length)
                        if Int(header.length) > NativeFrameHeader.maxPayload || total > bytes.count {
                            broken = broken ?? FuzzFailure("native-length-bound", "a frame of \(header.length) bytes, \(total) of \(bytes.count) consumed")
                        }
                        if keepPayload ? payload?.count != Int(header.length) : payload != nil {
                            broken = broken ?? FuzzFailure("native-payload", "\(payload?.count ?? -1) payload bytes for length \(header.length)")
                        }
                        result.headers.append(header)
                    }
                } catch {
                    result.failure = "\(error)"
                }
            }
        }
        if let broken { throw broken }
        result.atBoundary = parser.isAtFrameBoundary
        if let failure = result.failure {
            try require(!hasControlCharacter(failure), "native-error-control-character", failure.debugDescription)
        } else {
            try require(result.atBoundary == (total == bytes.count), "native-boundary",
                        "at a frame boundary: \(result.atBoundary), \(total) of \(bytes.count) bytes in whole frames")
        }
        return result
    }
}
