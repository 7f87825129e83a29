// Config: every setting camd has, its default, its allowed values, and the one place that checks them.
import CamdSystem

/// What the capture thread reads from.
public enum SourceSpec: Sendable, Equatable, CustomStringConvertible {
    case testPattern
    case file(path: String)
    /// A V4L2 camera: /dev/videoN or a stable /dev/v4l/by-id/… path.
    case v4l2(path: String)

    public var description: String {
        switch self {
        case .testPattern: return "testpattern"
        case .file(let path): return "file:\(path)"
        case .v4l2(let path): return "v4l2:\(path)"
        }
    }
}

public enum LogLevel: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// What the operator asks of a camera with `format = …` (Service maps it to Capture's preference).
public enum CameraFormat: String, Sendable, CaseIterable {
    case auto, mjpeg, yuyv
}

/// A config value as it arrived, from the TOML file or from a command-line flag.
public enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    case integer(Int)
    case float(Double)
    case string(String)
    case bool(Bool)
    case list([ConfigValue])
    case table([String: ConfigValue])
    /// Something TOML can express that no camd key takes (a date).
    case other(String)

    /// A flag's text, typed the way TOML would read it.
    public init(flag text: String) {
        if let int = Int(text) { self = .integer(int) }
        else if let double = Double(text), double.isFinite { self = .float(double) }
        else if text == "true" || text == "false" { self = .bool(text == "true") }
        else { self = .string(text) }
    }

    public var description: String {
        switch self {
        case .integer(let v): return String(v)
        case .float(let v): return String(v)
        // As TOML writes it: a value from a file or a command never puts a control character into a message.
        case .string(let v): return Format.quoted(v)
        case .bool(let v): return String(v)
        case .list(let values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .table(let values): return "{ " + values.sorted { $0.key < $1.key }.map { "\(Self.key($0.key)) = \($0.value)" }.joined(separator: ", ") + " }"
        case .other(let v): return v
        }
    }

    var containsControlCharacters: Bool {
        switch self {
        case .string(let v): return v.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
        case .list(let values): return values.contains(where: \.containsControlCharacters)
        case .table(let entries): return entries.values.contains(where: \.containsControlCharacters)
        default: return false
        }
    }

    /// A key as TOML would write it: bare when it can be, else quoted.
    static func key(_ name: String) -> String {
        let bare = !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        return bare ? name : Format.quoted(name)
    }

}

/// A rejected setting: the key, the value given, and what is allowed. Exit status 78 (EX_CONFIG).
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public static let exitStatus: Int32 = 78
    public let key: String
    public let value: String
    public let problem: String

    public init(key: String, value: String, problem: String) {
        self.key = key
        self.value = value
        self.problem = problem
    }

    public var description: String {
        value.isEmpty ? "\(key): \(problem)" : "\(key) = \(value): \(problem)"
    }
}

public struct Config: Sendable, Equatable {
    public var listen: [SocketAddress] = [try! SocketAddress(parsing: "0.0.0.0:9999")]
    public var httpListen: [SocketAddress] = [try! SocketAddress(parsing: "0.0.0.0:8080")]
    public var requestTimeout: Double = 5
    /// "user:crypt-hash" for HTTP Basic, or "" (off).
    public var httpAuth = ""
    /// An access token for ?token= / Authorization: Bearer, or "" (off).
    public var httpToken = ""
    public var source: SourceSpec = .testPattern
    public var width = 640
    public var height = 480
    public var fps: Double = 30
    public var quality = 80
    public var maxClients = 512
    public var clientTimeout: Double = 10
    public var sendLowWatermark = 65536
    public var sendBuffer = 0
    public var ringSize = 4
    public var logLevel: LogLevel = .info
    public var statsInterval: Double = 60
    public var format: CameraFormat = .auto
    public var buffers = 4
    public var deviceTimeout: Double = 2
    public var deviceRetryMax: Double = 5
    public var controls: [String: Int] = [:]
    /// The operator's Unix socket ("" = none).
    public var controlSocket = "/run/camd/control"
    /// Group whose members may use the control socket besides root and camd's user ("" = none).
    public var controlGroup = ""

    public init() {}

    /// Every key, in the order config/camd.toml documents them.
    public static let keys = ["listen", "http_listen", "request_timeout", "http_auth", "http_token", "source", "width", "height", "fps", "quality", "max_clients",
                              "client_timeout", "send_lowat", "send_buffer", "ring_size", "log_level", "stats_interval",
                              "format", "buffers", "device_timeout", "device_retry_max", "controls", "control_socket", "control_group"]

