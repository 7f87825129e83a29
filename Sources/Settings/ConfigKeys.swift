// ConfigKeys: the table of every key camd has, in the order config/camd.toml documents them. The config
// file's check, the command-line flags and their --help, camctl set, and reload's plan all read it.
import CamdSystem

extension ConfigKey {
    /// Every key, in the order config/camd.toml documents them (so the first bad key reported is stable).
    public static let all: [ConfigKey] = [
        ConfigKey("listen", \.listen, .addresses(allowsNone: false), .listeners, flag: .addresses(off: false), valueName: "host:port",
                  help: "Native protocol listen address, repeatable"),
        ConfigKey("http_listen", \.httpListen, .addresses(allowsNone: true), .listeners, flag: .addresses(off: true), valueName: "host:port",
                  help: "HTTP listen address, repeatable", note: .afterDefault("; \"off\" disables")),
        ConfigKey("rtsp_listen", \.rtspListen, .addresses(allowsNone: true), .listeners, flag: .addresses(off: true), valueName: "host:port",
                  help: "RTSP listen address (H.264 at /stream, JPEG at /mjpeg), repeatable", note: .afterDefault("; \"off\" disables")),
        // The encoder is reopened with new settings before its next frame; viewers stay (they wait for its first IDR).
        ConfigKey("h264_encoder", \.h264Encoder, .oneOf, .live, flag: .text,
                  help: "H.264 encoder: \"auto\" (hardware if it opens, else libx264), \"libx264\", \"h264_v4l2m2m\" or \"h264_vaapi\""),
        ConfigKey("h264_bitrate", \.h264Bitrate, .integer(50_000...100_000_000), .live, flag: .typed,
                  help: "H.264 bits per second (a VBV cap)"),
        ConfigKey("h264_gop", \.h264Gop, .integer(1...1000), .live, flag: .typed,
                  help: "Frames from one H.264 keyframe to the next"),
        ConfigKey("request_timeout", \.requestTimeout, .number(0.1...600), .live, flag: .typed,
                  help: "Seconds an HTTP client has to send its request head"),
        ConfigKey("http_auth", \.httpAuth, .basicCredentials, .live, flag: nil, secret: true,
                  help: "HTTP Basic as \"user:HASH\", HASH a crypt(3) hash"),
        ConfigKey("http_token", \.httpToken, .token, .live, flag: nil, secret: true,
                  help: "An access token for ?token= or Authorization: Bearer"),
        ConfigKey("http_allow_origin", \.httpAllowOrigin, .origins, .live, flag: .list, valueName: "origin",
                  help: "A web origin whose pages may read camd (CORS), repeatable; \"*\" any", note: .afterDefault(" = none")),
        ConfigKey("trusted_proxies", \.trustedProxies, .addressRanges, .live, flag: .list, valueName: "address[/bits]",
                  help: "A reverse proxy whose X-Forwarded-For names the viewer, repeatable", note: .afterDefault(" = none")),
        ConfigKey("source", \.source, .source, .captureRestart, flag: .text, valueName: "source",
                  help: "\"testpattern\", \"file:PATH\", \"v4l2:/dev/videoN\", \"camd://HOST:PORT\", \"http://…\" or \"http+snapshot://…\""),
        ConfigKey("width", \.width, .integer(16...7680), .captureRestart, flag: .typed,
                  help: "Picture width: the test pattern's, or asked of the camera"),
        ConfigKey("height", \.height, .integer(16...4320), .captureRestart, flag: .typed,
                  help: "Picture height: the test pattern's, or asked of the camera"),
        // A camera's rate is negotiated with the driver (S_PARM): it needs a reopen; a clock-paced source adjusts live.
        ConfigKey("fps", \.fps, .number(0.1...240), .captureAdjust, flag: .typed, settableLive: true, negotiatedByCamera: true,
                  help: "Frames per second, 0.1-240"),
        ConfigKey("quality", \.quality, .integer(1...100), .captureAdjust, flag: .typed, settableLive: true,
                  help: "JPEG quality 1-100 when camd encodes"),
        ConfigKey("idle_after", \.idleAfter, .number(0...86400), .live, flag: .typed, settableLive: true,
                  help: "Seconds with no viewer before capture idles", note: .afterDefault("; 0 = never")),
        ConfigKey("idle_camera", \.idleCamera, .oneOf, .live, flag: .text, settableLive: true,
                  help: "While idle: \"keep\" the camera streaming, or \"stop\" it"),
        ConfigKey("max_clients", \.maxClients, .integer(1...100_000), .live, flag: .typed, settableLive: true,
                  help: "Most viewers at once; more are refused"),
        ConfigKey("max_clients_per_ip", \.maxClientsPerIP, .integer(0...100_000), .live, flag: .typed, settableLive: true,
                  help: "Most viewers from one address", note: .afterDefault("; 0 = no limit")),
        ConfigKey("client_timeout", \.clientTimeout, .number(0.1...3600), .live, flag: .typed, settableLive: true,
                  help: "Seconds a viewer has to take one whole frame"),
        ConfigKey("send_lowat", \.sendLowWatermark, .integer(0...(64 << 20)), .live, flag: .typed,
                  help: "Unsent bytes kept per viewer socket, TCP_NOTSENT_LOWAT", note: .afterDefault("; 0 = off")),
        ConfigKey("send_buffer", \.sendBuffer, .sendBuffer, .live, flag: .typed,
                  help: "SO_SNDBUF per viewer socket in bytes", note: .afterDefault(" = kernel autotuning")),
        ConfigKey("ring_size", \.ringSize, .integer(2...64), .nextStart, flag: .typed,
                  help: "Frames kept in the ring, 2-64"),
        ConfigKey("log_level", \.logLevel, .oneOf, .nextStart, flag: .text,
                  help: "trace, debug, info, notice, warning, error or critical"),
        ConfigKey("stats_interval", \.statsInterval, .number(0...86400), .live, flag: .typed,
                  help: "Seconds between summary log lines, 0 = never"),
        // Turning the picture reopens the source (a camera's raw formats are turned while converted); viewers stay.
        ConfigKey("rotate", \.rotate, .rotation, .captureRestart, flag: .typed, settableLive: true,
                  help: "Turn the picture clockwise: 0, 90, 180 or 270 degrees"),
        ConfigKey("flip", \.flip, .oneOf, .captureRestart, flag: .text, settableLive: true,
                  help: "Mirror the picture: \"none\", \"horizontal\" or \"vertical\" (before rotate)"),
        ConfigKey("drop_same_frames", \.dropSameFrames, .integer(0...1000), .live, flag: .typed, settableLive: true,
                  help: "Skip up to N frames in a row identical to the last one sent", note: .afterDefault("; 0 = off")),
        ConfigKey("format", \.format, .oneOf, .captureRestart, flag: .text,
                  help: "Camera pixel format: auto, mjpeg, or a raw format (yuyv, nv12, rgb24, grey…)"),
        ConfigKey("buffers", \.buffers, .integer(1...32), .captureRestart, flag: .typed,
                  help: "Camera capture buffers, 1-32"),
        ConfigKey("encode_workers", \.encodeWorkers, .encodeWorkers, .captureRestart, flag: .typed,
                  help: "Threads that JPEG-encode raw camera frames: \"auto\" (online CPUs, at most 4) or 1-16"),
        ConfigKey("device_timeout", \.deviceTimeout, .number(0.1...60), .captureRestart, flag: .typed,
                  help: "Seconds without a camera frame before it counts as lost"),
        ConfigKey("device_retry_max", \.deviceRetryMax, .number(0.1...300), .captureRestart, flag: .typed,
                  help: "Longest wait between reopen attempts, seconds"),
        ConfigKey("controls", \.controls, .controls, .captureRestart, flag: .controls, valueName: "name=value", flagName: "control",
                  help: "A camera control set at open, repeatable", note: .insteadOfDefault("e.g. --control brightness=128")),
        ConfigKey("control_socket", \.controlSocket, .controlSocket, .nextStart, flag: .text, valueName: "path",
                  help: "The control socket's path, \"\" for none"),
        ConfigKey("control_group", \.controlGroup, .controlGroup, .nextStart, flag: .text, valueName: "group",
                  help: "Group that may use the control socket"),
    ]
}

