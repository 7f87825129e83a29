// LoadClient: one simulated viewer — its socket, its stream parser, and what it measured.
import CamdSystem
import Reactor
import Wire

enum WireProtocol: String, CaseIterable, Sendable {
    case native
    case multipart
    case multipartRaw = "multipart-raw"
    /// RTSP 1.0, RTP/AVP over TCP interleaved: a frame is an access unit (RTP marker bit).
    case rtsp
}

final class LoadClient {
    enum Phase {
        case connecting
        case streaming
        /// Closed before the end of the run; `outcome` says why.
        case closed
    }

    enum Outcome {
        case connectFailed(String)
        case protocolError(String)
        case disconnected(String)
    }

    let index: Int
    let isSlow: Bool
    /// A churn client (--churn): lives until `deadline`, then closes; never reconnects.
    let isChurn: Bool
    var deadline: UInt64 = 0
    /// Replaced when the client reconnects (--reconnect).
    private(set) var socket: Descriptor
    var registration: RegistrationID?
    var phase = Phase.connecting
    var outcome: Outcome?

    var native = NativeStreamParser(keepPayload: false)
    var multipart: MultipartStreamParser
    /// --protocol rtsp: the session, set when the connection is up.
    var rtsp: RTSPViewer?

    // Slow clients: a token bucket of bytes they may read, refilled by the timer.
    var tokens: Double = 0
    var readPaused = false

    // Measurements. "Window" counters cover only the measured interval.
    var framesTotal = 0
    var windowFrames = 0
    var windowBytes = 0
    var windowFrameBytes = 0
    var windowDropped: UInt64 = 0
    var lastSequence: UInt64?
    /// When the first byte of the frame in progress was read (CLOCK_REALTIME).
    var frameStartRealtime: UInt64 = 0

    /// True between frames: the next byte read is the first of a frame.
    func atFrameBoundary(_ wire: WireProtocol) -> Bool {
        switch wire {
        case .native: native.isAtFrameBoundary
        case .multipart, .multipartRaw: multipart.isBetweenParts
        case .rtsp: false
        }
    }

    /// Times this client connected again after being closed (--reconnect), and when it next may.
    var reconnects = 0
    var reconnectDue: UInt64?

    init(index: Int, isSlow: Bool, isChurn: Bool = false, socket: Descriptor, wire: WireProtocol) {
        self.index = index
        self.isSlow = isSlow
        self.isChurn = isChurn
        self.socket = socket
        multipart = MultipartStreamParser(framing: wire == .multipart ? .http : .raw)
    }

    /// Starts again on a new socket after being closed: fresh parsers and sequence, counters kept.
    func reconnected(on socket: Descriptor, wire: WireProtocol) {
        precondition(!isOpen, "a client reconnects only once closed")
        self.socket = socket
        native = NativeStreamParser(keepPayload: false)
        multipart = MultipartStreamParser(framing: wire == .multipart ? .http : .raw)
        rtsp = nil
        lastSequence = nil
        tokens = 0
        readPaused = false
        outcome = nil
        phase = .connecting
        reconnects += 1
        reconnectDue = nil
    }

    var isOpen: Bool {
        if case .closed = phase { return false }
        return true
    }

    /// Records a complete frame received at `realtime`; returns its latency in ms when measurable, and
    /// its transfer time (first byte to last byte read) in ms.
    func frameReceived(length: Int, sequence: UInt64?, timestampNanos: UInt64?, realtime: UInt64,
                       measuring: Bool) -> (latency: Double, transfer: Double)? {
        let transfer = Double(realtime &- frameStartRealtime) / 1e6
        // The next frame starts in this same read unless the read ended here (then the next read says so).
        frameStartRealtime = realtime
        framesTotal += 1
        if let sequence {
            if measuring, let last = lastSequence, sequence > last + 1 { windowDropped += sequence - last - 1 }
            lastSequence = sequence
        }
        guard measuring else { return nil }
        windowFrames += 1
        windowFrameBytes += length
        guard let timestampNanos, timestampNanos > 0 else { return nil }
        // Same host, same CLOCK_REALTIME: the difference is capture-to-receive latency.
        return ((Double(realtime) - Double(timestampNanos)) / 1e6, transfer)
    }
}
