// camd: parse the command line, load the config, start the daemon, exit with its status.
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CamdSystem
import Capture
import Logging
import Service
import Settings

struct Camd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camd",
        abstract: "Stream a camera (or a test pattern, or a recorded MJPEG) to many viewers at once.",
        discussion: """
        Settings come from the config file (--config, else \(ConfigLoader.defaultPath) if it exists, \
        else built-in defaults); each flag below overrides the key of the same name. camd.toml(5) \
        (config/camd.toml in the source) documents every key and its default. Invalid settings exit with status 78 and one line naming the key.

        Native viewers: camview tcp://HOST:9999 --stats, or any client of docs/PROTOCOL.md.
        """,
        version: CamdVersion.string)

    @Option(name: .customLong("config"), help: ArgumentHelp("Config file to read.", valueName: "path"))
    var configPath: String?

    // One option per key of the config table (Settings/ConfigKeys.swift), which gives each its name, its --help
    // line and how its text is read; `flagTexts` hands the values back by key name.
    @Option(name: KeyFlag.name("listen"), parsing: .unconditionalSingleValue, help: KeyFlag.help("listen")) var listen: [String] = []
    @Option(name: KeyFlag.name("http_listen"), parsing: .unconditionalSingleValue, help: KeyFlag.help("http_listen")) var httpListen: [String] = []
    @Option(name: KeyFlag.name("rtsp_listen"), parsing: .unconditionalSingleValue, help: KeyFlag.help("rtsp_listen")) var rtspListen: [String] = []
    @Option(name: KeyFlag.name("h264_encoder"), parsing: .unconditional, help: KeyFlag.help("h264_encoder")) var h264Encoder: String?
    @Option(name: KeyFlag.name("h264_bitrate"), parsing: .unconditional, help: KeyFlag.help("h264_bitrate")) var h264Bitrate: String?
    @Option(name: KeyFlag.name("h264_gop"), parsing: .unconditional, help: KeyFlag.help("h264_gop")) var h264Gop: String?
    @Option(name: KeyFlag.name("request_timeout"), parsing: .unconditional, help: KeyFlag.help("request_timeout")) var requestTimeout: String?
    @Option(name: KeyFlag.name("http_allow_origin"), parsing: .unconditionalSingleValue, help: KeyFlag.help("http_allow_origin")) var httpAllowOrigin: [String] = []
    @Option(name: KeyFlag.name("trusted_proxies"), parsing: .unconditionalSingleValue, help: KeyFlag.help("trusted_proxies")) var trustedProxies: [String] = []
    @Option(name: KeyFlag.name("source"), parsing: .unconditional, help: KeyFlag.help("source")) var source: String?
    @Option(name: KeyFlag.name("width"), parsing: .unconditional, help: KeyFlag.help("width")) var width: String?
    @Option(name: KeyFlag.name("height"), parsing: .unconditional, help: KeyFlag.help("height")) var height: String?
    @Option(name: KeyFlag.name("fps"), parsing: .unconditional, help: KeyFlag.help("fps")) var fps: String?
    @Option(name: KeyFlag.name("quality"), parsing: .unconditional, help: KeyFlag.help("quality")) var quality: String?
    @Option(name: KeyFlag.name("idle_after"), parsing: .unconditional, help: KeyFlag.help("idle_after")) var idleAfter: String?
    @Option(name: KeyFlag.name("idle_camera"), parsing: .unconditional, help: KeyFlag.help("idle_camera")) var idleCamera: String?
    @Option(name: KeyFlag.name("max_clients"), parsing: .unconditional, help: KeyFlag.help("max_clients")) var maxClients: String?
    @Option(name: KeyFlag.name("max_clients_per_ip"), parsing: .unconditional, help: KeyFlag.help("max_clients_per_ip")) var maxClientsPerIP: String?
    @Option(name: KeyFlag.name("client_timeout"), parsing: .unconditional, help: KeyFlag.help("client_timeout")) var clientTimeout: String?
    @Option(name: KeyFlag.name("send_lowat"), parsing: .unconditional, help: KeyFlag.help("send_lowat")) var sendLowat: String?
    @Option(name: KeyFlag.name("send_buffer"), parsing: .unconditional, help: KeyFlag.help("send_buffer")) var sendBuffer: String?
    @Option(name: KeyFlag.name("ring_size"), parsing: .unconditional, help: KeyFlag.help("ring_size")) var ringSize: String?
    @Option(name: KeyFlag.name("log_level"), parsing: .unconditional, help: KeyFlag.help("log_level")) var logLevel: String?
    @Option(name: KeyFlag.name("stats_interval"), parsing: .unconditional, help: KeyFlag.help("stats_interval")) var statsInterval: String?
    @Option(name: KeyFlag.name("rotate"), parsing: .unconditional, help: KeyFlag.help("rotate")) var rotate: String?
    @Option(name: KeyFlag.name("flip"), parsing: .unconditional, help: KeyFlag.help("flip")) var flip: String?
    @Option(name: KeyFlag.name("drop_same_frames"), parsing: .unconditional, help: KeyFlag.help("drop_same_frames")) var dropSameFrames: String?

    @Option(name: KeyFlag.name("format"), parsing: .unconditional, help: KeyFlag.help("format")) var format: String?
    @Option(name: KeyFlag.name("buffers"), parsing: .unconditional, help: KeyFlag.help("buffers")) var buffers: String?
    @Option(name: KeyFlag.name("encode_workers"), parsing: .unconditional, help: KeyFlag.help("encode_workers")) var encodeWorkers: String?
    @Option(name: KeyFlag.name("device_timeout"), parsing: .unconditional, help: KeyFlag.help("device_timeout")) var deviceTimeout: String?
    @Option(name: KeyFlag.name("device_retry_max"), parsing: .unconditional, help: KeyFlag.help("device_retry_max")) var deviceRetryMax: String?
    @Option(name: KeyFlag.name("controls"), parsing: .unconditionalSingleValue, help: KeyFlag.help("controls")) var control: [String] = []

    @Option(name: KeyFlag.name("control_socket"), parsing: .unconditional, help: KeyFlag.help("control_socket")) var controlSocket: String?
    @Option(name: KeyFlag.name("control_group"), parsing: .unconditional, help: KeyFlag.help("control_group")) var controlGroup: String?

    @Flag(help: "Check the configuration, print it, and exit (0 if valid, 78 if not).")
    var checkConfig = false

    @Flag(help: "Read a password from standard input, print a crypt(3) hash of it for http_auth, and exit.")
    var hashPassword = false

    @Option(help: ArgumentHelp("Print the formats, sizes, frame rates and controls a camera offers, and exit.", valueName: "device"))
    var listFormats: String?

    /// Each key option's texts (one per occurrence), by key name. A test checks that these are exactly the
    /// table's keys that have a flag.
    var flagTexts: [String: [String]] {
        ["listen": listen, "http_listen": httpListen, "rtsp_listen": rtspListen, "h264_encoder": h264Encoder.texts,
         "h264_bitrate": h264Bitrate.texts, "h264_gop": h264Gop.texts, "request_timeout": requestTimeout.texts, "source": source.texts,
         "width": width.texts, "height": height.texts, "fps": fps.texts, "quality": quality.texts,
         "idle_after": idleAfter.texts, "idle_camera": idleCamera.texts, "max_clients": maxClients.texts, "max_clients_per_ip": maxClientsPerIP.texts,
         "http_allow_origin": httpAllowOrigin, "trusted_proxies": trustedProxies,
         "client_timeout": clientTimeout.texts, "send_lowat": sendLowat.texts, "send_buffer": sendBuffer.texts,
         "ring_size": ringSize.texts, "log_level": logLevel.texts, "stats_interval": statsInterval.texts, "format": format.texts,
         "buffers": buffers.texts, "device_timeout": deviceTimeout.texts, "device_retry_max": deviceRetryMax.texts,
         "controls": control, "control_socket": controlSocket.texts, "control_group": controlGroup.texts,
         "rotate": rotate.texts, "flip": flip.texts, "drop_same_frames": dropSameFrames.texts,
         "encode_workers": encodeWorkers.texts]
    }

    /// The flags given, read as the table says, in the table's key order (so the first bad one reported is stable).
    var overrides: [(key: String, value: ConfigValue)] {
        let given = flagTexts
        return ConfigKey.all.compactMap { key in
            guard let flag = key.flag, let texts = given[key.name], !texts.isEmpty else { return nil }
            return (key.name, flag.value(texts))
        }
    }

    /// The config file camd reads (and re-reads on reload), if any.
    var configFile: String? {
        if let configPath { return configPath }
        return access(ConfigLoader.defaultPath, F_OK) == 0 ? ConfigLoader.defaultPath : nil
    }

    func loadConfig() throws(ConfigError) -> Config {
        if let configFile { return try ConfigLoader.load(path: configFile, overrides: overrides) }
        return try ConfigLoader.build([:], overrides: overrides)
    }

    func run() throws {
        if hashPassword {
            printPasswordHash()
            return
        }
        if let listFormats {
            do {
                print(try CameraListing.describe(path: listFormats, format: listingFormat()), terminator: "")
                return
            } catch {
                fail("\(error)", status: 1)
            }
        }
        let config: Config
        do {
            config = try loadConfig()
        } catch {
            fail("config error: \(error)", status: ConfigError.exitStatus)
        }
        if checkConfig {
            print("configuration OK: \(config.summary)")
            return
        }
        let level = Logger.Level(rawValue: config.logLevel.rawValue) ?? .info
        // Structured journal entries when systemd connected stderr to the journal, else one plain line per event.
        let journal = JournalStream.isStandardError
        LoggingSystem.bootstrap { label -> any LogHandler in
            journal ? JournalLogHandler(label: label, level: level) : StderrLogHandler(label: label, level: level)
        }
        let logger = Logger(label: "camd")
        do {
            // Reload re-reads the same file with the same flags on top, so flags keep winning.
            let reload: (() throws(ConfigError) -> Config)?
            if let file = configFile {
                let flags = overrides
                reload = { () throws(ConfigError) -> Config in try ConfigLoader.load(path: file, overrides: flags) }
            } else {
                reload = nil
            }
            let daemon = try Daemon(config: config, logger: logger, reloadConfig: reload)
            let status = try daemon.run()
            throw ExitCode(status)
        } catch let error as SourceError {
            fail("config error: source = \"\(config.source)\": \(error)", status: ConfigError.exitStatus)
        } catch let error as ExitCode {
            throw error
        } catch {
            fail("\(error)", status: 1)
        }
    }

    /// `camd --hash-password`: asks without echo on a terminal, else reads one line from a pipe.
    func printPasswordHash() {
        let interactive = isatty(0) == 1
        var saved = termios()
        if interactive {
            let prompt = Array("password: ".utf8)
            _ = prompt.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            tcgetattr(0, &saved)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &quiet)
        }
        let line = readLine(strippingNewline: true)
        if interactive {
            tcsetattr(0, TCSAFLUSH, &saved)
            _ = write(2, "\n", 1)
        }
        guard let password = line, !password.isEmpty else { fail("no password given on standard input", status: 64) }
        guard let hash = PasswordHash.make(password) else { fail("crypt(3) could not hash the password", status: 1) }
        print(hash)
    }

    /// The `format` --list-formats reports on: the configured one (config file and flags, as camd would run), else
    /// `auto` with the reason.
    func listingFormat() -> (preference: PixelFormatPreference, note: String?) {
        do {
            return (PixelFormatPreference(rawValue: try loadConfig().format.rawValue) ?? .auto, nil)
        } catch {
            return (.auto, "the configuration did not load: \(error)")
        }
    }

    func fail(_ message: String, status: Int32) -> Never {
        let line = Array("camd: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        Glibc.exit(status)
    }
}

/// A config key's option, as the key table describes it (a key without a flag is a programming error here).
enum KeyFlag {
    static func key(_ name: String) -> ConfigKey {
        guard let key = ConfigKey.named(name), key.flag != nil else { preconditionFailure("config key \(name) has no flag") }
        return key
    }

    static func name(_ key: String) -> NameSpecification { .customLong(self.key(key).flag!.name) }

    static func help(_ key: String) -> ArgumentHelp {
        let key = self.key(key)
        return ArgumentHelp(key.flagHelp, valueName: key.flag!.valueName)
    }
}

extension Optional<String> {
    /// An option given once, or not.
    var texts: [String] { map { [$0] } ?? [] }
}

Camd.main()