extension ConfigCheck where Value == [SocketAddress] {
    /// "HOST:PORT" or a list of them; `allowsNone`: [] turns the protocol off.
    static func addresses(allowsNone: Bool) -> ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> [SocketAddress] in
            let texts: [ConfigValue]
            if case .list(let values) = value { texts = values } else { texts = [value] }
            guard !texts.isEmpty || allowsNone else { throw reject("must name at least one HOST:PORT") }
            var addresses: [SocketAddress] = []
            for text in texts {
                guard case .string(let s) = text else { throw reject("must be a \"HOST:PORT\" string or a list of them") }
                do throws(SocketAddress.ParseError) { addresses.append(try SocketAddress(parsing: s)) } catch {
                    guard case .invalid(let why) = error else { throw reject("invalid address") }
                    throw reject("\(why) (expected e.g. \"0.0.0.0:9999\" or \"[::]:9999\")")
                }
            }
            return addresses
        }, show: { $0.map(\.description).joined(separator: ",") })
    }
}

extension ConfigCheck where Value == String {
    /// http_auth: "user:crypt-hash" or "" (off).
    static var basicCredentials: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> String in
            guard case .string(let s) = value else { throw reject("must be a string \"user:password-hash\" or \"\" (off)") }
            if s.isEmpty { return "" }
            guard let colon = s.firstIndex(of: ":"), colon != s.startIndex else {
                throw reject("must be \"user:password-hash\" (make the hash with camd --hash-password)")
            }
            let hash = String(s[s.index(after: colon)...])
            guard hash.hasPrefix("$"), PasswordHash.isSupported(hash) else {
                throw reject("the part after \"user:\" must be a crypt(3) hash such as \"$6$…\" or \"$y$…\" "
                    + "(make one with camd --hash-password), not a plain password")
            }
            return s
        }, show: secret)
    }

    /// http_token: 16 or more URL-safe characters, or "" (off).
    static var token: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> String in
            guard case .string(let s) = value else { throw reject("must be a string of letters, digits, '-', '_', '.', '~' or \"\" (off)") }
            guard s.isEmpty || s.count >= 16 else { throw reject("must be at least 16 characters (e.g. openssl rand -hex 16)") }
            guard s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.~".contains($0)) }) else {
                throw reject("may contain only letters, digits, '-', '_', '.' and '~' (it travels in a URL)")
            }
            return s
        }, show: secret)
    }

    /// A secret is shown only as set or not.
    private static let secret: @Sendable (String) -> String = { $0.isEmpty ? "off" : "set" }

    /// control_socket: an absolute path short enough for a Unix socket, or "" for none.
    static var controlSocket: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> String in
            guard case .string(let path) = value else { throw reject("must be a path string, or \"\" for no control socket") }
            guard path.isEmpty || path.hasPrefix("/") else { throw reject("must be an absolute path (e.g. \"/run/camd/control\")") }
            guard path.utf8.count <= UnixSocket.maxPathBytes else { throw reject("is longer than \(UnixSocket.maxPathBytes) bytes (a Unix socket path limit)") }
            return path
        }, show: { $0 })
    }

    /// control_group: a group that exists, or "" for none.
    static var controlGroup: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> String in
            guard case .string(let name) = value else { throw reject("must be a group name string, or \"\" for none") }
            guard name.isEmpty || UnixSocket.groupID(named: name) != nil else { throw reject("no such group") }
            return name
        }, show: { $0 })
    }
}

