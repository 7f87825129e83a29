// trusted_proxies and X-Forwarded-For: CIDR blocks parsed strictly and matched by bytes, and the viewer read from
// the right of the header, skipping trusted proxies, with anything unreadable falling back to the peer.
import CamdSystem
@testable import Streaming
import Testing

struct ForwardedForTests {
    func ranges(_ texts: String...) throws -> [AddressRange] { try texts.map { try AddressRange(parsing: $0) } }
    func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }

    @Test func addressesParseStrictlyAndMappedIPv4IsIPv4() {
        #expect(IPAddress(parsing: "192.0.2.7")?.bytes == [192, 0, 2, 7])
        #expect(IPAddress(parsing: "2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress(parsing: "2001:DB8::1")?.hostText == "[2001:db8::1]")
        #expect(IPAddress(parsing: "::ffff:10.1.2.3") == IPAddress(parsing: "10.1.2.3"))
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4x", "1.2.3.4 ", " 1.2.3.4", "localhost", "::g", "1::2::3",
                    "[::1]", "fe80::1%eth0", "1.2.3.4\u{0}", "1.2.3.4\u{301}", String(repeating: "1", count: 100), "unknown"] {
            #expect(IPAddress(parsing: bad) == nil, "\(bad.debugDescription)")
        }
    }

    @Test func cidrBlocksMatchTheirAddressesOnly() throws {
        let v4 = try AddressRange(parsing: "10.0.0.0/8")
        #expect(v4.contains(ip("10.255.1.2")) && !v4.contains(ip("11.0.0.1")) && !v4.contains(ip("::a00:1")))
        #expect(v4.contains(ip("::ffff:10.9.9.9")), "an IPv6 listener's view of an IPv4 peer")
        let one = try AddressRange(parsing: "127.0.0.1")
        #expect(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")) && one.description == "127.0.0.1")
        let v6 = try AddressRange(parsing: "2001:db8::/32")
        #expect(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")) && !v6.contains(ip("32.1.13.184")))
        #expect(try AddressRange(parsing: "0.0.0.0/0").contains(ip("203.0.113.9")))
        #expect(try AddressRange(parsing: "::/0").contains(ip("::1")) && !AddressRange(parsing: "::/0").contains(ip("1.2.3.4")))
        #expect(try AddressRange(parsing: "10.20.0.0/14").contains(ip("10.23.255.255")))
        #expect(try !AddressRange(parsing: "10.20.0.0/14").contains(ip("10.24.0.0")))
        #expect(try AddressRange(parsing: "::ffff:10.0.0.0/104") == AddressRange(parsing: "10.0.0.0/8"))
        #expect(try AddressRange(parsing: "fd00::/8").description == "fd00::/8")
    }

    @Test(arguments: [
        ("10.1.2.3/8", "bits set beyond the /8 prefix (the block is \"10.0.0.0/8\")"),
        ("10.0.0.0/33", "0-32 after"),
        ("::/129", "0-128 after"),
        ("10.0.0.0/", "prefix length"),
        ("10.0.0.0/+8", "prefix length"),
        ("10.0.0.0/08x", "prefix length"),
        ("::ffff:10.0.0.0/8", "96-128"),
        ("proxy.example.net", "not an IPv4 or IPv6 address"),
        ("10.0.0.0/8/8", "prefix length"),
    ])
    func badBlocksSayWhy(text: String, problem: String) {
        #expect { try AddressRange(parsing: text) } throws: { error in
            guard case AddressRange.ParseError.invalid(let why) = error else { return false }
            return why.contains(problem)
        }
    }

    @Test func theViewerIsTheRightMostAddressThatIsNotATrustedProxy() throws {
        let trusted = try ranges("127.0.0.1", "10.0.0.0/8", "fd00::/8")
        #expect(ForwardedFor.viewer(nil, trusted: trusted) == .absent)
        #expect(ForwardedFor.viewer("203.0.113.7", trusted: trusted) == .viewer(ip("203.0.113.7")))
        // A viewer's own forged entries are to the left of what its proxy appended: never believed.
        #expect(ForwardedFor.viewer("6.6.6.6, 203.0.113.7", trusted: trusted) == .viewer(ip("203.0.113.7")))
        #expect(ForwardedFor.viewer("6.6.6.6, 203.0.113.7, 10.1.1.1, 127.0.0.1", trusted: trusted) == .viewer(ip("203.0.113.7")))
        #expect(ForwardedFor.viewer("2001:db8::5,fd00::1", trusted: trusted) == .viewer(ip("2001:db8::5")))
        #expect(ForwardedFor.viewer("[2001:db8::5]:4711 ,\t198.51.100.2:80", trusted: trusted) == .viewer(ip("198.51.100.2")))
        #expect(ForwardedFor.viewer("  [2001:db8::5]:4711  ", trusted: trusted) == .viewer(ip("2001:db8::5")))
        // Every entry a proxy: the left-most is the viewer (a request from inside).
        #expect(ForwardedFor.viewer("10.0.0.5, 127.0.0.1", trusted: trusted) == .viewer(ip("10.0.0.5")))
        // Garbage to the left of the viewer is the viewer's own business; the right-most untrusted entry stands.
        #expect(ForwardedFor.viewer("<script>, unknown, 203.0.113.7", trusted: trusted) == .viewer(ip("203.0.113.7")))
    }

    @Test func unreadableHeadersFallBackToThePeerWithAnEscapedReason() throws {
        let trusted = try ranges("127.0.0.1")
        for bad in ["", " ", ",", "203.0.113.7,", "unknown", "203.0.113.7:99999", "203.0.113.7:", "[::1", "[1.2.3.4]",
                    "[::1]x", "1.2.3.4:80:90", "\u{1B}[31mred", "1.2.3.4, _hidden"] {
            guard case .malformed(let why) = ForwardedFor.viewer(bad, trusted: trusted) else {
                Issue.record("\(bad.debugDescription) was read as an address")
                continue
            }
            #expect(why.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }, "\(why.debugDescription)")
        }
        // A huge header costs at most maxEntries entries and says so, with a short reason.
        let padded = Array(repeating: "127.0.0.1", count: 2000).joined(separator: ",")
        #expect(ForwardedFor.viewer(padded, trusted: trusted) == .malformed("more than 16 addresses, all of them trusted proxies"))
        guard case .malformed(let why) = ForwardedFor.viewer(String(repeating: "x", count: 8000), trusted: trusted) else {
            Issue.record("8000 x's read as an address")
            return
        }
        #expect(why.count < 120, "\(why)")
    }
}
