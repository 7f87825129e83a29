// Pacer: when the next frame is due, on a monotonic clock, without drift.

/// Tick k is due at `start + k / fps` seconds, computed from k each time (never by adding intervals),
/// so rounding never accumulates. If the capture thread falls more than one interval behind, the
/// missed ticks are skipped rather than produced in a burst.
public struct Pacer: Sendable {
    public let fps: Double
    public let start: UInt64
    /// The next tick to produce.
    public private(set) var tick: UInt64 = 0
    /// Ticks skipped because the source was too slow.
    public private(set) var skippedTicks: UInt64 = 0

    public init(fps: Double, start: UInt64) {
        precondition(fps > 0, "fps must be positive")
        self.fps = fps
        self.start = start
    }

    public func deadline(of tick: UInt64) -> UInt64 {
        start + UInt64((Double(tick) * 1_000_000_000 / fps).rounded())
    }

    /// The tick to produce next and when it is due, given the time now. Advances past it.
    public mutating func next(now: UInt64) -> (tick: UInt64, deadline: UInt64) {
        var due = deadline(of: tick)
        let interval = UInt64(1_000_000_000 / fps)
        if now > due + interval {
            // Behind by more than a frame: jump to the tick that is due now.
            let current = UInt64((Double(now - start) * fps / 1_000_000_000).rounded(.down))
            skippedTicks += current - tick
            tick = current
            due = deadline(of: tick)
        }
        let result = (tick, due)
        tick += 1
        return result
    }
}
