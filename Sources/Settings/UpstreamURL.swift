// UpstreamURL: a network source's address — camd://HOST[:PORT], http://[USER:PASS@]HOST[:PORT]/PATH[?QUERY] or
// http+snapshot://… — parsed and checked when the config is read, with a redacted form for logs and state.
import CamdSystem

public struct UpstreamURLError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

public struct UpstreamURL: Sendable, Equatable, CustomStringConvertible {
    public enum Scheme: String, Sendable {
        /// camd's native protocol (docs/PROTOCOL.md): sequence, capture time and placeholder flag kept.
        case camd
        /// Any multipart/x-mixed-replace MJPEG stream over HTTP (or a headerless multipart stream).
        case http
        /// A still image (image/jpeg) fetched again at `fps`.
        case httpSnapshot = "http+snapshot"
    }

    public static let defaultNativePort: UInt16 = 9999
    /// Longest URL accepted: it ends up in a request line, which upstream servers cap at a few KiB.
    static let maxLength = 2048

    public var scheme: Scheme
    /// The host as written (a name, an IPv4 address, or an IPv6 address without brackets).
    public var host: String
    public var port: UInt16
    /// Path and query as sent in the request line ("/" at least); empty for camd://.
    public var target: String
    /// Userinfo, percent-decoded: sent as HTTP Basic, never logged.
    public var user: String?
    public var password: String?
    /// The addresses `host` resolved to when the config was read (names are not looked up again: getaddrinfo
    /// blocks without a bound, and the capture thread must not).
    public var addresses: [SocketAddress]

    /// Parses and resolves `text`; nil when it is not a network source's URL at all (no known scheme).
    public init?(configText text: String) throws(UpstreamURLError) {
        let schemes: [(String, Scheme)] = [("camd://", .camd), ("http+snapshot://", .httpSnapshot), ("http://", .http)]
        guard let (prefix, scheme) = schemes.first(where: { text.lowercased().hasPrefix($0.0) }) else {
            if text.lowercased().hasPrefix("https://") || text.lowercased().hasPrefix("https+snapshot://") {
                throw UpstreamURLError("https:// upstreams are not supported (camd speaks plain HTTP to its upstream; "
                                       + "reach an HTTPS-only camera through a local TLS-terminating proxy)")
            }
            return nil
        }
        guard text.utf8.count <= Self.maxLength else { throw UpstreamURLError("URL longer than \(Self.maxLength) bytes") }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw UpstreamURLError("URL has spaces, control or non-ASCII characters (percent-encode them)")
        }
        self.scheme = scheme
        var rest = Substring(text.dropFirst(prefix.count))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<slash]
        var target = String(rest[slash...])
        if target.hasPrefix("?") { target = "/" + target }
        if target.isEmpty { target = "/" }
        if scheme == .camd {
            guard target == "/" else { throw UpstreamURLError("camd:// takes HOST[:PORT] only, no path or query") }
            target = ""
        }
        self.target = target
        if let at = authority.lastIndex(of: "@") {
            guard scheme != .camd else { throw UpstreamURLError("camd:// has no user or password (the native protocol has no authentication)") }
            let userinfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let colon = userinfo.firstIndex(of: ":")
            user = try Self.percentDecoded(userinfo[..<(colon ?? userinfo.endIndex)])
            if let colon { password = try Self.percentDecoded(userinfo[userinfo.index(after: colon)...]) }
        }
        var hostPart = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw UpstreamURLError("missing ']' after the IPv6 address") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw UpstreamURLError("expected ':PORT' after ']'") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw UpstreamURLError("no host (e.g. \(prefix)192.0.2.7\(scheme == .camd ? ":9999" : "/stream"))") }
        host = String(hostPart)
        if let portText {
            guard let port = UInt16(portText), port > 0 else { throw UpstreamURLError("port must be a number from 1 to 65535") }
            self.port = port
        } else {
            port = scheme == .camd ? Self.defaultNativePort : 80
        }
        do {
            addresses = try SocketAddress.resolve(host: host, port: port)
        } catch {
            guard case .invalid(let why) = error else { throw UpstreamURLError("cannot resolve host") }
            throw UpstreamURLError("\(LogText.escaped(why)) (names are resolved when the config is read; use an address or /etc/hosts)")
        }
        guard !addresses.isEmpty else { throw UpstreamURLError("host \(LogText.escaped(host)) has no address") }
    }

    /// The host as it goes in a URL or a Host header ("[2001:db8::1]" for IPv6).
    public var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    /// The URL with the password and token-like query values replaced by "***": for logs, /state, camctl.
    public var description: String {
        var text = scheme.rawValue + "://"
        if let user {
            text += Self.percentEncoded(user)
            if password != nil { text += ":***" }
            text += "@"
        }
        text += hostForURL
        let defaultPort = scheme == .camd ? Self.defaultNativePort : 80
        if port != defaultPort || scheme == .camd { text += ":\(port)" }
        return text + Self.redactedTarget(target)
    }

    /// "Basic …" for the Authorization header, when the URL has a user.
    public var basicAuthorization: String? {
        guard let user else { return nil }
        return "Basic " + Base64.encode(Array((user + ":" + (password ?? "")).utf8))
    }

    /// `text` (perhaps not a valid URL) with a password in its userinfo and token-like query values replaced by "***".
    public static func redacted(text: String) -> String {
        var text = LogText.escaped(text, limit: 300)
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            let rest = parts[1]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                text = parts[0] + "://" + rest[...colon] + "***" + rest[at...]
            }
        }
        return redactedTarget(text)
    }

    /// Query parameter names whose values are secrets (matched as parts of the name, case-insensitively).
    static let secretNames = ["token", "key", "pass", "pwd", "secret", "auth", "sig", "cred", "session"]

    static func redactedTarget(_ target: String) -> String {
        guard let question = target.firstIndex(of: "?") else { return target }
        let query = target[target.index(after: question)...]
        let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<equals].lowercased()
            return secretNames.contains(where: { name.contains($0) }) ? "\(pair[..<equals])=***" : String(pair)
        }
        return String(target[...question]) + pairs.joined(separator: "&")
    }

    private static func percentDecoded(_ text: Substring) throws(UpstreamURLError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == 0x25 else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                throw UpstreamURLError("bad percent-escape in the user or password")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    private static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, scalar.properties.isAlphabetic || (0x30...0x39).contains(byte) || "-._~".unicodeScalars.contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}


extension Config {
    /// An http+snapshot:// source: its fetch rate is `fps`, fixed when the source starts (a change restarts it).
    public var pollsSnapshots: Bool {
        if case .network(let url) = source { return url.scheme == .httpSnapshot }
        return false
    }
}
