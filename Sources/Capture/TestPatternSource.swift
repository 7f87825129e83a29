// TestPatternSource: the built-in animated picture a newcomer sees — scrolling colour bars, a ticker
// and the frame number and capture time drawn in, so a viewer can tell the stream is live.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import JPEG

public final class TestPatternSource: FrameSource {
    /// The bars, left to right, before scrolling (SMPTE-like order).
    public static let bars: [RGB] = [.white, .yellow, .cyan, .green, .magenta, .red, .blue, .black]

    public let name = "testpattern"
    public let invalidFrames: UInt64 = 0
    public let width: Int
    public let height: Int
    private let fps: Double
    private let encoder: JPEGEncoder
    private var canvas: Canvas
    /// One bars row, twice as wide as the picture, so a scrolled row is a single copy.
    private let doubledBarsRow: [UInt8]
    private let barsHeight: Int
    private let textScale: Int

    public func setQuality(_ quality: Int) { encoder.quality = quality }

    public init(width: Int, height: Int, fps: Double, quality: Int) throws(JPEGError) {
        self.width = width
        self.height = height
        self.fps = fps
        encoder = try JPEGEncoder(quality: quality)
        canvas = Canvas(width: width, height: height, fill: .grey)
        barsHeight = height * 2 / 3
        textScale = max(1, min(height / 160, width / 220))
        var row = [UInt8](repeating: 0, count: width * 2 * 3)
        for x in 0..<(width * 2) {
            let bar = Self.bars[min(7, (x % width) * 8 / width)]
            row[x * 3] = bar.r; row[x * 3 + 1] = bar.g; row[x * 3 + 2] = bar.b
        }
        doubledBarsRow = row
    }

    /// How far the bars have scrolled at tick `index`: one full width every 8 seconds.
    public func scrollOffset(index: UInt64) -> Int {
        let pixelsPerSecond = Double(width) / 8
        return Int((Double(index) / fps * pixelsPerSecond).truncatingRemainder(dividingBy: Double(width)))
    }

    public func nextFrame(index: UInt64, timestampNanos: UInt64) throws(SourceError) -> SourceFrame? {
        render(index: index, timestampNanos: timestampNanos)
        do {
            let started = Clock.monotonicNanos()
            let jpeg = try canvas.pixels.withUnsafeBytes { (raw) throws(JPEGError) in
                try encoder.encode(rgb: raw, width: width, height: height)
            }
            return SourceFrame(payload: jpeg, width: width, height: height, encodeNanos: Clock.monotonicNanos() - started)
        } catch {
            throw SourceError("testpattern: \(error)")
        }
    }

    /// Draws tick `index` into the canvas (exposed for tests).
    public func render(index: UInt64, timestampNanos: UInt64) {
        let offset = scrollOffset(index: index)
        let scrolled = Array(doubledBarsRow[(offset * 3)..<((offset + width) * 3)])
        canvas.copyRows(scrolled, x: 0, y0: 0, y1: barsHeight)

        canvas.fillRect(x: 0, y: barsHeight, width: width, height: height - barsHeight, .grey)
        // A ticker that moves one step per frame and wraps once a second.
        let steps = max(1, Int(fps.rounded()))
        let tickerWidth = max(2, width / steps)
        let tickerX = Int(index % UInt64(steps)) * width / steps
        canvas.fillRect(x: tickerX, y: barsHeight, width: tickerWidth, height: max(2, height / 60), .white)

        let scale = textScale
        let lineHeight = 9 * scale
        var y = barsHeight + max(4, height / 60) + 2 * scale
        let lines = [
            "CAMD TEST PATTERN \(width)X\(height)",
            "FRAME \(index + 1)",
            Self.utcString(timestampNanos),
        ]
        for line in lines where y + 7 * scale <= height {
            canvas.drawText(line, x: 2 * scale + 4, y: y, scale: scale, .white)
            y += lineHeight
        }
    }

    /// "2026-11-25 12:34:56.789 UTC"
    public static func utcString(_ nanos: UInt64) -> String {
        var seconds = time_t(nanos / 1_000_000_000)
        let millis = Int(nanos / 1_000_000 % 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let ms = String(millis)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 3 - ms.count) + ms + " UTC"
    }
}
