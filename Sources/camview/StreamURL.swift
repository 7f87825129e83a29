// StreamURL: tcp://HOST:PORT (scheme and port optional) and how to connect to it.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem

struct StreamURL: CustomStringConvertible {
    let host: String
    let port: UInt16

    struct Invalid: Error, CustomStringConvertible { let description: String }

    init(parsing text: String) throws {
        var rest = Substring(text)
        if let range = rest.firstRange(of: "://") {
            let scheme = rest[..<range.lowerBound]
            guard scheme == "tcp" else {
                throw Invalid(description: "unsupported scheme '\(scheme)://' (this camview speaks tcp://HOST:PORT)")
            }
            rest = rest[range.upperBound...]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var host = rest.isEmpty ? "localhost" : String(rest)
        var port: UInt16 = 9999
        if let close = rest.lastIndex(of: "]") {
            host = String(rest[...close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = UInt16(after.dropFirst()) else { throw Invalid(description: "bad port in '\(text)'") }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            guard let p = UInt16(rest[rest.index(after: colon)...]) else { throw Invalid(description: "bad port in '\(text)'") }
            port = p
            host = rest[..<colon].isEmpty ? "localhost" : String(rest[..<colon])
        }
        self.host = host
        self.port = port
    }

    var description: String { "tcp://\(host):\(port)" }

    /// Connects to the first address that answers within `timeout` seconds.
    func connect(timeout: Double) throws -> Descriptor {
        let addresses = try SocketAddress.resolve(host: host, port: port)
        var lastError: (any Error)?
        for address in addresses {
            let socket = try Socket.connectNonBlocking(to: address)
            var poller = pollfd(fd: socket.number, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(timeout * 1000))
            let err = ready > 0 ? Socket.pendingError(socket) : ETIMEDOUT
            if err == 0 {
                // Back to blocking mode for simple reads.
                let flags = fcntl(socket.number, F_GETFL)
                _ = fcntl(socket.number, F_SETFL, flags & ~O_NONBLOCK)
                return socket
            }
            socket.close()
            lastError = SystemError("connect \(address)", errno: err)
        }
        throw lastError ?? SystemError("connect", errno: EHOSTUNREACH)
    }
}
