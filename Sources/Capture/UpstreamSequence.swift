// UpstreamSequence: the sequence number the capture thread publishes for a picture from a network source that
// brings its own (an upstream camd's): the upstream's, kept strictly increasing.

/// Published numbers only ever increase. A picture with an upstream number gets that number while it is above the
/// last one published (camd:// relays keep the camera box's numbers, so drops and X-Sequence are end to end). When
/// it is not — the upstream restarted and counts from 1 again, or the relay published NO SIGNAL pictures of its own
/// meanwhile — the picture gets the last + 1, and the difference is kept as an offset added to the upstream's later
/// numbers: gaps stay gaps, and the numbers differ from the upstream's by that offset until the relay restarts.
public struct UpstreamSequence: Sendable, Equatable {
    public private(set) var offset: UInt64 = 0

    public init() {}

    /// The number to publish after `last` for a picture carrying `upstream` (nil: a picture of camd's own).
    public mutating func next(for upstream: UInt64?, after last: UInt64) -> UInt64 {
        guard let upstream else { return last + 1 }
        let (shifted, overflow) = upstream.addingReportingOverflow(offset)
        if !overflow && shifted > last { return shifted }
        offset = last + 1 - min(upstream, last + 1)
        return last + 1
    }
}
