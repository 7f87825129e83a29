// trusted_proxies in the config: addresses and CIDR blocks, IPv4 and IPv6; a bad entry is one line naming the key
// and the entry; reload applies it live.
import CamdSystem
@testable import Settings
import Testing

struct TrustedProxiesTests {
    @Test func addressesAndBlocksAreReadFromOneOrAList() throws {
        #expect(try ConfigLoader.parse("").trustedProxies == [])
        let config = try ConfigLoader.parse("trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\", \"fd00::/8\"]")
        #expect(config.trustedProxies.map(\.description) == ["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"])
        #expect(try ConfigLoader.parse("trusted_proxies = \"192.168.1.10\"").trustedProxies.map(\.description) == ["192.168.1.10"])
        let key = try #require(ConfigKey.named("trusted_proxies"))
        #expect(key.value(in: config) == "127.0.0.1,10.0.0.0/8,::1,fd00::/8")
        #expect(key.defaultText == "none")
        #expect(key.applies == .live)
        #expect(key.flag?.name == "trusted-proxies" && key.flag?.isRepeatable == true)
    }

    @Test(arguments: [
        ("trusted_proxies = [\"10.1.2.3/8\"]", "\"10.1.2.3/8\" has bits set beyond the /8 prefix"),
        ("trusted_proxies = [\"127.0.0.1\", \"proxy.lan\"]", "\"proxy.lan\" is not an IPv4 or IPv6 address"),
        ("trusted_proxies = [\"::1/200\"]", "0-128"),
        ("trusted_proxies = [8]", "must be an address or CIDR block string"),
        ("trusted_proxies = \"\"", "not an IPv4 or IPv6 address"),
    ])
    func aBadEntryIsOneLineNamingTheKeyAndTheEntry(line: String, problem: String) {
        #expect { try ConfigLoader.parse(line) } throws: { error in
            guard let error = error as? ConfigError else { return false }
            let text = "\(error)"
            return error.key == "trusted_proxies" && text.hasPrefix("trusted_proxies = ") && text.contains(problem) && !text.contains("\n")
        }
    }
}
