// UpstreamResponseParser: what an upstream MJPEG server answers camd's GET, as events (sans-IO: feed it whatever
// recv returned). A response head (status 200 or a clear error), an optional chunked transfer coding, then either
// a multipart stream of parts — with or without Content-Length (without: the body ends at the next boundary) — or
// (snapshot) one image body. A stream without an HTTP head (GStreamer's multipartmux into a tcpserversink: the
// first line is "--boundary") is accepted too. Every buffer is bounded: a hostile upstream cannot grow memory.
import CamdSystem
#if canImport(Glibc)
import Glibc
#endif

public struct UpstreamPart: Sendable, Equatable {
    public var payload: [UInt8] = []
    /// The part's Content-Type, lowercased (nil when it had none).
    public var contentType: String?
    /// X-Timestamp / X-Sequence / X-Placeholder, as camd (and partly ustreamer) send them.
    public var timestampNanos: UInt64?
    public var sequence: UInt64?
    public var isPlaceholder = false
    public init() {}
}

public struct UpstreamFailure: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct UpstreamLimits: Sendable, Equatable {
    /// Longest header line (status, response or part header; chunk-size line).
    public var maxLine = 4096
    /// Most header lines in the response head, and in one part's head.
    public var maxHeaders = 64
    /// Largest part (image) accepted, whether declared by Content-Length or found by scanning.
    public var maxPart = 16 << 20
    /// Longest multipart boundary (RFC 2046 allows 70; some servers use more).
    public var maxBoundary = 200
    /// Bytes skipped while looking for a boundary line (before the first part, or between parts).
    public var maxSkipped = 256 << 10
    public init() {}
}

public struct UpstreamResponseParser {
    public enum Mode: Sendable { case stream, snapshot }

    private enum State {
        case statusLine
        case responseHeaders
        /// Looking for a "--boundary" line (the boundary may still be unknown: then it is learned from it).
        case boundary
        /// The rest of a delimiter line found by scanning: "--" ends the stream, anything else is ignored.
        case delimiterRest
        case partHeaders
        case body(remaining: Int)
        /// A body without a length: up to the next delimiter (stream), or to the end of the connection (snapshot).
        case scan
        case done
    }

    private enum Chunking {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailer
    }

    public let mode: Mode
    public let limits: UpstreamLimits
    private var state = State.statusLine
    private var chunking: Chunking?
    private var line: [UInt8] = []
    private var chunkLine: [UInt8] = []
    /// Transfer-Encoding: chunked was in the response head (the body after it is de-chunked).
    private var chunkedAnnounced = false
    private var headerCount = 0
    private var skipped = 0
    private var boundary: [UInt8]?
    private var contentLength: Int?
    private var part = UpstreamPart()
    /// Where the next search for a delimiter starts in `part.payload` (scanning).
    private var scanFrom = 0
    /// The response's status line (escaped: the server's bytes), once read.
    public private(set) var statusLine: String?
    /// The response's Content-Type (escaped), once read.
    public private(set) var contentType: String?
    /// Parts emitted so far.
    public private(set) var parts = 0

    public init(mode: Mode, limits: UpstreamLimits = UpstreamLimits()) {
        self.mode = mode
        self.limits = limits
    }

    /// True once the stream has ended cleanly (final boundary, or the snapshot's body complete).
    public var isDone: Bool { if case .done = state { return true } else { return false } }

