// JPEGTransform: a JPEG rotated or mirrored losslessly (libturbojpeg's tjTransform: the DCT blocks are moved,
// nothing is decoded to pixels or quantised again), for `rotate` and `flip` on MJPEG cameras and other JPEG sources.
internal import CTurboJPEG

/// A transformed JPEG and the size it says it is.
public struct TransformedJPEG: Sendable {
    public let jpeg: [UInt8]
    public let width: Int
    public let height: Int
}

/// A reusable lossless transformer (one tjhandle, one output buffer grown to the largest frame seen). One thread
/// at a time: the capture thread owns it.
///
/// Partial MCUs: a JPEG is made of MCU blocks (8×8 pixels for 4:4:4 and grey, 16×8 for 4:2:2, 16×16 for 4:2:0). A
/// picture whose width or height is not a whole number of blocks has partial blocks on its right or bottom edge,
/// and those cannot be moved to the other side losslessly. They are trimmed (TJXOPT_TRIM): the transformed picture
/// loses the partial edge — at most 15 pixel columns or rows — instead of being refused (TJXOPT_PERFECT) or
/// decoded and encoded again. E.g. 1920×1080 4:2:0 rotated 90° is 1072×1920; the same camera in 4:2:2 (most UVC
/// cameras) and 1280×720 or 640×480 in any subsampling lose nothing. The size actually published is read back
/// from the transformed JPEG.
public final class JPEGTransformer {
    private let handle: tjhandle
    private var scratch: UnsafeMutablePointer<UInt8>?
    private var scratchSize: UInt = 0

    public init() throws(JPEGError) {
        _ = Self.keepFreedCoefficientMemory
        guard let handle = tjInitTransform() else { throw JPEGError("tjInitTransform", handle: nil) }
        self.handle = handle
    }

    /// libjpeg allocates the whole picture's DCT coefficients (about 3.7 MB at 1280×720 4:2:2, twice for a turn)
    /// for each frame and frees them after. With glibc's default thresholds that memory goes back to the kernel
    /// every frame and the next one page-faults it in again: half the transform's cost (measured: camd turning
    /// 720p30 took 33 % of a core instead of 23 %; docs/BENCHMARKS.md). Large blocks are kept in the heap instead
    /// (up to 32 MB free before it is trimmed), once per process, only when a transform is in use: about 6 MB more
    /// RSS at 720p.
    private static let keepFreedCoefficientMemory: Void = {
        // 32 MB: the largest mmap threshold glibc allows on 64-bit; enough for 1080p's coefficients twice over.
        ctj_keep_freed_blocks(32 << 20)
    }()

    deinit {
        if let scratch { tjFree(scratch) }
        tjDestroy(handle)
    }

    /// `jpeg` turned by `transform`; the identity returns the same bytes without touching them. Throws on a JPEG
    /// libturbojpeg cannot read (its message names the problem).
    public func transform(_ jpeg: [UInt8], _ transform: Orientation.Transform) throws(JPEGError) -> TransformedJPEG {
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let headerRC = jpeg.withUnsafeBufferPointer { buf in
            tjDecompressHeader3(handle, buf.baseAddress, UInt(buf.count), &width, &height, &subsamp, &colorspace)
        }
        guard headerRC == 0 else { throw JPEGError("JPEG header", handle: handle) }
        guard transform != .identity else { return TransformedJPEG(jpeg: jpeg, width: Int(width), height: Int(height)) }
        // tjTransform with TJFLAG_NOREALLOC assumes the buffer holds tjBufSize of the output size (at most the
        // input's, axes swapped); both orders are asked because tjBufSize pads each axis to its own MCU size.
        let needed = max(tjBufSize(width, height, subsamp), tjBufSize(height, width, subsamp))
        guard needed != UInt(bitPattern: -1) else { throw JPEGError("tjBufSize \(width)x\(height)", handle: nil) }
        if needed > scratchSize {
            if let scratch { tjFree(scratch) }
            scratch = nil
            scratchSize = 0
            guard let buffer = tjAlloc(Int32(clamping: needed)) else { throw JPEGError("tjAlloc \(needed) bytes", handle: nil) }
            scratch = buffer
            scratchSize = needed
        }
        var spec = tjtransform()
        spec.op = transform.turbo
        // TRIM: partial edge MCUs are dropped (see the type's comment). COPYNONE: a camera's EXIF orientation tag
        // (or any APPn) is not carried over, so a browser does not turn the picture a second time.
        spec.options = TJXOPT_TRIM | TJXOPT_COPYNONE
        var out: UnsafeMutablePointer<UInt8>? = scratch
        var size: UInt = scratchSize
        let rc = jpeg.withUnsafeBufferPointer { buf in
            tjTransform(handle, buf.baseAddress, UInt(buf.count), 1, &out, &size, &spec, TJFLAG_NOREALLOC)
        }
        guard rc == 0, let out, size > 0 else { throw JPEGError("tjTransform \(transform)", handle: handle) }
        let bytes = Array(UnsafeBufferPointer(start: out, count: Int(size)))
        // The size as trimmed: the transformed JPEG's own header says it.
        var outWidth: Int32 = 0, outHeight: Int32 = 0
        let outRC = tjDecompressHeader3(handle, out, size, &outWidth, &outHeight, &subsamp, &colorspace)
        guard outRC == 0 else { throw JPEGError("transformed JPEG header", handle: handle) }
        return TransformedJPEG(jpeg: bytes, width: Int(outWidth), height: Int(outHeight))
    }
}

extension Orientation.Transform {
    /// The TJXOP_* operation.
    var turbo: Int32 {
        switch self {
        case .identity: Int32(TJXOP_NONE.rawValue)
        case .flipHorizontal: Int32(TJXOP_HFLIP.rawValue)
        case .flipVertical: Int32(TJXOP_VFLIP.rawValue)
        case .transpose: Int32(TJXOP_TRANSPOSE.rawValue)
        case .transverse: Int32(TJXOP_TRANSVERSE.rawValue)
        case .rotate90: Int32(TJXOP_ROT90.rawValue)
        case .rotate180: Int32(TJXOP_ROT180.rawValue)
        case .rotate270: Int32(TJXOP_ROT270.rawValue)
        }
    }
}
