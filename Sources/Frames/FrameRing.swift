// FrameRing: the few most recent frames, written by the capture thread, read by the reactor.
import Locking

/// A small ring of shared frames. `publish` (capture thread) and `latest` (reactor thread) each take a
/// short lock: one reference assignment or read, never a copy of frame bytes, never a wait on clients.
/// Memory is bounded: the ring holds at most `capacity` frames; older ones live on only while a
/// subscriber still sends them.
public final class FrameRing: Sendable {
    private struct State {
        var slots: [Frame?]
        var head = 0          // index of the latest frame
        var published: UInt64 = 0
    }

    public let capacity: Int
    private let state: LockedValue<State>

    public init(capacity: Int = 4) {
        precondition(capacity >= 1, "a FrameRing needs at least one slot")
        self.capacity = capacity
        self.state = LockedValue(State(slots: Array(repeating: nil, count: capacity)))
    }

    /// Makes `frame` the latest. Sequences must increase: the ring is the single timeline of capture.
    public func publish(_ frame: Frame) {
        state.withLock { state in
            if let current = state.slots[state.head] {
                precondition(frame.sequence > current.sequence,
                             "frame sequence \(frame.sequence) published after \(current.sequence)")
            }
            state.head = (state.head + 1) % capacity
            // Dropping the reference this slot held may free an old frame: that happens here, under a
            // short lock, on the capture thread, which is the cheapest place for it.
            state.slots[state.head] = frame
            state.published += 1
        }
    }

    /// The newest frame, or nil before the first publish.
    public var latest: Frame? {
        state.withLock { $0.slots[$0.head] }
    }

    /// Frames published since start.
    public var publishedCount: UInt64 {
        state.withLock { $0.published }
    }

    /// The frames the ring holds, newest first (for tests and diagnostics).
    public var retained: [Frame] {
        state.withLock { state in
            (0..<capacity).compactMap { state.slots[(state.head - $0 + capacity) % capacity] }
        }
    }
}
