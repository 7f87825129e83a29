// HalfBlockPicture: a picture as terminal cells. Each cell is "▀" with the upper pixel as its 24-bit foreground
// and the lower pixel as its background, so a cell holds two square-ish pixels. Pure: pixels in, bytes out.

/// Packed RGB pixels.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGB buffer size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Box-filter shrink (each output pixel the mean of the input pixels it covers); the sizes must not grow.
    public func shrunk(toWidth newWidth: Int, height newHeight: Int) -> RGBImage {
        precondition(newWidth >= 1 && newHeight >= 1 && newWidth <= width && newHeight <= height)
        if newWidth == width && newHeight == height { return self }
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        for oy in 0..<newHeight {
            let y0 = oy * height / newHeight, y1 = max(y0 + 1, (oy + 1) * height / newHeight)
            for ox in 0..<newWidth {
                let x0 = ox * width / newWidth, x1 = max(x0 + 1, (ox + 1) * width / newWidth)
                var r = 0, g = 0, b = 0
                for y in y0..<y1 {
                    var i = (y * width + x0) * 3
                    for _ in x0..<x1 {
                        r += Int(pixels[i]); g += Int(pixels[i + 1]); b += Int(pixels[i + 2])
                        i += 3
                    }
                }
                let n = (y1 - y0) * (x1 - x0)
                let o = (oy * newWidth + ox) * 3
                out[o] = UInt8(r / n); out[o + 1] = UInt8(g / n); out[o + 2] = UInt8(b / n)
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }
}

public enum HalfBlockPicture {
    /// The picture size in pixels (width = columns, height = 2 × rows) that fits `columns`×`rows` cells and keeps
    /// the aspect ratio of `width`×`height`, assuming a cell is twice as tall as wide (true of common fonts).
    public static func fit(width: Int, height: Int, columns: Int, rows: Int) -> (width: Int, height: Int) {
        guard width > 0, height > 0, columns > 0, rows > 0 else { return (0, 0) }
        let maxHeight = rows * 2
        if columns * height <= maxHeight * width {
            let h = max(2, (columns * height / width) & ~1)
            return (columns, min(h, maxHeight))
        }
        return (max(1, min(columns, maxHeight * width / height)), maxHeight)
    }

    /// The escape sequences that draw `image` (even height) with its top-left cell at (`row`, `column`), 1-based.
    /// Colours are only re-sent when they change along a line.
    public static func render(_ image: RGBImage, row: Int, column: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(image.width * image.height / 2 * 20)
        for cellRow in 0..<image.height / 2 {
            append(&out, "\u{1B}[\(row + cellRow);\(column)H")
            var lastTop: (UInt8, UInt8, UInt8)?
            var lastBottom: (UInt8, UInt8, UInt8)?
            for x in 0..<image.width {
                let top = image[x, cellRow * 2]
                let bottom = image[x, cellRow * 2 + 1]
                if lastTop.map({ $0 != top }) ?? true {
                    append(&out, "\u{1B}[38;2;\(top.r);\(top.g);\(top.b)m")
                    lastTop = top
                }
                if lastBottom.map({ $0 != bottom }) ?? true {
                    append(&out, "\u{1B}[48;2;\(bottom.r);\(bottom.g);\(bottom.b)m")
                    lastBottom = bottom
                }
                out += upperHalfBlock
            }
            out += reset
        }
        return out
    }

    static let upperHalfBlock = Array("\u{2580}".utf8)
    static let reset = Array("\u{1B}[0m".utf8)

    private static func append(_ out: inout [UInt8], _ text: String) { out += text.utf8 }
}
