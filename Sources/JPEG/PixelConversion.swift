// PixelConversion: a camera's raw frame (YUYV, NV12, RGB24, Bayer…) → PlanarImage in one pass through CPixels,
// turned (rotate/flip) while it is written. The one place Swift hands raw camera bytes to C.
internal import CPixels

/// Why a raw frame could not be converted; the message names the format, the size and what was missing.
public struct PixelConversionError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension PlanarImage {
    /// The layout `fourcc` frames convert to under `transform`, or nil if camd has no converter for the format.
    public static func layout(converting fourcc: UInt32, transform: Orientation.Transform = .identity) -> Layout? {
        switch cpx_layout(fourcc, transform.cpixels) {
        case Int32(CPX_LAYOUT_GRAY): .gray
        case Int32(CPX_LAYOUT_420): .s420
        case Int32(CPX_LAYOUT_422): .s422
        case Int32(CPX_LAYOUT_444): .s444
        default: nil
        }
    }

    /// The bytes one frame needs (rows `bytesPerLine` apart; a smaller stride counts as the format's minimum,
    /// chroma planes of single-buffer planar formats at `bytesPerLine × height`), or nil when the format or
    /// size is unusable (unknown format, a side of 0 or above 16384, an odd side where the chroma pairs pixels).
    public static func frameBytes(fourcc: UInt32, width: Int, height: Int, bytesPerLine: Int) -> Int? {
        guard width > 0, height > 0, width <= 16384, height <= 16384, bytesPerLine >= 0 else { return nil }
        let bytes = cpx_frame_bytes(fourcc, Int32(width), Int32(height), bytesPerLine)
        return bytes == 0 ? nil : bytes
    }

    /// Converts one raw frame: YUV formats are copied or deinterleaved as they are (no colour conversion), RGB and
    /// Bayer become BT.601 limited-range 4:2:0, GREY a greyscale picture. `transform` turns the picture while it is
    /// written (the output is height×width when it swaps the axes). Reads only `pixels`; a buffer shorter than the
    /// size and stride need throws, and nothing is read.
    public convenience init(converting pixels: UnsafeRawBufferPointer, fourcc: UInt32, width: Int, height: Int,
                            bytesPerLine: Int, transform: Orientation.Transform = .identity) throws(PixelConversionError) {
        let name = Self.fourccName(fourcc)
        guard let layout = Self.layout(converting: fourcc, transform: transform) else {
            throw PixelConversionError("camd has no converter for pixel format \(name)")
        }
        guard let needed = Self.frameBytes(fourcc: fourcc, width: width, height: height, bytesPerLine: bytesPerLine) else {
            throw PixelConversionError("\(width)x\(height) \(name) (\(bytesPerLine) bytes per line) is not a size camd can convert "
                                       + "(each side 1-16384, even where the format pairs pixels)")
        }
        guard pixels.count >= needed else {
            throw PixelConversionError("short \(name) frame: \(pixels.count) bytes, but \(width)x\(height) with \(bytesPerLine) bytes per line needs \(needed)")
        }
        let out = transform.swapsAxes ? (width: height, height: width) : (width: width, height: height)
        self.init(width: out.width, height: out.height, layout: layout)
        let chroma = layout == .gray ? nil : (plane(1), plane(2))
        let rc = cpx_convert(fourcc, pixels.bindMemory(to: UInt8.self).baseAddress, pixels.count, Int32(width), Int32(height),
                             bytesPerLine, transform.cpixels, plane(0), chroma?.0, chroma?.1, Int32(strides[0]),
                             Int32(layout == .gray ? 0 : strides[1]))
        guard rc == CPX_OK else { throw PixelConversionError("converting a \(width)x\(height) \(name) frame failed (CPixels error \(rc))") }
    }

    /// "NV12" from its fourcc (non-printable bytes as '?': the fourcc may come from a driver).
    static func fourccName(_ fourcc: UInt32) -> String {
        String(decoding: (0..<4).map { (byte: UInt32) -> UInt8 in
            let c = UInt8(truncatingIfNeeded: fourcc >> (byte * 8))
            return (0x20...0x7E).contains(c) ? c : UInt8(ascii: "?")
        }, as: UTF8.self)
    }
}

extension Orientation.Transform {
    /// CPixels' number for the transform (its header lists the same eight in the same order).
    var cpixels: Int32 {
        switch self {
        case .identity: 0
        case .flipHorizontal: 1
        case .flipVertical: 2
        case .transpose: 3
        case .transverse: 4
        case .rotate90: 5
        case .rotate180: 6
        case .rotate270: 7
        }
    }
}

extension JPEGError {
    init(_ conversion: PixelConversionError) { description = conversion.description }
}
