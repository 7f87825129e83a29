// StreamMeter: what camview measures — fps, throughput, capture-to-receive latency, sequence gaps.
import Streaming

struct StreamMeter {
    private(set) var frames = 0
    private(set) var bytes = 0
    private(set) var dropped: UInt64 = 0
    private(set) var placeholders = 0
    private var lastSequence: UInt64?
    private var size = ""
    private var windowFrames = 0
    private var windowBytes = 0
    private var windowLatencies: [Double] = []
    private var allLatencyMax = 0.0

    mutating func record(_ header: NativeFrameHeader, receivedNanos: UInt64) {
        if let last = lastSequence, header.sequence > last + 1 { dropped += header.sequence - last - 1 }
        lastSequence = header.sequence
        frames += 1
        windowFrames += 1
        let total = NativeFrameHeader.size + Int(header.length)
        bytes += total
        windowBytes += total
        if header.isPlaceholder { placeholders += 1 }
        // Negative when clocks disagree (a remote camera): reported as measured.
        let latency = (Double(receivedNanos) - Double(header.timestampNanos)) / 1e6
        windowLatencies.append(latency)
        allLatencyMax = max(allLatencyMax, latency)
        size = "\(header.width)x\(header.height)"
    }

    mutating func resetWindow() {
        windowFrames = 0
        windowBytes = 0
        windowLatencies.removeAll(keepingCapacity: true)
    }

    func report(seconds: Double) -> String {
        let sorted = windowLatencies.sorted()
        let p50 = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        let max = sorted.last ?? 0
        return "\(size) fps \(fixed(Double(windowFrames) / seconds, 1))  \(fixed(Double(windowBytes) / seconds / 1e6, 2)) MB/s  "
            + "latency p50 \(fixed(p50, 1)) ms max \(fixed(max, 1)) ms  dropped \(dropped)"
            + (placeholders > 0 ? "  no-signal \(placeholders)" : "")
    }

    func summary(seconds: Double) -> String {
        "total: \(frames) frames in \(fixed(seconds, 1)) s (\(fixed(Double(frames) / max(seconds, 0.001), 1)) fps), "
            + "\(bytes) bytes, dropped \(dropped), max latency \(fixed(allLatencyMax, 1)) ms"
    }
}

func fixed(_ value: Double, _ places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = (value * scale).rounded()
    let negative = scaled < 0
    let magnitude = Int(abs(scaled))
    let whole = magnitude / Int(scale)
    var text = String(whole)
    if places > 0 {
        let fraction = String(magnitude % Int(scale))
        text += "." + String(repeating: "0", count: places - fraction.count) + fraction
    }
    return negative ? "-" + text : text
}
