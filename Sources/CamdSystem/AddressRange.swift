// AddressRange: one IP address (IPAddress) or a CIDR block of them ("10.0.0.0/8", "fd00::/8"), for
// trusted_proxies and the addresses a proxy's X-Forwarded-For names. Parsing is strict and bounded (the text may
// be an outside peer's); matching compares bytes.
#if canImport(Glibc)
import Glibc
#endif

/// One IPv4 or IPv6 address. An IPv4-mapped IPv6 address (::ffff:192.0.2.7, how an IPv6 listener sees an IPv4
/// peer) is kept as the IPv4 address it carries, so IPv4 ranges match it.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6), network order.
    public let bytes: [UInt8]

    public var isV4: Bool { bytes.count == 4 }

    /// From 4 or 16 bytes in network order.
    public init?(bytes: [UInt8]) {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            self.bytes = Array(bytes[12...])
        } else if bytes.count == 4 || bytes.count == 16 {
            self.bytes = bytes
        } else {
            return nil
        }
    }

    /// A peer's address without its port.
    public init(_ address: SocketAddress) {
        switch address {
        case .v4(let host, _), .v6(let host, _): self = IPAddress(bytes: host)!
        }
    }

    /// The longest text of an address inet_pton reads (an IPv6 address with an IPv4 tail), INET6_ADDRSTRLEN - 1.
    public static let maxTextBytes = 45

    /// "192.0.2.7" or "2001:db8::1" (no brackets, no port, no zone); nil for anything else. Only hex digits,
    /// '.' and ':' are passed on to inet_pton, so no outside byte can end or stretch the C string early.
    public init?(parsing text: some StringProtocol) {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= Self.maxTextBytes,
              utf8.allSatisfy({ Self.isAddressByte($0) }) else { return nil }
        let string = String(text)
        if utf8.contains(UInt8(ascii: ":")) {
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, string, &v6) == 1 else { return nil }
            self.init(bytes: withUnsafeBytes(of: v6) { Array($0) })
        } else {
            var v4 = in_addr()
            guard inet_pton(AF_INET, string, &v4) == 1 else { return nil }
            self.init(bytes: withUnsafeBytes(of: v4.s_addr) { Array($0) })
        }
    }

    private static func isAddressByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"),
             UInt8(ascii: "."), UInt8(ascii: ":"): return true
        default: return false
        }
    }

    /// "192.0.2.7", "2001:db8::1".
    public var description: String {
        let text = hostText
        return isV4 ? text : String(text.dropFirst().dropLast())
    }

    /// As a peer's host is shown and counted (`SocketAddress.hostText`): "192.0.2.7", "[2001:db8::1]".
    public var hostText: String {
        (isV4 ? SocketAddress.v4(host: bytes, port: 0) : SocketAddress.v6(host: bytes, port: 0)).hostText
    }
}

/// An address block in CIDR notation ("10.0.0.0/8", "2001:db8::/32"), or one address ("127.0.0.1", "::1").
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    /// The block's first address (the host bits are zero).
    public let network: IPAddress
    /// Leading bits that must match: 0-32 for IPv4, 0-128 for IPv6.
    public let prefixLength: Int

    public enum ParseError: Error, Equatable, Sendable {
        case invalid(String)
    }

    /// Parses "ADDRESS" or "ADDRESS/BITS". An address with bits set beyond the prefix ("10.1.2.3/8") is refused,
    /// naming the block it probably means, rather than silently widened or narrowed.
    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parsing: parts[0]) else {
            throw .invalid("is not an IPv4 or IPv6 address or CIDR block (e.g. \"127.0.0.1\", \"10.0.0.0/8\", \"::1\", \"fd00::/8\")")
        }
        let maxBits = parts[0].contains(":") ? 128 : 32
        var bits = address.isV4 ? 32 : 128
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...3).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits),
                  (0...maxBits).contains(n) else {
                throw .invalid("needs a prefix length of 0-\(maxBits) after \"/\" (\(maxBits == 32 ? "IPv4" : "IPv6"))")
            }
            bits = n
            // ::ffff:10.0.0.0/104 is IPv4's 10.0.0.0/8: IPAddress keeps mapped addresses as IPv4, so must the prefix.
            if address.isV4, maxBits == 128 {
                guard n >= 96 else { throw .invalid("needs a prefix length of 96-128 (an IPv4-mapped block, ::ffff:a.b.c.d)") }
                bits = n - 96
            }
        }
        let masked = Self.masked(address.bytes, bits)
        guard masked == address.bytes else {
            let block = AddressRange(network: IPAddress(bytes: masked)!, prefixLength: bits)
            throw .invalid("has bits set beyond the /\(bits) prefix (the block is \"\(block)\")")
        }
        self.init(network: address, prefixLength: bits)
    }

    public init(network: IPAddress, prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }

    /// `address` is in the block (an IPv4 block holds no IPv6 address, and the reverse).
    public func contains(_ address: IPAddress) -> Bool {
        address.bytes.count == network.bytes.count && Self.masked(address.bytes, prefixLength) == network.bytes
    }

    /// "127.0.0.1" for a single address, else "10.0.0.0/8".
    public var description: String {
        prefixLength == network.bytes.count * 8 ? "\(network)" : "\(network)/\(prefixLength)"
    }

    /// `bytes` with every bit after the first `bits` cleared.
    static func masked(_ bytes: [UInt8], _ bits: Int) -> [UInt8] {
        var result = bytes
        for i in result.indices {
            let keep = min(max(bits - i * 8, 0), 8)
            result[i] &= keep == 0 ? 0 : ~UInt8(0) << (8 - keep)
        }
        return result
    }
}

extension Array where Element == AddressRange {
    /// Some block in the list holds `address`.
    public func containsAddress(_ address: IPAddress) -> Bool { contains { $0.contains(address) } }
}
