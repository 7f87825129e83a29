// JPEG encoding and decoding through libturbojpeg (the tj* API of libjpeg-turbo 2.1).
internal import CTurboJPEG

public struct JPEGError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ what: String, handle: tjhandle?) {
        let detail = handle.map { String(cString: tjGetErrorStr2($0)) } ?? "no handle"
        description = "\(what): \(detail)"
    }
}

public enum ChromaSubsampling: Sendable {
    case s420, s422, s444

    var tj: Int32 {
        switch self {
        case .s420: return Int32(TJSAMP_420.rawValue)
        case .s422: return Int32(TJSAMP_422.rawValue)
        case .s444: return Int32(TJSAMP_444.rawValue)
        }
    }
}

/// A reusable compressor. Output goes into one scratch buffer (allocated once per size) and is copied
/// out at its exact length, so each frame's payload is as small as the JPEG.
public final class JPEGEncoder {
    let handle: tjhandle
    public var quality: Int
    public let subsampling: ChromaSubsampling
    private var scratch: UnsafeMutablePointer<UInt8>?
    private var scratchSize: UInt = 0

    public init(quality: Int, subsampling: ChromaSubsampling = .s420) throws(JPEGError) {
        guard let handle = tjInitCompress() else { throw JPEGError("tjInitCompress", handle: nil) }
        self.handle = handle
        self.quality = quality
        self.subsampling = subsampling
    }

    deinit {
        if let scratch { tjFree(scratch) }
        tjDestroy(handle)
    }

    /// The output buffer (grown to the worst case for the size, once) and its capacity.
    var scratchBuffer: UnsafeMutablePointer<UInt8>? { scratch }
    var scratchCapacity: UInt { scratchSize }

    func ensureScratch(width: Int, height: Int, subsampling: Int32? = nil) throws(JPEGError) {
        let needed = tjBufSize(Int32(width), Int32(height), subsampling ?? self.subsampling.tj)
        if needed > scratchSize {
            if let scratch { tjFree(scratch) }
            guard let buffer = tjAlloc(Int32(needed)) else { throw JPEGError("tjAlloc", handle: nil) }
            scratch = buffer
            scratchSize = needed
        }
    }

    /// Compresses packed 8-bit RGB (`width * height * 3` bytes).
    public func encode(rgb pixels: UnsafeRawBufferPointer, width: Int, height: Int) throws(JPEGError) -> [UInt8] {
        precondition(pixels.count >= width * height * 3, "RGB buffer too small")
        try ensureScratch(width: width, height: height)
        var out: UnsafeMutablePointer<UInt8>? = scratch
        var size: UInt = scratchSize
        let rc = tjCompress2(handle, pixels.bindMemory(to: UInt8.self).baseAddress, Int32(width), 0, Int32(height),
                             Int32(TJPF_RGB.rawValue), &out, &size, subsampling.tj, Int32(quality),
                             TJFLAG_NOREALLOC | TJFLAG_FASTDCT)
        guard rc == 0, let out else { throw JPEGError("tjCompress2", handle: handle) }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }
}

extension JPEGEncoder {
    /// Compresses packed YUYV 4:2:2 as 4:2:2 JPEG: one split into planes (PixelConversion), then libturbojpeg's
    /// planar YUV compressor (no colour conversion, no RGB round trip).
    public func encode(yuyv pixels: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerLine: Int) throws(JPEGError) -> [UInt8] {
        let image: PlanarImage
        do throws(PixelConversionError) {
            image = try PlanarImage(converting: pixels, fourcc: PlanarImage.yuyvFourCC, width: width, height: height,
                                    bytesPerLine: bytesPerLine)
        } catch {
            throw JPEGError(error)
        }
        return try encode(image)
    }
}

extension PlanarImage {
    /// 'YUYV' (V4L2_PIX_FMT_YUYV).
    static let yuyvFourCC: UInt32 = 0x5659_5559
}

/// What a JPEG says about itself without decoding the pixels.
public struct JPEGInfo: Equatable, Sendable {
    public let width: Int
    public let height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

/// A reusable decompressor (camview, tests).
public final class JPEGDecoder {
    private let handle: tjhandle

