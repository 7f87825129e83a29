// MultipartStreamParser: the client side of HTTP MJPEG — splits a multipart/x-mixed-replace stream into parts
// by their Content-Length (sans-IO: feed it whatever recv returned). camview keeps each part's bytes; the
// benchmark's load generator only counts them.
//
// Two framings:
//   .http — an HTTP/1.x response head first (status 200, Content-Type with boundary=…), then parts.
//   .raw  — parts only, as GStreamer's multipartmux writes them to a tcpserversink:
//           "--ThisRandomString\r\nContent-Type: image/jpeg\r\nContent-Length: N\r\n\r\n<N bytes>\r\n--This…"
//           The boundary is learned from the first "--…" line followed by headers with a Content-Length.
// A stream joined mid-part (tcpserversink may start a new client anywhere) is scanned line by line
// until a boundary; losing the boundary after that is counted in `resyncs`.
import CamdSystem

public struct MultipartPart: Sendable {
    public var length = -1
    /// X-Timestamp (seconds.fraction since the Unix epoch), as ustreamer and camd send it.
    public var timestampNanos: UInt64?
    /// X-Sequence, as camd sends it.
    public var sequence: UInt64?
    /// X-Placeholder: 1 — camd's no-signal frame.
    public var isPlaceholder = false
    /// The body, when the parser keeps payloads.
    public var payload: [UInt8]?
}

public struct MultipartFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct MultipartStreamParser {
    public enum Framing { case http, raw }

    private enum State {
        case responseHead
        case boundary
        case partHeaders
        case body(remaining: Int)
    }

    private static let maxLine = 1024
    private static let maxPart = 64 << 20
    /// A part's payload buffer starts at most this large and grows as bytes arrive.
    private static let initialPayloadCapacity = 1 << 20
    private static let newline: UInt8 = 0x0A

    private let framing: Framing
    private var state: State
    private var line: [UInt8] = []
    private var lineTooLong = false
    private var sawStatusLine = false
    /// The boundary without its leading "--".
    private var boundary: [UInt8]?
    /// The boundary has delimited at least one complete part (raw framing guesses until then).
    private var boundaryConfirmed = false
    private var inSync = false
    private var part = MultipartPart()
    /// Times the stream stopped matching the framing after it had matched once.
    public private(set) var resyncs = 0
    public let keepPayload: Bool
    /// The response's status line, for a caller that reports why a stream was refused (escaped: it is the
    /// server's bytes, and camview prints it).
    public private(set) var responseStatus: String?

    /// True when the next byte starts a new part's delimiter line (or, before sync, anything).
    public var isBetweenParts: Bool {
        if case .boundary = state { return line.isEmpty && !lineTooLong }
        return false
    }

    public init(framing: Framing, keepPayload: Bool = false) {
        self.framing = framing
        self.keepPayload = keepPayload
        state = framing == .http ? .responseHead : .boundary
        line.reserveCapacity(Self.maxLine)
    }

    public mutating func consume(_ bytes: UnsafeRawBufferPointer, _ onPart: (MultipartPart) -> Void) throws(MultipartFailure) {
        var index = 0
        let count = bytes.count
        while index < count {
            if case .body(let remaining) = state {
                let take = min(remaining, count - index)
                if keepPayload { part.payload?.append(contentsOf: bytes[index..<index + take]) }
                index += take
                if take == remaining {
                    finishPart(onPart)
                } else {
                    state = .body(remaining: remaining - take)
                }
                continue
            }
            var end = index
            while end < count && bytes[end] != Self.newline { end += 1 }
            if !lineTooLong {
                if line.count + (end - index) > Self.maxLine {
                    lineTooLong = true
                    line.removeAll(keepingCapacity: true)
                } else {
                    line.append(contentsOf: bytes[index..<end])
                }
            }
            if end == count { return }
            index = end + 1
            try endOfLine(onPart)
        }
    }

