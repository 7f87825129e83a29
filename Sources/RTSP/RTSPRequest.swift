// RTSPRequest: one bounded, strict RTSP/1.0 request (RFC 2326 §6) — or one interleaved `$` frame (§10.12) —
// from the front of a connection's byte stream, sans-IO.
//
// Strict as camd's HTTP parser (Wire/HTTPRequestParser): lines end in CR LF (RFC 2326 §4 asks receivers to
// also take a bare CR or LF; VLC/live555, ffmpeg, GStreamer and go2rtc all send CR LF, so a bare one is a 400
// rather than a second way to frame a message), no control character in the head (HTAB only in a header value),
// no obs-fold, tokens from their alphabet, at most `maxHeadBytes` and `maxHeaders`, a body only with
// Content-Length and at most `maxBodyBytes`. Bytes are scanned once: `resume` carries on where it stopped.
import CamdSystem

public struct RTSPRequest: Equatable, Sendable {
    /// Upper-case token ("OPTIONS"); unknown methods are parsed and answered 501 by the machine.
    public var method: String
    /// The request URL as sent ("rtsp://cam:8554/stream?token=x"), "*" for `OPTIONS *`.
    public var url: String
    /// The absolute path without the query ("/stream", "/stream/trackID=0"); "*" for `OPTIONS *`.
    public var path: String
    /// The query without "?" ("token=x"), empty if none.
    public var query: String
    /// Header names lower-cased; a repeated field joined with ", ".
    public var headers: [String: String]
    public var body: [UInt8]
    /// CSeq, required on every request (checked: digits, at most 9 of them).
    public var cseq: String

    /// A query parameter's value ("token" → "x").
    public func parameter(_ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.first.map(String.init) == name { return parts.count == 2 ? String(parts[1]) : "" }
        }
        return nil
    }
}

public struct RTSPRequestParser {
    public enum Outcome: Equatable {
        /// Need more bytes.
        case incomplete
        /// A complete request; `consumed` bytes of the buffer belong to it.
        case request(RTSPRequest, consumed: Int)
        /// An interleaved binary frame (`$`, channel, 16-bit length, data): RTCP from the client over TCP.
        case interleaved(channel: UInt8, payload: [UInt8], consumed: Int)
        /// Answer with this status (CSeq echoed when one was read) and close. `reason` holds no raw outside byte.
        case reject(status: Int, reason: String, cseq: String?)
    }

    public static let maxHeadBytes = 8192
    public static let maxHeaders = 64
    /// SET_PARAMETER / GET_PARAMETER bodies are a few parameter names; ANNOUNCE (not served) would carry SDP.
    public static let maxBodyBytes = 4096

    /// Bytes of the current head already searched for its end.
    private var scanned = 0
    /// A whole head whose body is still arriving: the request without its body, and where the body starts.
    private var awaitingBody: (request: RTSPRequest, headEnd: Int, length: Int)?

    public init() {}

    /// One message at the start of `bytes`, scanning them all.
    public func parse(_ bytes: [UInt8]) -> Outcome {
        var fresh = RTSPRequestParser()
        return fresh.resume(bytes)
    }

    /// Like `parse`, for a buffer that only grew since the last call. After a complete message the caller removes
    /// the consumed bytes and starts a new parser.
    public mutating func resume(_ bytes: [UInt8]) -> Outcome {
        if scanned > bytes.count { self = RTSPRequestParser() }
        if let (request, headEnd, length) = awaitingBody {
            guard bytes.count >= headEnd + length else { return .incomplete }
            var whole = request
            whole.body = Array(bytes[headEnd..<headEnd + length])
            return .request(whole, consumed: headEnd + length)
        }
        guard let first = bytes.first else { return .incomplete }
        if first == UInt8(ascii: "$") {
            guard bytes.count >= 4 else { return .incomplete }
            let length = Int(bytes[2]) << 8 | Int(bytes[3])
            guard bytes.count >= 4 + length else { return .incomplete }
            return .interleaved(channel: bytes[1], payload: Array(bytes[4..<4 + length]), consumed: 4 + length)
        }
        if first == 0x16 { return .reject(status: 400, reason: "TLS handshake on a plain RTSP port", cseq: nil) }
        var i = scanned
        let limit = min(bytes.count, Self.maxHeadBytes)
        while i < limit {
            let byte = bytes[i]
            if i > 0, bytes[i - 1] == 0x0D, byte != 0x0A { return .reject(status: 400, reason: "CR without LF in the request head", cseq: nil) }
            switch byte {
            case 0x0A:
                guard i > 0, bytes[i - 1] == 0x0D else { return .reject(status: 400, reason: "line ends in a bare LF (RTSP needs CR LF)", cseq: nil) }
                if i >= 3, bytes[i - 2] == 0x0A, bytes[i - 3] == 0x0D {
                    scanned = i + 1
                    return parseMessage(bytes, headEnd: i + 1)
                }
            case 0x0D, 0x09:
                break
            case 0x00..<0x20, 0x7F:
                return .reject(status: 400, reason: "control character 0x\(hex(byte)) in the request head", cseq: nil)
            default:
                break
            }
            i += 1
        }
        // The end of the head may straddle this call and the next.
        scanned = max(0, i - 3)
        return bytes.count >= Self.maxHeadBytes ? .reject(status: 431, reason: "request head larger than 8 KiB", cseq: nil) : .incomplete
    }

