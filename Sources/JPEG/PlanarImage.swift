// PlanarImage: a picture as libturbojpeg's planar YUV compressor takes it (Y, then U and V, or Y alone),
// the one form every raw camera format is converted to before it is encoded.
internal import CTurboJPEG

/// Owns one allocation holding its planes. A converter writes it once, on one thread, and then hands it on
/// (to the encoder, possibly on another thread) and never touches it again: that hand-off is what makes the
/// `@unchecked Sendable` true.
public final class PlanarImage: @unchecked Sendable {
    public enum Layout: Sendable, Equatable {
        /// Luma only (GREY cameras): a greyscale JPEG.
        case gray
        /// Chroma halved both ways (NV12, I420, and what rotated 4:2:2 becomes).
        case s420
        /// Chroma halved horizontally (YUYV, UYVY, NV16).
        case s422
        /// Full-resolution chroma (what RGB sources convert to without losing colour detail).
        case s444

        var planeCount: Int { self == .gray ? 1 : 3 }

        var turbo: Int32 {
            switch self {
            case .gray: Int32(TJSAMP_GRAY.rawValue)
            case .s420: Int32(TJSAMP_420.rawValue)
            case .s422: Int32(TJSAMP_422.rawValue)
            case .s444: Int32(TJSAMP_444.rawValue)
            }
        }

        /// Chroma plane size of a `width`×`height` picture (rounded up, as libjpeg does).
        func chromaSize(width: Int, height: Int) -> (width: Int, height: Int) {
            switch self {
            case .gray: (0, 0)
            case .s420: ((width + 1) / 2, (height + 1) / 2)
            case .s422: ((width + 1) / 2, height)
            case .s444: (width, height)
            }
        }
    }

    public let width: Int
    public let height: Int
    public let layout: Layout
    /// Bytes per row of each plane (Y, U, V; only Y for `.gray`).
    public let strides: [Int]
    private let storage: UnsafeMutablePointer<UInt8>
    private let offsets: [Int]
    public let byteCount: Int

    /// A picture with tightly packed planes; its bytes are uninitialised until a converter writes them.
    public init(width: Int, height: Int, layout: Layout) {
        precondition(width > 0 && height > 0, "empty picture")
        self.width = width
        self.height = height
        self.layout = layout
        let chroma = layout.chromaSize(width: width, height: height)
        strides = layout == .gray ? [width] : [width, chroma.width, chroma.width]
        let lumaBytes = width * height, chromaBytes = chroma.width * chroma.height
        offsets = layout == .gray ? [0] : [0, lumaBytes, lumaBytes + chromaBytes]
        byteCount = lumaBytes + (layout == .gray ? 0 : 2 * chromaBytes)
        storage = .allocate(capacity: byteCount)
    }

    deinit { storage.deallocate() }

    /// Plane `index` (0 = Y, 1 = U/Cb, 2 = V/Cr).
    public func plane(_ index: Int) -> UnsafeMutablePointer<UInt8> { storage + offsets[index] }
}

extension JPEGEncoder {
    /// Compresses a planar picture at its own layout: no colour conversion, no RGB round trip.
    public func encode(_ image: PlanarImage) throws(JPEGError) -> [UInt8] {
        try ensureScratch(width: image.width, height: image.height, subsampling: image.layout.turbo)
        var out: UnsafeMutablePointer<UInt8>? = scratchBuffer
        var size: UInt = scratchCapacity
        var planes: [UnsafePointer<UInt8>?] = (0..<3).map { $0 < image.layout.planeCount ? UnsafePointer(image.plane($0)) : nil }
        var strides: [Int32] = (0..<3).map { $0 < image.layout.planeCount ? Int32(image.strides[$0]) : 0 }
        let rc = tjCompressFromYUVPlanes(handle, &planes, Int32(image.width), &strides, Int32(image.height), image.layout.turbo,
                                         &out, &size, Int32(quality), TJFLAG_NOREALLOC | TJFLAG_FASTDCT)
        guard rc == 0, let out else { throw JPEGError("tjCompressFromYUVPlanes", handle: handle) }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }
}