    /// Sets one key, checking the value exactly as the config file's documentation promises.
    public mutating func set(_ key: String, _ value: ConfigValue) throws(ConfigError) {
        func fail(_ problem: String) -> ConfigError { ConfigError(key: key, value: value.description, problem: problem) }
        // No camd setting is text with control characters in it: refusing them here keeps paths, names and
        // secrets from ever carrying an escape sequence into a log line or the status.
        if value.containsControlCharacters { throw fail("must not contain control characters") }
        switch key {
        case "listen", "http_listen":
            let texts: [ConfigValue]
            if case .list(let values) = value { texts = values } else { texts = [value] }
            guard !texts.isEmpty || key == "http_listen" else { throw fail("must name at least one HOST:PORT") }
            var addresses: [SocketAddress] = []
            for text in texts {
                guard case .string(let s) = text else { throw fail("must be a \"HOST:PORT\" string or a list of them") }
                do { addresses.append(try SocketAddress(parsing: s)) } catch {
                    guard case .invalid(let why) = error else { throw fail("invalid address") }
                    throw fail("\(why) (expected e.g. \"0.0.0.0:9999\" or \"[::]:9999\")")
                }
            }
            if key == "listen" { listen = addresses } else { httpListen = addresses }
        case "request_timeout": requestTimeout = try number(value, in: 0.1...600, fail)
        case "http_auth":
            // Secrets never appear in an error message or a log line.
            func reject(_ problem: String) -> ConfigError { ConfigError(key: key, value: "", problem: problem) }
            guard case .string(let s) = value else { throw reject("must be a string \"user:password-hash\" or \"\" (off)") }
            if s.isEmpty { httpAuth = ""; break }
            guard let colon = s.firstIndex(of: ":"), colon != s.startIndex else {
                throw reject("must be \"user:password-hash\" (make the hash with camd --hash-password)")
            }
            let hash = String(s[s.index(after: colon)...])
            guard hash.hasPrefix("$"), PasswordHash.isSupported(hash) else {
                throw reject("the part after \"user:\" must be a crypt(3) hash such as \"$6$…\" or \"$y$…\" "
                    + "(make one with camd --hash-password), not a plain password")
            }
            httpAuth = s
        case "http_token":
            func reject(_ problem: String) -> ConfigError { ConfigError(key: key, value: "", problem: problem) }
            guard case .string(let s) = value else { throw reject("must be a string of letters, digits, '-', '_', '.', '~' or \"\" (off)") }
            guard s.isEmpty || s.count >= 16 else { throw reject("must be at least 16 characters (e.g. openssl rand -hex 16)") }
            guard s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.~".contains($0)) }) else {
                throw reject("may contain only letters, digits, '-', '_', '.' and '~' (it travels in a URL)")
            }
            httpToken = s
        case "source":
            guard case .string(let s) = value else { throw fail("must be a string: \"testpattern\", \"file:PATH\" or \"v4l2:/dev/videoN\"") }
            if s == "testpattern" {
                source = .testPattern
            } else if s.hasPrefix("file:") {
                let path = String(s.dropFirst(5))
                guard !path.isEmpty else { throw fail("file: needs a path, e.g. \"file:/srv/clip.mjpeg\"") }
                guard Files.exists(path) else { throw fail("no such file or directory") }
                source = .file(path: path)
            } else if s.hasPrefix("v4l2:") || s.hasPrefix("/dev/") {
                let path = s.hasPrefix("v4l2:") ? String(s.dropFirst(5)) : s
                guard path.hasPrefix("/") else { throw fail("v4l2: needs a device path, e.g. \"v4l2:/dev/video0\"") }
                // A missing device is not an error: camd shows NO SIGNAL and waits for it to appear.
                source = .v4l2(path: path)
            } else {
                throw fail("unknown source; allowed: \"testpattern\", \"file:PATH\", \"v4l2:/dev/videoN\"")
            }
        case "width": width = try integer(value, in: 16...7680, fail)
        case "height": height = try integer(value, in: 16...4320, fail)
        case "fps": fps = try number(value, in: 0.1...240, fail)
        case "quality": quality = try integer(value, in: 1...100, fail)
        case "max_clients": maxClients = try integer(value, in: 1...100_000, fail)
        case "client_timeout": clientTimeout = try number(value, in: 0.1...3600, fail)
        case "send_lowat": sendLowWatermark = try integer(value, in: 0...(64 << 20), fail)
        case "send_buffer":
            let bytes = try integer(value, in: 0...(64 << 20), fail)
            guard bytes == 0 || bytes >= 4096 else { throw fail("must be 0 (kernel default) or at least 4096 bytes") }
            sendBuffer = bytes
        case "ring_size": ringSize = try integer(value, in: 2...64, fail)
        case "log_level":
            guard case .string(let s) = value, let level = LogLevel(rawValue: s) else {
                throw fail("must be one of " + LogLevel.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
            }
            logLevel = level
        case "stats_interval":
            let seconds = try number(value, in: 0...86400, fail)
            statsInterval = seconds
        case "format":
            guard case .string(let s) = value, let preference = CameraFormat(rawValue: s) else {
                throw fail("must be one of " + CameraFormat.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
            }
            format = preference
        case "buffers": buffers = try integer(value, in: 1...32, fail)
        case "device_timeout": deviceTimeout = try number(value, in: 0.1...60, fail)
        case "device_retry_max": deviceRetryMax = try number(value, in: 0.1...300, fail)
        case "controls":
            guard case .table(let entries) = value else {
                throw fail("must be a table of control names and integers, e.g. { brightness = 128 }")
            }
            var parsed: [String: Int] = [:]
            for (name, entry) in entries {
                // camd names controls as lower-case words joined by "_" (VIDIOC_QUERYCTRL's names, normalised).
                guard !name.isEmpty, name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) else {
                    throw ConfigError(key: "controls.\(ConfigValue.key(name))", value: entry.description,
                                      problem: "a control name is lower-case letters, digits and _ (see camd --list-formats DEVICE)")
                }
                switch entry {
                case .integer(let v): parsed[name] = v
                case .bool(let b): parsed[name] = b ? 1 : 0
                default: throw ConfigError(key: "controls.\(name)", value: entry.description, problem: "must be an integer")
                }
            }
            controls = parsed
        case "control_socket":
            guard case .string(let path) = value else { throw fail("must be a path string, or \"\" for no control socket") }
            guard path.isEmpty || path.hasPrefix("/") else { throw fail("must be an absolute path (e.g. \"/run/camd/control\")") }
            guard path.utf8.count <= UnixSocket.maxPathBytes else { throw fail("is longer than \(UnixSocket.maxPathBytes) bytes (a Unix socket path limit)") }
            controlSocket = path
        case "control_group":
            guard case .string(let name) = value else { throw fail("must be a group name string, or \"\" for none") }
            guard name.isEmpty || UnixSocket.groupID(named: name) != nil else { throw fail("no such group") }
            controlGroup = name
        default:
            throw ConfigError(key: key, value: "", problem: "unknown key (known keys: \(Self.keys.joined(separator: ", ")))")
        }
    }

