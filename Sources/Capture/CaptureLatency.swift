// CaptureLatency: how long a frame takes from its capture timestamp (the driver's, for a camera) to its publish into
// the ring — conversion, waiting for an encoder, the encode, waiting for earlier frames. A fixed-bucket histogram
// for /metrics (camd_capture_latency_seconds) and the most recent frames' exact values for /state's p50 and p99.

public struct CaptureLatency: Sendable, Equatable {
    /// Upper bounds in seconds: a 720p YUYV frame takes a few milliseconds on a PC, 1080p60 on two small cores tens.
    public static let upperBounds: [Double] = [0.001, 0.002, 0.004, 0.006, 0.008, 0.012, 0.016, 0.025, 0.033, 0.05, 0.075,
                                               0.1, 0.25, 0.5, 1]
    /// How many recent frames the percentiles are taken over (about 8 s at 60 fps).
    public static let window = 512

    /// Frames per bucket (not cumulative); those over the last bound are only in `count`.
    public private(set) var counts = [UInt64](repeating: 0, count: CaptureLatency.upperBounds.count)
    public private(set) var sumSeconds: Double = 0
    public private(set) var count: UInt64 = 0
    /// The last `window` latencies in nanoseconds, oldest overwritten first.
    private var recent: [UInt64] = []
    private var next = 0

    public init() {}

    public mutating func record(nanos: UInt64) {
        let seconds = Double(nanos) / 1e9
        count += 1
        sumSeconds += seconds
        if let bucket = Self.upperBounds.firstIndex(where: { seconds <= $0 }) { counts[bucket] += 1 }
        if recent.count < Self.window {
            recent.append(nanos)
        } else {
            recent[next] = nanos
        }
        next = (next + 1) % Self.window
    }

    /// The `fraction` quantile (0.5, 0.99) of the recent frames' latencies in seconds (nearest rank), nil before any.
    public func recentQuantile(_ fraction: Double) -> Double? {
        guard !recent.isEmpty else { return nil }
        let sorted = recent.sorted()
        let rank = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[rank]) / 1e9
    }
}
