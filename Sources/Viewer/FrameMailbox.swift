// FrameMailbox: the one-slot, latest-wins hand-over from the reader thread to the display. The reader never
// waits for the display: a frame not yet taken is replaced by a newer one and counted as skipped, so a slow
// display shows the newest frame rather than building a backlog (the daemon's rule, applied to the viewer).
import CamdSystem
import Locking

/// What a display reads each time it wakes.
public struct MailboxSnapshot: Sendable {
    /// The newest frame not yet taken, or nil.
    public var frame: ViewFrame?
    /// The newest frame received at all (to redraw after a resize, or to describe the stream).
    public var latest: ViewFrame?
    public var state: LinkState
    public var stats: ViewerStats
}

public final class FrameMailbox: Sendable {
    private struct Slot {
        var pending: ViewFrame?
        var latest: ViewFrame?
        var state = LinkState.connecting
        var stats = ViewerStats()
    }

    private let slot = LockedValue(Slot())
    /// Called (on the reader thread) after each publish or state change, for a display that waits on
    /// something other than `wakeFD` (SDL's event queue). Called under its lock: once cleared, never again.
    private let observer = LockedValue<(@Sendable () -> Void)?>(nil)
    /// Readable while something new is waiting: a display polls `wakeFD` next to its own inputs.
    private let wake: EventCounter

    /// The wake-up eventfd, owned by the mailbox and lent as a number only.
    public var wakeFD: Int32 { wake.fd }

    public init() throws(SystemError) {
        wake = try EventCounter()
    }

    /// The reader's side: a new frame replaces any frame the display has not taken yet.
    public func publish(_ frame: ViewFrame) {
        slot.withLock { slot in
            if slot.pending != nil { slot.stats.skipped += 1 }
            slot.stats.record(frame)
            slot.pending = frame
            slot.latest = frame
        }
        wake.signal()
        observer.withLock { $0?() }
    }

    public func update(_ state: LinkState) {
        let changed = slot.withLock { slot in
            guard slot.state != state else { return false }
            // A reconnect is counted once per stream lost, not once per attempt to get it back.
            if case .reconnecting = state, slot.state == .streaming { slot.stats.connectionLost() }
            slot.state = state
            return true
        }
        if changed {
            wake.signal()
            observer.withLock { $0?() }
        }
    }

    /// Sets (or, with nil, removes) the change observer.
    public func onChange(_ body: (@Sendable () -> Void)?) {
        observer.withLock { $0 = body }
    }

    /// The display's side: the newest untaken frame (if any), the connection state and the counters.
    public func take(now: UInt64 = Clock.monotonicNanos()) -> MailboxSnapshot {
        wake.drain()
        return slot.withLock { slot in
            let frame = slot.pending
            slot.pending = nil
            if frame != nil { slot.stats.shown += 1 }
            slot.stats.prune(now: now)
            return MailboxSnapshot(frame: frame, latest: slot.latest, state: slot.state, stats: slot.stats)
        }
    }

    /// Blocks until something new arrives or `timeout` seconds pass (headless modes; displays poll `wake`).
    public func wait(timeout: Double) {
        _ = try? Poll.wait(wakeFD, for: .readable, timeoutMilliseconds: Int32(max(0, timeout) * 1000))
    }
}
