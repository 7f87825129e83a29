// RTSPConnectionInterface: what the driver and RTSPConnectionMachine exchange — the clock values and settings
// going in, the access decisions it asks for, and the actions, notes and bytes coming out.

/// Clock values of one input: monotonic for deadlines, wall clock for the Date header.
public struct RTSPTime: Sendable, Equatable {
    public var monotonic: UInt64
    public var wallNanos: UInt64
    public init(monotonic: UInt64, wallNanos: UInt64) {
        self.monotonic = monotonic
        self.wallNanos = wallNanos
    }
}

public struct RTSPSettings: Sendable {
    /// A request started must be complete within this long.
    public var requestTimeoutNanos: UInt64 = 5_000_000_000
    /// Seconds without a request or RTCP before a session ends (announced as `Session: id;timeout=60`).
    public var sessionTimeoutSeconds: Int = 60
    /// Output not taken by the peer within this long closes the connection.
    public var clientTimeoutNanos: UInt64 = 10_000_000_000
    /// A DESCRIBE/SETUP waits at most this long for a media description (the encoder starting).
    public var mediaTimeoutNanos: UInt64 = 5_000_000_000
    public var senderReportIntervalNanos: UInt64 = 5_000_000_000
    /// The daemon's shared RTP/RTCP UDP ports; nil: UDP is not offered (461).
    public var udpServerPorts: (rtp: UInt16, rtcp: UInt16)?
    /// Access control is on: every request but OPTIONS is authorized through `.authorize` first.
    public var accessControlled = false
    /// The 401's challenge header line(s), e.g. "WWW-Authenticate: Basic realm=\"camd\"\r\n".
    public var challenge = ""
    /// Paths served ("/stream", "/mjpeg"); a description arrives through `mediaAvailable`.
    public var paths: Set<String> = ["/stream", "/mjpeg"]
    public var cname = "camd"

    public init() {}
}

/// What the driver's access control decided (HTTPAccessControl's decisions, so the same checks apply).
public enum RTSPAccessDecision: Equatable, Sendable {
    case allowed
    case missing
    case denied(who: String)
    case throttled
}

/// Bytes to write: `chunks` as one sequence from `offset` in the first (for sendmsg/writev).
public struct RTSPOutgoing {
    public var chunks: [ArraySlice<UInt8>]
    public var offset: Int
    public var count: Int { chunks.reduce(0) { $0 + $1.count } - offset }
}

/// One RTP or RTCP datagram for a UDP session, as chunks (session header + shared payload).
public struct RTSPDatagram {
    public var chunks: [ArraySlice<UInt8>]
    /// The client's RTP port, or its RTCP port for a sender report.
    public var port: UInt16
}

public enum RTSPNote: Equatable, Sendable {
    /// A request answered: method, path (escaped) and status — the access log line.
    case answered(method: String, path: String, status: Int)
    /// A message refused before it could be routed; the connection closes after the answer.
    case rejected(status: Int, reason: String)
    case authenticationFailed(who: String, path: String)
    case sessionStarted(id: String, path: String, transport: String)
    case sessionEnded(id: String, reason: String)
}

public enum RTSPAction {
    /// Send these bytes; report with `wrote(_:now:)` or `writeWouldBlock()`.
    case write(RTSPOutgoing)
    /// Check the request's credentials (Authorization, ?token=) and answer with `accessDecided(_:now:)`.
    case authorize(RTSPRequest)
    /// A path's media description is needed (start its encoder); answer with `mediaAvailable`.
    case wantMedia(path: String)
    /// Deliver the path's access units to this connection with `accessUnit(_:now:)`.
    case startStream(path: String)
    case stopStream(path: String)
    /// A viewer waits for a keyframe: ask the encoder for an IDR (the driver rate-bounds it).
    case requestKeyframe(path: String)
    /// UDP session: send these datagrams to the peer's address.
    case sendDatagrams([RTSPDatagram])
    case note(RTSPNote)
    /// Close the socket; the machine is finished.
    case close(reason: String)
}
