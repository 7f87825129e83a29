// HTTPRequestParser: one bounded, strict HTTP/1.x request head (request line + headers), sans-IO.
// Only what camd serves: GET and HEAD, no request bodies.
//
// Strict as nginx and HAProxy are where leniency lets a peer confuse or stall the server (RFC 9112): lines
// end in CRLF (a bare LF or CR is a 400), no control character anywhere in the head (HTAB only inside a
// header value), tokens from their RFC alphabets, no obs-fold, HTTP/1.1 carries exactly one Host, no body.
// A head that can no longer become valid is rejected as soon as the offending byte arrives — a request line
// without a version (HTTP/0.9) when its line ends, a TLS ClientHello at its first byte — not when
// request_timeout runs out. Bytes are scanned once: `resume` carries on where the last call stopped, so a
// peer that trickles a head byte by byte costs linear, not quadratic, work.
import CamdSystem

public struct HTTPRequest: Equatable, Sendable {
    public enum Method: String, Sendable { case get = "GET", head = "HEAD" }
    public var method: Method
    /// The path without the query ("/stream").
    public var path: String
    /// The query string without "?" ("action=stream"), empty if none.
    public var query: String
    public var version: String
    /// Header names lower-cased.
    public var headers: [String: String]

    /// HTTP/1.1 keeps the connection unless "Connection: close"; HTTP/1.0 only with "keep-alive".
    public var keepAlive: Bool {
        let connection = headers["connection"]?.lowercased() ?? ""
        if version == "HTTP/1.0" { return connection.contains("keep-alive") }
        return !connection.contains("close")
    }

    /// A query parameter's value ("action" → "stream").
    public func parameter(_ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.first.map(String.init) == name { return parts.count == 2 ? String(parts[1]) : "" }
        }
        return nil
    }
}

public struct HTTPRequestParser {
    public enum Outcome: Equatable {
        /// Need more bytes.
        case incomplete
        /// A complete head; `consumed` bytes of the buffer belong to it.
        case request(HTTPRequest, consumed: Int)
        /// Reply with this status and close (400, 405, 431, 505). `reason` holds no raw outside byte.
        case reject(status: Int, reason: String)
        /// Not HTTP at all (a TLS handshake): close without an answer the peer could not read anyway.
        case notHTTP(reason: String)
    }

    /// Request line plus headers, at most (431 beyond).
    public static let maxHeadBytes = 8192
    public static let maxHeaders = 64

    /// Bytes of the current head already checked byte by byte.
    private var scanned = 0
    /// The request line's end (its CR), once seen and checked.
    private var requestLineEnd: Int?

    public init() {}

    /// Looks for one complete request head at the start of `bytes`, scanning them all.
    public func parse(_ bytes: [UInt8]) -> Outcome {
        var fresh = HTTPRequestParser()
        return fresh.resume(bytes)
    }

    /// Like `parse`, for a buffer that only grew since the last call: earlier bytes are not scanned again.
    /// After `.request`, the caller removes the consumed bytes and starts a new parser.
    public mutating func resume(_ bytes: [UInt8]) -> Outcome {
        if scanned > bytes.count { self = HTTPRequestParser() }
        if scanned == 0, let first = bytes.first, first == 0x16 {
            return .notHTTP(reason: "TLS handshake on a plain-HTTP port (use http://, not https://)")
        }
        var i = scanned
        let limit = min(bytes.count, Self.maxHeadBytes)
        while i < limit {
            let byte = bytes[i]
            if i > 0, bytes[i - 1] == 0x0D, byte != 0x0A {
                return .reject(status: 400, reason: "CR without LF in the request head")
            }
            switch byte {
            case 0x0A:
                // A line's end: CR LF, never LF alone.
                guard i > 0, bytes[i - 1] == 0x0D else {
                    return .reject(status: 400, reason: "line ends in a bare LF (HTTP needs CR LF)")
                }
                let lineStart = requestLineEnd == nil ? 0 : Self.lineStart(bytes, before: i - 1)
                if requestLineEnd == nil {
                    if let rejection = Self.checkRequestLine(bytes[0..<(i - 1)]) { return rejection }
                    requestLineEnd = i - 1
                } else if lineStart == i - 1 {
                    // An empty line: the head is complete.
                    scanned = i + 1
                    return Self.parseHead(bytes, requestLineEnd: requestLineEnd ?? 0, end: i + 1)
                }
            case 0x0D:
                break
            case 0x09:
                // HTAB: only inside a header value (checked with the line).
                if requestLineEnd == nil { return .reject(status: 400, reason: "control character 0x09 in the request line") }
            case 0x00..<0x20, 0x7F:
                return .reject(status: 400, reason: "control character 0x\(Self.hex(byte)) in the request head")
            default:
                break
            }
            i += 1
        }
        scanned = i
        return bytes.count >= Self.maxHeadBytes ? .reject(status: 431, reason: "request head larger than 8 KiB") : .incomplete
    }

    // MARK: Lines

    /// Where the line ending at `end` (its CR) starts: just after the previous LF.
    private static func lineStart(_ bytes: [UInt8], before end: Int) -> Int {
        var start = end
        while start > 0, bytes[start - 1] != 0x0A { start -= 1 }
        return start
    }

