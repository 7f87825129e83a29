// ControlReplies: the control socket's replies, one JSON object per line — the same Codable types encode them
// in camd and decode them in camctl. Field names are the JSON keys (GET /state is StatusReply too).

/// `status` and GET /state.
public struct StatusReply: Codable, Equatable, Sendable {
    public var version = ""
    public var source = ""
    public var source_state = ""
    public var source_retries = 0
    public var source_error: String?
    public var source_format: String?
    /// An HDMI (DV-timings) source's detected timings, e.g. "1920x1080p60"; absent for other sources and without a signal.
    public var dv_timings: String?
    public var format = ""
    public var width = 0
    public var height = 0
    public var fps = 0.0
    public var target_fps = 0.0
    public var uptime_seconds = 0.0
    public var sequence: UInt64 = 0
    public var frame_age_ms: Double?
    public var placeholder = false
    /// Idle mode: nobody has watched for idle_after, so no frames are made (the latest one is getting old).
    public var idle = false
    /// How long the capture has been idle; absent when it is not.
    public var idle_seconds: Double?
    /// What an idle camera does: "keep" (streams, camd takes no frames) or "stop" (its stream is stopped).
    public var idle_camera = ""
    /// A camera that sends H.264, watched only over RTSP /stream for idle_after: its units go out undecoded and no
    /// pictures (JPEGs) are made; absent for other sources.
    public var pictures_paused: Bool?
    public var frames_captured: UInt64 = 0
    /// drop_same_frames: frames captured per second (`fps` is the rate published to viewers), pictures not published
    /// because they were identical to the last one, and the setting.
    public var capture_fps = 0.0
    public var frames_unchanged: UInt64 = 0
    public var drop_same_frames = 0
    public var frames_invalid: UInt64 = 0
    public var clients = 0
    public var viewers = 0
    public var clients_native = 0
    public var clients_http = 0
    public var clients_accepted: UInt64 = 0
    public var clients_refused: UInt64 = 0
    public var clients_timed_out: UInt64 = 0
    public var frames_sent: UInt64 = 0
    public var frames_dropped: UInt64 = 0
    public var bytes_sent: UInt64 = 0
    /// What a reload left to tell the operator; nil when the running configuration is the file's.
    public var config_status: String?
    /// Encoder worker threads (encode_workers resolved), raw pictures they dropped at their input because all were
    /// busy (latest wins) or failed to encode, and capture-to-publish latency over the last 512 frames (absent
    /// before the first).
    public var encode_workers = 0
    public var frames_encoder_dropped: UInt64 = 0
    public var frames_encode_failed: UInt64 = 0
    public var capture_latency_p50_ms: Double?
    public var capture_latency_p99_ms: Double?
    /// RTSP connections, and those playing a stream (H.264 /stream or /mjpeg); absent from a camd without RTSP.
    public var clients_rtsp: Int?
    public var viewers_rtsp: Int?
    /// The H.264 encoder RTSP /stream viewers share (absent from a camd built without H.264).
    public var h264: H264Status?

    public init() {}
}

/// /state's "h264": what the encoder (or a camera's own H.264, passed through) is doing.
public struct H264Status: Codable, Equatable, Sendable {
    /// Encoding now: at least one RTSP viewer wants H.264.
    public var running: Bool
    /// "libx264", "h264_v4l2m2m", "camera" (the camera's own H.264 passed through); absent before the first frame.
    public var encoder: String?
    public var hardware: Bool
    public var passthrough: Bool
    public var width: Int
    public var height: Int
    /// e.g. "Constrained Baseline 3.1".
    public var profile: String?
    public var frames_in: UInt64
    /// Frames encoded from the capture's raw picture (a raw camera: no JPEG decode), and after a JPEG decode.
    public var frames_from_raw: UInt64?
    public var frames_decoded: UInt64?
    /// A camera's own H.264: units held back after a loss, until the camera's next IDR (absent: none).
    public var camera_units_skipped: UInt64?
    /// Frames replaced before the encoder took them (it was busy: latest wins).
    public var frames_dropped: UInt64
    public var units_out: UInt64
    public var keyframes: UInt64
    /// Keyframes forced for joining or lagging viewers (at most one a second).
    public var forced_keyframes: UInt64
    public var failures: UInt64
    public var bytes_out: UInt64
    /// Measured over the last few seconds, bits per second.
    public var bitrate: Double
    /// Decode (if any) plus encode per frame, over recent frames.
    public var encode_p50_ms: Double
    public var encode_p99_ms: Double
    public var last_error: String?