    /// Consumes `bytes`; calls `onPart` for each complete part (snapshot: the one image).
    /// (Not generic: an ArraySlice keeps the bulk copies fast in unoptimised and sanitizer builds too.)
    public mutating func consume(_ bytes: ArraySlice<UInt8>, _ onPart: (UpstreamPart) -> Void) throws(UpstreamFailure) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard let chunked = chunking else {
                // Stops right after a response head that announced chunked coding: the rest is decoded below.
                index = try consumeBody(bytes[index...], onPart)
                continue
            }
            switch chunked {
            case .data(let remaining):
                let take = min(remaining, bytes.endIndex - index)
                _ = try consumeBody(bytes[index..<index + take], onPart)
                index += take
                chunking = take == remaining ? .dataEnd : .data(remaining: remaining - take)
            case .size, .dataEnd, .trailer:
                let byte = bytes[index]
                index += 1
                guard byte == 0x0A else {
                    guard chunkLine.count < limits.maxLine else { throw UpstreamFailure("chunk-size line longer than \(limits.maxLine) bytes") }
                    chunkLine.append(byte)
                    continue
                }
                if chunkLine.last == 0x0D { chunkLine.removeLast() }
                defer { chunkLine.removeAll(keepingCapacity: true) }
                switch chunking! {
                case .dataEnd:
                    guard chunkLine.isEmpty else { throw UpstreamFailure("chunked body: no CRLF after a chunk's data") }
                    chunking = .size
                case .trailer:
                    if chunkLine.isEmpty { try finishBody(onPart); chunking = .trailer }
                default:
                    let digits = chunkLine.prefix { $0 != 0x3B }  // chunk extensions (";…") are ignored
                    guard let size = Int(String(decoding: digits, as: UTF8.self).trimmingWhitespace(), radix: 16), size >= 0,
                          size <= limits.maxPart else {
                        throw UpstreamFailure("chunked body: bad chunk size \(LogText.escaped(String(decoding: chunkLine, as: UTF8.self), limit: 40))")
                    }
                    chunking = size == 0 ? .trailer : .data(remaining: size)
                }
            }
        }
    }

    /// The connection ended: a snapshot without Content-Length is complete now; anything else ends the stream early.
    public mutating func finish(_ onPart: (UpstreamPart) -> Void) throws(UpstreamFailure) {
        if case .done = state { return }
        if mode == .snapshot, case .scan = state, chunking == nil {
            try finishBody(onPart)
            return
        }
        switch state {
        case .statusLine where line.isEmpty: throw UpstreamFailure("the upstream closed the connection without answering")
        case .statusLine, .responseHeaders: throw UpstreamFailure("the upstream closed the connection in the response head")
        case .body, .scan: throw UpstreamFailure("the upstream closed the connection in the middle of an image")
        default: throw UpstreamFailure("the upstream closed the connection")
        }
    }

    private mutating func finishBody(_ onPart: (UpstreamPart) -> Void) throws(UpstreamFailure) {
        switch state {
        case .scan where mode == .snapshot:
            emit(onPart)
            state = .done
        case .done:
            break
        default:
            throw UpstreamFailure("the chunked body ended in the middle of a \(mode == .snapshot ? "image" : "stream")")
        }
    }

    /// Parses (already de-chunked) bytes; returns where it stopped: the end, or just after a response head that
    /// turned chunked coding on.
    private mutating func consumeBody(_ bytes: ArraySlice<UInt8>, _ onPart: (UpstreamPart) -> Void) throws(UpstreamFailure) -> Int {
        var index = bytes.startIndex
        let end = bytes.endIndex
        let wasChunked = chunking != nil
        while index < end {
            switch state {
            case .done:
                return end
            case .body(let remaining):
                let take = min(remaining, end - index)
                part.payload.append(contentsOf: bytes[index..<index + take])
                index += take
                if take == remaining {
                    emit(onPart)
                    state = mode == .snapshot ? .done : .boundary
                } else {
                    state = .body(remaining: remaining - take)
                }
            case .scan:
                // At most one read's bytes past maxPart are held before the part is refused.
                part.payload.append(contentsOf: bytes[index..<end])
                index = end
                let tooLarge = UpstreamFailure("image larger than \(limits.maxPart) bytes\(mode == .stream ? " without a boundary" : "")")
                guard mode == .stream, let delimiter = boundary.map({ Array("\n--".utf8) + $0 }) else {
                    if part.payload.count > limits.maxPart { throw tooLarge }
                    continue
                }
                guard let found = Self.search(delimiter, in: part.payload, from: max(0, scanFrom - delimiter.count)) else {
                    // The part is at least this long even if a delimiter begins in the last bytes.
                    if part.payload.count > limits.maxPart + delimiter.count { throw tooLarge }
                    scanFrom = part.payload.count
                    continue
                }
                if found > limits.maxPart { throw tooLarge }
                // Bytes past the delimiter came from this call's input: hand them back to the line parser.
                let excess = part.payload.count - (found + delimiter.count)
                index = end - excess
                part.payload.removeSubrange(found...)
                if part.payload.last == 0x0D { part.payload.removeLast() }
                emit(onPart)
                startPart(afterDelimiter: true)
            default:
                let byte = bytes[index]
                index += 1
                if byte != 0x0A {
                    if line.count < limits.maxLine { line.append(byte) } else { try lineTooLong() }
                    continue
                }
                if line.last == 0x0D { line.removeLast() }
                let text = line
                line.removeAll(keepingCapacity: true)
                try endOfLine(text, onPart)
                if !wasChunked && chunking != nil { return index }
            }
        }
        return end
    }

    private mutating func lineTooLong() throws(UpstreamFailure) {
        switch state {
        case .boundary, .delimiterRest:
            // Skipping what is not a boundary (a stream joined mid-image): bounded by maxSkipped.
            skipped += line.count
            line.removeAll(keepingCapacity: true)
            try checkSkipped()
        case .statusLine:
            throw UpstreamFailure("the upstream's first line is longer than \(limits.maxLine) bytes: not an HTTP answer nor a multipart stream")
        default:
            throw UpstreamFailure("header line longer than \(limits.maxLine) bytes")
        }
    }

    private mutating func checkSkipped() throws(UpstreamFailure) {
        guard skipped <= limits.maxSkipped else {
            throw UpstreamFailure(boundary == nil
                ? "no multipart boundary in the first \(limits.maxSkipped) bytes (Content-Type \(contentType ?? "none"))"
                : "lost the multipart boundary: \(skipped) bytes that are not a part")
        }
    }

    private mutating func endOfLine(_ text: [UInt8], _ onPart: (UpstreamPart) -> Void) throws(UpstreamFailure) {
        switch state {
        case .statusLine:
            if text.starts(with: Array("--".utf8)) {
                // No HTTP head: a raw multipart stream (GStreamer's multipartmux into a tcpserversink).
                guard mode == .stream else { throw UpstreamFailure("the upstream sent a multipart stream, not an HTTP answer with an image") }
                state = .boundary
                try endOfLine(text, onPart)
                return
            }
            let status = String(decoding: text, as: UTF8.self)
            statusLine = LogText.escaped(status, limit: 120)
            let fields = status.split(separator: " ", maxSplits: 2)
            guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let code = Int(fields[1]) else {
                throw UpstreamFailure("not an HTTP answer: \(LogText.escaped(status, limit: 80))")
            }
            guard code == 200 else {
                let reason = fields.count > 2 ? " " + LogText.escaped(String(fields[2]), limit: 80) : ""
                let hint = code == 401 || code == 403 ? " (check the user and password or token in source)" : ""
                throw UpstreamFailure("HTTP \(code)\(reason)\(hint)")
            }
            state = .responseHeaders
        case .responseHeaders:
            if text.isEmpty {
                try endOfResponseHead()
                return
            }
            headerCount += 1
            guard headerCount <= limits.maxHeaders else { throw UpstreamFailure("more than \(limits.maxHeaders) response header lines") }
            guard let (name, value) = Self.header(text) else { return }
            switch name {
            case "content-type":
                contentType = LogText.escaped(value, limit: 120)
                if mode == .stream, let found = MultipartStreamParser.boundaryParameter(value) {
                    guard found.count <= limits.maxBoundary else { throw UpstreamFailure("multipart boundary longer than \(limits.maxBoundary) bytes") }
                    boundary = found
                }
            case "content-length":
                guard let length = Int(value), length >= 0 else { throw UpstreamFailure("bad Content-Length \(LogText.escaped(value, limit: 40))") }
                guard length <= limits.maxPart || mode == .stream else {
                    throw UpstreamFailure("Content-Length \(length) is larger than \(limits.maxPart) bytes")
                }
                contentLength = length
            case "transfer-encoding":
                let coding = value.lowercased()
                guard coding == "chunked" || coding == "identity" else {
                    throw UpstreamFailure("unsupported Transfer-Encoding \(LogText.escaped(value, limit: 40))")
                }
                chunkedAnnounced = coding == "chunked"
            default:
                break
            }
        case .boundary:
            if text.isEmpty { return }
            if let boundary {
                if Self.isDelimiter(text, boundary) { startPart(afterDelimiter: false); return }
                if Self.isDelimiter(text, boundary + Array("--".utf8)) { state = .done; return }
            } else if text.count > 2, text[0] == 0x2D, text[1] == 0x2D {
                // The boundary learned from the first delimiter line (no Content-Type said it).
                let learned = Array(text.dropFirst(2))
                guard learned.count <= limits.maxBoundary else { throw UpstreamFailure("multipart boundary longer than \(limits.maxBoundary) bytes") }
                boundary = learned
                startPart(afterDelimiter: false)
                return
            }
            skipped += text.count + 1
            try checkSkipped()
        case .delimiterRest:
            // "--" right after the boundary: the close delimiter.
            if text.starts(with: Array("--".utf8)) { state = .done } else { state = .partHeaders }
        case .partHeaders:
            if text.isEmpty {
                skipped = 0
                if let length = contentLength {
                    guard length <= limits.maxPart else { throw UpstreamFailure("part Content-Length \(length) is larger than \(limits.maxPart) bytes") }
                    // Memory follows the bytes that arrive, not the length a server claims.
                    part.payload.reserveCapacity(min(length, 1 << 20))
                    if length == 0 { emit(onPart); state = .boundary } else { state = .body(remaining: length) }
                } else {
                    scanFrom = 0
                    state = .scan
                }
                return
            }
            headerCount += 1
            guard headerCount <= limits.maxHeaders else { throw UpstreamFailure("more than \(limits.maxHeaders) header lines in a part") }
            guard let (name, value) = Self.header(text) else {
                throw UpstreamFailure("bad part header line: \(LogText.escaped(String(decoding: text, as: UTF8.self), limit: 80))")
            }
            switch name {
            case "content-type": part.contentType = value.lowercased()
            case "content-length":
                guard let length = Int(value), length >= 0 else { throw UpstreamFailure("bad part Content-Length \(LogText.escaped(value, limit: 40))") }
                contentLength = length
            case "x-timestamp": part.timestampNanos = MultipartStreamParser.parseTimestamp(value)
            case "x-sequence": part.sequence = UInt64(value)
            case "x-placeholder": part.isPlaceholder = value == "1"
            default: break
            }
        case .body, .scan, .done:
            preconditionFailure("line parsing outside a head")
        }
    }

    private mutating func endOfResponseHead() throws(UpstreamFailure) {
        headerCount = 0
        if chunkedAnnounced { chunking = .size }
        switch mode {
        case .snapshot:
            if let type = contentType?.lowercased(), type.hasPrefix("multipart/") {
                throw UpstreamFailure("Content-Type \(type) is a stream, not a still image (use http:// instead of http+snapshot://)")
            }
            part = UpstreamPart()
            part.contentType = contentType?.lowercased()
            if let length = contentLength, length > 0, chunking == nil {
                part.payload.reserveCapacity(min(length, 1 << 20))
                state = .body(remaining: length)
            } else {
                state = .scan
            }
        case .stream:
            contentLength = nil
            if boundary == nil, let type = contentType?.lowercased(), type.hasPrefix("image/") || type.hasPrefix("text/") {
                throw UpstreamFailure("Content-Type \(type) is not a multipart stream\(type.hasPrefix("image/") ? " (for a still image use http+snapshot://)" : "")")
            }
            state = .boundary
        }
    }

    private mutating func startPart(afterDelimiter: Bool) {
        part = UpstreamPart()
        contentLength = nil
        headerCount = 0
        skipped = 0
        state = afterDelimiter ? .delimiterRest : .partHeaders
    }

    private mutating func emit(_ onPart: (UpstreamPart) -> Void) {
        parts += 1
        onPart(part)
        part = UpstreamPart()
    }

    /// "--BOUNDARY" (trailing whitespace allowed); also a bare "BOUNDARY" when the declared boundary itself starts
    /// with "--" (a common mistake of MJPEG servers that viewers tolerate).
    static func isDelimiter(_ text: [UInt8], _ boundary: [UInt8]) -> Bool {
        var text = text[...]
        while let last = text.last, last == 0x20 || last == 0x09 { text = text.dropLast() }
        if text.count == boundary.count + 2, text.starts(with: [0x2D, 0x2D]), text.dropFirst(2).elementsEqual(boundary) { return true }
        return boundary.count > 2 && boundary.starts(with: [0x2D, 0x2D]) && text.elementsEqual(boundary)
    }

    /// The first index of `needle` in `haystack` at or after `from` (memchr for its first byte: a part found by
    /// scanning can be megabytes, searched as it grows).
    static func search(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { hay -> Int? in
            guard let base = hay.baseAddress else { return nil }
            var i = from
            let last = hay.count - needle.count
            while i <= last {
                guard let hit = memchr(base + i, Int32(first), last - i + 1) else { return nil }
                i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                var j = 1
                while j < needle.count && hay[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
                i += 1
            }
            return nil
        }
    }

    /// "Name: value" → (lowercased name, trimmed value).
    private static func header(_ text: [UInt8]) -> (String, String)? {
        guard let colon = text.firstIndex(of: 0x3A), colon > 0 else { return nil }
        let name = String(decoding: text[..<colon], as: UTF8.self).lowercased()
        let value = String(decoding: text[(colon + 1)...], as: UTF8.self)
        return (name, value.trimmingWhitespace())
    }
}
