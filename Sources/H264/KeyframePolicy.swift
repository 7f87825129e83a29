// KeyframePolicy: when a new viewer should make the encoder emit an IDR now instead of waiting for the next one
// the GOP brings — only when none is due within `dueWithinNanos`, and at most once per `minimumIntervalNanos`,
// so a burst of joining viewers costs one extra keyframe, not one each. A pure value: the caller feeds it what
// the encoder produced and the clock.

public struct KeyframePolicy: Sendable, Equatable {
    /// Frames from one IDR to the next.
    public let gop: Int
    public let fps: Double
    /// A viewer that joins when the next IDR is at most this far away waits for it (the issue: about 0.5 s).
    public let dueWithinNanos: UInt64
    /// At least this long between two forced IDRs.
    public let minimumIntervalNanos: UInt64
    /// Frames encoded since the last IDR (0: the last one was an IDR); nil before the first frame.
    public private(set) var framesSinceKeyframe: Int?
    /// When an IDR was last forced (the caller's clock, ns).
    public private(set) var lastForcedNanos: UInt64?

    public init(gop: Int, fps: Double, dueWithinNanos: UInt64 = 500_000_000, minimumIntervalNanos: UInt64 = 1_000_000_000) {
        self.gop = max(1, gop)
        self.fps = fps > 0 ? fps : 1
        self.dueWithinNanos = dueWithinNanos
        self.minimumIntervalNanos = minimumIntervalNanos
    }

    /// Records one encoded access unit.
    public mutating func encoded(isKeyframe: Bool) {
        framesSinceKeyframe = isKeyframe ? 0 : (framesSinceKeyframe ?? 0) + 1
    }

    /// How long until the GOP brings the next IDR, in ns; 0 when it is the next frame, nil before the first frame.
    public var nanosUntilScheduledKeyframe: UInt64? {
        guard let framesSinceKeyframe else { return nil }
        let framesLeft = max(0, gop - 1 - framesSinceKeyframe)
        return UInt64(Double(framesLeft) / fps * 1e9)
    }

    /// True when a viewer joining at `nowNanos` should force an IDR: one is not due soon enough, and none was
    /// forced within the minimum interval. Before the first frame the encoder starts with an IDR anyway.
    public func shouldForce(nowNanos: UInt64) -> Bool {
        guard let until = nanosUntilScheduledKeyframe, until > dueWithinNanos else { return false }
        if let lastForcedNanos, nowNanos >= lastForcedNanos, nowNanos - lastForcedNanos < minimumIntervalNanos { return false }
        return true
    }

    /// A viewer joined at `nowNanos`: true (and the forcing recorded) when the encoder should be asked for an IDR.
    public mutating func viewerJoined(nowNanos: UInt64) -> Bool {
        guard shouldForce(nowNanos: nowNanos) else { return false }
        lastForcedNanos = nowNanos
        return true
    }
}
