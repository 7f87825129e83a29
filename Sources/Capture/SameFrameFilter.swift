// SameFrameFilter: drop_same_frames — a picture byte-identical to the last published one is not published
// again, up to N in a row; the next identical one goes out as a keep-alive.
import CamdSystem
import Synchronization

/// What the filter has seen, for /state, /metrics and camctl status (part of CaptureSnapshot).
public struct SameFrameAccount: Sendable, Equatable {
    /// Pictures not published because they were identical to the last published one.
    public var unchanged: UInt64 = 0
    /// Pictures the source delivered per second (published or not), over the last 2 seconds: the capture rate,
    /// where CaptureSnapshot.measuredFPS is the published (sent) rate.
    public var captureFPS: Double = 0
}

/// The capture thread asks `admit` about each picture; the limit may be changed from any thread (reload,
/// `camctl set drop_same_frames`). A new picture is published and so is its first repeat; further repeats are
/// dropped, N in a row, then one is published (a keep-alive): a static scene goes out at fps/(N+1).
///
/// Comparison is cheap first: the length, then 64 bytes sampled across the JPEG (its entropy-coded data differs
/// almost everywhere when the picture changes), and only if all match a full memcmp. The previous picture is kept
/// by reference (the published Frame's own bytes), never copied.
public final class SameFrameFilter: Sendable {
    private struct State {
        var last: [UInt8]?
        /// Identical pictures dropped since the last one published.
        var run = 0
        /// The last published picture differed from the one before it (its first repeat is still to be sent).
        var lastWasChange = false
        var account = SameFrameAccount()
        var captured = RateMeter()
        /// Pictures held back since the last reset: subtracted from capture sequence numbers, so the published ones
        /// have no gap where an unchanged picture was.
        var heldBack: UInt64 = 0
    }

    private let limit = Atomic<Int>(0)
    private let state = Mutex(State())

    public init() {}

    /// At most this many identical pictures in a row are dropped (0: none; nothing is compared).
    public func setLimit(_ limit: Int) { self.limit.store(max(0, limit), ordering: .relaxed) }

    public var account: SameFrameAccount { state.withLock { $0.account } }

    /// Pictures held back since the last reset (see `State.heldBack`). The capture thread resets the filter only
    /// where its own sequence count and the ring's agree (start, idle after every pending frame is published).
    public var heldBack: UInt64 { state.withLock { $0.heldBack } }

    /// Forgets the last picture: the next one is published whatever it is (after idling, so a waiting /snapshot
    /// gets a fresh frame at once; after a capture restart).
    public func reset() {
        state.withLock {
            $0.last = nil
            $0.run = 0
            $0.lastWasChange = false
            $0.heldBack = 0
            $0.account.captureFPS = 0
            $0.captured = RateMeter()
        }
    }

    /// Whether `picture` is published. A NO SIGNAL placeholder always is (and is not remembered).
    public func admit(_ picture: SourceFrame, now: UInt64) -> Bool {
        let limit = self.limit.load(ordering: .relaxed)
        return state.withLock { s in
            if picture.isPlaceholder {
                s.last = nil
                s.run = 0
                s.account.captureFPS = 0
                return true
            }
            s.captured.record(now: now)
            s.account.captureFPS = s.captured.fps
            guard limit > 0 else {
                s.last = nil
                s.run = 0
                return true
            }
            if let last = s.last, Self.same(last, picture.payload) {
                // The first repeat of a new picture goes out: an HTTP viewer's browser shows a multipart part only
                // once the next part's boundary arrives, so without it a change would show up N frames late
                // (ustreamer's dual_final_frames, always on).
                if s.lastWasChange {
                    s.lastWasChange = false
                    return true
                }
                if s.run < limit {
                    s.run += 1
                    s.account.unchanged += 1
                    s.heldBack += 1
                    return false
                }
                // The keep-alive after N dropped.
                s.run = 0
                return true
            }
            s.last = picture.payload
            s.run = 0
            s.lastWasChange = true
            return true
        }
    }

    /// Byte-identical: length, then sampled bytes, then everything (Array's == is one pass, and no pass at all
    /// when both share one buffer).
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        // 64 samples spread over the whole JPEG, from its last byte back (a partial frame differs at its end).
        let step = max(1, a.count / 64)
        var i = a.count - 1
        while i >= 0 {
            if a[i] != b[i] { return false }
            i -= step
        }
        return a == b
    }
}

extension CaptureThread {
    /// drop_same_frames: from the next picture on.
    public func setDropSameFrames(_ limit: Int) { sameFrames.setLimit(limit) }
}
