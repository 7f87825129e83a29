// PixelConversion: every raw camera format, under each of the eight transforms and with padded rows, converts to a
// picture that encodes and decodes to the same four bars; short buffers and absurd strides are refused, never read.
import JPEG
import Testing

/// Four vertical bars — white, red, green, blue — drawn in one raw format by this test's own code (not CPixels').
struct BarFrame {
    static let rgb: [(Int, Int, Int)] = [(255, 255, 255), (255, 0, 0), (0, 255, 0), (0, 0, 255)]
    /// The same colours in BT.601 limited-range Y Cb Cr.
    static let yuv: [(Int, Int, Int)] = [(235, 128, 128), (81, 90, 240), (145, 54, 34), (41, 240, 110)]
    /// What a decoder shows for each bar: limited-range YUV read as JPEG's full range (white 235, black 16).
    static let decodedColour: [(Int, Int, Int)] = [(235, 235, 235), (235, 16, 16), (16, 235, 16), (16, 16, 235)]

    static let formats = ["YUYV", "UYVY", "YVYU", "NV12", "NV21", "NV16", "YU12", "YV12", "GREY", "RGB3", "BGR3", "RGBP",
                          "BA81", "GBRG", "GRBG", "RGGB"]

    static func fourcc(_ name: String) -> UInt32 {
        name.utf8.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    let bytes: [UInt8]
    let bytesPerLine: Int

    init(_ format: String, width w: Int, height h: Int, pad: Int) {
        let bpp = ["YUYV", "UYVY", "YVYU", "RGBP"].contains(format) ? 2 : ["RGB3", "BGR3"].contains(format) ? 3 : 1
        let bpl = w * bpp + pad
        let size: Int
        switch format {
        case "NV12", "NV21": size = bpl * h + bpl * (h / 2)
        case "NV16": size = bpl * h * 2
        case "YU12", "YV12": size = bpl * h + 2 * (bpl / 2) * (h / 2)
        default: size = bpl * h
        }
        var b = [UInt8](repeating: 0x5A, count: size)
        let bar = { (x: Int) in x * 4 / w }
        for y in 0..<h {
            for x in 0..<w {
                let c = Self.rgb[bar(x)], v = Self.yuv[bar(x)], row = y * bpl
                switch format {
                case "YUYV": b[row + 2 * x] = UInt8(v.0); b[row + 2 * x + 1] = UInt8(x % 2 == 1 ? v.2 : v.1)
                case "YVYU": b[row + 2 * x] = UInt8(v.0); b[row + 2 * x + 1] = UInt8(x % 2 == 1 ? v.1 : v.2)
                case "UYVY": b[row + 2 * x + 1] = UInt8(v.0); b[row + 2 * x] = UInt8(x % 2 == 1 ? v.2 : v.1)
                case "RGB3": b[row + 3 * x] = UInt8(c.0); b[row + 3 * x + 1] = UInt8(c.1); b[row + 3 * x + 2] = UInt8(c.2)
                case "BGR3": b[row + 3 * x] = UInt8(c.2); b[row + 3 * x + 1] = UInt8(c.1); b[row + 3 * x + 2] = UInt8(c.0)
                case "RGBP":
                    let p = (c.0 >> 3) << 11 | (c.1 >> 2) << 5 | c.2 >> 3
                    b[row + 2 * x] = UInt8(p & 0xFF); b[row + 2 * x + 1] = UInt8(p >> 8)
                case "BA81", "GBRG", "GRBG", "RGGB":
                    let order = Array(format == "BA81" ? "BGGR" : format)
                    let channel = order[(y % 2) * 2 + x % 2]
                    b[row + x] = UInt8(channel == "R" ? c.0 : channel == "G" ? c.1 : c.2)
                default: b[row + x] = UInt8(v.0)
                }
            }
        }
        let chroma = bpl * h
        switch format {
        case "NV12", "NV21", "NV16":
            let swap = format == "NV21"
            for y in 0..<(format == "NV16" ? h : h / 2) {
                for x in 0..<(w / 2) {
                    let v = Self.yuv[bar(2 * x)]
                    b[chroma + y * bpl + 2 * x] = UInt8(swap ? v.2 : v.1)
                    b[chroma + y * bpl + 2 * x + 1] = UInt8(swap ? v.1 : v.2)
                }
            }
        case "YU12", "YV12":
            let cbpl = bpl / 2, second = chroma + cbpl * (h / 2), swap = format == "YV12"
            for y in 0..<(h / 2) {
                for x in 0..<(w / 2) {
                    let v = Self.yuv[bar(2 * x)]
                    b[chroma + y * cbpl + x] = UInt8(swap ? v.2 : v.1)
                    b[second + y * cbpl + x] = UInt8(swap ? v.1 : v.2)
                }
            }
        default: break
        }
        bytes = b
        bytesPerLine = bpl
    }
}

/// Where source pixel (x, y) of a w×h picture lands under `transform` (Orientation.Transform's documented maps).
func transformed(_ transform: Orientation.Transform, x: Int, y: Int, w: Int, h: Int) -> (x: Int, y: Int) {
    switch transform {
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

struct PixelConversionTests {
    static let width = 128, height = 64

    func expectedLayout(_ format: String, _ transform: Orientation.Transform) -> PlanarImage.Layout {
        switch format {
        case "GREY": .gray
        case "YUYV", "UYVY", "YVYU", "NV16": transform.swapsAxes ? .s420 : .s422
        default: .s420
        }
    }

    @Test(arguments: BarFrame.formats)
    func everyFormatAndTransformDecodesToTheFourBars(format: String) throws {
        let encoder = try JPEGEncoder(quality: 90)
        let decoder = try JPEGDecoder()
        let (w, h) = (Self.width, Self.height)
        // Tight rows, odd padding, and a large one.
        for pad in [0, 7, 100] {
            let frame = BarFrame(format, width: w, height: h, pad: pad)
            for transform in Orientation.Transform.allCases {
                let image = try frame.bytes.withUnsafeBytes {
                    try PlanarImage(converting: $0, fourcc: BarFrame.fourcc(format), width: w, height: h,
                                    bytesPerLine: frame.bytesPerLine, transform: transform)
                }
                #expect(image.layout == expectedLayout(format, transform), "\(format) \(transform)")
                let decoded = try decoder.decodeRGB(try encoder.encode(image))
                let out = transform.swapsAxes ? (w: h, h: w) : (w: w, h: h)
                #expect(decoded.info == JPEGInfo(width: out.w, height: out.h), "\(format) \(transform)")
                for bar in 0..<4 {
                    // Bar centres, a quarter and three quarters down the source picture.
                    for sourceY in [h / 4, 3 * h / 4] {
                        let p = transformed(transform, x: (2 * bar + 1) * w / 8, y: sourceY, w: w, h: h)
                        let i = (p.y * out.w + p.x) * 3
                        let got = (Int(decoded.rgb[i]), Int(decoded.rgb[i + 1]), Int(decoded.rgb[i + 2]))
                        var want = BarFrame.decodedColour[bar]
                        if format == "GREY" { want = (BarFrame.yuv[bar].0, BarFrame.yuv[bar].0, BarFrame.yuv[bar].0) }
                        let close = abs(got.0 - want.0) <= 20 && abs(got.1 - want.1) <= 20 && abs(got.2 - want.2) <= 20
                        #expect(close, "\(format) pad \(pad) \(transform): bar \(bar) at \(p) is \(got), expected \(want)")
                    }
                }
            }
        }
    }

    @Test func oddSizedRGBTurnsToTheSwappedSize() throws {
        let encoder = try JPEGEncoder(quality: 90)
        for (w, h) in [(33, 17), (1, 1), (3, 2)] {
            let frame = BarFrame("RGB3", width: w, height: h, pad: 1)
            for transform in Orientation.Transform.allCases {
                let image = try frame.bytes.withUnsafeBytes {
                    try PlanarImage(converting: $0, fourcc: BarFrame.fourcc("RGB3"), width: w, height: h,
                                    bytesPerLine: frame.bytesPerLine, transform: transform)
                }
                let info = try JPEGDecoder().info(try encoder.encode(image))
                #expect(info == (transform.swapsAxes ? JPEGInfo(width: h, height: w) : JPEGInfo(width: w, height: h)))
            }
        }
    }

    @Test(arguments: BarFrame.formats)
    func aShortBufferIsRefusedAndAWholeOneAccepted(format: String) throws {
        let (w, h) = (64, 32)
        let frame = BarFrame(format, width: w, height: h, pad: 3)
        let fourcc = BarFrame.fourcc(format)
        let needed = try #require(PlanarImage.frameBytes(fourcc: fourcc, width: w, height: h, bytesPerLine: frame.bytesPerLine))
        #expect(needed <= frame.bytes.count && needed > frame.bytes.count - frame.bytesPerLine, "\(format): needs \(needed)")
        // Exactly `needed` bytes in their own allocation: under AddressSanitizer a read past them would be reported.
        let exact = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 1)
        defer { exact.deallocate() }
        frame.bytes.withUnsafeBytes { exact.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(needed))) }
        for transform in Orientation.Transform.allCases {
            _ = try PlanarImage(converting: UnsafeRawBufferPointer(exact), fourcc: fourcc, width: w, height: h,
                                bytesPerLine: frame.bytesPerLine, transform: transform)
            let short = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(exact).prefix(needed - 1))
            #expect(throws: PixelConversionError.self) {
                try PlanarImage(converting: short, fourcc: fourcc, width: w, height: h, bytesPerLine: frame.bytesPerLine,
                                transform: transform)
            }
        }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let error = #expect(throws: PixelConversionError.self) {
            try PlanarImage(converting: empty, fourcc: fourcc, width: w, height: h, bytesPerLine: frame.bytesPerLine)
        }
        #expect(error?.description == "short \(format) frame: 0 bytes, but 64x32 with \(frame.bytesPerLine) bytes per line needs \(needed)")
    }

    @Test func absurdSizesAndStridesAreRefusedWithTheReason() throws {
        let bytes = [UInt8](repeating: 0, count: 4096)
        let cases: [(format: String, w: Int, h: Int, bpl: Int)] = [
            ("YUYV", 64, 16, Int(UInt32.max)), ("NV12", 64, 16, 1 << 40), ("RGB3", 100_000, 2, 0), ("GREY", 0, 10, 0),
            ("NV12", 63, 16, 64), ("BA81", 64, 15, 64), ("YUYV", -2, 4, 8), ("GREY", 4, 4, -1),
        ]
        for c in cases {
            let error = bytes.withUnsafeBytes { raw in
                #expect(throws: PixelConversionError.self, "\(c)") {
                    try PlanarImage(converting: raw, fourcc: BarFrame.fourcc(c.format), width: c.w, height: c.h, bytesPerLine: c.bpl)
                }
            }
            #expect(error?.description.contains(c.format) == true, "\(String(describing: error))")
        }
        let unknown = bytes.withUnsafeBytes { raw in
            #expect(throws: PixelConversionError.self) {
                try PlanarImage(converting: raw, fourcc: BarFrame.fourcc("H264"), width: 8, height: 8, bytesPerLine: 8)
            }
        }
        #expect(unknown?.description == "camd has no converter for pixel format H264")
        // A stride below the format's minimum (0: the driver gave none) counts as the minimum.
        #expect(PlanarImage.frameBytes(fourcc: BarFrame.fourcc("YUYV"), width: 64, height: 16, bytesPerLine: 0) == 64 * 2 * 16)
    }

    @Test func randomSizesStridesAndLengthsNeverCrash() throws {
        var rng = SplitMix(seed: 14)
        let pool = [UInt8](repeating: 0x7F, count: 1 << 16).map { $0 ^ UInt8.random(in: 0...255, using: &rng) }
        var converted = 0, refused = 0
        for _ in 0..<3000 {
            let format = (BarFrame.formats + ["H264", "MJPG"]).randomElement(using: &rng)!
            let w = Int.random(in: 0...70, using: &rng), h = Int.random(in: 0...70, using: &rng)
            let bpl = [0, w, w * 3 + Int.random(in: 0...9, using: &rng), Int.random(in: 0...1 << 20, using: &rng)].randomElement(using: &rng)!
            let length = Int.random(in: 0...pool.count, using: &rng)
            let transform = Orientation.Transform.allCases.randomElement(using: &rng)!
            let ok = pool.withUnsafeBytes { raw in
                (try? PlanarImage(converting: UnsafeRawBufferPointer(rebasing: raw.prefix(length)), fourcc: BarFrame.fourcc(format),
                                  width: w, height: h, bytesPerLine: bpl, transform: transform)) != nil
            }
            if ok {
                converted += 1
                let needed = PlanarImage.frameBytes(fourcc: BarFrame.fourcc(format), width: w, height: h, bytesPerLine: bpl)
                #expect(needed != nil && needed! <= length)
            } else {
                refused += 1
            }
        }
        #expect(converted > 100 && refused > 100, "converted \(converted), refused \(refused)")
    }
}

/// A small seeded generator, so a failing random case repeats.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
