// Config: every setting camd has as a typed value, with its default; the checks, flags and help are the key
// table's (ConfigKeys.swift).
import CamdSystem

/// What the capture thread reads from.
public enum SourceSpec: Sendable, Equatable, CustomStringConvertible {
    case testPattern
    case file(path: String)
    /// A V4L2 camera: /dev/videoN or a stable /dev/v4l/by-id/… path.
    case v4l2(path: String)
    /// A network source: another camd (camd://), an HTTP MJPEG stream (http://) or a still image (http+snapshot://).
    case network(UpstreamURL)

    public var description: String {
        switch self {
        case .testPattern: return "testpattern"
        case .file(let path): return "file:\(path)"
        case .v4l2(let path): return "v4l2:\(path)"
        case .network(let url): return url.description
        }
    }
}

public enum LogLevel: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// What the camera does while nobody watches (idle mode, `idle_camera`).
public enum IdleCamera: String, Sendable, CaseIterable {
    /// Keep streaming, convert nothing: a new viewer's first frame is the camera's next one.
    case keep
    /// Stop the camera's stream (its LED goes out); reopened for the next viewer.
    case stop
}

/// The H.264 encoder for RTSP /stream (`h264_encoder`): "auto" opens the first that works of the hardware ones
/// (a Raspberry Pi's V4L2 memory-to-memory encoder, VAAPI) and then libx264.
public enum H264EncoderName: String, Sendable, CaseIterable {
    case auto, libx264
    case v4l2m2m = "h264_v4l2m2m"
    case vaapi = "h264_vaapi"
}

/// What camd runs with. Each property's initial value is the key's default (config/camd.toml states the same,
/// and `ConfigKey.defaultText` shows it in --help).
public struct Config: Sendable, Equatable {
    public var listen: [SocketAddress] = [try! SocketAddress(parsing: "0.0.0.0:9999")]
    public var httpListen: [SocketAddress] = [try! SocketAddress(parsing: "0.0.0.0:8080")]
    /// RTSP: H.264 at /stream, JPEG (RFC 2435) at /mjpeg; none = off.
    public var rtspListen: [SocketAddress] = [try! SocketAddress(parsing: "0.0.0.0:8554")]
    public var h264Encoder: H264EncoderName = .auto
    /// Bits per second the H.264 encoder aims at (a VBV cap, not an average it may exceed).
    public var h264Bitrate = 2_000_000
    /// Frames from one H.264 keyframe (IDR) to the next.
    public var h264Gop = 30
    public var requestTimeout: Double = 5
    /// "user:crypt-hash" for HTTP Basic, or "" (off).
    public var httpAuth = ""
    /// An access token for ?token= / Authorization: Bearer, or "" (off).
    public var httpToken = ""
    /// Origins whose pages may read HTTP answers (CORS), "*" for any; none by default.
    public var httpAllowOrigin: [String] = []
    /// Reverse proxies (addresses, CIDR blocks) whose X-Forwarded-For names the viewer; none by default.
    public var trustedProxies: [AddressRange] = []
    public var source: SourceSpec = .testPattern
    public var width = 640
    public var height = 480
    public var fps: Double = 30
    public var quality = 80
    /// Seconds without a viewer (or a snapshot) before capture idles; 0 = never.
    public var idleAfter: Double = 10
    public var idleCamera: IdleCamera = .keep
    public var maxClients = 512
    /// Viewers (and as many request connections) per peer address, 0 = no limit.
    public var maxClientsPerIP = 0
    public var clientTimeout: Double = 10
    public var sendLowWatermark = 65536
    public var sendBuffer = 0
    public var ringSize = 4
    public var logLevel: LogLevel = .info
    public var statsInterval: Double = 60
    /// `rotate` (degrees clockwise: 0, 90, 180, 270) and `flip`, applied to every source's picture.
    public var rotate = 0
    public var flip: PictureFlip = .none
    /// `drop_same_frames`: up to this many frames in a row identical to the last published one are not published (0 = off).
    public var dropSameFrames = 0
    public var format: CameraFormat = .auto
    public var buffers = 4
    /// Encoder worker threads for raw camera frames; 0 = "auto" (online CPUs, at most 4).
    public var encodeWorkers = 0
    public var deviceTimeout: Double = 2
    public var deviceRetryMax: Double = 5
    public var controls: [String: Int] = [:]
    /// The operator's Unix socket ("" = none).
    public var controlSocket = "/run/camd/control"
    /// Group whose members may use the control socket besides root and camd's user ("" = none).
    public var controlGroup = ""

    public init() {}

    /// Sets one key, checking the value exactly as the config file's documentation promises (the checks are
    /// the key table's, ConfigKeys.swift).
    public mutating func set(_ key: String, _ value: ConfigValue) throws(ConfigError) {
        // No camd setting is text with control characters in it: refusing them here keeps paths, names and
        // secrets from ever carrying an escape sequence into a log line or the status.
        if value.containsControlCharacters {
            // Not even this error shows a secret.
            let shown = ConfigKey.named(key)?.isSecret == true ? "" : value.description
            throw ConfigError(key: key, value: shown, problem: "must not contain control characters")
        }
        guard let entry = ConfigKey.named(key) else { throw ConfigError.unknownKey(key) }
        try entry.assign(&self, value)
    }

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
        "source=\(source) \(width)x\(height) fps=\(Format.fixed(fps, 1, bareWhole: true)) quality=\(quality) listen=\(listen.map(\.description).joined(separator: ",")) "
            + "http_listen=\(httpListen.isEmpty ? "off" : httpListen.map(\.description).joined(separator: ",")) "
            + "rtsp_listen=\(rtspListen.isEmpty ? "off" : rtspListen.map(\.description).joined(separator: ",")) "
            + "max_clients=\(maxClients) client_timeout=\(Format.fixed(clientTimeout, 1, bareWhole: true))s"
            + " http_access=\(accessSummary)"
    }
}