    private mutating func endOfLine(_ onPart: (MultipartPart) -> Void) throws(MultipartFailure) {
        if line.last == 0x0D { line.removeLast() }
        let text = line
        let tooLong = lineTooLong
        line.removeAll(keepingCapacity: true)
        lineTooLong = false

        switch state {
        case .responseHead:
            if tooLong { throw MultipartFailure("HTTP response header line longer than \(Self.maxLine) bytes") }
            if !sawStatusLine {
                sawStatusLine = true
                // Another server's bytes: escaped before they reach camview's terminal or log.
                let status = String(decoding: text, as: UTF8.self)
                responseStatus = LogText.escaped(status, limit: 200)
                let fields = status.split(separator: " ", maxSplits: 2)
                guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), fields[1] == "200" else {
                    throw MultipartFailure("HTTP response is not 200: \(LogText.escaped(status, limit: 200))")
                }
            } else if text.isEmpty {
                guard boundary != nil else {
                    throw MultipartFailure("HTTP response has no multipart boundary in its Content-Type")
                }
                boundaryConfirmed = true
                inSync = true
                state = .boundary
            } else if let (name, value) = Self.header(text), name == "content-type" {
                boundary = Self.boundaryParameter(value)
            }
        case .boundary:
            if tooLong { lostSync(); return }
            if text.isEmpty { return }
            if let boundary, isDelimiter(text, boundary) {
                startPart()
                return
            }
            if let boundary, isDelimiter(text, boundary + Array("--".utf8)) {
                throw MultipartFailure("the server closed the multipart stream (final boundary)")
            }
            lostSync()
            if framing == .raw, !boundaryConfirmed, text.count > 2, text[0] == 0x2D, text[1] == 0x2D {
                boundary = Array(text.dropFirst(2))
                startPart()
            }
        case .partHeaders:
            if tooLong { badHeaders(); return }
            if text.isEmpty {
                guard part.length >= 0 else { badHeaders(); return }
                // Memory follows the bytes that arrive, not the length a server claims (up to maxPart).
                if keepPayload { part.payload = []; part.payload?.reserveCapacity(min(part.length, Self.initialPayloadCapacity)) }
                if part.length == 0 { finishPart(onPart) } else { state = .body(remaining: part.length) }
                return
            }
            guard let (name, value) = Self.header(text) else { badHeaders(); return }
            switch name {
            case "content-length":
                guard let length = Int(value), length >= 0, length <= Self.maxPart else { badHeaders(); return }
                part.length = length
            case "x-timestamp":
                part.timestampNanos = Self.parseTimestamp(value)
            case "x-sequence":
                part.sequence = UInt64(value)
            case "x-placeholder":
                part.isPlaceholder = value == "1"
            default:
                break
            }
        case .body:
            preconditionFailure("line parsing inside a part body")
        }
    }

    private mutating func startPart() {
        part = MultipartPart()
        state = .partHeaders
    }

    private mutating func finishPart(_ onPart: (MultipartPart) -> Void) {
        boundaryConfirmed = true
        inSync = true
        state = .boundary
        onPart(part)
    }

    private mutating func badHeaders() {
        lostSync()
        if !boundaryConfirmed && framing == .raw { boundary = nil }
        state = .boundary
    }

    private mutating func lostSync() {
        if inSync {
            resyncs += 1
            inSync = false
        }
    }

    /// "--BOUNDARY"; also a bare "BOUNDARY" when the declared boundary itself starts with "--"
    /// (a common mistake of MJPEG servers that viewers tolerate).
    private func isDelimiter(_ text: [UInt8], _ boundary: [UInt8]) -> Bool {
        if text.count == boundary.count + 2 && text[0] == 0x2D && text[1] == 0x2D && text.dropFirst(2).elementsEqual(boundary) {
            return true
        }
        return boundary.count > 2 && boundary[0] == 0x2D && boundary[1] == 0x2D && text == boundary
    }

    /// "Name: value" → (lowercased name, trimmed value).
    private static func header(_ text: [UInt8]) -> (String, String)? {
        guard let colon = text.firstIndex(of: 0x3A), colon > 0 else { return nil }
        let name = String(decoding: text[..<colon], as: UTF8.self).lowercased()
        let value = String(decoding: text[(colon + 1)...], as: UTF8.self)
        return (name, value.trimmingWhitespace())
    }

    /// The boundary parameter of "multipart/x-mixed-replace; boundary=xyz" (quotes removed).
    public static func boundaryParameter(_ contentType: String) -> [UInt8]? {
        for parameter in contentType.split(separator: ";") {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingWhitespace().lowercased() == "boundary" else { continue }
            var value = Substring(pair[1].trimmingWhitespace())
            if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 { value = value.dropFirst().dropLast() }
            return value.isEmpty ? nil : Array(value.utf8)
        }
        return nil
    }

    /// "1700000000.123456" → nanoseconds since the epoch.
    public static func parseTimestamp(_ text: String) -> UInt64? {
        let pieces = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = UInt64(pieces[0]) else { return nil }
        var nanos: UInt64 = 0
        if pieces.count == 2 {
            var digits = 0
            for character in pieces[1] {
                guard let digit = character.wholeNumberValue else { return nil }
                if digits < 9 { nanos = nanos * 10 + UInt64(digit); digits += 1 }
            }
            while digits < 9 { nanos *= 10; digits += 1 }
        }
        return seconds &* 1_000_000_000 &+ nanos
    }
}
