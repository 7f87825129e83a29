// Placeholder: the "NO SIGNAL" picture viewers see while the camera is away, so they stay connected
// and can read why.
import JPEG

public struct Placeholder {
    private let encoder: JPEGEncoder

    public init(quality: Int) throws(JPEGError) {
        encoder = try JPEGEncoder(quality: quality)
    }

    /// A dark picture saying NO SIGNAL, with the device, the time (UTC) and the last error.
    public func render(width: Int, height: Int, device: String, timestampNanos: UInt64, reason: String?) throws(JPEGError) -> [UInt8] {
        var canvas = Canvas(width: width, height: height, fill: RGB(24, 24, 24))
        let big = max(1, min(width / (9 * 6 + 4), height / 24))
        let title = "NO SIGNAL"
        canvas.drawText(title, x: (width - Canvas.textWidth(title, scale: big)) / 2, y: height / 3 - 7 * big / 2, scale: big, .red)
        let small = max(1, min(height / 160, width / 260))
        var y = height / 3 + 5 * big
        let maxChars = max(8, (width - 8) / (6 * small))
        for line in [device, TestPatternSource.utcString(timestampNanos), reason ?? ""] where !line.isEmpty {
            let text = String(line.prefix(maxChars))
            canvas.drawText(text, x: max(4, (width - Canvas.textWidth(text, scale: small)) / 2), y: y, scale: small, .white)
            y += 10 * small
        }
        let result: Result<[UInt8], JPEGError> = canvas.pixels.withUnsafeBytes { raw in
            Result { () throws(JPEGError) in try encoder.encode(rgb: raw, width: width, height: height) }
        }
        return try result.get()
    }
}