extension ConfigCheck where Value == [String] {
    /// http_allow_origin: "*" or origins such as "https://nvr.example.net:8443" (scheme, host and port as a
    /// browser sends them in Origin: no path, no trailing "/"), one or a list; [] (the default) allows none.
    static var origins: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> [String] in
            let items: [ConfigValue]
            if case .list(let values) = value { items = values } else { items = [value] }
            var origins: [String] = []
            for item in items {
                guard case .string(let origin) = item else { throw reject("must be \"*\", an origin such as \"https://host:port\", or a list of them") }
                guard origin == "*" || isOrigin(origin) else {
                    throw reject("\(Format.quoted(origin)) is not an origin: scheme://host[:port], e.g. \"https://nvr.example.net\" (no path)")
                }
                origins.append(origin)
            }
            return origins
        }, show: { $0.isEmpty ? "none" : $0.joined(separator: ",") })
    }

    private static func isOrigin(_ text: String) -> Bool {
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "http" || parts[0] == "https", !parts[1].isEmpty else { return false }
        return parts[1].unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F && !"/?#\\\"'".unicodeScalars.contains($0) }
    }
}

extension ConfigCheck where Value == SourceSpec {
    static var source: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> SourceSpec in
            guard case .string(let s) = value else { throw reject("must be a string: \"testpattern\", \"file:PATH\" or \"v4l2:/dev/videoN\"") }
            if s == "testpattern" { return .testPattern }
            if s.hasPrefix("file:") {
                let path = String(s.dropFirst(5))
                guard !path.isEmpty else { throw reject("file: needs a path, e.g. \"file:/srv/clip.mjpeg\"") }
                guard Files.exists(path) else { throw reject("no such file or directory") }
                return .file(path: path)
            }
            if s.hasPrefix("v4l2:") || s.hasPrefix("/dev/") {
                let path = s.hasPrefix("v4l2:") ? String(s.dropFirst(5)) : s
                guard path.hasPrefix("/") else { throw reject("v4l2: needs a device path, e.g. \"v4l2:/dev/video0\"") }
                // A missing device is not an error: camd shows NO SIGNAL and waits for it to appear. Something
                // else at the path never becomes a camera: retrying it forever would hide the mistake.
                if let kind = Files.kind(path), kind != "a character device" {
                    throw reject("\(LogText.escaped(path)) is \(kind), not a video device (a camera is a character device such as /dev/video0)")
                }
                return .v4l2(path: path)
            }
            do throws(UpstreamURLError) {
                if let url = try UpstreamURL(configText: s) { return .network(url) }
            } catch {
                // The value as written may hold a password: the error shows it redacted.
                throw ConfigError(key: reject.key, value: "\"\(UpstreamURL.redacted(text: s))\"", problem: error.description)
            }
            throw ConfigError(key: reject.key, value: "\"\(UpstreamURL.redacted(text: s))\"", problem: "unknown source; allowed: \"testpattern\", \"file:PATH\", \"v4l2:/dev/videoN\", \"camd://HOST:PORT\", \"http://HOST/PATH\", \"http+snapshot://HOST/PATH\"")
        }, show: { $0.description })
    }
}

