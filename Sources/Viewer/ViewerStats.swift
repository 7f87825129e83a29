// ViewerStats: the numbers on camview's status line — receive rate, latency, frames the server dropped for us
// (sequence gaps), frames this viewer skipped because its display was slower, and reconnects.
import CamdSystem

public struct ViewerStats: Sendable {
    /// Frames received since start.
    public var received = 0
    public var bytes = 0
    /// Frames the sender never sent us (gaps in the sequence: camd skipped them because we were slow).
    public var dropped: UInt64 = 0
    /// Frames received but replaced before the display took them (the display was slower than the stream).
    public var skipped = 0
    /// Frames handed to the display.
    public var shown = 0
    public var placeholders = 0
    public var reconnects = 0
    public var lastLatencyMillis: Double?
    /// The last second's arrivals (monotonic time, size, latency), for the rates and the latency percentiles.
    private var recent: [(at: UInt64, bytes: Int, latency: Double?)] = []
    /// The previous frame's sequence on this connection (a restarted camd counts from 0 again).
    private var lastSequence: UInt64?

    public init() {}

    mutating func record(_ frame: ViewFrame) {
        let now = Clock.monotonicNanos()
        received += 1
        bytes += frame.jpeg.count
        if frame.isPlaceholder { placeholders += 1 }
        if let last = lastSequence, frame.sequence > last + 1 { dropped += frame.sequence - last - 1 }
        lastSequence = frame.sequence
        lastLatencyMillis = frame.latencyMillis
        recent.append((now, frame.jpeg.count, frame.latencyMillis))
        prune(now: now)
    }

    mutating func connectionLost() {
        reconnects += 1
        lastSequence = nil
        recent.removeAll()
    }

    mutating func prune(now: UInt64) {
        let cutoff = now > 1_000_000_000 ? now - 1_000_000_000 : 0
        if let keep = recent.firstIndex(where: { $0.at > cutoff }) {
            if keep > 0 { recent.removeFirst(keep) }
        } else {
            recent.removeAll(keepingCapacity: true)
        }
    }

    /// Frames received in the last second.
    public var fps: Double {
        guard recent.count >= 2, let first = recent.first, let last = recent.last, last.at > first.at else {
            return Double(recent.count)
        }
        return Double(recent.count - 1) * 1e9 / Double(last.at - first.at)
    }

    /// Bytes received in the last second.
    public var bytesPerSecond: Int { recent.reduce(0) { $0 + $1.bytes } }

    /// Median and maximum latency over the last second, in milliseconds.
    public var latencyWindow: (p50: Double, max: Double)? {
        let sorted = recent.compactMap(\.latency).sorted()
        guard let max = sorted.last else { return nil }
        return (sorted[sorted.count / 2], max)
    }

    /// "640x480  30.0 fps  12 ms  dropped 0  skipped 3", "NO SIGNAL …", "reconnecting… (attempt 2: refused)".
    public static func statusLine(state: LinkState, latest: ViewFrame?, stats: ViewerStats) -> String {
        switch state {
        case .connecting:
            return "connecting…"
        case .reconnecting(let attempt, let reason):
            return "reconnecting… (attempt \(attempt): \(reason))"
        case .ended(let failure):
            return failure.map { "stopped: \($0)" } ?? "stopped"
        case .streaming:
            break
        }
        guard let latest else { return "connected, waiting for the first frame…" }
        var line = "\(latest.width)x\(latest.height)  \(Format.fixed(stats.fps, 1)) fps"
        if let latency = stats.lastLatencyMillis { line += "  latency \(Format.fixed(latency, 0)) ms" }
        line += "  dropped \(stats.dropped)  skipped \(stats.skipped)"
        if latest.isPlaceholder { line = "NO SIGNAL (camd placeholder)  " + line }
        return line
    }
}
