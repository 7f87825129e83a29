// HTTPRequestParser: one bounded, strict HTTP/1.x request head (request line + headers), sans-IO.
// Only what camd serves: GET and HEAD, no request bodies.
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
        /// Reply with this status and close (400, 405, 431, 505).
        case reject(status: Int, reason: String)
    }

    /// Request line plus headers, at most (431 beyond).
    public static let maxHeadBytes = 8192
    public static let maxHeaders = 64

    public init() {}

    /// Looks for one complete request head at the start of `bytes`.
    public func parse(_ bytes: [UInt8]) -> Outcome {
        guard let end = Self.headEnd(bytes) else {
            return bytes.count >= Self.maxHeadBytes ? .reject(status: 431, reason: "request head larger than 8 KiB") : .incomplete
        }
        guard end <= Self.maxHeadBytes else { return .reject(status: 431, reason: "request head larger than 8 KiB") }
        guard let text = String(validating: bytes[0..<end], as: UTF8.self) else {
            return .reject(status: 400, reason: "request head is not UTF-8")
        }
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard let requestLine = lines.first else { return .reject(status: 400, reason: "empty request") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].hasPrefix("/") else {
            return .reject(status: 400, reason: "malformed request line")
        }
        let version = String(parts[2])
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return version.hasPrefix("HTTP/") ? .reject(status: 505, reason: "unsupported \(version)")
                : .reject(status: 400, reason: "malformed request line")
        }
        guard parts[0].allSatisfy({ $0.isUppercase }) else { return .reject(status: 400, reason: "malformed method") }
        guard let method = HTTPRequest.Method(rawValue: String(parts[0])) else {
            return .reject(status: 405, reason: "method \(parts[0]) not allowed")
        }
        guard lines.count - 1 <= Self.maxHeaders else { return .reject(status: 431, reason: "too many headers") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                return .reject(status: 400, reason: "malformed header line")
            }
            let name = line[..<colon]
            guard !name.contains(where: { $0 == " " || $0 == "\t" }) else { return .reject(status: 400, reason: "malformed header name") }
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            headers[name.lowercased()] = value
        }
        if headers["content-length"].map({ $0 != "0" }) == true || headers["transfer-encoding"] != nil {
            return .reject(status: 400, reason: "request bodies are not accepted")
        }
        let target = parts[1]
        let path: Substring, query: Substring
        if let question = target.firstIndex(of: "?") {
            path = target[..<question]
            query = target[target.index(after: question)...]
        } else {
            path = target
            query = ""
        }
        return .request(HTTPRequest(method: method, path: String(path), query: String(query), version: version,
                                    headers: headers), consumed: end)
    }

    /// Index just past "\r\n\r\n", if present.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = 3
        let limit = min(bytes.count, maxHeadBytes + 4)
        while i < limit {
            if bytes[i] == 0x0A && bytes[i - 1] == 0x0D && bytes[i - 2] == 0x0A && bytes[i - 3] == 0x0D { return i + 1 }
            i += 1
        }
        return nil
    }
}
