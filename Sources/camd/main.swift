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
        else built-in defaults); each flag below overrides the key of the same name. config/camd.toml \
        documents every key and its default. Invalid settings exit with status 78 and one line naming the key.

        Native viewers: camview tcp://HOST:9999 --stats, or any client of docs/PROTOCOL.md.
        """,
        version: CamdVersion.string)

    @Option(name: .customLong("config"), help: ArgumentHelp("Config file to read.", valueName: "path"))
    var configPath: String?

    @Option(help: ArgumentHelp("Native protocol listen address, repeatable (listen; default 0.0.0.0:9999).", valueName: "host:port"))
    var listen: [String] = []
    @Option(help: ArgumentHelp("HTTP listen address, repeatable (http_listen; default 0.0.0.0:8080; \"off\" disables).", valueName: "host:port"))
    var httpListen: [String] = []
    @Option(help: "Seconds an HTTP client has to send its request head (request_timeout; default 5).")
    var requestTimeout: String?
    @Option(help: ArgumentHelp("\"testpattern\", \"file:PATH\" or \"v4l2:/dev/videoN\" (source; default testpattern).", valueName: "source"))
    var source: String?
    @Option(help: "Picture width: the test pattern's, or asked of the camera (width; default 640).")
    var width: String?
    @Option(help: "Picture height: the test pattern's, or asked of the camera (height; default 480).")
    var height: String?
    @Option(help: "Frames per second, 0.1-240 (fps; default 30).")
    var fps: String?
    @Option(help: "JPEG quality 1-100 when camd encodes (quality; default 80).")
    var quality: String?
    @Option(help: "Most viewers at once; more are refused (max_clients; default 512).")
    var maxClients: String?
    @Option(help: "Seconds a viewer may accept no data before it is disconnected (client_timeout; default 10).")
    var clientTimeout: String?
    @Option(help: "Unsent bytes kept per viewer socket, TCP_NOTSENT_LOWAT (send_lowat; default 65536; 0 = off).")
    var sendLowat: String?
    @Option(help: "SO_SNDBUF per viewer socket in bytes (send_buffer; default 0 = kernel autotuning).")
    var sendBuffer: String?
    @Option(help: "Frames kept in the ring, 2-64 (ring_size; default 4).")
    var ringSize: String?
    @Option(help: "trace, debug, info, notice, warning, error or critical (log_level; default info).")
    var logLevel: String?
    @Option(help: "Seconds between summary log lines, 0 = never (stats_interval; default 60).")
    var statsInterval: String?

    @Option(help: "Camera pixel format: auto, mjpeg or yuyv (format; default auto).")
    var format: String?
    @Option(help: "Camera capture buffers, 1-32 (buffers; default 4).")
    var buffers: String?
    @Option(help: "Seconds without a camera frame before it counts as lost (device_timeout; default 2).")
    var deviceTimeout: String?
    @Option(help: "Longest wait between reopen attempts, seconds (device_retry_max; default 5).")
    var deviceRetryMax: String?
    @Option(help: ArgumentHelp("A camera control set at open, repeatable (controls; e.g. --control brightness=128).", valueName: "name=value"))
    var control: [String] = []

    @Option(help: ArgumentHelp("The control socket's path, \"\" for none (control_socket; default /run/camd/control).", valueName: "path"))
    var controlSocket: String?
    @Option(help: ArgumentHelp("Group that may use the control socket (control_group; default none).", valueName: "group"))
    var controlGroup: String?

    @Flag(help: "Check the configuration, print it, and exit (0 if valid, 78 if not).")
    var checkConfig = false

    @Flag(help: "Read a password from standard input, print a crypt(3) hash of it for http_auth, and exit.")
    var hashPassword = false

    @Option(help: ArgumentHelp("Print the formats, sizes, frame rates and controls a camera offers, and exit.", valueName: "device"))
    var listFormats: String?

    /// Flags in the documented key order, so the first bad one reported is stable.
    var overrides: [(key: String, value: ConfigValue)] {
        var list: [(String, ConfigValue)] = []
        if !listen.isEmpty { list.append(("listen", .list(listen.map { .string($0) }))) }
        if !httpListen.isEmpty {
            list.append(("http_listen", .list(httpListen == ["off"] ? [] : httpListen.map { .string($0) })))
        }
        if let requestTimeout { list.append(("request_timeout", ConfigValue(flag: requestTimeout))) }
        if let source { list.append(("source", .string(source))) }
        let numeric: [(String, String?)] = [
            ("width", width), ("height", height), ("fps", fps), ("quality", quality), ("max_clients", maxClients),
            ("client_timeout", clientTimeout), ("send_lowat", sendLowat), ("send_buffer", sendBuffer),
            ("ring_size", ringSize),
        ]
        for (key, text) in numeric { if let text { list.append((key, ConfigValue(flag: text))) } }
        if let logLevel { list.append(("log_level", .string(logLevel))) }
        if let statsInterval { list.append(("stats_interval", ConfigValue(flag: statsInterval))) }
        if let format { list.append(("format", .string(format))) }
        for (key, text) in [("buffers", buffers), ("device_timeout", deviceTimeout), ("device_retry_max", deviceRetryMax)] {
            if let text { list.append((key, ConfigValue(flag: text))) }
        }
        if !control.isEmpty {
            var table: [String: ConfigValue] = [:]
            for item in control {
                let parts = item.split(separator: "=", maxSplits: 1)
                table[String(parts[0])] = parts.count == 2 ? ConfigValue(flag: String(parts[1])) : .string("")
            }
            list.append(("controls", .table(table)))
        }
        if let controlSocket { list.append(("control_socket", .string(controlSocket))) }
        if let controlGroup { list.append(("control_group", .string(controlGroup))) }
        return list
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
                print(try CameraListing.describe(path: listFormats), terminator: "")
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

    func fail(_ message: String, status: Int32) -> Never {
        let line = Array("camd: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        Glibc.exit(status)
    }
}

Camd.main()
