// EncodeTimes: how long camd's own JPEG encodes take (YUYV camera frames, the test pattern) — a fixed-bucket
// histogram the capture thread fills and /metrics reports as camd_encode_seconds. MJPEG passed through is
// never encoded and never counted.

public struct EncodeTimes: Sendable, Equatable {
    /// Upper bounds in seconds: 0.5–8 MP encodes on small ARM boxes land between about 2 ms and 250 ms; a
    /// 640x480 test pattern on a PC under a millisecond.
    public static let upperBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

    /// Encodes per bucket (not cumulative); those over the last bound are only in `count`.
    public private(set) var counts = [UInt64](repeating: 0, count: EncodeTimes.upperBounds.count)
    public private(set) var sumSeconds: Double = 0
    public private(set) var count: UInt64 = 0

    public init() {}

    public mutating func record(nanos: UInt64) {
        let seconds = Double(nanos) / 1e9
        count += 1
        sumSeconds += seconds
        if let bucket = Self.upperBounds.firstIndex(where: { seconds <= $0 }) { counts[bucket] += 1 }
    }
}
