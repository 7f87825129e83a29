// SocketAddress: an IPv4 or IPv6 address and port, parsed from "HOST:PORT" / "[V6]:PORT".
#if canImport(Glibc)
import Glibc
#endif
// CCamdLinux brings <sys/socket.h> in through clang, which is where SOCK_STREAM comes from.
internal import CCamdLinux

public enum SocketAddress: Sendable, Equatable, CustomStringConvertible {
    case v4(host: [UInt8], port: UInt16)
    case v6(host: [UInt8], port: UInt16)

    public enum ParseError: Error, Equatable, Sendable {
        case invalid(String)
    }

    /// Parses "0.0.0.0:9999", "127.0.0.1:0", "[::]:9999", "[::1]:8080", "localhost:9999" or ":9999"/"*:9999" (all IPv4).
    public init(parsing text: String) throws(ParseError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalid("missing ']' in IPv6 address") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .invalid("expected ':PORT' after ']'") }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .invalid("expected HOST:PORT") }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portPart) else { throw .invalid("port must be a number from 0 to 65535") }
        var host = String(hostPart)
        if host.isEmpty || host == "*" { host = "0.0.0.0" }
        if host == "localhost" { host = "127.0.0.1" }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            self = .v4(host: withUnsafeBytes(of: v4.s_addr) { Array($0) }, port: port)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            self = .v6(host: withUnsafeBytes(of: v6) { Array($0) }, port: port)
            return
        }
        throw .invalid("'\(host)' is not a numeric IPv4 or IPv6 address")
    }

    public var port: UInt16 {
        switch self {
        case .v4(_, let port), .v6(_, let port): return port
        }
    }

    /// The host alone ("192.0.2.7", "[2001:db8::1]"): what counts as one peer for max_clients_per_ip.
    public var hostText: String {
        let text = description
        guard let colon = text.lastIndex(of: ":") else { return text }
        return String(text[..<colon])
    }

    public var description: String {
        switch self {
        case .v4(let host, let port):
            return host.map(String.init).joined(separator: ".") + ":\(port)"
        case .v6(let host, let port):
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            var addr = in6_addr()
            withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: host) }
            inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
            let end = text.firstIndex(of: 0) ?? text.endIndex
            return "[" + String(decoding: text[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self) + "]:\(port)"
        }
    }

    var family: Int32 {
        switch self {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    /// Lends the address as a `sockaddr` for bind/connect.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R) throws(SystemError) -> R {
        switch self {
        case .v4(let host, let port):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: host) }
            return try withUnsafePointer(to: &sa) { (p) throws(SystemError) -> R in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sp) throws(SystemError) -> R in
                    try body(sp, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let host, let port):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: host) }
            return try withUnsafePointer(to: &sa) { (p) throws(SystemError) -> R in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sp) throws(SystemError) -> R in
                    try body(sp, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// Reads an address the kernel filled in (accept, getsockname).
    init?(storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let sa = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            self = .v4(host: withUnsafeBytes(of: sa.sin_addr) { Array($0) }, port: UInt16(bigEndian: sa.sin_port))
        case AF_INET6:
            let sa = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            self = .v6(host: withUnsafeBytes(of: sa.sin6_addr) { Array($0) }, port: UInt16(bigEndian: sa.sin6_port))
        default:
            return nil
        }
    }
}

extension SocketAddress {
    /// Resolves a host name or numeric address (getaddrinfo), IPv4 first.
    public static func resolve(host: String, port: UInt16) throws(ParseError) -> [SocketAddress] {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let numeric = try? SocketAddress(parsing: bare.contains(":") ? "[\(bare)]:\(port)" : "\(bare):\(port)") {
            return [numeric]
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(bare, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw .invalid("cannot resolve '\(bare)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen)))
            }
            if let address = SocketAddress(storage: storage), !addresses.contains(address) { addresses.append(address) }
            cursor = info.pointee.ai_next
        }
        return addresses.sorted { a, _ in if case .v4 = a { return true } else { return false } }
    }
}