    public init(running: Bool, encoder: String?, hardware: Bool, passthrough: Bool, width: Int, height: Int, profile: String?,
                frames_in: UInt64, frames_dropped: UInt64, units_out: UInt64, keyframes: UInt64, forced_keyframes: UInt64,
                failures: UInt64, bytes_out: UInt64, bitrate: Double, encode_p50_ms: Double, encode_p99_ms: Double, last_error: String?) {
        self.running = running
        self.encoder = encoder
        self.hardware = hardware
        self.passthrough = passthrough
        self.width = width
        self.height = height
        self.profile = profile
        self.frames_in = frames_in
        self.frames_dropped = frames_dropped
        self.units_out = units_out
        self.keyframes = keyframes
        self.forced_keyframes = forced_keyframes
        self.failures = failures
        self.bytes_out = bytes_out
        self.bitrate = bitrate
        self.encode_p50_ms = encode_p50_ms
        self.encode_p99_ms = encode_p99_ms
        self.last_error = last_error
    }
}

/// One viewer in the `clients` reply.
public struct ClientRow: Codable, Equatable, Sendable {
    public var id: UInt64
    public var peer: String
    public var `protocol`: String
    /// Receiving the stream (false: an HTTP connection between requests).
    public var streaming: Bool
    public var connected_seconds: Double
    public var frames_sent: UInt64
    public var frames_dropped: UInt64
    public var bytes_sent: UInt64
    /// The trusted proxy the viewer came through (`peer` is then the address it named); absent otherwise.
    public var via: String?

    public init(id: UInt64, peer: String, protocol: String, streaming: Bool, connected_seconds: Double,
                frames_sent: UInt64, frames_dropped: UInt64, bytes_sent: UInt64, via: String? = nil) {
        self.id = id
        self.peer = peer
        self.via = via
        self.protocol = `protocol`
        self.streaming = streaming
        self.connected_seconds = connected_seconds
        self.frames_sent = frames_sent
        self.frames_dropped = frames_dropped
        self.bytes_sent = bytes_sent
    }
}

public struct ClientsReply: Codable, Equatable, Sendable {
    public var clients: [ClientRow]
    public init(clients: [ClientRow]) { self.clients = clients }
}

/// `reload`: what changed now, and what waits for a restart.
public struct ChangeReply: Codable, Equatable, Sendable {
    public var ok = true
    public var changes: [String]
    public var restart_needed: [String]
    public init(changes: [String], restart_needed: [String]) {
        self.changes = changes
        self.restart_needed = restart_needed
    }
}

/// `set KEY VALUE`: the value now running and the one before.
public struct SetReply: Codable, Equatable, Sendable {
    public var ok = true
    public var key: String
    public var value: String
    public var previous: String
    public init(key: String, value: String, previous: String) {
        self.key = key
        self.value = value
        self.previous = previous
    }
}

public struct KickReply: Codable, Equatable, Sendable {
    public var ok = true
    public var kicked: UInt64
    public init(kicked: UInt64) { self.kicked = kicked }
}

public struct HelpReply: Codable, Equatable, Sendable {
    public var commands: [String: String]
    public init(commands: [String: String]) { self.commands = commands }
}

/// Any command can be answered with this instead: `{"error": "…"}`.
public struct ErrorReply: Codable, Equatable, Sendable {
    public var error: String
    public init(error: String) { self.error = error }
}
