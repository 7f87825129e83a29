// The lossless transform: each of the eight turns moves a picture's quadrants where Orientation says, at the
// size it says, and partial edge MCUs are trimmed (never left unturned at the edge).
import JPEG
import Testing

/// Quadrant colours: top left red, top right green, bottom left blue, bottom right white.
private let red = (255, 0, 0), green = (0, 255, 0), blue = (0, 0, 255), white = (255, 255, 255)

private func quadrants(width: Int, height: Int, subsampling: ChromaSubsampling = .s420) throws -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let c = y < height / 2 ? (x < width / 2 ? red : green) : (x < width / 2 ? blue : white)
            let i = (y * width + x) * 3
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (UInt8(c.0), UInt8(c.1), UInt8(c.2))
        }
    }
    let encoder = try JPEGEncoder(quality: 90, subsampling: subsampling)
    return try pixels.withUnsafeBytes { try encoder.encode(rgb: $0, width: width, height: height) }
}

/// Where source pixel (x, y) of a w×h picture lands (Orientation.Transform's documentation, written out again).
private func destination(_ t: Orientation.Transform, x: Int, y: Int, w: Int, h: Int) -> (Int, Int) {
    switch t {
    case .identity: (x, y)
    case .flipHorizontal: (w - 1 - x, y)
    case .flipVertical: (x, h - 1 - y)
    case .transpose: (y, x)
    case .transverse: (h - 1 - y, w - 1 - x)
    case .rotate90: (h - 1 - y, x)
    case .rotate180: (w - 1 - x, h - 1 - y)
    case .rotate270: (y, w - 1 - x)
    }
}

private func colour(_ rgb: [UInt8], width: Int, x: Int, y: Int) -> (Int, Int, Int) {
    let i = (y * width + x) * 3
    return (Int(rgb[i]), Int(rgb[i + 1]), Int(rgb[i + 2]))
}

private func near(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Bool {
    abs(a.0 - b.0) <= 40 && abs(a.1 - b.1) <= 40 && abs(a.2 - b.2) <= 40
}

struct JPEGTransformTests {
    @Test(arguments: Orientation.Transform.allCases)
    func eachTransformMovesTheQuadrantsWhereOrientationSays(_ transform: Orientation.Transform) throws {
        let w = 64, h = 32
        let source = try quadrants(width: w, height: h)
        let turned = try JPEGTransformer().transform(source, transform)
        let (ow, oh) = transform.swapsAxes ? (h, w) : (w, h)
        #expect(turned.width == ow && turned.height == oh)
        let decoded = try JPEGDecoder().decodeRGB(turned.jpeg)
        #expect(decoded.info == JPEGInfo(width: ow, height: oh), "the header and the published size agree")
        // The centre of each source quadrant, followed to where it went.
        for (sx, sy, expected, name) in [(w / 4, h / 4, red, "red"), (3 * w / 4, h / 4, green, "green"),
                                         (w / 4, 3 * h / 4, blue, "blue"), (3 * w / 4, 3 * h / 4, white, "white")] {
            let (dx, dy) = destination(transform, x: sx, y: sy, w: w, h: h)
            let got = colour(decoded.rgb, width: ow, x: dx, y: dy)
            #expect(near(got, expected), "\(transform): \(name) quadrant at (\(dx), \(dy)) is \(got)")
        }
    }

    @Test func theIdentityReturnsTheSameBytes() throws {
        let source = try quadrants(width: 48, height: 32)
        let same = try JPEGTransformer().transform(source, .identity)
        #expect(same.jpeg == source && same.width == 48 && same.height == 32)
    }

    /// 72×40 at 4:2:0 has a half MCU (8 pixels) on the right and at the bottom: a transform that would move one
    /// of those edges to the other side drops it, so every pixel published is a turned one.
    @Test(arguments: Orientation.Transform.allCases)
    func partialEdgeBlocksAreTrimmedWhereTheyWouldMove(_ transform: Orientation.Transform) throws {
        let w = 72, h = 40
        let source = try quadrants(width: w, height: h)
        let turned = try JPEGTransformer().transform(source, transform)
        let trimsWidth: Bool, trimsHeight: Bool
        switch transform {
        case .identity, .transpose: (trimsWidth, trimsHeight) = (false, false)
        case .flipHorizontal, .rotate270: (trimsWidth, trimsHeight) = (true, false)
        case .flipVertical, .rotate90: (trimsWidth, trimsHeight) = (false, true)
        case .transverse, .rotate180: (trimsWidth, trimsHeight) = (true, true)
        }
        let (tw, th) = (trimsWidth ? 64 : w, trimsHeight ? 32 : h)
        let (ow, oh) = transform.swapsAxes ? (th, tw) : (tw, th)
        #expect(turned.width == ow && turned.height == oh, "\(transform): \(turned.width)x\(turned.height)")
        let decoded = try JPEGDecoder().decodeRGB(turned.jpeg)
        #expect(decoded.info == JPEGInfo(width: ow, height: oh))
        // Pixels near the source's top-left corner (never trimmed) land where the transform of the trimmed picture puts them.
        let (dx, dy) = destination(transform, x: 2, y: 2, w: tw, h: th)
        #expect(near(colour(decoded.rgb, width: ow, x: dx, y: dy), red), "\(transform): red corner at (\(dx), \(dy))")
    }

    @Test func fullHDRotatedKeepsEveryRowIn422AndLosesEightIn420() throws {
        let transformer = try JPEGTransformer()
        let s422 = try transformer.transform(try quadrants(width: 1920, height: 1080, subsampling: .s422), .rotate90)
        #expect(s422.width == 1080 && s422.height == 1920)
        let s420 = try transformer.transform(try quadrants(width: 1920, height: 1080, subsampling: .s420), .rotate90)
        #expect(s420.width == 1072 && s420.height == 1920)
        // The same transformer goes back to a small picture (its buffer only grows).
        let small = try transformer.transform(try quadrants(width: 64, height: 32), .rotate180)
        #expect(small.width == 64 && small.height == 32)
    }

    @Test func aDamagedJPEGIsAnErrorThatSaysSo() throws {
        let transformer = try JPEGTransformer()
        #expect(throws: JPEGError.self) { try transformer.transform([0xFF, 0xD8, 0xFF, 0xD9], .rotate90) }
        do {
            _ = try transformer.transform(Array("not a jpeg".utf8), .flipHorizontal)
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("JPEG header"), "\(error)")
        }
    }
}