    public init() throws(JPEGError) {
        guard let handle = tjInitDecompress() else { throw JPEGError("tjInitDecompress", handle: nil) }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    public func info(_ jpeg: [UInt8]) throws(JPEGError) -> JPEGInfo {
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let rc = jpeg.withUnsafeBufferPointer { buf in
            tjDecompressHeader3(handle, buf.baseAddress, UInt(buf.count), &width, &height, &subsamp, &colorspace)
        }
        guard rc == 0 else { throw JPEGError("tjDecompressHeader3", handle: handle) }
        return JPEGInfo(width: Int(width), height: Int(height))
    }

    /// Decodes to packed RGB; throws on any corruption libturbojpeg reports, warnings included.
    public func decodeRGB(_ jpeg: [UInt8]) throws(JPEGError) -> (info: JPEGInfo, rgb: [UInt8]) {
        let info = try info(jpeg)
        var rgb = [UInt8](repeating: 0, count: info.width * info.height * 3)
        let rc = jpeg.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress, Int32(info.width), 0,
                              Int32(info.height), Int32(TJPF_RGB.rawValue), TJFLAG_STOPONWARNING)
            }
        }
        guard rc == 0 else { throw JPEGError("tjDecompress2", handle: handle) }
        return (info, rgb)
    }
}

/// Pixel layouts a decoder can write straight into a display's buffer (an SDL texture, a terminal canvas).
public enum DecodedPixelFormat: Sendable {
    case rgb, bgr, rgbx, bgrx, xbgr, xrgb

    var turbo: Int32 {
        switch self {
        case .rgb: Int32(TJPF_RGB.rawValue)
        case .bgr: Int32(TJPF_BGR.rawValue)
        case .rgbx: Int32(TJPF_RGBX.rawValue)
        case .bgrx: Int32(TJPF_BGRX.rawValue)
        case .xbgr: Int32(TJPF_XBGR.rawValue)
        case .xrgb: Int32(TJPF_XRGB.rawValue)
        }
    }
}

extension JPEGDecoder {
    /// Every size libturbojpeg can decode `info` to (it scales by n/8 while decoding, which is far cheaper than
    /// decoding full size and shrinking), from its scaling factors; just the full size if it lists none.
    private static func decodableSizes(_ info: JPEGInfo) -> [JPEGInfo] {
        var count: Int32 = 0
        guard let factors = tjGetScalingFactors(&count), count > 0 else { return [info] }
        return UnsafeBufferPointer(start: factors, count: Int(count)).map { factor in
            JPEGInfo(width: (info.width * Int(factor.num) + Int(factor.denom) - 1) / Int(factor.denom),
                     height: (info.height * Int(factor.num) + Int(factor.denom) - 1) / Int(factor.denom))
        }
    }

    /// The largest decodable size of `info` that fits in `width`×`height`; the smallest if none fits.
    public static func scaledSize(_ info: JPEGInfo, fitting width: Int, _ height: Int) -> JPEGInfo {
        let sizes = decodableSizes(info)
        let area = { (size: JPEGInfo) in size.width * size.height }
        return sizes.filter { $0.width <= width && $0.height <= height }.max { area($0) < area($1) }
            ?? sizes.min { area($0) < area($1) } ?? info
    }

    /// The smallest decodable size of `info`, not above full size, that still covers `width`×`height` (so a
    /// renderer that shrinks further averages real pixels); the full size when nothing smaller covers it.
    public static func scaledSize(_ info: JPEGInfo, covering width: Int, _ height: Int) -> JPEGInfo {
        let area = { (size: JPEGInfo) in size.width * size.height }
        return decodableSizes(info).filter { $0.width >= width && $0.height >= height && area($0) < area(info) }
            .min { area($0) < area($1) } ?? info
    }

    /// Decodes into caller-owned memory (`pitch` bytes per row) at `size`, which must come from `scaledSize`
    /// (or be the image's own size). Unlike `decodeRGB`, a warning (a truncated or slightly damaged frame) still
    /// paints what could be decoded: a viewer shows the picture, a test decides what is acceptable.
    public func decode(_ jpeg: UnsafeRawBufferPointer, into pixels: UnsafeMutableRawPointer, size: JPEGInfo, pitch: Int,
                       format: DecodedPixelFormat) throws(JPEGError) {
        let src = jpeg.bindMemory(to: UInt8.self)
        let rc = tjDecompress2(handle, src.baseAddress, UInt(src.count), pixels.assumingMemoryBound(to: UInt8.self),
                               Int32(size.width), Int32(pitch), Int32(size.height), format.turbo, 0)
        // rc -1 with a warning (tjGetErrorCode == TJERR_WARNING) still produced an image.
        if rc != 0, tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) {
            throw JPEGError("tjDecompress2", handle: handle)
        }
    }
}
