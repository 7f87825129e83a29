// PlanarJPEGDecoder: an MJPEG frame decoded once into its own planar YUV (tjDecompressToYUVPlanes) — no colour
// conversion, no RGB — for encoders that take YUV (H.264). The layout is the JPEG's own subsampling.
internal import CTurboJPEG

public final class PlanarJPEGDecoder {
    private let handle: tjhandle

    public init() throws(JPEGError) {
        guard let handle = tjInitDecompress() else { throw JPEGError("tjInitDecompress", handle: nil) }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    /// Decodes `jpeg` into a new PlanarImage of its own subsampling (gray, 4:2:0, 4:2:2 or 4:4:4). Throws for any
    /// other subsampling (4:4:0, 4:1:1), a size above 16384 on a side, and for errors; a warning (a slightly
    /// damaged frame) still yields the picture, as a camera's frames are used when they decode at all.
    public func decode(_ jpeg: UnsafeRawBufferPointer) throws(JPEGError) -> PlanarImage {
        let src = jpeg.bindMemory(to: UInt8.self)
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, src.baseAddress, UInt(src.count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw JPEGError("tjDecompressHeader3", handle: handle)
        }
        let layout: PlanarImage.Layout
        switch subsampling {
        case Int32(TJSAMP_GRAY.rawValue): layout = .gray
        case Int32(TJSAMP_420.rawValue): layout = .s420
        case Int32(TJSAMP_422.rawValue): layout = .s422
        case Int32(TJSAMP_444.rawValue): layout = .s444
        default: throw JPEGError(described: "JPEG chroma subsampling \(subsampling) has no planar layout here")
        }
        guard width > 0, height > 0, width <= 16384, height <= 16384 else {
            throw JPEGError(described: "JPEG size \(width)x\(height) is out of range")
        }
        let image = PlanarImage(width: Int(width), height: Int(height), layout: layout)
        for index in 0..<layout.planeCount {
            // The planes must be exactly as libturbojpeg sizes them (it rounds chroma up, as PlanarImage does).
            let planeWidth = tjPlaneWidth(Int32(index), width, subsampling), planeHeight = tjPlaneHeight(Int32(index), height, subsampling)
            let expected = index == 0 ? (image.width, image.height) : layout.chromaSize(width: image.width, height: image.height)
            guard Int(planeWidth) == expected.0, Int(planeHeight) == expected.1 else {
                throw JPEGError(described: "plane \(index) is \(planeWidth)x\(planeHeight), expected \(expected.0)x\(expected.1)")
            }
        }
        var planes: [UnsafeMutablePointer<UInt8>?] = (0..<3).map { $0 < layout.planeCount ? image.plane($0) : nil }
        var strides: [Int32] = (0..<3).map { $0 < layout.planeCount ? Int32(image.strides[$0]) : 0 }
        let rc = tjDecompressToYUVPlanes(handle, src.baseAddress, UInt(src.count), &planes, width, &strides, height, 0)
        if rc != 0, tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) {
            throw JPEGError("tjDecompressToYUVPlanes", handle: handle)
        }
        return image
    }
}

@available(*, unavailable)
extension PlanarJPEGDecoder: Sendable {}

extension JPEGError {
    init(described: String) { description = described }
}
