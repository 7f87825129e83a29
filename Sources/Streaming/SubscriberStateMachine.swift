// SubscriberStateMachine: one viewer's sending state, without I/O: latest frame wins, skips are counted,
// and a frame in flight knows when it started and when it last moved (the connection machine's deadlines).
import Frames

/// A frame ready for one protocol's wire: the shared frame between that protocol's header and trailer
/// bytes for it. Built once per frame per protocol and shared by every subscriber of that protocol.
/// `sendsPayload` is false for HTTP HEAD responses.
public final class WireFrame {
    public let frame: Frame
    public let header: [UInt8]
    public let trailer: [UInt8]
    public let sendsPayload: Bool
    public var totalLength: Int { header.count + (sendsPayload ? frame.payload.count : 0) + trailer.count }

    public init(frame: Frame, header: [UInt8], trailer: [UInt8] = [], sendsPayload: Bool = true) {
        self.frame = frame
        self.header = header
        self.trailer = trailer
        self.sendsPayload = sendsPayload
    }
}

public struct SubscriberStateMachine {
    public enum State {
        case idle
        case sending(WireFrame, sent: Int)
    }

    public private(set) var state: State = .idle
    /// Sequence of the last frame started (0 before the first).
    public private(set) var lastSequence: UInt64 = 0
    public private(set) var framesSent: UInt64 = 0
    /// Frames published while this subscriber was busy, that it therefore never received.
    public private(set) var framesDropped: UInt64 = 0
    public private(set) var bytesSent: UInt64 = 0
    /// Monotonic time of the last write that made progress (or of the start of the current frame).
    public private(set) var lastProgress: UInt64
    /// Monotonic time the last frame started (or the machine's start, before the first).
    public private(set) var frameStartedAt: UInt64

    public init(now: UInt64) {
        lastProgress = now
        frameStartedAt = now
    }

    public var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    /// A frame is available. If idle and the frame is newer than the last one sent, start sending it
    /// (counting the frames in between as dropped) and return true.
    public mutating func frameAvailable(_ wire: WireFrame, now: UInt64) -> Bool {
        guard case .idle = state, wire.frame.sequence > lastSequence else { return false }
        if lastSequence != 0 {
            framesDropped += wire.frame.sequence - lastSequence - 1
        }
        lastSequence = wire.frame.sequence
        state = .sending(wire, sent: 0)
        lastProgress = now
        frameStartedAt = now
        return true
    }

    /// `count` more bytes of the current frame were accepted by the kernel. Returns true when the
    /// frame is complete and the subscriber is idle again.
    public mutating func wrote(_ count: Int, now: UInt64) -> Bool {
        guard case .sending(let wire, let sent) = state else {
            preconditionFailure("wrote \(count) bytes while idle")
        }
        precondition(count >= 0 && sent + count <= wire.totalLength, "wrote past the end of the frame")
        bytesSent += UInt64(count)
        if count > 0 { lastProgress = now }
        if sent + count == wire.totalLength {
            state = .idle
            framesSent += 1
            return true
        }
        state = .sending(wire, sent: sent + count)
        return false
    }

    /// True when a frame has been in flight with no progress for at least `timeout` nanoseconds.
    public func isStalled(now: UInt64, timeout: UInt64) -> Bool {
        guard case .sending = state else { return false }
        return now >= lastProgress && now - lastProgress >= timeout
    }

    /// True when the frame in flight started at least `timeout` nanoseconds ago: the viewer cannot take
    /// one whole frame within that time, however steadily it reads.
    public func isOverdue(now: UInt64, timeout: UInt64) -> Bool {
        guard case .sending = state else { return false }
        return now >= frameStartedAt && now - frameStartedAt >= timeout
    }
}