    /// The head `bytes[0..<headEnd]` (byte checks passed) and its body, if whole.
    private mutating func parseMessage(_ bytes: [UInt8], headEnd: Int) -> Outcome {
        // Every LF follows a CR (checked while scanning).
        let lines = bytes[0..<(headEnd - 2)].split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { $0.dropLast() }
        guard let requestLine = lines.first else { return .reject(status: 400, reason: "malformed request line", cseq: nil) }
        // Headers first, so that a bad request line is answered with its CSeq.
        var headers: [String: String] = [:]
        guard lines.count - 1 <= Self.maxHeaders else { return .reject(status: 431, reason: "more than \(Self.maxHeaders) header lines", cseq: nil) }
        for field in lines.dropFirst() {
            guard let first = field.first, first != 0x20, first != 0x09 else {
                return .reject(status: 400, reason: "folded header line (obs-fold is not accepted)", cseq: nil)
            }
            guard let colon = field.firstIndex(of: UInt8(ascii: ":")), colon != field.startIndex,
                  field[field.startIndex..<colon].allSatisfy(Self.isToken) else {
                return .reject(status: 400, reason: "malformed header line", cseq: nil)
            }
            guard let value = String(validating: field[(colon + 1)...], as: UTF8.self) else {
                return .reject(status: 400, reason: "header value is not UTF-8", cseq: nil)
            }
            let name = String(decoding: field[field.startIndex..<colon], as: UTF8.self).lowercased()
            let trimmed = value.trimmingWhitespace()
            if name == "cseq" || name == "content-length" || name == "session", headers[name] != nil {
                return .reject(status: 400, reason: "more than one \(name) header", cseq: nil)
            }
            headers[name] = headers[name].map { $0 + ", " + trimmed } ?? trimmed
        }
        guard let cseq = headers["cseq"], !cseq.isEmpty, cseq.count <= 9, cseq.utf8.allSatisfy(Self.isDigit) else {
            return .reject(status: 400, reason: headers["cseq"] == nil ? "request without CSeq" : "malformed CSeq", cseq: nil)
        }
        var bodyLength = 0
        if let length = headers["content-length"] {
            guard !length.isEmpty, length.count <= 9, length.utf8.allSatisfy(Self.isDigit), let value = Int(length) else {
                return .reject(status: 400, reason: "malformed Content-Length", cseq: cseq)
            }
            guard value <= Self.maxBodyBytes else { return .reject(status: 413, reason: "request body larger than 4 KiB", cseq: cseq) }
            bodyLength = value
        }
        if let rejection = Self.checkRequestLine(requestLine, cseq: cseq) { return rejection }
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        let method = String(decoding: parts[0], as: UTF8.self)
        let url = String(decoding: parts[1], as: UTF8.self)
        guard let (path, query) = Self.splitURL(url) else { return .reject(status: 400, reason: "malformed request URL", cseq: cseq) }
        if path == "*", method != "OPTIONS" { return .reject(status: 400, reason: "\"*\" is a request URL for OPTIONS only", cseq: cseq) }
        var request = RTSPRequest(method: method, url: url, path: path, query: query, headers: headers, body: [], cseq: cseq)
        guard bytes.count >= headEnd + bodyLength else {
            awaitingBody = (request, headEnd, bodyLength)
            return .incomplete
        }
        request.body = Array(bytes[headEnd..<headEnd + bodyLength])
        return .request(request, consumed: headEnd + bodyLength)
    }

    /// method SP Request-URI SP RTSP-Version; nil when it may stand.
    private static func checkRequestLine(_ line: ArraySlice<UInt8>, cseq: String) -> Outcome? {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") || $0 == UInt8(ascii: "_") }) else {
            return .reject(status: 400, reason: "malformed request line", cseq: cseq)
        }
        guard parts[0].count <= 32, !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .reject(status: 400, reason: "malformed request line", cseq: cseq)
        }
        let version = parts[2]
        guard version.elementsEqual("RTSP/1.0".utf8) else {
            let digits = Array(version.dropFirst(5))
            if version.starts(with: "RTSP/".utf8), digits.count == 3, digits[1] == UInt8(ascii: "."), isDigit(digits[0]), isDigit(digits[2]) {
                return .reject(status: 505, reason: "unsupported RTSP/\(String(decoding: digits, as: UTF8.self))", cseq: cseq)
            }
            if version.starts(with: "HTTP/".utf8) {
                return .reject(status: 400, reason: "an HTTP request on the RTSP port (RTSP over HTTP tunnelling is not served)", cseq: cseq)
            }
            return .reject(status: 400, reason: "malformed RTSP version", cseq: cseq)
        }
        return nil
    }

    /// The path and query of "rtsp://host[:port]/path[?query]" or "*". Clients join a relative control URL to a
    /// Content-Base that holds a query by plain concatenation ("…/stream?token=x/trackID=0", ffmpeg and live555
    /// do): a "/" inside the query moves what follows it back onto the path ("/stream/trackID=0", "token=x").
    static func splitURL(_ url: String) -> (path: String, query: String)? {
        if url == "*" { return ("*", "") }
        let lower = url.lowercased()
        guard let scheme = ["rtsp://", "rtspu://"].first(where: { lower.hasPrefix($0) }) else { return nil }
        let rest = url.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else {
            return rest.isEmpty ? nil : ("/", "")
        }
        guard slash != rest.startIndex else { return nil }
        var target = String(rest[slash...])
        if !target.hasPrefix("/") { target = "/" + target }
        guard let question = target.firstIndex(of: "?") else { return (target, "") }
        var path = String(target[..<question])
        var query = String(target[target.index(after: question)...])
        if let inner = query.firstIndex(of: "/") {
            path += (path.hasSuffix("/") ? "" : "/") + query[query.index(after: inner)...]
            query = String(query[..<inner])
        }
        return (path, query)
    }

    /// RFC 2326 / RFC 9110 tchar.
    static func isToken(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

func hex(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return digits.count == 1 ? "0" + digits : digits
}