    /// method SP request-target SP HTTP-version; nil when it may stand.
    private static func checkRequestLine(_ line: ArraySlice<UInt8>) -> Outcome? {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard let method = parts.first, !method.isEmpty else { return .reject(status: 400, reason: "malformed request line") }
        if parts.count == 2, parts[1].first == UInt8(ascii: "/") {
            return .reject(status: 400, reason: "request line without an HTTP version (HTTP/0.9 is not served)")
        }
        guard parts.count == 3 else { return .reject(status: 400, reason: "malformed request line") }
        guard method.allSatisfy(isToken) else { return .reject(status: 400, reason: "malformed method") }
        let target = parts[1]
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .reject(status: 400, reason: "malformed request target")
        }
        let version = parts[2]
        guard version.elementsEqual("HTTP/1.1".utf8) || version.elementsEqual("HTTP/1.0".utf8) else {
            // HTTP/D.D names a version camd does not speak; anything else is not HTTP.
            let digits = Array(version.dropFirst(5))
            if version.starts(with: "HTTP/".utf8), digits.count == 3, digits[1] == UInt8(ascii: "."),
               isDigit(digits[0]), isDigit(digits[2]) {
                return .reject(status: 505, reason: "unsupported HTTP/\(String(decoding: digits, as: UTF8.self))")
            }
            return .reject(status: 400, reason: "malformed HTTP version")
        }
        guard method.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            return .reject(status: 400, reason: "malformed method")
        }
        return nil
    }

    /// The complete head `bytes[0..<end]`, its byte-level checks passed: the request, or why not.
    private static func parseHead(_ bytes: [UInt8], requestLineEnd: Int, end: Int) -> Outcome {
        let line = bytes[0..<requestLineEnd]
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        let methodText = String(decoding: parts[0], as: UTF8.self)
        let version = String(decoding: parts[2], as: UTF8.self)
        guard let method = HTTPRequest.Method(rawValue: methodText) else {
            // Upper-case letters only (checked): safe to name.
            return .reject(status: 405, reason: "method \(methodText.prefix(24)) not allowed")
        }
        guard let (path, query) = splitTarget(parts[1]) else { return .reject(status: 400, reason: "malformed request target") }

        var headers: [String: String] = [:]
        var count = 0
        var hosts = 0
        var start = requestLineEnd + 2
        while start < end - 2 {
            var stop = start
            while bytes[stop] != 0x0D { stop += 1 }
            count += 1
            guard count <= maxHeaders else { return .reject(status: 431, reason: "more than \(maxHeaders) header lines") }
            let field = bytes[start..<stop]
            start = stop + 2
            guard let first = field.first, first != 0x20, first != 0x09 else {
                return .reject(status: 400, reason: "folded header line (obs-fold is not accepted)")
            }
            guard let colon = field.firstIndex(of: UInt8(ascii: ":")), colon != field.startIndex,
                  field[field.startIndex..<colon].allSatisfy(isToken) else {
                return .reject(status: 400, reason: "malformed header line")
            }
            guard let value = String(validating: field[(colon + 1)...], as: UTF8.self) else {
                return .reject(status: 400, reason: "header value is not UTF-8")
            }
            let name = String(decoding: field[field.startIndex..<colon], as: UTF8.self).lowercased()
            let trimmed = value.trimmingWhitespace()
            switch name {
            case "host":
                hosts += 1
            case "content-length":
                guard headers[name] == nil, trimmed == "0" else { return .reject(status: 400, reason: "request bodies are not accepted") }
            case "transfer-encoding":
                return .reject(status: 400, reason: "request bodies are not accepted")
            default:
                break
            }
            // A repeated field joins with ", " (RFC 9110 5.3).
            headers[name] = headers[name].map { $0 + ", " + trimmed } ?? trimmed
        }
        if version == "HTTP/1.1", hosts != 1 {
            return .reject(status: 400, reason: hosts == 0 ? "HTTP/1.1 request without Host" : "more than one Host header")
        }
        if hosts > 1 { return .reject(status: 400, reason: "more than one Host header") }
        return .request(HTTPRequest(method: method, path: path, query: query, version: version, headers: headers), consumed: end)
    }

    /// The path and query of an origin-form target ("/stream?x=1"), or of an absolute-form one
    /// ("http://cam:8080/stream", which RFC 9112 says a server must accept); "*" and the rest are malformed.
    private static func splitTarget(_ target: ArraySlice<UInt8>) -> (String, String)? {
        var text = String(decoding: target, as: UTF8.self)
        if !text.hasPrefix("/") {
            let lower = text.lowercased()
            guard let scheme = ["http://", "https://"].first(where: { lower.hasPrefix($0) }) else { return nil }
            let rest = text.dropFirst(scheme.count)
            guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return ("/", "") }
            text = rest[slash] == "/" ? String(rest[slash...]) : "/" + rest[slash...]
        }
        guard let question = text.firstIndex(of: "?") else { return (text, "") }
        return (String(text[..<question]), String(text[text.index(after: question)...]))
    }

    /// RFC 9110 tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~
    static func isToken(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
}
