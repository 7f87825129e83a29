// StreamURL: where camview reads from — tcp://HOST:PORT (camd's native protocol) or http://HOST:PORT/PATH
// (HTTP MJPEG: camd's /stream, or any multipart/x-mixed-replace server) — and how to connect to it.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem

public struct StreamURL: CustomStringConvertible, Equatable, Sendable {
    public enum Scheme: String, Sendable { case tcp, http }

    public let scheme: Scheme
    public let host: String
    public let port: UInt16
    /// The HTTP request target ("/stream", "/?action=stream", "/stream?token=…"); "" for tcp.
    public let path: String

    public struct Invalid: Error, CustomStringConvertible { public let description: String }

    /// "tcp://HOST:PORT", "http://HOST:PORT/PATH", "HOST:PORT" or "HOST": the scheme defaults to tcp, the host to
    /// localhost, the port to 9999 (tcp) or 8080 (http) and the HTTP path to /stream.
    public init(parsing text: String) throws(Invalid) {
        var rest = Substring(text)
        var scheme = Scheme.tcp
        if let range = rest.firstRange(of: "://") {
            let name = rest[..<range.lowerBound].lowercased()
            guard let known = Scheme(rawValue: name) else {
                throw Invalid(description: "unsupported scheme '\(name)://' in '\(text)' (use tcp://HOST:PORT or http://HOST:PORT/stream)")
            }
            scheme = known
            rest = rest[range.upperBound...]
        }
        var path = ""
        if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        if scheme == .tcp, !path.isEmpty, path != "/" {
            throw Invalid(description: "a tcp:// URL has no path ('\(text)'); for HTTP use http://HOST:PORT\(path)")
        }
        if scheme == .http {
            if path.isEmpty || path == "/" { path = "/stream" }
            if path.hasPrefix("?") { path = "/" + path }
        } else {
            path = ""
        }
        guard !rest.contains("@") else {
            throw Invalid(description: "credentials in the URL are not supported; put USER:PASSWORD in the CAMVIEW_AUTH environment variable (a token goes in the URL: ?token=…)")
        }
        var host = rest.isEmpty ? "localhost" : String(rest)
        var port: UInt16 = scheme == .tcp ? 9999 : 8080
        if let close = rest.lastIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = UInt16(after.dropFirst()), p > 0 else { throw Invalid(description: "bad port in '\(text)'") }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            guard let p = UInt16(rest[rest.index(after: colon)...]), p > 0 else {
                throw Invalid(description: "bad port in '\(text)'")
            }
            port = p
            host = rest[..<colon].isEmpty ? "localhost" : String(rest[..<colon])
        }
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
    }

    private var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    public var description: String {
        "\(scheme.rawValue)://\(hostForURL):\(port)\(path.replacing(#/token=[^&]*/#, with: "token=…"))"
    }

    /// The GET request for an http:// source. `authorization` is a complete header value ("Basic …").
    public func httpRequest(authorization: String?) -> [UInt8] {
        var text = "GET \(path) HTTP/1.1\r\nHost: \(hostForURL):\(port)\r\nUser-Agent: camview\r\nAccept: multipart/x-mixed-replace, image/jpeg\r\n"
        if let authorization { text += "Authorization: \(authorization)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Connects to the first address that answers within `timeout` seconds; the socket is left non-blocking.
    public func connect(timeout: Double) throws -> Descriptor {
        let addresses = try SocketAddress.resolve(host: host, port: port)
        var lastError: (any Error)?
        for address in addresses {
            let socket = try Socket.connectNonBlocking(to: address)
            let ready = (try? Poll.wait(socket.number, for: .writable, timeoutMilliseconds: Int32(timeout * 1000))) != nil
            let failure = ready ? Socket.pendingError(socket)?.errno : ETIMEDOUT
            guard let failure else { return socket }
            socket.close()
            lastError = SystemError("connect \(address)", errno: failure)
        }
        throw lastError ?? SystemError("connect", errno: EHOSTUNREACH)
    }
}
