// ForwardedFor: who the viewer is when a trusted reverse proxy (trusted_proxies) forwards its request —
// read from X-Forwarded-For, sans-IO. From any other peer the header is not even looked at.
import CamdSystem

/// What a request's X-Forwarded-For says about the viewer behind a trusted proxy.
public enum ForwardedFor: Equatable, Sendable {
    /// The viewer's address: the right-most entry that is not itself a trusted proxy.
    case viewer(IPAddress)
    /// No X-Forwarded-For: the proxy did not say (the peer's address stands).
    case absent
    /// The header could not be read; the peer's address stands. The reason quotes at most a short, escaped
    /// excerpt of the header, safe for a log line.
    case malformed(String)

    /// Entries looked at, from the right, before giving up (a proxy chain is a handful of hops; a longer list is
    /// someone's padding).
    public static let maxEntries = 16

    /// Reads X-Forwarded-For (`header`, all its fields joined by ", " as the request parser does) the way nginx's
    /// real_ip_recursive and Apache's mod_remoteip do: each proxy appends the address it received the request
    /// from, so the list is read from the right, skipping the trusted proxies; the first address that is not one
    /// is the viewer. Entries to its left were written by that viewer (or anyone it lies for) and are never
    /// trusted. When every entry is a trusted proxy, the left-most is the viewer. The caller has checked that the
    /// peer itself is a trusted proxy.
    public static func viewer(_ header: String?, trusted: [AddressRange]) -> ForwardedFor {
        guard let header else { return .absent }
        var entries = 0
        var leftmost: IPAddress?
        // Split from the right without copying the whole header (it is at most the 8 KiB request head).
        var end = header.endIndex
        while true {
            let start = header[..<end].lastIndex(of: ",").map { header.index(after: $0) } ?? header.startIndex
            let entry = header[start..<end]
            entries += 1
            guard entries <= maxEntries else {
                return .malformed("more than \(maxEntries) addresses, all of them trusted proxies")
            }
            guard let address = address(in: entry) else {
                // Escaped (printable ASCII, "\xNN" for the rest), not quoted again: the log shows the bytes as they came.
                return .malformed("entry \"\(LogText.escaped(String(entry.trimmingWhitespace()), limit: 64))\" is not an IP address")
            }
            if !trusted.containsAddress(address) { return .viewer(address) }
            leftmost = address
            guard start > header.startIndex else { break }
            end = header.index(before: start)
        }
        return leftmost.map { .viewer($0) } ?? .absent
    }

    /// One entry: "192.0.2.7", "2001:db8::1", or with a port as some proxies write it: "192.0.2.7:4711",
    /// "[2001:db8::1]:4711" (the port is dropped). Surrounding spaces and tabs are allowed; nothing else.
    static func address(in entry: Substring) -> IPAddress? {
        var text = entry.trimmingWhitespace()[...]
        guard !text.isEmpty, text.utf8.count <= IPAddress.maxTextBytes + 8 else { return nil }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || isPort(rest) else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
            guard text.contains(":") else { return nil }
        } else if let colon = text.firstIndex(of: ":"), text.lastIndex(of: ":") == colon {
            // One colon: IPv4 with a port (an IPv6 address has at least two).
            guard isPort(text[colon...]) else { return nil }
            text = text[..<colon]
        }
        return IPAddress(parsing: text)
    }

    /// ":1" … ":65535".
    private static func isPort(_ text: Substring) -> Bool {
        let digits = text.dropFirst()
        return text.first == ":" && (1...5).contains(digits.count) && digits.allSatisfy { $0.isASCII && $0.isNumber }
            && Int(digits).map { $0 <= 65535 } == true
    }
}
