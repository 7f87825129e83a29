// Configuration: the shipped file documents the defaults, and every bad value names its key.
import CamdSystem
import Foundation
import Settings
import Testing

private var packageRoot: String {
    var url = URL(fileURLWithPath: #filePath)
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
    return url.path
}

struct ConfigTests {
    /// The config fuzzer's corpus, replayed through the loader on every test run: an input that once crashed
    /// it stays fixed, and every error stays one line without control characters.
    @Test func everyConfigFuzzCorpusFileLoadsOrIsOneCleanError() throws {
        let directory = packageRoot + "/fuzz/corpus/config"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(names.count >= 50)
        for name in names {
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + name))
            do {
                _ = try ConfigLoader.parse(bytes: [UInt8](bytes), origin: name, overrides: [])
            } catch {
                #expect(!error.description.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(name): \(error)")
            }
        }
    }

    @Test func theShippedConfigFileStatesExactlyTheDefaults() throws {
        let shipped = try ConfigLoader.load(path: packageRoot + "/config/camd.toml")
        #expect(shipped == Config())
    }

    @Test func theShippedConfigFileDocumentsEveryKey() throws {
        let text = try String(contentsOfFile: packageRoot + "/config/camd.toml", encoding: .utf8)
        for key in ConfigKey.all.map(\.name) {
            #expect(text.contains("\n\(key) = "), "config/camd.toml does not document \(key)")
        }
    }

    @Test func validValuesAreApplied() throws {
        let config = try ConfigLoader.parse("""
            listen = ["127.0.0.1:7000", "[::1]:7001"]
            source = "testpattern"
            width = 1280
            height = 720
            fps = 12.5
            quality = 95
            max_clients = 3
            client_timeout = 2
            log_level = "debug"
            """)
        #expect(config.listen.map(\.description) == ["127.0.0.1:7000", "[::1]:7001"])
        #expect(config.width == 1280 && config.height == 720 && config.fps == 12.5)
        #expect(config.quality == 95 && config.maxClients == 3 && config.clientTimeout == 2)
        #expect(config.logLevel == .debug)
    }

    @Test(arguments: [
        ("fps = 0", "fps", "0.1 to 240"),
        ("fps = \"fast\"", "fps", "must be a number"),
        ("width = 7", "width", "16 to 7680"),
        ("height = 1.5", "height", "integer"),
        ("quality = 101", "quality", "1 to 100"),
        ("max_clients = 0", "max_clients", "1 to 100000"),
        ("client_timeout = -1", "client_timeout", "0.1 to 3600"),
        ("send_lowat = -5", "send_lowat", "integer from 0"),
        ("send_buffer = 100", "send_buffer", "at least 4096"),
        ("ring_size = 1", "ring_size", "2 to 64"),
        ("log_level = \"loud\"", "log_level", "\"info\""),
        ("stats_interval = true", "stats_interval", "must be a number"),
        ("listen = \"nowhere\"", "listen", "HOST:PORT"),
        ("listen = \"1.2.3.4:99999\"", "listen", "port"),
        ("listen = []", "listen", "at least one"),
        ("source = \"webcam\"", "source", "allowed: \"testpattern\", \"file:PATH\""),
        ("source = \"file:/no/such/clip.mjpeg\"", "source", "no such file"),
        ("colour = \"blue\"", "colour", "unknown key"),
        ("http_auth = \"admin:secret\"", "http_auth", "crypt(3) hash"),
        ("http_auth = \"admin\"", "http_auth", "user:password-hash"),
        ("http_auth = \":$6$abc$def\"", "http_auth", "user:password-hash"),
        ("http_token = \"short\"", "http_token", "at least 16"),
        ("http_token = \"has spaces in it, sixteen+\"", "http_token", "only letters"),
        ("fps = ", "TOML syntax", "line 1"),
        ("fps = 30\n[\n", "TOML syntax", "line 2, column 2"),
        ("[[[x]]]", "TOML syntax", "line 1, column 3"),
        ("a = 9223372036854775808", "TOML syntax", "line 1"),
        ("source = \"file:/tmp/\\u0007\"", "source", "control characters"),
        ("controls = { Brightness = 1 }", "controls.Brightness", "lower-case"),
    ])
    func eachBadValueIsRejectedNamingItsKey(line: String, key: String, problem: String) {
        #expect {
            try ConfigLoader.parse(line)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            let text = "\(error)"
            return error.key == key && text.hasPrefix(key) && text.contains(problem) && !text.contains("\n")
        }
    }

    @Test func httpSecretsAreAcceptedButNeverEchoed() throws {
        let hash = try #require(PasswordHash.make("hunter2"))
        let config = try ConfigLoader.parse("http_auth = \"admin:\(hash)\"\nhttp_token = \"abcdefghijklmnop\"")
        #expect(config.httpBasic?.user == "admin" && config.httpBasic?.hash == hash)
        #expect(config.httpToken == "abcdefghijklmnop")
        #expect(config.summary.contains("http_access=basic+token") && !config.summary.contains(hash))
        #expect(PasswordHash.matches("hunter2", hash: hash) && !PasswordHash.matches("hunter3", hash: hash))
        #expect {
            try ConfigLoader.parse("http_auth = \"admin:plaintext-password\"")
        } throws: { error in !"\(error)".contains("plaintext-password") }
        for line in ["http_auth = \"admin:\\u0007\(hash)\"", "http_token = \"abcdefgh\\u0007ijklmnop\""] {
            #expect {
                try ConfigLoader.parse(line)
            } throws: { error in
                "\(error)".hasSuffix(": must not contain control characters") && !"\(error)".contains(hash) && !"\(error)".contains("abcdefgh")
            }
        }
    }

    @Test func flagValuesAreTypedLikeTOML() {
        #expect(ConfigValue(flag: "30") == .integer(30))
        #expect(ConfigValue(flag: "12.5") == .float(12.5))
        #expect(ConfigValue(flag: "info") == .string("info"))
    }

    @Test func aMissingConfigFileIsAnErrorNamingIt() {
        #expect {
            try ConfigLoader.load(path: "/nonexistent/camd.toml")
        } throws: { error in
            "\(error)".contains("/nonexistent/camd.toml")
        }
    }
}