    private func integer(_ value: ConfigValue, in range: ClosedRange<Int>, _ fail: (String) -> ConfigError) throws(ConfigError) -> Int {
        guard case .integer(let v) = value, range.contains(v) else {
            throw fail("must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    private func number(_ value: ConfigValue, in range: ClosedRange<Double>, _ fail: (String) -> ConfigError) throws(ConfigError) -> Double {
        let v: Double
        switch value {
        case .integer(let i): v = Double(i)
        case .float(let d): v = d
        default: throw fail("must be a number from \(trim(range.lowerBound)) to \(trim(range.upperBound))")
        }
        guard range.contains(v) else { throw fail("must be a number from \(trim(range.lowerBound)) to \(trim(range.upperBound))") }
        return v
    }

    private func trim(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }

    /// http_auth split into the user name and the crypt(3) hash, or nil (off).
    public var httpBasic: (user: String, hash: String)? {
        guard let colon = httpAuth.firstIndex(of: ":") else { return nil }
        return (String(httpAuth[..<colon]), String(httpAuth[httpAuth.index(after: colon)...]))
    }

    public var isCamera: Bool {
        if case .v4l2 = source { return true }
        return false
    }

    /// Checks that hold between keys.
    public func validate() throws(ConfigError) {
        if !controls.isEmpty && !isCamera {
            throw ConfigError(key: "controls", value: ConfigValue.table(controls.mapValues { .integer($0) }).description,
                              problem: "camera controls need a v4l2 source")
        }
        if case .testPattern = source, width % 2 != 0 || height % 2 != 0 {
            throw ConfigError(key: "width", value: "\(width)x\(height)", problem: "the test pattern needs an even width and height")
        }
    }

    /// "open", "basic", "token" or "basic+token" (never the secrets).
    public var accessSummary: String {
        let parts = [httpAuth.isEmpty ? nil : "basic", httpToken.isEmpty ? nil : "token"].compactMap { $0 }
        return parts.isEmpty ? "open" : parts.joined(separator: "+")
    }

    /// A one-line summary for the start-up log.
    public var summary: String {
        "source=\(source) \(width)x\(height) fps=\(fps.formatted1) quality=\(quality) listen=\(listen.map(\.description).joined(separator: ",")) "
            + "http_listen=\(httpListen.isEmpty ? "off" : httpListen.map(\.description).joined(separator: ",")) "
            + "max_clients=\(maxClients) client_timeout=\(clientTimeout.formatted1)s"
            + " http_access=\(accessSummary)"
    }
}

extension Double {
    /// "30", "12.5": no trailing ".0" for whole numbers.
    public var formatted1: String {
        if self == rounded() { return String(Int(self)) }
        let tenths = (self * 10).rounded() / 10
        return String(tenths)
    }
}