extension ConfigCheck where Value == Int {
    /// send_buffer: 0 (the kernel's autotuning) or 4096 bytes to 64 MiB.
    static var sendBuffer: ConfigCheck {
        let range = integer(0...(64 << 20))
        return ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> Int in
            let bytes = try range.parse(value, reject)
            guard bytes == 0 || bytes >= 4096 else { throw reject("must be 0 (kernel default) or at least 4096 bytes") }
            return bytes
        }, show: range.show)
    }
}

extension ConfigCheck where Value == Int {
    /// encode_workers: "auto" (stored as 0: one per online CPU, at most 4) or 1-16 threads.
    static var encodeWorkers: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> Int in
            switch value {
            case .string("auto"): return 0
            case .integer(let n) where (1...16).contains(n): return n
            default: throw reject("must be \"auto\" or an integer from 1 to 16")
            }
        }, show: { $0 == 0 ? "auto" : String($0) })
    }
}

extension ConfigCheck where Value == [String: Int] {
    /// controls: a table of lower-case control names and integers (true/false count as 1/0).
    static var controls: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> [String: Int] in
            guard case .table(let entries) = value else {
                throw reject("must be a table of control names and integers, e.g. { brightness = 128 }")
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
            return parsed
        }, show: { ConfigValue.table($0.mapValues { .integer($0) }).description })
    }
}

extension ConfigCheck where Value == [AddressRange] {
    /// trusted_proxies: addresses or CIDR blocks, IPv4 or IPv6 ("127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"), one
    /// or a list; [] (the default) trusts no one, so X-Forwarded-For is ignored.
    static var addressRanges: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> [AddressRange] in
            let items: [ConfigValue]
            if case .list(let values) = value { items = values } else { items = [value] }
            var ranges: [AddressRange] = []
            for item in items {
                guard case .string(let text) = item else {
                    throw reject("must be an address or CIDR block string (\"127.0.0.1\", \"10.0.0.0/8\", \"::1\") or a list of them")
                }
                do throws(AddressRange.ParseError) { ranges.append(try AddressRange(parsing: text)) } catch {
                    guard case .invalid(let why) = error else { throw reject("invalid address") }
                    throw reject("\(Format.quoted(LogText.escaped(text, limit: 64))) \(why)")
                }
            }
            return ranges
        }, show: { $0.isEmpty ? "none" : $0.map(\.description).joined(separator: ",") })
    }
}
