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

    public init() {}
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
